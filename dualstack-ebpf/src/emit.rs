//! The two halves every traced syscall shares: park the call at entry, emit it at exit.

use aya_ebpf::{
    helpers::{
        bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_ktime_get_ns,
        generated::bpf_probe_read_kernel,
    },
    programs::TracePointContext,
};
use aya_log_ebpf::warn;
use dualstack_common::{
    counter, KernelSock, PendingCall, ReadStatus, SockKey, SockState, Syscall, SyscallEvent,
    ABI_VERSION, ARGS, EVENT_HAS_SOCK, EVENT_SOCK_BY_FD, EVENT_STATE_FULL, KSOCK_NO_BTF,
};

use crate::{
    args::sys_exit_ret,
    filter::{call_wanted, task_wanted},
    kernel_sock::read_kernel_sock,
    maps::{count, EVENTS, PENDING, SCRATCH, SOCKETS},
};

/// At sys_enter: if the task is traced, park `args` and whatever `read` copies from user memory.
#[inline(always)]
pub fn park(
    ctx: &TracePointContext,
    kind: Syscall,
    args: [u64; ARGS],
    read: impl FnOnce(&mut PendingCall),
) {
    let pid_tgid = bpf_get_current_pid_tgid();
    if !task_wanted(pid_tgid) {
        return;
    }
    let Some(call) = SCRATCH.get_ptr_mut(0) else {
        return;
    };
    // SAFETY: per-CPU scratch slot, not shared while this program runs.
    let call = unsafe { &mut *call };
    call.kind = kind as u32;
    call.last_ref = 0;
    call.args = args;
    // SAFETY: plain helper call.
    call.enter_ts_ns = unsafe { bpf_ktime_get_ns() };
    // SAFETY: both are valid KernelSock values.
    unsafe { copy(&raw mut call.kernel, &raw const EMPTY_KERNEL) };
    call.addr.status = ReadStatus::NotRead as u32;
    call.addr.len = 0;
    call.data.status = ReadStatus::NotRead as u32;
    call.data.len = 0;
    read(call);
    if let Err(err) = PENDING.insert(&pid_tgid, call, 0) {
        warn!(
            ctx,
            "dualstack: cannot park a call: PENDING insert failed ({})", err
        );
    }
}

/// A parked call at sys_exit, with its return value.
pub struct Exit<'a> {
    pub call: &'a mut PendingCall,
    pub ret: i64,
    pub tgid: u32,
    /// The call's socket had no state and the full map could not take one.
    pub state_full: bool,
    /// State to remove once the event is written (a close that released its socket).
    pub forget: Option<SockKey>,
}

/// At sys_exit: take the parked call of `kind`, let `finish` complete it (read exit-time user
/// memory, update socket state, return the state of the call's socket), and emit the event.
/// Returns the completed call's return value when an entry was found.
#[inline(always)]
pub fn complete(
    ctx: &TracePointContext,
    kind: Syscall,
    finish: impl FnOnce(&mut Exit) -> Option<*const SockState>,
) -> Option<i64> {
    let pid_tgid = bpf_get_current_pid_tgid();
    let call = PENDING.get_ptr_mut(&pid_tgid)?;
    // SAFETY: entries are keyed by this thread's pid_tgid: only this thread touches it now.
    let call = unsafe { &mut *call };
    if call.kind != kind as u32 {
        // A stale entry of a call whose exit was never seen.
        let _ = PENDING.remove(&pid_tgid);
        return None;
    }
    let ret = sys_exit_ret(ctx);
    // The kernel's view of the call's socket keys its state and serves the filters (close's
    // was read at entry, while the descriptor still existed).
    if let Some(fd) = socket_fd(call, ret) {
        read_kernel_sock(fd, &mut call.kernel);
    }
    let mut exit = Exit {
        call,
        ret,
        tgid: (pid_tgid >> 32) as u32,
        state_full: false,
        forget: None,
    };
    let sock = finish(&mut exit);
    // SAFETY: the pointer came from a SOCKETS lookup during this program run.
    let sock = sock.map(|s| unsafe { &*s });
    if call_wanted(exit.call, exit.ret, sock) {
        let mut flags = 0;
        if sock.is_some() {
            flags |= EVENT_HAS_SOCK;
            if exit.call.kernel.flags & KSOCK_NO_BTF != 0 {
                flags |= EVENT_SOCK_BY_FD;
            }
        }
        if exit.state_full {
            flags |= EVENT_STATE_FULL;
        }
        write_event(pid_tgid, exit.call, exit.ret, flags, sock);
    }
    if let Some(key) = exit.forget {
        if SOCKETS.remove(&key).is_ok() {
            count(counter::STATE_REMOVES);
        }
    }
    let _ = PENDING.remove(&pid_tgid);
    Some(ret)
}

static EMPTY_SOCK: SockState = SockState::EMPTY;
static EMPTY_KERNEL: KernelSock = KernelSock::EMPTY;

/// Copies a value with one helper call: plain assignment of these large structs compiles to a
/// byte-by-byte memmove loop in eBPF, which showed up as the programs' top cost.
#[inline(always)]
unsafe fn copy<T>(dst: *mut T, src: *const T) {
    // SAFETY: both pointers are valid for size_of::<T>() bytes (caller's contract).
    let _ =
        unsafe { bpf_probe_read_kernel(dst.cast(), core::mem::size_of::<T>() as u32, src.cast()) };
}

#[inline(always)]
fn write_event(pid_tgid: u64, call: &PendingCall, ret: i64, flags: u16, sock: Option<&SockState>) {
    let Some(mut entry) = EVENTS.reserve::<SyscallEvent>(0) else {
        count(counter::RING_FULL);
        return;
    };
    let event = entry.as_mut_ptr();
    // SAFETY: `event` points to a reserved entry of the right size; every field is written.
    unsafe {
        let header = &raw mut (*event).header;
        (*header).kind = call.kind;
        (*header).version = ABI_VERSION;
        (*header).flags = flags;
        (*header).pid_tgid = pid_tgid;
        (*header).ts_ns = bpf_ktime_get_ns();
        (*header).enter_ts_ns = call.enter_ts_ns;
        (*header).ret = ret;
        (*header).comm = bpf_get_current_comm().unwrap_or([0; 16]);
        copy(&raw mut (*event).args, &raw const call.args);
        match sock {
            Some(s) => copy(&raw mut (*event).sock, s),
            None => copy(&raw mut (*event).sock, &raw const EMPTY_SOCK),
        }
        copy(&raw mut (*event).addr, &raw const call.addr);
        copy(&raw mut (*event).data, &raw const call.data);
        (*event)._pad = 0;
        copy(&raw mut (*event).kernel, &raw const call.kernel);
    }
    entry.submit(wakeup_flag());
}

/// The descriptor whose kernel view is read at exit: the new socket of socket and accept, the
/// argument of setsockopt, bind, listen and connect. None for socketpair (two sockets, keyed
/// by their own reads) and close (read at entry).
#[inline(always)]
fn socket_fd(call: &PendingCall, ret: i64) -> Option<i64> {
    const SOCKET: u32 = Syscall::Socket as u32;
    const ACCEPT: u32 = Syscall::Accept as u32;
    const ACCEPT4: u32 = Syscall::Accept4 as u32;
    const SETSOCKOPT: u32 = Syscall::Setsockopt as u32;
    const BIND: u32 = Syscall::Bind as u32;
    const LISTEN: u32 = Syscall::Listen as u32;
    const CONNECT: u32 = Syscall::Connect as u32;
    match call.kind {
        SOCKET | ACCEPT | ACCEPT4 => Some(ret),
        SETSOCKOPT | BIND | LISTEN | CONNECT => Some(i64::from(call.args[0] as i32)),
        _ => None,
    }
}

// kernel ABI: include/uapi/linux/bpf.h, BPF_RB_* flags.
const BPF_RB_NO_WAKEUP: u64 = 1;
const BPF_RB_FORCE_WAKEUP: u64 = 2;
const BPF_RB_AVAIL_DATA: u64 = 0;
/// Bytes waiting in the ring before the reader is woken.
const WAKEUP_BYTES: u64 = 256 << 10;

/// Waking the reader costs an interrupt per event (an expensive VM exit on virtual machines):
/// submit silently and wake it only once a batch is waiting. The reader also polls on a short
/// timer, so a lone event still shows within milliseconds.
#[inline(always)]
fn wakeup_flag() -> u64 {
    if EVENTS.query(BPF_RB_AVAIL_DATA) >= WAKEUP_BYTES {
        BPF_RB_FORCE_WAKEUP
    } else {
        BPF_RB_NO_WAKEUP
    }
}
