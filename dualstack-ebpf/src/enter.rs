//! The few entry stamps the exit dispatcher needs: the entry time of the calls that may block
//! (connect, accept, accept4: strace -tt prints when they began), accept's `*addrlen` before
//! the call overwrites it, and, for close, the socket behind the descriptor, which is gone at
//! exit. Per-syscall tracepoints: they run only for these calls, never for the host's others.

use aya_ebpf::{
    helpers::{bpf_get_current_pid_tgid, bpf_ktime_get_ns},
    macros::tracepoint,
    programs::TracePointContext,
};
use dualstack_common::{counter, KernelSock, Syscall, KSOCK_READ};

use crate::{
    args::sys_enter_args,
    filter::task_wanted,
    kernel_sock::{last_reference, offsets, read_kernel_sock},
    maps::{config, count, EnterStamp, ADDRLEN_UNREAD, ENTERED},
    record::Call,
    user_memory::read_user_u32,
};

#[inline(always)]
fn stamp(kind: Syscall, addrlen: u32, last_ref: u32, kernel: &KernelSock) {
    let pid_tgid = bpf_get_current_pid_tgid();
    let stamp = EnterStamp {
        // SAFETY: plain helper call.
        ts_ns: unsafe { bpf_ktime_get_ns() },
        kind: kind as u32,
        addrlen,
        last_ref,
        _pad: 0,
        kernel: *kernel,
    };
    // A full map loses the stamp: the exit then counts NO_ENTRY.
    let _ = ENTERED.insert(&pid_tgid, &stamp, 0);
}

#[tracepoint]
pub fn sys_enter_connect(_ctx: TracePointContext) -> u32 {
    if task_wanted(bpf_get_current_pid_tgid()) {
        stamp(Syscall::Connect, ADDRLEN_UNREAD, 0, &KernelSock::EMPTY);
    }
    0
}

#[inline(always)]
fn stamp_accept(ctx: &TracePointContext, kind: Syscall) {
    if !task_wanted(bpf_get_current_pid_tgid()) {
        return;
    }
    let [_, _, addrlen, ..] = sys_enter_args(ctx, 3);
    let before = read_user_u32(addrlen).unwrap_or(ADDRLEN_UNREAD);
    stamp(kind, before, 0, &KernelSock::EMPTY);
}

#[tracepoint]
pub fn sys_enter_accept(ctx: TracePointContext) -> u32 {
    stamp_accept(&ctx, Syscall::Accept);
    0
}

#[tracepoint]
pub fn sys_enter_accept4(ctx: TracePointContext) -> u32 {
    stamp_accept(&ctx, Syscall::Accept4);
    0
}

/// Only sockets get a stamp, unless every close is shown: the close of a plain file costs one
/// fd-table walk and nothing else.
#[tracepoint]
pub fn sys_enter_close(ctx: TracePointContext) -> u32 {
    if !task_wanted(bpf_get_current_pid_tgid()) {
        return 0;
    }
    let [fd, ..] = sys_enter_args(&ctx, 1);
    let mut kernel = KernelSock::EMPTY;
    let file = read_kernel_sock(fd as i32 as i64, &mut kernel);
    let last_ref = match (file, offsets()) {
        (Some(file), Some(o)) => u32::from(last_reference(o, file)),
        _ => 0,
    };
    if kernel.flags & KSOCK_READ != 0 || offsets().is_none() || config().every_close != 0 {
        stamp(Syscall::Close, ADDRLEN_UNREAD, last_ref, &kernel);
    }
    0
}

/// At exit: takes the call's stamp, if its entry left one. Returns (entry time, addrlen
/// before, last reference, kernel view).
#[inline(always)]
pub fn take_stamp(call: &Call) -> Option<EnterStamp> {
    // SAFETY: the entry is copied out before it is removed.
    let stamp = unsafe { ENTERED.get(&call.pid_tgid) }.copied();
    if stamp.is_some() {
        let _ = ENTERED.remove(&call.pid_tgid);
    }
    match stamp {
        Some(s) if s.kind == call.kind as u32 => Some(s),
        _ => None,
    }
}

/// Counts an exit whose entry left no stamp.
#[inline(always)]
pub fn no_entry() {
    count(counter::NO_ENTRY);
}
