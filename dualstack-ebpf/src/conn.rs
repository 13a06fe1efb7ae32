//! connect, accept and accept4: connections made and taken.

use aya_ebpf::{macros::tracepoint, programs::TracePointContext};
use dualstack_common::{PendingCall, SockState, Syscall, SOCK_SEEN_CREATED};

use crate::{
    args::sys_enter_args,
    emit::{complete, park, Exit},
    sockets::{key_of, key_of_fd, known_state, store},
    user_memory::{read_user, read_user_u32},
};

const SOCK_STREAM: u32 = 1;

#[tracepoint]
pub fn sys_enter_connect(ctx: TracePointContext) -> u32 {
    let args = sys_enter_args(&ctx, 3);
    park(&ctx, Syscall::Connect, args, |call| {
        read_user(&mut call.addr, args[1], args[2])
    });
    0
}

#[tracepoint]
pub fn sys_exit_connect(ctx: TracePointContext) -> u32 {
    complete(&ctx, Syscall::Connect, |exit| {
        known_state(key_of(&exit.call.kernel, exit.tgid, exit.call.args[0]))
    });
    0
}

/// At entry: remember *addrlen, which the call overwrites with the peer's length.
#[inline(always)]
fn park_addrlen(call: &mut PendingCall) {
    if let Some(len) = read_user_u32(call.args[2]) {
        call.data.bytes[..4].copy_from_slice(&len.to_ne_bytes());
        call.data.len = 4;
        call.data.status = dualstack_common::ReadStatus::Ok as u32;
    }
}

/// At exit: read the new *addrlen and the peer address, and start tracking the new socket.
#[inline(always)]
fn finish_accept(exit: &mut Exit) -> Option<*const SockState> {
    let [fd, addr, addrlen, ..] = exit.call.args;
    // The kernel view is the new socket's; the listener is found through its own descriptor.
    let listener = known_state(key_of_fd(exit.tgid, fd));
    if exit.ret < 0 {
        return listener;
    }
    if exit.call.data.len == 4 {
        if let Some(out) = read_user_u32(addrlen) {
            exit.call.data.bytes[4..8].copy_from_slice(&out.to_ne_bytes());
            exit.call.data.len = 8;
            let b = &exit.call.data.bytes;
            let before = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
            read_user(&mut exit.call.addr, addr, u64::from(before.min(out)));
        }
    }
    let mut state = SockState::EMPTY;
    state.sock_type = SOCK_STREAM;
    state.flags = SOCK_SEEN_CREATED;
    if let Some(l) = listener {
        // SAFETY: pointer from a SOCKETS lookup in this run.
        let l = unsafe { &*l };
        state.family = l.family;
        state.protocol = l.protocol;
    }
    if let Some(key) = key_of(&exit.call.kernel, exit.tgid, exit.ret as u64) {
        let _ = store(exit, &key, &state);
    }
    listener
}

#[tracepoint]
pub fn sys_enter_accept(ctx: TracePointContext) -> u32 {
    park(&ctx, Syscall::Accept, sys_enter_args(&ctx, 3), park_addrlen);
    0
}

#[tracepoint]
pub fn sys_exit_accept(ctx: TracePointContext) -> u32 {
    complete(&ctx, Syscall::Accept, finish_accept);
    0
}

#[tracepoint]
pub fn sys_enter_accept4(ctx: TracePointContext) -> u32 {
    park(
        &ctx,
        Syscall::Accept4,
        sys_enter_args(&ctx, 4),
        park_addrlen,
    );
    0
}

#[tracepoint]
pub fn sys_exit_accept4(ctx: TracePointContext) -> u32 {
    complete(&ctx, Syscall::Accept4, finish_accept);
    0
}
