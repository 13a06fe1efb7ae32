//! setsockopt: the options that decide what a socket accepts.

use aya_ebpf::{macros::tracepoint, programs::TracePointContext};
use dualstack_common::{ReadStatus, SockState, Syscall, V6OnlySource, IFNAME_LEN};

use crate::{
    args::sys_enter_args,
    emit::{complete, park},
    sockets::{key_of, state_of},
    user_memory::read_user,
};

// kernel ABI: include/uapi/asm-generic/socket.h, linux/in.h, linux/in6.h.
const SOL_IP: u64 = 0;
const SOL_SOCKET: u64 = 1;
const SOL_IPV6: u64 = 41;
const SO_REUSEADDR: u64 = 2;
const SO_REUSEPORT: u64 = 15;
const SO_BINDTODEVICE: u64 = 25;
const IP_FREEBIND: u64 = 15;
const IP_TRANSPARENT: u64 = 19;
const IPV6_V6ONLY: u64 = 26;
const IPV6_TRANSPARENT: u64 = 75;
const IPV6_FREEBIND: u64 = 78;

#[tracepoint]
pub fn sys_enter_setsockopt(ctx: TracePointContext) -> u32 {
    let args = sys_enter_args(&ctx, 5);
    park(&ctx, Syscall::Setsockopt, args, |call| {
        read_user(&mut call.data, args[3], args[4])
    });
    0
}

#[tracepoint]
pub fn sys_exit_setsockopt(ctx: TracePointContext) -> u32 {
    complete(&ctx, Syscall::Setsockopt, |exit| {
        let [fd, level, optname, optval, ..] = exit.call.args;
        let key = key_of(&exit.call.kernel, exit.tgid, fd);
        let state = state_of(exit, key)?;
        // SAFETY: pointer from a SOCKETS lookup in this run.
        let s = unsafe { &mut *state };
        if exit.ret == 0 && exit.call.data.status == ReadStatus::Ok as u32 {
            record_option(s, level, optname, &exit.call.data.bytes, exit.call.data.len);
        } else if exit.ret == 0 && optval == 0 && (level, optname) == (SOL_IPV6, IPV6_V6ONLY) {
            // kernel ABI: net/ipv6/ipv6_sockglue.c do_ipv6_setsockopt takes a NULL optval as 0.
            s.v6only = 0;
            s.v6only_source = V6OnlySource::Setsockopt as u8;
        }
        Some(state.cast_const())
    });
    0
}

/// Notes a successfully set option in the socket's state.
#[inline(always)]
fn record_option(state: &mut SockState, level: u64, optname: u64, value: &[u8; 64], len: u32) {
    if level == SOL_SOCKET && optname == SO_BINDTODEVICE {
        state.bind_device = [0; IFNAME_LEN];
        for i in 0..IFNAME_LEN {
            if i as u32 >= len {
                break;
            }
            state.bind_device[i] = value[i];
        }
        return;
    }
    if len < 4 {
        return;
    }
    let on = u8::from(u32::from_ne_bytes([value[0], value[1], value[2], value[3]]) != 0);
    match (level, optname) {
        (SOL_SOCKET, SO_REUSEADDR) => state.reuseaddr = on,
        (SOL_SOCKET, SO_REUSEPORT) => state.reuseport = on,
        (SOL_IP, IP_FREEBIND) | (SOL_IPV6, IPV6_FREEBIND) => state.freebind = on,
        (SOL_IP, IP_TRANSPARENT) | (SOL_IPV6, IPV6_TRANSPARENT) => state.transparent = on,
        (SOL_IPV6, IPV6_V6ONLY) => {
            state.v6only = on;
            state.v6only_source = V6OnlySource::Setsockopt as u8;
        }
        _ => {}
    }
}
