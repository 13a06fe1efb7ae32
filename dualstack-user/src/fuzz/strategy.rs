//! Generators of the values the targets feed in: raw kernel records that decode, sockaddrs,
//! listeners, holders and filters, each with its fields at their extremes as often as in range.

use std::{collections::BTreeSet, net::SocketAddr};

use dualstack_common::{
    EventHeader, KernelSock, SockState, Syscall, ABI_VERSION, BOUND_CAP, OPT_UNSET,
};
use proptest::{collection::vec, prelude::*, sample::select};

use crate::{
    decode::raw::{DataBytes, RawEvent, UserBytes, ADDR_CAP, DATA_CAP},
    filter::Filter,
    pipeline::Holder,
    snapshot::{
        verify::{Outcome, Probe, Verification},
        Listener, Owner, Protocol,
    },
    sockaddr::{AF_INET, AF_INET6, AF_NETLINK, AF_PACKET, AF_UNIX, AF_UNSPEC},
    verdict::Verdict,
};

/// An address family: the ones decoded somewhere, or any number.
pub fn family() -> impl Strategy<Value = u16> {
    prop_oneof![
        3 => select(vec![AF_UNSPEC, AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET]),
        1 => any::<u16>(),
    ]
}

/// A sockaddr of at most `max` bytes: mostly a known family at one of the lengths the decoders
/// branch on, sometimes plain garbage.
pub fn sockaddr_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    let lengths: Vec<usize> = [0, 1, 2, 3, 4, 12, 15, 16, 20, 23, 24, 27, 28, 109, 110, 128]
        .into_iter()
        .filter(|&n| n <= max)
        .collect();
    let len = prop_oneof![select(lengths), 0..=max];
    prop_oneof![
        3 => (family(), len).prop_flat_map(|(family, len)| {
            vec(any::<u8>(), len).prop_map(move |mut b| {
                let head = family.to_ne_bytes();
                let n = b.len().min(2);
                b[..n].copy_from_slice(&head[..n]);
                b
            })
        }),
        1 => vec(any::<u8>(), 0..=max),
    ]
}

/// A syscall argument register: small numbers, C ints sign-extended, or anything.
fn arg() -> impl Strategy<Value = u64> {
    prop_oneof![
        2 => 0u64..300,
        1 => any::<i32>().prop_map(|v| i64::from(v) as u64),
        1 => select(vec![0x80000u64, 0x800, 0x80801, 0xffff_ffff, u64::MAX, 1 << 63]),
        1 => any::<u64>(),
    ]
}

/// A syscall's return register: errnos (known and not), small results, or anything.
fn ret() -> impl Strategy<Value = i64> {
    prop_oneof![
        2 => -4200i64..300,
        1 => select(vec![i64::MIN, i64::MAX, -4095, -4096, -1]),
        1 => any::<i64>(),
    ]
}

/// A boolean option byte: 0, 1, unset, or garbage.
fn option_byte() -> impl Strategy<Value = u8> {
    prop_oneof![select(vec![0u8, 1, OPT_UNSET]), any::<u8>()]
}

/// A length field: in range, or any u32 (the decoder must clamp it).
fn length(cap: usize) -> impl Strategy<Value = Option<u32>> {
    prop_oneof![
        3 => Just(None),
        1 => (0..=cap as u32 + 4).prop_map(Some),
        1 => any::<u32>().prop_map(Some),
    ]
}

fn user_bytes<const N: usize>(
    content: impl Strategy<Value = Vec<u8>>,
) -> impl Strategy<Value = UserBytes<N>> {
    (0u32..3, length(N), content).prop_map(|(status, len, bytes)| {
        let mut b = UserBytes::<N>::EMPTY;
        let n = bytes.len().min(N);
        b.bytes[..n].copy_from_slice(&bytes[..n]);
        b.status = status;
        b.len = len.unwrap_or(n as u32);
        b
    })
}

/// `data`: an option value, socketpair's two descriptors or accept's two lengths.
fn data_bytes() -> impl Strategy<Value = DataBytes> {
    let lengths = (0u32..200, 0u32..200).prop_map(|(before, after)| {
        let mut b = before.to_ne_bytes().to_vec();
        b.extend_from_slice(&after.to_ne_bytes());
        b
    });
    user_bytes::<DATA_CAP>(prop_oneof![lengths, vec(any::<u8>(), 0..=DATA_CAP)])
}

fn header() -> impl Strategy<Value = EventHeader> {
    (
        select(Syscall::ALL.to_vec()),
        any::<u16>(),
        any::<u64>(),
        (any::<u64>(), any::<u64>()),
        ret(),
        any::<[u8; 16]>(),
    )
        .prop_map(
            |(kind, flags, pid_tgid, (ts_ns, enter_ts_ns), ret, comm)| EventHeader {
                kind: kind as u32,
                version: ABI_VERSION,
                flags,
                pid_tgid,
                ts_ns,
                enter_ts_ns,
                ret,
                comm,
            },
        )
}

fn sock_state() -> impl Strategy<Value = SockState> {
    (
        (family(), any::<u32>(), any::<u32>(), any::<u8>()),
        (option_byte(), any::<u8>(), option_byte(), option_byte()),
        (option_byte(), option_byte()),
        prop_oneof![Just([0u8; 16]), any::<[u8; 16]>()],
        (length(BOUND_CAP), sockaddr_bytes(BOUND_CAP)),
    )
        .prop_map(
            |(
                (family, sock_type, protocol, flags),
                (v6only, v6only_source, reuseaddr, reuseport),
                (freebind, transparent),
                bind_device,
                (bound_len, bound_bytes),
            )| {
                let mut s = SockState::EMPTY;
                s.family = family;
                s.sock_type = sock_type;
                s.protocol = protocol;
                s.flags = flags;
                s.v6only = v6only;
                s.v6only_source = v6only_source;
                s.reuseaddr = reuseaddr;
                s.reuseport = reuseport;
                s.freebind = freebind;
                s.transparent = transparent;
                s.bind_device = bind_device;
                s.bound[..bound_bytes.len()].copy_from_slice(&bound_bytes);
                s.bound_len = bound_len.unwrap_or(bound_bytes.len() as u32);
                s
            },
        )
}

fn kernel_sock() -> impl Strategy<Value = KernelSock> {
    (
        (
            prop_oneof![0u32..4, any::<u32>()],
            any::<u32>(),
            any::<u64>(),
        ),
        (family(), any::<u16>(), any::<u8>()),
        (
            any::<u8>(),
            any::<u8>(),
            any::<[u8; 4]>(),
            any::<[u8; 16]>(),
        ),
        any::<u16>(),
    )
        .prop_map(
            |((flags, netns, ino), (family, port, state), (v6only, bindv6only, v4, v6), ty)| {
                let mut k = KernelSock::EMPTY;
                k.flags = flags;
                k.netns = netns;
                k.ino = ino;
                k.family = family;
                k.port = port;
                k.state = state;
                k.ipv6only = v6only;
                k.netns_bindv6only = bindv6only;
                k.v4 = v4;
                k.v6 = v6;
                k.sock_type = ty;
                k
            },
        )
}

/// A record the kernel could write: a known kind and this ABI version, read statuses in range,
/// every other field anything (lengths included: the decoder clamps them).
pub fn raw_event() -> impl Strategy<Value = RawEvent> {
    (
        header(),
        [arg(), arg(), arg(), arg(), arg(), arg()],
        sock_state(),
        kernel_sock(),
        user_bytes::<ADDR_CAP>(sockaddr_bytes(ADDR_CAP)),
        data_bytes(),
    )
        .prop_map(|(header, args, sock, kernel, addr, data)| RawEvent {
            header,
            args,
            sock,
            kernel,
            addr,
            data,
        })
}

/// Text as it comes from outside: any Unicode, control characters, quotes, empty.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        1 => select(vec![
            String::new(),
            "\n".to_owned(),
            "\"\\\r\n\t,".to_owned(),
            "\u{0}\u{7f}\u{2028}".to_owned(),
        ]),
    ]
}

fn verdict() -> impl Strategy<Value = Verdict> {
    (any::<bool>(), any::<bool>(), any::<bool>(), text()).prop_map(
        |(ipv4, ipv6, certain, reason)| Verdict {
            ipv4,
            ipv6,
            certain,
            reason,
        },
    )
}

fn protocol() -> impl Strategy<Value = Protocol> {
    select(vec![Protocol::Tcp, Protocol::Udp])
}

fn owner() -> impl Strategy<Value = Owner> {
    (prop_oneof![1u32..5, any::<u32>()], text(), any::<i32>()).prop_map(|(pid, comm, fd)| Owner {
        pid,
        comm,
        fd,
    })
}

/// A listener of the snapshot, any field anything (owners sorted by pid, as the snapshot
/// sorts them).
pub fn listener() -> impl Strategy<Value = Listener> {
    (
        (
            any::<u64>(),
            proptest::option::of(text()),
            any::<Option<u32>>(),
        ),
        (
            protocol(),
            family(),
            any::<SocketAddr>(),
            any::<Option<bool>>(),
        ),
        (any::<u8>(), any::<u64>(), any::<u32>()),
        vec(owner(), 0..5),
        verdict(),
    )
        .prop_map(
            |(
                (netns, netns_name, netns_pid),
                (protocol, family, local, v6only),
                (state, inode, uid),
                mut owners,
                verdict,
            )| {
                owners.sort_by_key(|o| o.pid);
                Listener {
                    netns,
                    netns_name,
                    netns_pid,
                    protocol,
                    family,
                    local,
                    v6only,
                    state,
                    inode,
                    uid,
                    owners,
                    verdict,
                }
            },
        )
}

fn probe() -> impl Strategy<Value = Probe> {
    prop_oneof![
        select(vec![
            Probe::Accepted,
            Probe::Refused,
            Probe::NotTried,
            Probe::Timeout
        ]),
        any::<i32>().prop_map(Probe::Failed),
    ]
}

pub fn verification() -> impl Strategy<Value = Verification> {
    (
        probe(),
        probe(),
        select(vec![
            Outcome::Ok,
            Outcome::Partial,
            Outcome::Mismatch,
            Outcome::NotVerified,
        ]),
        proptest::option::of(text()),
    )
        .prop_map(|(ipv4, ipv6, result, note)| Verification {
            ipv4,
            ipv6,
            result,
            note,
        })
}

pub fn holder() -> impl Strategy<Value = Holder> {
    (
        (
            any::<Option<u32>>(),
            proptest::option::of(text()),
            any::<Option<i32>>(),
        ),
        (family(), any::<SocketAddr>(), any::<Option<bool>>()),
        select(vec!["LISTEN", "UNCONN", "BOUND", "UNKNOWN"]),
        verdict(),
    )
        .prop_map(
            |((pid, comm, fd), (family, local, v6only), state, verdict)| Holder {
                pid,
                comm,
                fd,
                family,
                local,
                v6only,
                state,
                verdict,
            },
        )
}

/// A filter as a client or the command line could give it.
pub fn filter() -> impl Strategy<Value = Filter> {
    (
        proptest::collection::btree_set(prop_oneof![1u32..5, any::<u32>()], 0..3),
        proptest::option::of(prop_oneof!["[a-z0-9]{0,15}", text()]),
        any::<Option<u16>>(),
        proptest::option::of(family()),
        proptest::collection::btree_set(select(Syscall::ALL.to_vec()), 0..4),
        any::<bool>(),
    )
        .prop_map(|(pids, comm, port, family, syscalls, failed_only)| Filter {
            pids,
            comm,
            port,
            family,
            syscalls: syscalls.into_iter().collect::<BTreeSet<_>>(),
            failed_only,
        })
}
