//! bind and listen: where a socket gets its address and starts accepting.

use dualstack_common::{
    args::{AddrArgs, ListenArgs},
    BOUND_CAP, SOCK_BOUND, USER_CAP,
};

use crate::{
    kernel_sock::read_kernel_sock,
    record::Call,
    state::{key_of, load_for_record, store_changed},
    user_memory::read_user,
};

#[inline(always)]
pub fn exit_bind(call: &mut Call) {
    let args = AddrArgs::of(&call.args);
    read_user(&mut call.user, args.addr, args.addrlen, USER_CAP);
    read_kernel_sock(args.fd as i32 as i64, &mut call.kernel);
    let Some(key) = key_of(&call.kernel, call.tgid(), args.fd) else {
        return;
    };
    let existed = load_for_record(call, &key);
    if call.ret != 0 {
        return;
    }
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
    read_kernel_sock(args.fd as i32 as i64, &mut call.kernel);
    let Some(key) = key_of(&call.kernel, call.tgid(), args.fd) else {
        return;
    };
    if !load_for_record(call, &key) && call.ret == 0 {
        // A socket inherited or opened before tracing gets a state here, so that its later
        // calls (the workers' accepts) find what the kernel said of it.
        store_changed(call, &key, false);
    }
}
