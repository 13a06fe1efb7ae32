//! socket, socketpair and close: where a socket's tracked life starts and ends.

use dualstack_common::{
    args::{CloseArgs, SocketArgs, SocketpairArgs},
    SockState, KSOCK_NO_BTF, KSOCK_READ, SOCK_SEEN_CREATED,
};

use crate::{
    enter::{no_entry, take_stamp},
    kernel_sock::{offsets, read_kernel_sock},
    maps::config,
    record::{empty_sock, Call},
    state::{key_of, key_of_fd, load_for_record, store_new, store_new_own},
    user_memory::read_user,
};

/// Fills `state` for a socket created by a traced call.
#[inline(always)]
pub fn created(state: &mut SockState, family: u64, sock_type: u64, protocol: u64) {
    empty_sock(state);
    state.family = family as u16;
    state.sock_type = sock_type as u32;
    state.protocol = protocol as u32;
    state.flags = SOCK_SEEN_CREATED;
}

#[inline(always)]
pub fn exit_socket(call: &mut Call) {
    if call.ret < 0 {
        return;
    }
    read_kernel_sock(call.ret, &mut call.kernel);
    let args = SocketArgs::of(&call.args);
    let Some(key) = key_of(&call.kernel, call.tgid(), call.ret as u64) else {
        return;
    };
    created(&mut call.sock, args.family, args.sock_type, args.protocol);
    store_new_own(call, &key);
}

#[inline(always)]
pub fn exit_socketpair(call: &mut Call) {
    if call.ret < 0 {
        return;
    }
    let args = SocketpairArgs::of(&call.args);
    // kernel ABI: int sv[2], filled by the call.
    read_user(&mut call.user, args.sv, 8, 8);
    if call.user.len != 8 {
        return;
    }
    // Both ends get the same state; the record carries none (it names two sockets).
    created(&mut call.sock, args.family, args.sock_type, args.protocol);
    for i in 0..2 {
        let b = &call.user.bytes[4 * i..4 * i + 4];
        let fd = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
        if let Some(key) = key_of_fd(call.tgid(), fd.into()) {
            let state = &raw const call.sock;
            // SAFETY: `state` points into `call`, which store_new does not change but for its
            // flags.
            store_new(call, &key, unsafe { &*state });
        }
    }
}

#[inline(always)]
pub fn exit_close(call: &mut Call) {
    let args = CloseArgs::of(&call.args);
    let Some(stamp) = take_stamp(call, true) else {
        // With BTF, the entry stamps every socket's close (and every close when all are
        // shown): no stamp is a plain file's close.
        if offsets().is_none() || config().every_close != 0 {
            no_entry();
        }
        if offsets().is_none() {
            call.kernel.flags = KSOCK_NO_BTF;
        }
        return;
    };
    call.enter_ts_ns = stamp.ts_ns;
    let key = key_of(&call.kernel, call.tgid(), args.fd);
    let Some(key) = key else {
        return;
    };
    load_for_record(call, &key);
    // Without BTF the state belongs to the descriptor; with it, to the socket, which goes
    // only with its last reference.
    let released = call.kernel.flags & KSOCK_NO_BTF != 0 || stamp.last_ref != 0;
    if call.ret == 0 && released && (call.kernel.flags & (KSOCK_READ | KSOCK_NO_BTF)) != 0 {
        call.forget = Some(key);
    }
}
