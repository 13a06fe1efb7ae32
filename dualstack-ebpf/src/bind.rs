//! bind and listen: where a socket gets its address and starts accepting.

use aya_ebpf::{macros::tracepoint, programs::TracePointContext};
use dualstack_common::{Syscall, BOUND_CAP, SOCK_BOUND};

use crate::{
    args::sys_enter_args,
    emit::{complete, park},
    sockets::{key_of, known_state, state_of},
    user_memory::read_user,
};

#[tracepoint]
pub fn sys_enter_bind(ctx: TracePointContext) -> u32 {
    let args = sys_enter_args(&ctx, 3);
    park(&ctx, Syscall::Bind, args, |call| {
        read_user(&mut call.addr, args[1], args[2])
    });
    0
}

#[tracepoint]
pub fn sys_exit_bind(ctx: TracePointContext) -> u32 {
    complete(&ctx, Syscall::Bind, |exit| {
        let key = key_of(&exit.call.kernel, exit.tgid, exit.call.args[0]);
        if exit.ret != 0 {
            return known_state(key);
        }
        let state = state_of(exit, key)?;
        // SAFETY: pointer from a SOCKETS lookup in this run.
        let s = unsafe { &mut *state };
        let len = exit.call.addr.len.min(BOUND_CAP as u32);
        s.bound.copy_from_slice(&exit.call.addr.bytes[..BOUND_CAP]);
        s.bound_len = len;
        s.flags |= SOCK_BOUND;
        Some(state)
    });
    0
}

#[tracepoint]
pub fn sys_enter_listen(ctx: TracePointContext) -> u32 {
    park(&ctx, Syscall::Listen, sys_enter_args(&ctx, 2), |_| {});
    0
}

#[tracepoint]
pub fn sys_exit_listen(ctx: TracePointContext) -> u32 {
    complete(&ctx, Syscall::Listen, |exit| {
        let key = key_of(&exit.call.kernel, exit.tgid, exit.call.args[0]);
        if exit.ret != 0 {
            return known_state(key);
        }
        // A socket inherited or opened before tracing gets a state here, so that its later
        // calls (the workers' accepts) find what the kernel said of it.
        state_of(exit, key).map(<*mut _>::cast_const)
    });
    0
}
