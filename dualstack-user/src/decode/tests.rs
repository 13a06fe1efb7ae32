//! decode() on bytes built with the kernel's own types, on truncated records and on garbage.

use dualstack_common::{
    EventHeader, KernelSock, ReadStatus, SockState, Syscall, V6OnlySource, ABI_VERSION,
    EVENT_HAS_SOCK, MAX_RECORD_SIZE, SOCK_BOUND, SOCK_SEEN_CREATED,
};

use super::raw::{AddrBytes, DataBytes, RawEvent, ADDR_CAP};

use super::{decode, encode, DecodeError};
use crate::{
    model::{Call, Errno, Return, UserRead},
    sockaddr::SockAddr,
};

fn raw(kind: Syscall, ret: i64, args: [u64; 6]) -> RawEvent {
    RawEvent {
        header: EventHeader {
            kind: kind as u32,
            version: ABI_VERSION,
            flags: 0,
            pid_tgid: (4242u64 << 32) | 0x1093,
            ts_ns: 1_000,
            enter_ts_ns: 900,
            ret,
            comm: *b"python3\0\0\0\0\0\0\0\0\0",
        },
        args,
        sock: SockState::EMPTY,
        kernel: KernelSock::EMPTY,
        addr: AddrBytes::EMPTY,
        data: DataBytes::EMPTY,
    }
}

fn with_bytes<const N: usize>(buf: &mut crate::decode::raw::UserBytes<N>, bytes: &[u8]) {
    buf.status = ReadStatus::Ok as u32;
    buf.len = bytes.len() as u32;
    buf.bytes[..bytes.len()].copy_from_slice(bytes);
}

fn inet6_any(port: u16) -> Vec<u8> {
    let mut b = vec![0u8; 28];
    b[..2].copy_from_slice(&10u16.to_ne_bytes());
    b[2..4].copy_from_slice(&port.to_be_bytes());
    b
}

#[test]
fn socket_event() {
    let ev = decode(&encode(&raw(Syscall::Socket, 3, [10, 0x80001, 6, 0, 0, 0]))).unwrap();
    assert_eq!((ev.pid, ev.tid, ev.comm.as_str()), (4242, 4243, "python3"));
    assert_eq!(
        ev.call,
        Call::Socket {
            family: 10,
            sock_type: 0x80001,
            protocol: 6
        }
    );
    assert_eq!(ev.ret, Return::Value(3));
    assert_eq!(ev.socket, None);
}

#[test]
fn bind_event_with_socket_context() {
    let mut r = raw(Syscall::Bind, 0, [3, 0x7ffd_0000, 28, 0, 0, 0]);
    with_bytes(&mut r.addr, &inet6_any(1521));
    r.header.flags = EVENT_HAS_SOCK;
    r.sock.family = 10;
    r.sock.sock_type = 1;
    r.sock.flags = SOCK_SEEN_CREATED | SOCK_BOUND;
    r.sock.v6only = 1;
    r.sock.v6only_source = V6OnlySource::Setsockopt as u8;
    r.sock.bound[..28].copy_from_slice(&inet6_any(1521));
    r.sock.bound_len = 28;
    let ev = decode(&encode(&r)).unwrap();
    let Call::Bind {
        fd: 3,
        addr,
        addrlen: 28,
    } = &ev.call
    else {
        panic!("{:?}", ev.call)
    };
    assert_eq!(addr.ptr, 0x7ffd_0000);
    assert_eq!(ev.address().and_then(|a| a.port()), Some(1521));
    let sock = ev.socket.unwrap();
    assert_eq!(sock.family, Some(10));
    assert_eq!(sock.v6only, Some(true));
    assert_eq!(sock.v6only_source, Some(V6OnlySource::Setsockopt));
    assert_eq!(sock.reuseaddr, None);
    assert!(matches!(sock.bound, Some(SockAddr::Inet6 { .. })));
}

#[test]
fn failed_call_has_errno() {
    let ev = decode(&encode(&raw(Syscall::Bind, -98, [4, 0, 16, 0, 0, 0]))).unwrap();
    assert_eq!(ev.ret, Return::Error(Errno(98)));
    assert_eq!(Errno(98).name(), Some("EADDRINUSE"));
}

#[test]
fn setsockopt_value_and_fault() {
    let mut r = raw(Syscall::Setsockopt, 0, [3, 41, 26, 0x1000, 4, 0]);
    with_bytes(&mut r.data, &1i32.to_ne_bytes());
    let ev = decode(&encode(&r)).unwrap();
    let Call::Setsockopt { optval, .. } = &ev.call else {
        panic!()
    };
    assert_eq!(optval.bytes(), Some(&[1, 0, 0, 0][..]));

    let mut r = raw(Syscall::Setsockopt, -14, [3, 1, 2, 0x1, 4, 0]);
    r.data.status = ReadStatus::Fault as u32;
    let ev = decode(&encode(&r)).unwrap();
    let Call::Setsockopt { optval, .. } = &ev.call else {
        panic!()
    };
    assert_eq!(optval.read, UserRead::Fault);
}

#[test]
fn accept_lengths_and_peer() {
    let mut r = raw(Syscall::Accept4, 7, [3, 0x2000, 0x3000, 0x80000, 0, 0]);
    let mut lens = Vec::new();
    lens.extend_from_slice(&128u32.to_ne_bytes());
    lens.extend_from_slice(&28u32.to_ne_bytes());
    with_bytes(&mut r.data, &lens);
    with_bytes(&mut r.addr, &inet6_any(50000));
    let ev = decode(&encode(&r)).unwrap();
    let Call::Accept { addrlen, flags, .. } = &ev.call else {
        panic!()
    };
    assert_eq!((addrlen.before, addrlen.after), (Some(128), Some(28)));
    assert_eq!(*flags, Some(0x80000));
    assert_eq!(ev.syscall(), Syscall::Accept4);
}

#[test]
fn every_kind_decodes() {
    for kind in Syscall::ALL {
        let ev = decode(&encode(&raw(kind, 0, [0; 6]))).unwrap();
        assert_eq!(ev.syscall(), kind);
    }
}

#[test]
fn truncated_records_are_errors() {
    let bytes = encode(&raw(Syscall::Listen, 0, [3, 128, 0, 0, 0, 0]));
    for len in 0..bytes.len() {
        assert!(
            matches!(decode(&bytes[..len]), Err(DecodeError::Length { got, want }) if got == len && want > len),
            "{len} bytes of {}",
            bytes.len()
        );
    }
}

#[test]
fn bad_kind_version_and_status_are_errors() {
    let mut r = raw(Syscall::Listen, 0, [0; 6]);
    r.header.kind = 77;
    assert_eq!(decode(&encode(&r)), Err(DecodeError::Kind(77)));
    let mut r = raw(Syscall::Listen, 0, [0; 6]);
    r.header.version = 999;
    assert_eq!(decode(&encode(&r)), Err(DecodeError::Version(999)));
    let mut r = raw(Syscall::Bind, 0, [0; 6]);
    r.addr.status = 9;
    assert_eq!(decode(&encode(&r)), Err(DecodeError::ReadStatus(9)));
}

#[test]
fn oversized_lengths_are_clamped() {
    let mut r = raw(Syscall::Bind, 0, [3, 1, 500, 0, 0, 0]);
    r.addr.status = ReadStatus::Ok as u32;
    r.addr.len = u32::MAX;
    r.sock.bound_len = u32::MAX;
    r.sock.flags = SOCK_BOUND;
    r.header.flags = EVENT_HAS_SOCK;
    let ev = decode(&encode(&r)).unwrap();
    let Call::Bind { addr, .. } = &ev.call else {
        panic!()
    };
    assert_eq!(addr.bytes().map(<[u8]>::len), Some(ADDR_CAP));
}

/// Deterministic garbage: decode must return, never panic, for any bytes of any length.
#[test]
fn garbage_never_panics() {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..20_000 {
        let len = (next() % (MAX_RECORD_SIZE as u64 + 64)) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        // Half the rounds keep a valid header so the payload decoders run on garbage too.
        if round % 2 == 0 && len >= 8 {
            let kind = (next() % 10) as u32;
            bytes[..4].copy_from_slice(&kind.to_ne_bytes());
            bytes[4..6].copy_from_slice(&ABI_VERSION.to_ne_bytes());
        }
        if let Ok(ev) = decode(&bytes) {
            // Formatting garbage must not panic either.
            let mut line = String::new();
            let resolve = crate::format::strace::Resolve { ifname: &|_| None };
            crate::format::strace::write_line(
                &mut line,
                &ev,
                crate::format::strace::Leader::Bracket,
                None,
                &resolve,
            );
            assert!(line.ends_with('\n'));
        }
    }
}
