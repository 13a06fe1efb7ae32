//! connect, accept and accept4: connections made and taken.

use core::mem::MaybeUninit;

use dualstack_common::{
    args::{AcceptArgs, AddrArgs},
    SockState, KSOCK_READ, SOCK_SEEN_CREATED, USER_CAP,
};

use crate::{
    enter::{no_entry, take_stamp},
    kernel_sock::read_kernel_sock,
    maps::ADDRLEN_UNREAD,
    record::{empty_sock, Call},
    state::{key_of, key_of_fd, load_for_record, store_new},
    user_memory::{read_user, read_user_u32},
};

const SOCK_STREAM: u32 = 1;

#[inline(always)]
pub fn exit_connect(call: &mut Call) {
    let args = AddrArgs::of(&call.args);
    match take_stamp(call, false) {
        Some(stamp) => call.enter_ts_ns = stamp.ts_ns,
        None => no_entry(),
    }
    read_user(&mut call.user, args.addr, args.addrlen, USER_CAP);
    read_kernel_sock(args.fd as i32 as i64, &mut call.kernel);
    if let Some(key) = key_of(&call.kernel, call.tgid(), args.fd) {
        load_for_record(call, &key);
    }
}

/// Reads the new *addrlen and the peer address, and starts tracking the new socket. The
/// record's state is the listener's.
#[inline(always)]
pub fn exit_accept(call: &mut Call) {
    let args = AcceptArgs::of(&call.args);
    let before = match take_stamp(call, false) {
        Some(stamp) => {
            call.enter_ts_ns = stamp.ts_ns;
            stamp.addrlen
        }
        None => {
            no_entry();
            ADDRLEN_UNREAD
        }
    };
    // The listener is found through its own descriptor: the kernel view is the new socket's.
    let listener = key_of_fd(call.tgid(), args.fd).is_some_and(|k| load_for_record(call, &k));
    if before != ADDRLEN_UNREAD {
        call.addrlen[0] = before;
        call.addrlen_read = 1;
    }
    if call.ret < 0 {
        return;
    }
    if before != ADDRLEN_UNREAD {
        if let Some(after) = read_user_u32(args.addrlen) {
            call.addrlen[1] = after;
            call.addrlen_read = 2;
            read_user(
                &mut call.user,
                args.addr,
                u64::from(before.min(after)),
                USER_CAP,
            );
        }
    }
    read_kernel_sock(call.ret, &mut call.kernel);
    let Some(key) = key_of(&call.kernel, call.tgid(), call.ret as u64) else {
        return;
    };
    let mut slot = MaybeUninit::<SockState>::uninit();
    // SAFETY: empty_sock writes every word of the slot.
    let state = unsafe {
        empty_sock(&mut *slot.as_mut_ptr());
        slot.assume_init_mut()
    };
    if listener && call.sock.flags & SOCK_SEEN_CREATED != 0 {
        state.family = call.sock.family;
        state.sock_type = SOCK_STREAM;
        state.protocol = call.sock.protocol;
        state.flags = SOCK_SEEN_CREATED;
    } else if call.kernel.flags & KSOCK_READ != 0 {
        // The listener was opened before tracing: the new socket's family and type are the
        // kernel's; its protocol stays unknown, so it is not marked as seen created.
        state.family = call.kernel.family;
        state.sock_type = u32::from(call.kernel.sock_type);
    }
    store_new(call, &key, state);
}
