//! The sock_diag parser on the kernel's own answers about sockets opened here, on answers laid
//! out as the kernel writes them, on every truncation of them and on garbage: sockets or an
//! error, never a panic.
//!
//! The messages are built here by hand, from the kernel's headers, and not with the crate that
//! parses them: the tests check the crate against the ABI, not against itself.

use std::{
    net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket},
    os::fd::{AsRawFd, FromRawFd as _, OwnedFd},
};

use netlink_packet_sock_diag::constants::INET_DIAG_SKV6ONLY;

use super::*;
use crate::sockaddr::AF_INET;

// kernel ABI: include/uapi/linux/netlink.h, sock_diag.h and inet_diag.h: struct nlmsghdr is
// 16 bytes, struct inet_diag_msg 72 (family, state, timer, retrans, inet_diag_sockid at 4,
// expires at 52, rqueue, wqueue, uid at 64, inode at 68), struct nlattr 4.
const NLMSG_HDRLEN: usize = 16;
const INET_DIAG_MSG_LEN: usize = 72;
const NLA_HDRLEN: usize = 4;

fn u16_ne(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_ne(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// An inet_diag_msg payload with optional attributes (type, value).
fn diag_msg(family: u8, state: u8, ip: &[u8], port: u16, attrs: &[(u16, &[u8])]) -> Vec<u8> {
    let mut p = vec![0u8; INET_DIAG_MSG_LEN];
    p[0] = family;
    p[1] = state;
    p[4..6].copy_from_slice(&port.to_be_bytes());
    p[8..8 + ip.len()].copy_from_slice(ip);
    p[64..68].copy_from_slice(&1000u32.to_ne_bytes());
    p[68..72].copy_from_slice(&123_456u32.to_ne_bytes());
    for (kind, value) in attrs {
        let len = NLA_HDRLEN + value.len();
        p.extend_from_slice(&(len as u16).to_ne_bytes());
        p.extend_from_slice(&kind.to_ne_bytes());
        p.extend_from_slice(value);
        p.resize(align4(p.len()), 0);
    }
    p
}

/// A netlink message around a payload.
fn nlmsg(kind: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    let len = NLMSG_HDRLEN + payload.len();
    let mut b = Vec::new();
    b.extend_from_slice(&(len as u32).to_ne_bytes());
    b.extend_from_slice(&kind.to_ne_bytes());
    b.extend_from_slice(&0x2u16.to_ne_bytes()); // NLM_F_MULTI
    b.extend_from_slice(&seq.to_ne_bytes());
    b.extend_from_slice(&0u32.to_ne_bytes());
    b.extend_from_slice(payload);
    b.resize(align4(b.len()), 0);
    b
}

fn v6_any_listener(v6only: u8) -> Vec<u8> {
    diag_msg(
        AF_INET6 as u8,
        TCP_LISTEN,
        &[0; 16],
        22,
        &[(INET_DIAG_SKV6ONLY, &[v6only])],
    )
}

fn is_decode_error<T: std::fmt::Debug>(result: &Result<T, ParseError>) -> bool {
    matches!(result, Err(ParseError::Decode(_)))
}

#[test]
fn request_layout() {
    let q = Query {
        family: AF_INET6,
        protocol: Protocol::Tcp,
        states: state_bit(TCP_LISTEN),
        port: None,
    };
    let b = request(&q, 7);
    assert_eq!(b.len(), 72);
    assert_eq!(u32_ne(&b, 0), Some(72));
    assert_eq!(u16_ne(&b, 4), Some(SOCK_DIAG_BY_FAMILY));
    assert_eq!(u16_ne(&b, 6), Some(0x301));
    assert_eq!(u32_ne(&b, 8), Some(7));
    assert_eq!(&b[16..20], &[10, 6, 0, 0]);
    assert_eq!(u32_ne(&b, 20), Some(1 << 10));
    assert_eq!(&b[24..], &[0; 48], "the socket id of a dump is zero");
    let with_port = request(
        &Query {
            port: Some(8080),
            ..q
        },
        7,
    );
    assert_eq!(with_port.len(), 72 + 12);
    assert_eq!(u32_ne(&with_port, 0), Some(84));
    assert_eq!(&with_port[4..72], &b[4..72]);
    assert_eq!(u16_ne(&with_port, 72), Some(12));
    assert_eq!(u16_ne(&with_port, 74), Some(INET_DIAG_REQ_BYTECODE));
    assert_eq!(&with_port[76..78], &[INET_DIAG_BC_S_EQ, 8]);
    assert_eq!(u16_ne(&with_port, 78), Some(12));
    assert_eq!(u16_ne(&with_port, 82), Some(8080));
    // States the crate has no name for are sent as given.
    let udp = request(
        &Query {
            family: AF_INET,
            protocol: Protocol::Udp,
            states: u32::MAX,
            port: None,
        },
        1,
    );
    assert_eq!(&udp[16..20], &[2, 17, 0, 0]);
    assert_eq!(u32_ne(&udp, 20), Some(u32::MAX));
}

#[test]
fn parses_inet6_listener_with_v6only() {
    for (bit, want) in [(0u8, false), (1, true)] {
        let s = parse_socket(&v6_any_listener(bit)).expect("parse");
        assert_eq!(s.family, AF_INET6);
        assert_eq!(s.state, TCP_LISTEN);
        assert_eq!(s.local, "[::]:22".parse::<SocketAddr>().unwrap());
        assert_eq!((s.uid, s.inode), (1000, 123_456));
        assert_eq!(s.v6only, Some(want));
    }
}

#[test]
fn parses_inet_and_v4_mapped() {
    let s = parse_socket(&diag_msg(2, TCP_CLOSE, &[127, 0, 0, 1], 53, &[])).expect("parse");
    assert_eq!(s.local, "127.0.0.1:53".parse::<SocketAddr>().unwrap());
    assert_eq!(s.v6only, None);
    let mapped = "::ffff:127.0.0.1".parse::<Ipv6Addr>().unwrap().octets();
    let s = parse_socket(&diag_msg(10, TCP_LISTEN, &mapped, 80, &[])).expect("parse");
    assert_eq!(
        s.local,
        "[::ffff:127.0.0.1]:80".parse::<SocketAddr>().unwrap()
    );
    // No SKV6ONLY attribute: unknown, not guessed.
    assert_eq!(s.v6only, None);
}

#[test]
fn link_local_addresses_keep_their_interface() {
    let mut p = diag_msg(
        10,
        TCP_LISTEN,
        &[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        80,
        &[],
    );
    p[40..44].copy_from_slice(&3u32.to_ne_bytes());
    assert_eq!(
        parse_socket(&p).expect("parse").local,
        "[fe80::1%3]:80".parse::<SocketAddr>().unwrap()
    );
    let mut p = diag_msg(10, TCP_LISTEN, &[0; 16], 80, &[]);
    p[40..44].copy_from_slice(&3u32.to_ne_bytes());
    assert_eq!(
        parse_socket(&p).expect("parse").local,
        "[::]:80".parse::<SocketAddr>().unwrap()
    );
}

#[test]
fn other_attributes_are_skipped_and_v6only_ignored_for_inet() {
    // INET_DIAG_VEGASINFO (not decoded), INET_DIAG_TOS, INET_DIAG_PROTOCOL, and a type from a
    // kernel newer than the crate.
    let p = diag_msg(
        2,
        TCP_LISTEN,
        &[0; 4],
        80,
        &[
            (3, &[1, 2, 3]),
            (5, &[0]),
            (INET_DIAG_SKV6ONLY, &[1]),
            (10, &[6]),
            (99, &[9; 9]),
        ],
    );
    assert_eq!(parse_socket(&p).expect("parse").v6only, None);
    let p = diag_msg(
        10,
        TCP_LISTEN,
        &[0; 16],
        80,
        &[(3, &[1, 2, 3]), (INET_DIAG_SKV6ONLY, &[1])],
    );
    assert_eq!(parse_socket(&p).expect("parse").v6only, Some(true));
}

#[test]
fn batch_with_sockets_then_done() {
    let mut buf = nlmsg(SOCK_DIAG_BY_FAMILY, 1, &v6_any_listener(1));
    buf.extend(nlmsg(SOCK_DIAG_BY_FAMILY, 1, &v6_any_listener(0)));
    let mut out = Vec::new();
    assert_eq!(parse_batch(&buf, 1, &mut out), Ok(Batch::More));
    assert_eq!(out.len(), 2);
    buf.extend(nlmsg(NLMSG_DONE, 1, &0i32.to_ne_bytes()));
    out.clear();
    assert_eq!(parse_batch(&buf, 1, &mut out), Ok(Batch::Done));
    assert_eq!(out.len(), 2);
}

#[test]
fn foreign_sequence_numbers_and_unknown_types_are_skipped() {
    let mut buf = nlmsg(SOCK_DIAG_BY_FAMILY, 99, &v6_any_listener(1));
    buf.extend(nlmsg(NLMSG_DONE, 99, &[]));
    buf.extend(nlmsg(1, 1, &[])); // NLMSG_NOOP
    buf.extend(nlmsg(21, 1, &[1, 2, 3])); // SOCK_DESTROY: not an answer to a dump
    let mut out = Vec::new();
    assert_eq!(parse_batch(&buf, 1, &mut out), Ok(Batch::More));
    assert!(out.is_empty());
}

#[test]
fn kernel_errors() {
    let mut out = Vec::new();
    let mut err = (-libc::ENOENT).to_ne_bytes().to_vec();
    err.extend_from_slice(&[0; 16]);
    assert_eq!(
        parse_batch(&nlmsg(NLMSG_ERROR, 1, &err), 1, &mut out),
        Ok(Batch::Error(libc::ENOENT))
    );
    assert_eq!(
        parse_batch(&nlmsg(NLMSG_ERROR, 1, &0i32.to_ne_bytes()), 1, &mut out),
        Ok(Batch::Done)
    );
    let done_with_error = nlmsg(NLMSG_DONE, 1, &(-libc::EINVAL).to_ne_bytes());
    assert_eq!(
        parse_batch(&done_with_error, 1, &mut out),
        Ok(Batch::Error(libc::EINVAL))
    );
    assert!(is_decode_error(&parse_batch(
        &nlmsg(NLMSG_ERROR, 1, &[0, 0]),
        1,
        &mut out
    )));
    let min = i32::MIN.to_ne_bytes();
    assert!(parse_batch(&nlmsg(NLMSG_ERROR, 1, &min), 1, &mut out).is_ok());
    assert!(parse_batch(&nlmsg(NLMSG_DONE, 1, &min), 1, &mut out).is_ok());
    assert_eq!(
        parse_batch(&nlmsg(NLMSG_OVERRUN, 1, &[]), 1, &mut out),
        Err(ParseError::Overrun)
    );
}

#[test]
fn every_truncation_is_an_error_or_fewer_sockets() {
    let mut buf = nlmsg(SOCK_DIAG_BY_FAMILY, 1, &v6_any_listener(1));
    buf.extend(nlmsg(NLMSG_DONE, 1, &[0; 4]));
    for cut in 0..buf.len() {
        let mut out = Vec::new();
        let result = parse_batch(&buf[..cut], 1, &mut out);
        assert!(
            result.is_err() || (result == Ok(Batch::More) && out.len() <= 1),
            "cut at {cut}: {result:?} {out:?}"
        );
    }
    let payload = v6_any_listener(1);
    for cut in 0..payload.len() {
        let result = parse_socket(&payload[..cut]);
        if cut < INET_DIAG_MSG_LEN {
            assert!(is_decode_error(&result), "{cut}: {result:?}");
        }
    }
}

#[test]
fn bad_lengths_are_errors() {
    let mut out = Vec::new();
    let mut buf = nlmsg(SOCK_DIAG_BY_FAMILY, 1, &v6_any_listener(1));
    buf[0..4].copy_from_slice(&1000u32.to_ne_bytes());
    assert!(is_decode_error(&parse_batch(&buf, 1, &mut out)));
    buf[0..4].copy_from_slice(&3u32.to_ne_bytes());
    assert!(is_decode_error(&parse_batch(&buf, 1, &mut out)));
    let mut payload = v6_any_listener(1);
    payload[INET_DIAG_MSG_LEN..INET_DIAG_MSG_LEN + 2].copy_from_slice(&200u16.to_ne_bytes());
    assert!(is_decode_error(&parse_socket(&payload)));
    payload[INET_DIAG_MSG_LEN..INET_DIAG_MSG_LEN + 2].copy_from_slice(&2u16.to_ne_bytes());
    assert!(is_decode_error(&parse_socket(&payload)));
    // The kernel writes SKV6ONLY as one byte; another length is a malformed answer.
    let empty = diag_msg(10, TCP_LISTEN, &[0; 16], 1, &[(INET_DIAG_SKV6ONLY, &[])]);
    assert!(is_decode_error(&parse_socket(&empty)));
    let result = parse_socket(&diag_msg(3, TCP_LISTEN, &[], 1, &[]));
    assert!(
        matches!(&result, Err(ParseError::Decode(e)) if e.contains("family 3")),
        "{result:?}"
    );
}

#[test]
fn unix_answers_are_not_inet_sockets() {
    // kernel ABI: struct unix_diag_msg {u8 family, type, state, pad; u32 ino; u32 cookie[2]}.
    let mut p = vec![0u8; 16];
    p[0] = 1; // AF_UNIX
    p[1] = 1; // SOCK_STREAM
    p[2] = TCP_LISTEN;
    let mut out = Vec::new();
    assert_eq!(
        parse_batch(&nlmsg(SOCK_DIAG_BY_FAMILY, 1, &p), 1, &mut out),
        Err(ParseError::Family(1))
    );
}

#[test]
fn garbage_never_panics() {
    // xorshift: reproducible bytes without a dependency.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let valid = nlmsg(SOCK_DIAG_BY_FAMILY, 1, &v6_any_listener(0));
    for round in 0..20_000 {
        let len = (next() % 200) as usize;
        let mut buf: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if round % 2 == 0 {
            // Mostly-valid messages with a few bytes flipped reach deeper into the parser.
            buf.clone_from(&valid);
            for _ in 0..=(next() % 4) {
                let at = (next() as usize) % buf.len();
                buf[at] = next() as u8;
            }
            buf.truncate((next() as usize) % (valid.len() + 1));
        }
        let mut out = Vec::new();
        let _ = parse_batch(&buf, 1, &mut out);
        let _ = parse_socket(&buf);
    }
}

/// A socket made with libc (std cannot set IPV6_V6ONLY before bind), bound to port 0 of `ip`.
fn v6_socket(kind: libc::c_int, v6only: bool, ip: Ipv6Addr) -> OwnedFd {
    // SAFETY: socket has no memory preconditions.
    let fd = unsafe { libc::socket(libc::AF_INET6, kind | libc::SOCK_CLOEXEC, 0) };
    assert!(fd >= 0, "socket(AF_INET6): {}", io::Error::last_os_error());
    // SAFETY: fd was just returned by socket and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let on = libc::c_int::from(v6only);
    // SAFETY: on is a valid c_int and its size is given.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_V6ONLY,
            std::ptr::addr_of!(on).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "IPV6_V6ONLY: {}", io::Error::last_os_error());
    // SAFETY: sockaddr_in6 is plain old data; zeroed is a valid value.
    let mut addr: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
    addr.sin6_family = libc::AF_INET6 as libc::sa_family_t;
    addr.sin6_addr.s6_addr = ip.octets();
    // SAFETY: addr is a valid sockaddr_in6 and its size is given.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            std::ptr::addr_of!(addr).cast(),
            size_of::<libc::sockaddr_in6>() as libc::socklen_t,
        )
    };
    assert_eq!(
        rc,
        0,
        "bind [{ip}]:0 (this test needs IPv6 on loopback): {}",
        io::Error::last_os_error()
    );
    if kind == libc::SOCK_STREAM {
        // SAFETY: fd is a bound TCP socket.
        assert_eq!(unsafe { libc::listen(fd.as_raw_fd(), 1) }, 0);
    }
    fd
}

/// The inode of a socket.
fn inode_of(fd: &impl AsRawFd) -> u64 {
    // SAFETY: stat is plain old data; fstat fills it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: st is valid for writing.
    assert_eq!(unsafe { libc::fstat(fd.as_raw_fd(), &raw mut st) }, 0);
    st.st_ino
}

/// What the kernel should say of a socket opened here, and the protocol to ask for it.
fn expect(
    fd: &impl AsRawFd,
    local: io::Result<SocketAddr>,
    protocol: Protocol,
    v6only: Option<bool>,
) -> (Protocol, DiagSocket) {
    let local = local.expect("getsockname");
    let socket = DiagSocket {
        family: if local.is_ipv4() { AF_INET } else { AF_INET6 },
        state: match protocol {
            Protocol::Tcp => TCP_LISTEN,
            Protocol::Udp => TCP_CLOSE,
        },
        local,
        inode: inode_of(fd),
        // SAFETY: geteuid has no preconditions.
        uid: unsafe { libc::geteuid() },
        v6only,
    };
    (protocol, socket)
}

/// The kernel lists the sockets this test opens on loopback, each with its inode, uid,
/// address, state and v6only bit; a dump with a port lists that port's sockets only.
#[test]
fn real_dumps_list_sockets_opened_here() {
    let tcp4 = TcpListener::bind("127.0.0.1:0").expect("listen on 127.0.0.1");
    let udp4 = UdpSocket::bind("127.0.0.1:0").expect("bind udp 127.0.0.1");
    let tcp6_only = TcpListener::from(v6_socket(libc::SOCK_STREAM, true, Ipv6Addr::LOCALHOST));
    // A v4-mapped address keeps IPV6_V6ONLY off (the kernel sets it for any other specific
    // address) and the socket on loopback.
    let mapped = Ipv4Addr::LOCALHOST.to_ipv6_mapped();
    let tcp6_dual = TcpListener::from(v6_socket(libc::SOCK_STREAM, false, mapped));
    let udp6_dual = UdpSocket::from(v6_socket(libc::SOCK_DGRAM, false, mapped));
    let udp6_only = UdpSocket::from(v6_socket(libc::SOCK_DGRAM, true, Ipv6Addr::LOCALHOST));
    let cases = [
        expect(&tcp4, tcp4.local_addr(), Protocol::Tcp, None),
        expect(&udp4, udp4.local_addr(), Protocol::Udp, None),
        expect(
            &tcp6_only,
            tcp6_only.local_addr(),
            Protocol::Tcp,
            Some(true),
        ),
        expect(
            &tcp6_dual,
            tcp6_dual.local_addr(),
            Protocol::Tcp,
            Some(false),
        ),
        expect(
            &udp6_dual,
            udp6_dual.local_addr(),
            Protocol::Udp,
            Some(false),
        ),
        expect(
            &udp6_only,
            udp6_only.local_addr(),
            Protocol::Udp,
            Some(true),
        ),
    ];
    for (protocol, want) in cases {
        for port in [None, Some(want.local.port())] {
            let query = Query {
                family: want.family,
                protocol,
                states: if protocol == Protocol::Tcp {
                    state_bit(TCP_LISTEN)
                } else {
                    u32::MAX
                },
                port,
            };
            let sockets = dump(&query).unwrap_or_else(|e| panic!("{query:?}: {e}"));
            let found: Vec<&DiagSocket> =
                sockets.iter().filter(|s| s.inode == want.inode).collect();
            assert_eq!(found, [&want], "{query:?}");
            if port.is_some() {
                assert!(
                    sockets.iter().all(|s| s.local.port() == want.local.port()),
                    "{query:?}: {sockets:?}"
                );
            }
        }
    }
}

/// The buffers the kernel answers `query` with, as received.
fn kernel_reply(query: &Query) -> Vec<Vec<u8>> {
    let socket = open().expect("open a sock_diag socket");
    socket
        .send_to(&request(query, 1), &KernelAddr::new(0, 0), 0)
        .expect("send");
    let mut buffers = Vec::new();
    loop {
        let mut buf = vec![0u8; 64 * 1024];
        let n = socket.recv(&mut &mut buf[..], 0).expect("receive");
        buf.truncate(n);
        let batch = parse_batch(&buf, 1, &mut Vec::new());
        buffers.push(buf);
        if batch != Ok(Batch::More) {
            assert_eq!(batch, Ok(Batch::Done));
            return buffers;
        }
    }
}

/// The kernel's own bytes, about a listener opened here, cut anywhere and with bytes changed:
/// the socket, fewer sockets or an error, never a panic.
#[test]
fn real_replies_cut_and_changed() {
    let listener = TcpListener::from(v6_socket(libc::SOCK_STREAM, true, Ipv6Addr::LOCALHOST));
    let local = listener.local_addr().expect("getsockname");
    let inode = inode_of(&listener);
    let query = Query {
        family: AF_INET6,
        protocol: Protocol::Tcp,
        states: state_bit(TCP_LISTEN),
        port: Some(local.port()),
    };
    let reply = kernel_reply(&query).concat();
    let mut whole = Vec::new();
    assert_eq!(parse_batch(&reply, 1, &mut whole), Ok(Batch::Done));
    assert_eq!(whole.iter().map(|s| s.inode).collect::<Vec<_>>(), [inode]);
    for cut in 0..reply.len() {
        let mut out = Vec::new();
        let result = parse_batch(&reply[..cut], 1, &mut out);
        assert!(
            result.is_err() || (result == Ok(Batch::More) && out.len() <= 1),
            "cut at {cut}: {result:?}"
        );
    }
    for at in 0..reply.len() {
        for byte in [0, 1, 0x7f, 0xff] {
            let mut changed = reply.clone();
            changed[at] = byte;
            let _ = parse_batch(&changed, 1, &mut Vec::new());
        }
    }
}

#[path = "sock_diag_fuzz.rs"]
mod fuzz;
