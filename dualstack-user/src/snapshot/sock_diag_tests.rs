//! The sock_diag parser on answers laid out as the kernel writes them, on every truncation of
//! them and on garbage: sockets or an error, never a panic.

use std::net::SocketAddr;

use super::*;

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
    let with_port = request(
        &Query {
            port: Some(8080),
            ..q
        },
        7,
    );
    assert_eq!(with_port.len(), 72 + 12);
    assert_eq!(u32_ne(&with_port, 0), Some(84));
    assert_eq!(u16_ne(&with_port, 72), Some(12));
    assert_eq!(u16_ne(&with_port, 74), Some(INET_DIAG_REQ_BYTECODE));
    assert_eq!(&with_port[76..78], &[INET_DIAG_BC_S_EQ, 8]);
    assert_eq!(u16_ne(&with_port, 78), Some(12));
    assert_eq!(u16_ne(&with_port, 82), Some(8080));
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
fn other_attributes_are_skipped_and_v6only_ignored_for_inet() {
    let p = diag_msg(
        2,
        TCP_LISTEN,
        &[0; 4],
        80,
        &[(5, &[1, 2, 3]), (INET_DIAG_SKV6ONLY, &[1]), (10, &[6])],
    );
    assert_eq!(parse_socket(&p).expect("parse").v6only, None);
    let p = diag_msg(
        10,
        TCP_LISTEN,
        &[0; 16],
        80,
        &[(5, &[1, 2, 3]), (INET_DIAG_SKV6ONLY, &[1])],
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
fn foreign_sequence_numbers_are_skipped() {
    let mut buf = nlmsg(SOCK_DIAG_BY_FAMILY, 99, &v6_any_listener(1));
    buf.extend(nlmsg(NLMSG_DONE, 99, &[]));
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
    let done_with_error = nlmsg(NLMSG_DONE, 1, &(-libc::EINVAL).to_ne_bytes());
    assert_eq!(
        parse_batch(&done_with_error, 1, &mut out),
        Ok(Batch::Error(libc::EINVAL))
    );
    assert_eq!(
        parse_batch(&nlmsg(NLMSG_ERROR, 1, &[0, 0]), 1, &mut out),
        Err(ParseError::Truncated {
            what: "nlmsgerr",
            need: 4,
            have: 2
        })
    );
    let min = i32::MIN.to_ne_bytes();
    assert!(parse_batch(&nlmsg(NLMSG_ERROR, 1, &min), 1, &mut out).is_ok());
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
            assert!(matches!(result, Err(ParseError::Truncated { .. })), "{cut}");
        }
    }
}

#[test]
fn bad_lengths_are_errors() {
    let mut out = Vec::new();
    let mut buf = nlmsg(SOCK_DIAG_BY_FAMILY, 1, &v6_any_listener(1));
    buf[0..4].copy_from_slice(&1000u32.to_ne_bytes());
    assert!(matches!(
        parse_batch(&buf, 1, &mut out),
        Err(ParseError::MessageLength { len: 1000, .. })
    ));
    buf[0..4].copy_from_slice(&3u32.to_ne_bytes());
    assert!(matches!(
        parse_batch(&buf, 1, &mut out),
        Err(ParseError::MessageLength { len: 3, .. })
    ));
    let mut payload = v6_any_listener(1);
    payload[INET_DIAG_MSG_LEN..INET_DIAG_MSG_LEN + 2].copy_from_slice(&200u16.to_ne_bytes());
    assert!(matches!(
        parse_socket(&payload),
        Err(ParseError::AttributeLength { len: 200, .. })
    ));
    payload[INET_DIAG_MSG_LEN..INET_DIAG_MSG_LEN + 2].copy_from_slice(&2u16.to_ne_bytes());
    assert!(matches!(
        parse_socket(&payload),
        Err(ParseError::AttributeLength { len: 2, .. })
    ));
    // An SKV6ONLY attribute with no value byte: unknown.
    let empty = diag_msg(10, TCP_LISTEN, &[0; 16], 1, &[(INET_DIAG_SKV6ONLY, &[])]);
    assert_eq!(parse_socket(&empty).expect("parse").v6only, None);
    assert_eq!(
        parse_socket(&diag_msg(1, TCP_LISTEN, &[], 1, &[])),
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

#[path = "sock_diag_fuzz.rs"]
mod fuzz;
