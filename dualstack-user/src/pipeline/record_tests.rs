//! The JSON record of accept's peer: the peer's address only when it was read whole.

use std::{net::SocketAddr, time::Duration};

use serde_json::Value;

use crate::{
    clock::Clock,
    model::{
        AddrLen, Call, Event, KernelSocket, KernelView, Return, SocketInfo, UserBuf, UserRead,
    },
    pipeline::Pipeline,
    sockaddr::{SockAddr, AF_INET},
};

fn sin(ip: [u8; 4], port: u16) -> Vec<u8> {
    let mut b = vec![0u8; 16];
    b[..2].copy_from_slice(&AF_INET.to_ne_bytes());
    b[2..4].copy_from_slice(&port.to_be_bytes());
    b[4..8].copy_from_slice(&ip);
    b
}

/// An accept on a listener bound to 0.0.0.0:8080, which the kernel view and the tracer's
/// socket state both report: neither may show up as the peer.
fn accept(addr: UserBuf, addrlen: AddrLen, ret: i64) -> Event {
    let listener: SocketAddr = "0.0.0.0:8080".parse().unwrap();
    Event {
        pid: 100,
        tid: 100,
        comm: "server".into(),
        monotonic: Duration::ZERO,
        entered: Duration::ZERO,
        tracking: crate::model::Tracking::Socket,
        call: Call::Accept {
            fd: 3,
            addr,
            addrlen,
            flags: Some(0x80000),
        },
        ret: Return::from_raw(ret),
        socket: Some(SocketInfo {
            family: Some(AF_INET),
            bound: Some(SockAddr::parse(&sin([0, 0, 0, 0], 8080))),
            ..SocketInfo::default()
        }),
        kernel: KernelView::Read(KernelSocket {
            netns: 1,
            inode: 2,
            family: AF_INET,
            sock_type: 1,
            state: 10,
            v6only: false,
            netns_bindv6only: false,
            local: Some(listener),
        }),
    }
}

fn record(event: &Event) -> Value {
    let mut out = Vec::new();
    Pipeline::offline(Clock::fixed(0), None)
        .record(event.clone())
        .write_json(&mut out);
    serde_json::from_slice(&out).unwrap()
}

fn len(before: Option<u32>, after: Option<u32>) -> AddrLen {
    AddrLen {
        ptr: 0x7ffc_0000_2000,
        before,
        after,
    }
}

const ADDR: u64 = 0x7ffc_0000_1000;

fn read(b: &[u8]) -> UserBuf {
    UserBuf {
        ptr: ADDR,
        read: UserRead::Bytes(b.to_vec()),
    }
}

/// (`peer`, `address`, `port`) of the record.
fn peer_fields(event: &Event) -> (Value, Value, Value) {
    let r = record(event);
    (r["peer"].clone(), r["address"].clone(), r["port"].clone())
}

#[test]
fn peer_read_whole() {
    let ev = accept(
        read(&sin([127, 0, 0, 1], 55588)),
        len(Some(16), Some(16)),
        5,
    );
    assert_eq!(
        peer_fields(&ev),
        ("read".into(), "127.0.0.1".into(), 55588.into())
    );
    let ev = accept(
        read(&sin([127, 0, 0, 1], 55588)),
        len(Some(128), Some(16)),
        5,
    );
    assert_eq!(
        peer_fields(&ev),
        ("read".into(), "127.0.0.1".into(), 55588.into())
    );
}

#[test]
fn peer_not_requested_is_null_not_the_listener() {
    let null = UserBuf {
        ptr: 0,
        read: UserRead::NotRead,
    };
    let ev = accept(
        null,
        AddrLen {
            ptr: 0,
            before: None,
            after: None,
        },
        5,
    );
    assert_eq!(
        peer_fields(&ev),
        ("not-requested".into(), Value::Null, Value::Null)
    );
    // The listener is still in the record, where it belongs.
    let r = record(&ev);
    assert_eq!(r["kernel"]["port"], 8080);
    assert_eq!(r["socket"]["bound_port"], 8080);
}

#[test]
fn peer_truncated_is_null() {
    // accept(3, {sa_family=AF_INET, sa_data="\331\\\177\0\0\1"}, [8 => 16]) = 7
    let ev = accept(
        read(&sin([127, 0, 0, 1], 0xd95c)[..8]),
        len(Some(8), Some(16)),
        7,
    );
    assert_eq!(
        peer_fields(&ev),
        ("truncated".into(), Value::Null, Value::Null)
    );
    let nothing = UserBuf {
        ptr: ADDR,
        read: UserRead::NotRead,
    };
    let ev = accept(nothing, len(Some(0), Some(28)), 7);
    assert_eq!(
        peer_fields(&ev),
        ("truncated".into(), Value::Null, Value::Null)
    );
}

#[test]
fn peer_fault_is_null() {
    let fault = UserBuf {
        ptr: ADDR,
        read: UserRead::Fault,
    };
    let ev = accept(fault, len(Some(16), Some(16)), 5);
    assert_eq!(peer_fields(&ev), ("fault".into(), Value::Null, Value::Null));
    let ev = accept(read(&[]), len(Some(16), None), 5);
    assert_eq!(peer_fields(&ev), ("fault".into(), Value::Null, Value::Null));
}

#[test]
fn failed_accept_has_no_peer() {
    let not_read = UserBuf {
        ptr: ADDR,
        read: UserRead::NotRead,
    };
    let ev = accept(not_read, len(Some(16), None), -11);
    assert_eq!(peer_fields(&ev), (Value::Null, Value::Null, Value::Null));
}

#[test]
fn other_calls_have_a_null_peer_and_keep_their_address() {
    let mut ev = accept(read(&[]), len(None, None), 0);
    ev.call = Call::Listen {
        fd: 3,
        backlog: 128,
    };
    assert_eq!(
        peer_fields(&ev),
        (Value::Null, "0.0.0.0".into(), 8080.into())
    );
}

#[test]
fn truncated_peer_still_gives_the_family() {
    let mut ev = accept(
        read(&sin([127, 0, 0, 1], 0xd95c)[..8]),
        len(Some(8), Some(16)),
        7,
    );
    ev.socket = None;
    assert_eq!(record(&ev)["family"], "AF_INET");
}
