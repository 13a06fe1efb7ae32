//! Call records built from their parts, for tests and fuzzing: [`encode`] lays a [`RawEvent`]
//! out exactly as the kernel programs write it, with the sections its kind and flags call for.

use std::{mem::size_of, ptr};

use dualstack_common::{
    user_cap, EventHeader, KernelSock, Sections, SockState, Syscall, UserHeader, ADDRLEN_CAP, ARGS,
    EVENT_HAS_KERNEL, EVENT_HAS_SOCK, EVENT_NO_BTF, KSOCK_NO_BTF, KSOCK_READ, USER_CAP,
};

/// Bytes of a sockaddr the kernel reads at most.
pub const ADDR_CAP: usize = USER_CAP;
/// Bytes of setsockopt's optval the kernel reads at most.
pub const DATA_CAP: usize = 64;

/// A copy of user memory taken during a call: `len` of `bytes` were read, with `status` a raw
/// `ReadStatus`.
#[derive(Clone, Copy, Debug)]
pub struct UserBytes<const N: usize> {
    pub status: u32,
    pub len: u32,
    pub bytes: [u8; N],
}

impl<const N: usize> UserBytes<N> {
    pub const EMPTY: Self = UserBytes {
        status: 0,
        len: 0,
        bytes: [0; N],
    };
}

pub type AddrBytes = UserBytes<ADDR_CAP>;
pub type DataBytes = UserBytes<DATA_CAP>;

/// Every part a call record can have. `header.flags` says whether `sock` is sent
/// (`EVENT_HAS_SOCK`); `kernel.flags` whether the kernel view is (`KSOCK_READ`) or why not
/// (`KSOCK_NO_BTF`). Only the first `arg_count` args, and the sections of the kind, are written.
#[derive(Clone, Copy, Debug)]
pub struct RawEvent {
    pub header: EventHeader,
    pub args: [u64; ARGS],
    pub sock: SockState,
    pub kernel: KernelSock,
    /// bind, connect: the sockaddr; accept: the peer's.
    pub addr: AddrBytes,
    /// setsockopt: optval; socketpair: sv; accept: addrlen before and after, two u32.
    pub data: DataBytes,
}

/// The record's bytes. A kind that is not a syscall gets the header and nothing else.
pub fn encode(raw: &RawEvent) -> Vec<u8> {
    let mut header = raw.header;
    header.flags &= !(EVENT_HAS_KERNEL | EVENT_NO_BTF);
    if raw.kernel.flags & KSOCK_READ != 0 {
        header.flags |= EVENT_HAS_KERNEL;
    } else if raw.kernel.flags & KSOCK_NO_BTF != 0 {
        header.flags |= EVENT_NO_BTF;
    }
    let mut out = plain(&header);
    let Ok(kind) = Syscall::try_from(header.kind) else {
        return out;
    };
    for arg in &raw.args[..kind.arg_count()] {
        out.extend_from_slice(&arg.to_ne_bytes());
    }
    if header.flags & EVENT_HAS_SOCK != 0 {
        out.extend_from_slice(&plain(&raw.sock));
    }
    if header.flags & EVENT_HAS_KERNEL != 0 {
        out.extend_from_slice(&plain(&raw.kernel));
    }
    match kind.sections() {
        Sections::None => {}
        Sections::Addr => user(&mut out, &raw.addr, None),
        Sections::AddrAndLen => {
            user(&mut out, &raw.addr, None);
            user(&mut out, &raw.data, Some(ADDRLEN_CAP));
        }
        Sections::Data => user(&mut out, &raw.data, None),
    }
    out
}

/// A user-memory section: its header, then `cap` bytes (the smallest that holds `len`).
fn user<const N: usize>(out: &mut Vec<u8>, bytes: &UserBytes<N>, cap: Option<usize>) {
    let cap = cap.unwrap_or_else(|| user_cap(u64::from(bytes.len).min(N as u64)));
    out.extend_from_slice(&plain(&UserHeader {
        status: bytes.status as u16,
        cap: cap as u16,
        len: bytes.len,
    }));
    let mut section = vec![0u8; cap];
    let n = cap.min(N);
    section[..n].copy_from_slice(&bytes.bytes[..n]);
    out.extend_from_slice(&section);
}

/// The bytes of a plain #[repr(C)] value with explicit padding.
fn plain<T: Copy>(value: &T) -> Vec<u8> {
    // SAFETY: T is one of the ABI's #[repr(C)] types, whose padding is explicit (no uninit
    // bytes); the slice lives only while `value` is borrowed.
    unsafe { std::slice::from_raw_parts(ptr::from_ref(value).cast::<u8>(), size_of::<T>()) }
        .to_vec()
}
