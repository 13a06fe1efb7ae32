//! bind and listen: where a socket gets its address and starts accepting.

use dualstack_common::{
    args::{AddrArgs, ListenArgs},
    BOUND_CAP, SOCK_BOUND, USER_CAP,
};

use crate::{
    record::Call,
    state::{for_change, store_changed},
    user_memory::read_user,
};

#[inline(always)]
pub fn exit_bind(call: &mut Call) {
    let args = AddrArgs::of(&call.args);
    read_user(&mut call.user, args.addr, args.addrlen, USER_CAP);
    let Some((key, existed)) = for_change(call, args.fd) else {
        return;
    };
    call.sock
        .bound
        .copy_from_slice(&call.user.bytes[..BOUND_CAP]);
    call.sock.bound_len = call.user.len.min(BOUND_CAP as u32);
    call.sock.flags |= SOCK_BOUND;
    store_changed(call, &key, existed);
}

#[inline(always)]
pub fn exit_listen(call: &mut Call) {
    let args = ListenArgs::of(&call.args);
    let Some((key, existed)) = for_change(call, args.fd) else {
        return;
    };
    if !existed {
        // A socket inherited or opened before tracing gets a state here, so that its later
        // calls (the workers' accepts) find what the kernel said of it.
        store_changed(call, &key, false);
    }
}
