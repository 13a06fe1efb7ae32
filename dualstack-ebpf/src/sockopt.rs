//! setsockopt: the options that decide what a socket accepts.

use dualstack_common::{args::SetsockoptArgs, ReadStatus, SockState, V6OnlySource, IFNAME_LEN};

use crate::{
    record::{Call, STACK_USER},
    state::{for_change, store_changed},
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

/// Bytes of optval read at most: every option the tracer or strace decodes fits.
const OPTVAL_MAX: usize = 64;

#[inline(always)]
pub fn exit_setsockopt(call: &mut Call) {
    let args = SetsockoptArgs::of(&call.args);
    read_user(&mut call.user, args.optval, args.optlen, OPTVAL_MAX);
    let Some((key, existed)) = for_change(call, args.fd) else {
        return;
    };
    let (level, optname) = (args.level, args.optname);
    let kept = if call.user.status == ReadStatus::Ok as u16 {
        let (value, len) = (&call.user.bytes, call.user.len);
        record_option(&mut call.sock, level, optname, value, len)
    } else if args.optval == 0 && (level, optname) == (SOL_IPV6, IPV6_V6ONLY) {
        // kernel ABI: net/ipv6/ipv6_sockglue.c do_ipv6_setsockopt takes a NULL optval as 0.
        call.sock.v6only = 0;
        call.sock.v6only_source = V6OnlySource::Setsockopt as u8;
        true
    } else {
        false
    };
    if existed && !kept {
        // Nothing the state keeps changed (TCP_NODELAY, SO_KEEPALIVE...): no map write.
        call.send_state();
    } else {
        store_changed(call, &key, existed);
    }
}

/// Notes a successfully set option in the socket's state; false when the state does not keep
/// that option (or its value was too short to read).
#[inline(always)]
fn record_option(
    state: &mut SockState,
    level: u64,
    optname: u64,
    value: &[u8; STACK_USER],
    len: u32,
) -> bool {
    if level == SOL_SOCKET && optname == SO_BINDTODEVICE {
        // The first IFNAME_LEN bytes, NUL-padded past what was read (the copy starts zeroed).
        // Four u32 moves: a byte loop would become a memmove call.
        let dst = state.bind_device.as_mut_ptr().cast::<u32>();
        let src = value.as_ptr().cast::<u32>();
        for i in 0..IFNAME_LEN / 4 {
            // SAFETY: both hold IFNAME_LEN bytes at 4-byte alignment (SockState is repr(C) with
            // bind_device at a multiple of 4; the copy is 8-aligned).
            unsafe { dst.add(i).write_volatile(src.add(i).read_unaligned()) };
        }
        let _ = len;
        return true;
    }
    if len < 4 {
        return false;
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
        _ => return false,
    }
    true
}
