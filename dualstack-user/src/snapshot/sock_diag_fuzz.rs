//! The sock_diag parser (our boundary around the netlink crates' decoder) on dumps laid out as
//! the kernel writes them (read back exactly), and on those dumps with bytes changed and cut
//! anywhere, and on arbitrary bytes: sockets or an error, never a panic (see `crate::fuzz` for
//! the case budget).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLA_TYPE_MASK};
use proptest::{collection::vec, prelude::*, sample::select};

use super::*;

/// A socket message: family, state, address bytes, port, SKV6ONLY's value byte if present, and
/// other attributes (type, value).
type Msg = (u8, u8, [u8; 16], u16, Option<u8>, Vec<(u16, Vec<u8>)>);

/// An attribute other than SKV6ONLY, as a kernel could send it: of a type the decoder keeps
/// opaque (any value), or of one it reads, with a value of that type's size.
fn other_attribute() -> impl Strategy<Value = (u16, Vec<u8>)> {
    // kernel ABI: include/uapi/linux/inet_diag.h. MEMINFO (16 bytes), CONG (a string) and
    // SKMEMINFO (36 bytes) are left out: of another size they are malformed.
    const READ: [u16; 9] = [1, 4, 5, 6, 7, 8, 10, 15, 17];
    let flags = select(vec![0u16, NLA_F_NESTED, NLA_F_NET_BYTEORDER]);
    prop_oneof![
        (
            any::<u16>().prop_filter("opaque", |k| {
                let k = k & NLA_TYPE_MASK;
                k != INET_DIAG_SKV6ONLY && !READ.contains(&k)
            }),
            vec(any::<u8>(), 0..12),
        ),
        (select(vec![5u16, 6, 8, 10]), flags.clone(), any::<u8>())
            .prop_map(|(k, f, b)| (k | f, vec![b])),
        (select(vec![15u16, 17]), flags, any::<u32>())
            .prop_map(|(k, f, v)| (k | f, v.to_ne_bytes().to_vec())),
    ]
}

fn socket_message() -> impl Strategy<Value = Msg> {
    (
        select(vec![AF_INET as u8, AF_INET6 as u8]),
        any::<u8>(),
        any::<[u8; 16]>(),
        any::<u16>(),
        proptest::option::of(any::<u8>()),
        vec(other_attribute(), 0..3),
    )
}

fn payload(m: &Msg) -> Vec<u8> {
    let (family, state, ip, port, v6only, others) = m;
    let ip: &[u8] = if u16::from(*family) == AF_INET {
        &ip[..4]
    } else {
        ip
    };
    let v6only = v6only.map(|b| [b]);
    let mut attrs: Vec<(u16, &[u8])> = others.iter().map(|(k, v)| (*k, v.as_slice())).collect();
    if let Some(b) = &v6only {
        attrs.push((INET_DIAG_SKV6ONLY, b));
    }
    diag_msg(*family, *state, ip, *port, &attrs)
}

fn expected(m: &Msg) -> DiagSocket {
    let (family, state, ip, port, v6only, _) = m;
    let family = u16::from(*family);
    let addr = if family == AF_INET {
        IpAddr::V4(Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]))
    } else {
        IpAddr::V6(Ipv6Addr::from(*ip))
    };
    DiagSocket {
        family,
        state: *state,
        local: SocketAddr::new(addr, *port),
        inode: 123_456,
        uid: 1000,
        v6only: v6only.filter(|_| family == AF_INET6).map(|b| b != 0),
    }
}

/// Any message: a socket, an end, an error, an overrun, a no-op or an unknown type, ours or
/// another sequence's, with a payload of its own kind, an AF_UNIX one (which the decoder reads
/// on its own path) or garbage.
fn any_message() -> impl Strategy<Value = Vec<u8>> {
    let kind = prop_oneof![
        select(vec![
            SOCK_DIAG_BY_FAMILY,
            NLMSG_DONE,
            NLMSG_ERROR,
            NLMSG_OVERRUN,
            1
        ]),
        any::<u16>(),
    ];
    let body = prop_oneof![
        socket_message().prop_map(|m| payload(&m)),
        any::<i32>().prop_map(|e| e.to_ne_bytes().to_vec()),
        vec(any::<u8>(), 1..100).prop_map(|mut b| {
            b[0] = 1; // AF_UNIX
            b
        }),
        vec(any::<u8>(), 0..100),
    ];
    (kind, prop_oneof![3 => Just(1u32), 1 => any::<u32>()], body)
        .prop_map(|(kind, seq, body)| nlmsg(kind, seq, &body))
}

proptest! {
    #![proptest_config(crate::fuzz::config(200_000))]

    /// A dump of sockets (with another sequence's messages between them) and its end is read
    /// back exactly.
    #[test]
    fn well_formed_dumps(
        sockets in vec((socket_message(), any::<bool>()), 0..6),
    ) {
        let mut buf = Vec::new();
        for (m, foreign) in &sockets {
            buf.extend(nlmsg(SOCK_DIAG_BY_FAMILY, 1, &payload(m)));
            if *foreign {
                buf.extend(nlmsg(SOCK_DIAG_BY_FAMILY, 99, &payload(m)));
            }
        }
        buf.extend(nlmsg(NLMSG_DONE, 1, &0i32.to_ne_bytes()));
        let mut out = Vec::new();
        prop_assert_eq!(parse_batch(&buf, 1, &mut out), Ok(Batch::Done));
        let want: Vec<DiagSocket> = sockets.iter().map(|(m, _)| expected(m)).collect();
        prop_assert_eq!(out, want);
    }
}

proptest! {
    #![proptest_config(crate::fuzz::config(200_000))]

    /// Any messages, with bytes changed and cut anywhere.
    #[test]
    fn damaged_dumps(
        messages in vec(any_message(), 0..5),
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let mut buf: Vec<u8> = messages.concat();
        if !buf.is_empty() {
            for (at, byte) in edits {
                let at = at.index(buf.len());
                buf[at] = byte;
            }
        }
        if let Some(cut) = cut {
            buf.truncate(cut.index(buf.len() + 1));
        }
        let mut out = Vec::new();
        let _ = parse_batch(&buf, 1, &mut out);
        let _ = parse_socket(&buf);
        if buf.len() > NLMSG_HDRLEN {
            let _ = parse_socket(&buf[NLMSG_HDRLEN..]);
        }
    }
}

proptest! {
    #![proptest_config(crate::fuzz::config(200_000))]

    #[test]
    fn arbitrary_bytes(buf in vec(any::<u8>(), 0..400), seq in prop_oneof![Just(0u32), Just(1), any::<u32>()]) {
        let mut out = Vec::new();
        let _ = parse_batch(&buf, seq, &mut out);
        let _ = parse_socket(&buf);
    }
}
