//! socket, socketpair and close: where a socket's tracked life starts and ends.

use aya_ebpf::{macros::tracepoint, programs::TracePointContext};
use dualstack_common::{SockKey, SockState, Syscall, SOCK_SEEN_CREATED};

use crate::{
    args::sys_enter_args,
    emit::{complete, park},
    maps::SOCKETS,
    user_memory::read_user,
};

/// State of a socket created by a traced call.
#[inline(always)]
fn created(family: u64, sock_type: u64, protocol: u64) -> SockState {
    let mut state = SockState::EMPTY;
    state.family = family as u16;
    state.sock_type = sock_type as u32;
    state.protocol = protocol as u32;
    state.flags = SOCK_SEEN_CREATED;
    state
}

/// The tracked state of (tgid, fd), creating an empty one for sockets opened before tracing.
#[inline(always)]
pub fn state_of(tgid: u32, fd: u64) -> Option<*mut SockState> {
    let key = SockKey {
        tgid,
        fd: fd as u32,
    };
    if let Some(state) = SOCKETS.get_ptr_mut(&key) {
        return Some(state);
    }
    SOCKETS.insert(&key, &SockState::EMPTY, 0).ok()?;
    SOCKETS.get_ptr_mut(&key)
}

/// The tracked state of (tgid, fd) if any.
#[inline(always)]
pub fn known_state(tgid: u32, fd: u64) -> Option<*const SockState> {
    SOCKETS.get_ptr(&SockKey {
        tgid,
        fd: fd as u32,
    })
}

#[tracepoint]
pub fn sys_enter_socket(ctx: TracePointContext) -> u32 {
    park(&ctx, Syscall::Socket, sys_enter_args(&ctx, 3), |_| {});
    0
}

#[tracepoint]
pub fn sys_exit_socket(ctx: TracePointContext) -> u32 {
    complete(&ctx, Syscall::Socket, |exit| {
        if exit.ret < 0 {
            return None;
        }
        let [family, sock_type, protocol, ..] = exit.call.args;
        let key = SockKey {
            tgid: exit.tgid,
            fd: exit.ret as u32,
        };
        SOCKETS
            .insert(&key, &created(family, sock_type, protocol), 0)
            .ok()?;
        SOCKETS.get_ptr(&key)
    });
    0
}

#[tracepoint]
pub fn sys_enter_socketpair(ctx: TracePointContext) -> u32 {
    park(&ctx, Syscall::Socketpair, sys_enter_args(&ctx, 4), |_| {});
    0
}

#[tracepoint]
pub fn sys_exit_socketpair(ctx: TracePointContext) -> u32 {
    complete(&ctx, Syscall::Socketpair, |exit| {
        if exit.ret < 0 {
            return None;
        }
        let [family, sock_type, protocol, sv, ..] = exit.call.args;
        // kernel ABI: int sv[2], filled by the call.
        read_user(&mut exit.call.data, sv, 8);
        if exit.call.data.len == 8 {
            let state = created(family, sock_type, protocol);
            for i in 0..2 {
                let b = &exit.call.data.bytes[4 * i..4 * i + 4];
                let fd = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
                let _ = SOCKETS.insert(
                    &SockKey {
                        tgid: exit.tgid,
                        fd,
                    },
                    &state,
                    0,
                );
            }
        }
        None
    });
    0
}

#[tracepoint]
pub fn sys_enter_close(ctx: TracePointContext) -> u32 {
    park(&ctx, Syscall::Close, sys_enter_args(&ctx, 1), |_| {});
    0
}

#[tracepoint]
pub fn sys_exit_close(ctx: TracePointContext) -> u32 {
    let mut fd = 0;
    let ret = complete(&ctx, Syscall::Close, |exit| {
        fd = exit.call.args[0];
        known_state(exit.tgid, fd)
    });
    if ret == Some(0) {
        let tgid = (aya_ebpf::helpers::bpf_get_current_pid_tgid() >> 32) as u32;
        let _ = SOCKETS.remove(&SockKey {
            tgid,
            fd: fd as u32,
        });
    }
    0
}
