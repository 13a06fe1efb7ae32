//! socket, socketpair and close: where a socket's tracked life starts and ends, and the state
//! map every call shares.

use aya_ebpf::{macros::tracepoint, programs::TracePointContext};
use dualstack_common::{
    counter, KernelSock, SockKey, SockState, Syscall, KSOCK_NO_BTF, KSOCK_READ, SOCK_SEEN_CREATED,
};

use crate::{
    args::sys_enter_args,
    emit::{complete, park, Exit},
    kernel_sock::{last_reference, offsets, read_kernel_sock, socket_ino, socket_of_fd},
    maps::{count, SOCKETS},
    user_memory::read_user,
};

// kernel ABI: include/uapi/linux/bpf.h.
const BPF_NOEXIST: u64 = 1;
// kernel ABI: include/uapi/asm-generic/errno-base.h; a full hash map refuses with -E2BIG.
const E2BIG: i32 = 7;

/// The state key of the socket the kernel view was read from; without BTF, of the descriptor.
/// None when the descriptor is not a socket (or could not be read).
#[inline(always)]
pub fn key_of(kernel: &KernelSock, tgid: u32, fd: u64) -> Option<SockKey> {
    if kernel.flags & KSOCK_READ != 0 {
        return Some(SockKey {
            ino: kernel.ino,
            tgid: 0,
            fd: 0,
        });
    }
    (kernel.flags & KSOCK_NO_BTF != 0).then_some(SockKey {
        ino: 0,
        tgid,
        fd: fd as u32,
    })
}

/// The state key of the current task's `fd` without reading the whole kernel view.
#[inline(always)]
pub fn key_of_fd(tgid: u32, fd: u64) -> Option<SockKey> {
    let Some(o) = offsets() else {
        return Some(SockKey {
            ino: 0,
            tgid,
            fd: fd as u32,
        });
    };
    let (_, socket) = socket_of_fd(o, fd)?;
    Some(SockKey {
        ino: socket_ino(o, socket)?,
        tgid: 0,
        fd: 0,
    })
}

/// Stores a new state under `key`; on a full map counts it and marks the call.
#[inline(always)]
pub fn store(exit: &mut Exit, key: &SockKey, state: &SockState) -> Option<*mut SockState> {
    match SOCKETS.insert(key, state, BPF_NOEXIST) {
        Ok(()) => count(counter::STATE_INSERTS),
        Err(err) if err == -E2BIG => {
            count(counter::STATE_FULL);
            exit.state_full = true;
            return None;
        }
        // Another thread stored it first: use that one.
        Err(_) => {}
    }
    SOCKETS.get_ptr_mut(key)
}

/// Replaces the state under `key` (a new socket whose inode or descriptor was reused).
#[inline(always)]
fn store_new(exit: &mut Exit, key: &SockKey, state: &SockState) -> Option<*const SockState> {
    if SOCKETS.remove(key).is_ok() {
        count(counter::STATE_REMOVES);
    }
    store(exit, key, state).map(<*mut SockState>::cast_const)
}

/// The tracked state of `key`, creating an empty one for sockets opened before tracing.
#[inline(always)]
pub fn state_of(exit: &mut Exit, key: Option<SockKey>) -> Option<*mut SockState> {
    let key = key?;
    if let Some(state) = SOCKETS.get_ptr_mut(&key) {
        return Some(state);
    }
    store(exit, &key, &SockState::EMPTY)
}

/// The tracked state of `key` if any.
#[inline(always)]
pub fn known_state(key: Option<SockKey>) -> Option<*const SockState> {
    SOCKETS.get_ptr(&key?)
}

/// State of a socket created by a traced call.
#[inline(always)]
pub fn created(family: u64, sock_type: u64, protocol: u64) -> SockState {
    let mut state = SockState::EMPTY;
    state.family = family as u16;
    state.sock_type = sock_type as u32;
    state.protocol = protocol as u32;
    state.flags = SOCK_SEEN_CREATED;
    state
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
        let key = key_of(&exit.call.kernel, exit.tgid, exit.ret as u64)?;
        store_new(exit, &key, &created(family, sock_type, protocol))
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
                if let Some(key) = key_of_fd(exit.tgid, fd.into()) {
                    let _ = store_new(exit, &key, &state);
                }
            }
        }
        None
    });
    0
}

#[tracepoint]
pub fn sys_enter_close(ctx: TracePointContext) -> u32 {
    let args = sys_enter_args(&ctx, 1);
    // The descriptor is gone at exit: learn now whether it is a socket, and whether this close
    // releases it.
    park(&ctx, Syscall::Close, args, |call| {
        let file = read_kernel_sock(args[0] as i32 as i64, &mut call.kernel);
        call.last_ref = match (file, offsets()) {
            (Some(file), Some(o)) => u32::from(last_reference(o, file)),
            _ => 0,
        };
    });
    0
}

#[tracepoint]
pub fn sys_exit_close(ctx: TracePointContext) -> u32 {
    complete(&ctx, Syscall::Close, |exit| {
        let key = key_of(&exit.call.kernel, exit.tgid, exit.call.args[0]);
        let state = known_state(key);
        // Without BTF the state belongs to the descriptor; with it, to the socket, which goes
        // only with its last reference.
        let released = exit.call.kernel.flags & KSOCK_NO_BTF != 0 || exit.call.last_ref != 0;
        if exit.ret == 0 && released {
            if let Some(key) = key {
                // The event is written after this: it carries a copy of the state.
                exit.forget = Some(key);
            }
        }
        state
    });
    0
}
