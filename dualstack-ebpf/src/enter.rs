//! The few entry stamps the exit dispatcher needs: the entry time of the calls that may block
//! (connect, accept, accept4: strace -tt prints when they began), accept's `*addrlen` before
//! the call overwrites it, and, for close, the socket behind the descriptor, which is gone at
//! exit. Per-syscall tracepoints: they run only for these calls, never for the host's others.

use core::mem::MaybeUninit;

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
    words::{copy, zero},
};

/// Leaves a stamp for the exit; `kernel`, when given, is close's view of its socket.
#[inline(always)]
fn stamp(kind: Syscall, addrlen: u32, last_ref: u32, kernel: Option<&KernelSock>) {
    let pid_tgid = bpf_get_current_pid_tgid();
    let mut slot = MaybeUninit::<EnterStamp>::uninit();
    let p = slot.as_mut_ptr();
    // SAFETY: every field is written before the stamp is stored.
    let stamp = unsafe {
        (&raw mut (*p).ts_ns).write(bpf_ktime_get_ns());
        (&raw mut (*p).kind).write(kind as u32);
        (&raw mut (*p).addrlen).write(addrlen);
        (&raw mut (*p).last_ref).write(last_ref);
        (&raw mut (*p)._pad).write(0);
        match kernel {
            Some(k) => copy(&raw mut (*p).kernel, k),
            None => zero(&raw mut (*p).kernel),
        }
        slot.assume_init_ref()
    };
    // A full map loses the stamp: the exit then counts NO_ENTRY.
    let _ = ENTERED.insert(&pid_tgid, stamp, 0);
}

#[tracepoint]
pub fn sys_enter_connect(_ctx: TracePointContext) -> u32 {
    if task_wanted(bpf_get_current_pid_tgid()) {
        stamp(Syscall::Connect, ADDRLEN_UNREAD, 0, None);
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
    stamp(kind, before, 0, None);
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
    let mut slot = MaybeUninit::<KernelSock>::uninit();
    // SAFETY: read_kernel_sock writes every field (it starts by zeroing the whole struct).
    let kernel = unsafe { &mut *slot.as_mut_ptr() };
    let file = read_kernel_sock(fd as i32 as i64, kernel);
    let last_ref = match (file, offsets()) {
        (Some(file), Some(o)) => u32::from(last_reference(o, file)),
        _ => 0,
    };
    if kernel.flags & KSOCK_READ != 0 || offsets().is_none() || config().every_close != 0 {
        stamp(Syscall::Close, ADDRLEN_UNREAD, last_ref, Some(kernel));
    }
    0
}

/// What a call's entry left for its exit.
pub struct Stamp {
    pub ts_ns: u64,
    pub addrlen: u32,
    pub last_ref: u32,
}

/// At exit: takes the call's stamp, if its entry left one; with `kernel`, copies the kernel
/// view it holds into the call.
#[inline(always)]
pub fn take_stamp(call: &mut Call, kernel: bool) -> Option<Stamp> {
    let found = ENTERED.get_ptr(&call.pid_tgid)?;
    // SAFETY: the entry is this thread's, read before it is removed.
    let stamp = unsafe {
        if (*found).kind != call.kind as u32 {
            None
        } else {
            if kernel {
                copy(&mut call.kernel, &raw const (*found).kernel);
            }
            Some(Stamp {
                ts_ns: (*found).ts_ns,
                addrlen: (*found).addrlen,
                last_ref: (*found).last_ref,
            })
        }
    };
    let _ = ENTERED.remove(&call.pid_tgid);
    stamp
}

/// Counts an exit whose entry left no stamp.
#[inline(always)]
pub fn no_entry() {
    count(counter::NO_ENTRY);
}
