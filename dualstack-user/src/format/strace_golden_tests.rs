//! The formatter against real strace 6.1 lines (tests/golden/*.strace, leader removed).

use std::time::Duration;

use super::{write_line, Leader, Resolve};
use crate::model::{AddrLen, Call, Errno, Event, Return, UserBuf, UserRead};

const AF_INET6: u16 = 10;
const AF_INET: u16 = 2;

fn event(call: Call, ret: i64) -> Event {
    Event {
        pid: 13666,
        tid: 13666,
        comm: "python3".into(),
        monotonic: Duration::ZERO,
        entered: Duration::ZERO,
        call,
        ret: Return::from_raw(ret),
        socket: None,
        kernel: crate::model::KernelView::NotRead,
        tracking: crate::model::Tracking::Socket,
    }
}

fn line(ev: &Event) -> String {
    let mut out = String::new();
    let resolve = Resolve {
        ifname: &|i| (i == 1).then(|| "lo".to_owned()),
    };
    write_line(&mut out, ev, Leader::None, None, &resolve);
    out.trim_end_matches('\n').to_owned()
}

fn bytes(ptr: u64, b: &[u8]) -> UserBuf {
    UserBuf {
        ptr,
        read: UserRead::Bytes(b.to_vec()),
    }
}

fn fault(ptr: u64) -> UserBuf {
    UserBuf {
        ptr,
        read: UserRead::Fault,
    }
}

fn not_read(ptr: u64) -> UserBuf {
    UserBuf {
        ptr,
        read: UserRead::NotRead,
    }
}

fn sin(ip: [u8; 4], port: u16) -> Vec<u8> {
    let mut b = vec![0u8; 16];
    b[..2].copy_from_slice(&AF_INET.to_ne_bytes());
    b[2..4].copy_from_slice(&port.to_be_bytes());
    b[4..8].copy_from_slice(&ip);
    b
}

fn sin6(ip: &str, port: u16, flow: u32, scope: u32) -> Vec<u8> {
    let mut b = vec![0u8; 28];
    b[..2].copy_from_slice(&AF_INET6.to_ne_bytes());
    b[2..4].copy_from_slice(&port.to_be_bytes());
    b[4..8].copy_from_slice(&flow.to_be_bytes());
    b[8..24].copy_from_slice(&ip.parse::<std::net::Ipv6Addr>().unwrap().octets());
    b[24..28].copy_from_slice(&scope.to_ne_bytes());
    b
}

fn bind(fd: i32, addr: UserBuf, addrlen: i32, ret: i64) -> Event {
    event(Call::Bind { fd, addr, addrlen }, ret)
}

fn setsockopt(level: i32, optname: i32, optval: UserBuf, optlen: i32, ret: i64) -> Event {
    event(
        Call::Setsockopt {
            fd: 3,
            level,
            optname,
            optval,
            optlen,
        },
        ret,
    )
}

#[test]
fn socket_lines() {
    let cases = [
        ((10, 0x80001, 0), 4, "socket(AF_INET6, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = 4"),
        ((2, 0x80002, 17), 17, "socket(AF_INET, SOCK_DGRAM|SOCK_CLOEXEC, IPPROTO_UDP) = 17"),
        ((2, 0x80801, 0), 4, "socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK, IPPROTO_IP) = 4"),
        ((1, 0x80001, 0), 3, "socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0) = 3"),
        ((16, 0x80003, 0), 3, "socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_ROUTE) = 3"),
        ((17, 0x80003, 0x0300), 3, "socket(AF_PACKET, SOCK_RAW|SOCK_CLOEXEC, htons(ETH_P_ALL)) = 3"),
        ((0xffff_ffff, 1, 0), -97, "socket(0xffffffff /* AF_??? */, SOCK_STREAM, 0) = -1 EAFNOSUPPORT (Address family not supported by protocol)"),
        ((2, 0x4000_0001, 0), -22, "socket(AF_INET, SOCK_STREAM|0x40000000 /* SOCK_??? */, IPPROTO_IP) = -1 EINVAL (Invalid argument)"),
    ];
    for ((family, sock_type, protocol), ret, want) in cases {
        assert_eq!(
            line(&event(
                Call::Socket {
                    family,
                    sock_type,
                    protocol
                },
                ret
            )),
            want
        );
    }
}

#[test]
fn alignment_pads_to_column_40() {
    assert_eq!(
        line(&event(
            Call::Listen {
                fd: 3,
                backlog: 128
            },
            0
        )),
        "listen(3, 128)                          = 0"
    );
    assert_eq!(
        line(&event(Call::Close { fd: 3 }, 0)),
        "close(3)                                = 0"
    );
    assert_eq!(
        line(&event(Call::Close { fd: 9999 }, -9)),
        "close(9999)                             = -1 EBADF (Bad file descriptor)"
    );
    let mut ev = event(Call::Listen { fd: 4, backlog: 8 }, 0);
    ev.tid = 13847;
    let mut out = String::new();
    write_line(
        &mut out,
        &ev,
        Leader::Bracket,
        None,
        &Resolve { ifname: &|_| None },
    );
    assert_eq!(out, "[pid 13847] listen(4, 8)                = 0\n");
    out.clear();
    ev.tid = 9;
    write_line(
        &mut out,
        &ev,
        Leader::Bracket,
        None,
        &Resolve { ifname: &|_| None },
    );
    assert_eq!(out, "[pid     9] listen(4, 8)                = 0\n");
    out.clear();
    ev.tid = 4;
    write_line(
        &mut out,
        &ev,
        Leader::Plain,
        Some("19:55:32.158851"),
        &Resolve { ifname: &|_| None },
    );
    assert_eq!(out, "4     19:55:32.158851 listen(4, 8)      = 0\n");
}

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one golden line per sockaddr shape reads best as one list"
)]
fn bind_and_connect_lines() {
    let cases = [
        (
            bind(5, bytes(1, &sin([0, 0, 0, 0], 47002)), 16, 0),
            r#"bind(5, {sa_family=AF_INET, sin_port=htons(47002), sin_addr=inet_addr("0.0.0.0")}, 16) = 0"#,
        ),
        (
            bind(11, bytes(1, &sin6("::ffff:127.0.0.1", 47006, 0, 0)), 28, 0),
            r#"bind(11, {sa_family=AF_INET6, sin6_port=htons(47006), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::ffff:127.0.0.1", &sin6_addr), sin6_scope_id=0}, 28) = 0"#,
        ),
        (
            bind(3, bytes(1, &sin6("fe80::1", 47061, 74565, 1)), 28, -99),
            r#"bind(3, {sa_family=AF_INET6, sin6_port=htons(47061), sin6_flowinfo=htonl(74565), inet_pton(AF_INET6, "fe80::1", &sin6_addr), sin6_scope_id=if_nametoindex("lo")}, 28) = -1 EADDRNOTAVAIL (Cannot assign requested address)"#,
        ),
        (
            bind(3, bytes(1, &sin6("fe80::1", 47061, 0, 4242)), 28, -19),
            r#"bind(3, {sa_family=AF_INET6, sin6_port=htons(47061), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "fe80::1", &sin6_addr), sin6_scope_id=4242}, 28) = -1 ENODEV (No such device)"#,
        ),
        (
            bind(3, bytes(1, &sin6("::1", 47064, 0, 0)[..24]), 24, 0),
            r#"bind(3, {sa_family=AF_INET6, sin6_port=htons(47064), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr)}, 24) = 0"#,
        ),
        (
            bind(3, bytes(1, &sin6("::", 47064, 0, 0)[..8]), 8, -22),
            r#"bind(3, {sa_family=AF_INET6, sa_data="\267\330\0\0\0\0"}, 8) = -1 EINVAL (Invalid argument)"#,
        ),
        (
            bind(4, bytes(1, &sin([127, 0, 0, 1], 47040)), 16, -98),
            r#"bind(4, {sa_family=AF_INET, sin_port=htons(47040), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 EADDRINUSE (Address already in use)"#,
        ),
        (
            bind(3, bytes(1, &sin([127, 0, 0, 1], 47065)), 129, -22),
            r#"bind(3, {sa_family=AF_INET, sin_port=htons(47065), sin_addr=inet_addr("127.0.0.1")}, 129) = -1 EINVAL (Invalid argument)"#,
        ),
        (
            bind(3, fault(1), 16, -14),
            "bind(3, 0x1, 16)                        = -1 EFAULT (Bad address)",
        ),
        (
            bind(3, not_read(0), 16, -14),
            "bind(3, NULL, 16)                       = -1 EFAULT (Bad address)",
        ),
        (
            bind(3, bytes(0x7fce_e676_1df0, &[1]), 1, -22),
            "bind(3, 0x7fcee6761df0, 1)              = -1 EINVAL (Invalid argument)",
        ),
        (
            bind(3, bytes(1, &[10, 0]), 2, -22),
            "bind(3, {sa_family=AF_INET6}, 2)        = -1 EINVAL (Invalid argument)",
        ),
        (
            bind(
                3,
                bytes(1, b"\x01\x00/tmp/dualstack-test-unix.sock\0"),
                32,
                0,
            ),
            r#"bind(3, {sa_family=AF_UNIX, sun_path="/tmp/dualstack-test-unix.sock"}, 32) = 0"#,
        ),
        (
            bind(3, bytes(1, b"\x01\x00\x00dual\x00stack\x01\n"), 15, 0),
            r#"bind(3, {sa_family=AF_UNIX, sun_path=@"dual\0stack\1\n"}, 15) = 0"#,
        ),
        (
            bind(3, bytes(1, &[1, 0]), 2, 0),
            "bind(3, {sa_family=AF_UNIX}, 2)         = 0",
        ),
        (
            bind(
                3,
                bytes(1, &[16, 0, 0x34, 0xe7, 0, 0, 0, 0, 0, 0, 0, 0]),
                12,
                0,
            ),
            "bind(3, {sa_family=AF_NETLINK, nl_pad=0xe734, nl_pid=0, nl_groups=00000000}, 12) = 0",
        ),
        (
            bind(
                3,
                bytes(1, &[16, 0, 0, 0, 0x98, 0xb7, 0, 0, 0x11, 0, 0, 0]),
                12,
                0,
            ),
            "bind(3, {sa_family=AF_NETLINK, nl_pid=47000, nl_groups=0x000011}, 12) = 0",
        ),
        (
            bind(
                3,
                bytes(
                    1,
                    &[17, 0, 0, 3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                ),
                20,
                0,
            ),
            r#"bind(3, {sa_family=AF_PACKET, sll_protocol=htons(ETH_P_ALL), sll_ifindex=if_nametoindex("lo"), sll_hatype=ARPHRD_NETROM, sll_pkttype=PACKET_HOST, sll_halen=0}, 20) = 0"#,
        ),
        (
            bind(
                3,
                bytes(1, b"\xff\x00dualstack\x00\x01\x02\xff\x10"),
                16,
                -97,
            ),
            r#"bind(3, {sa_family=0xff /* AF_??? */, sa_data="dualstack\0\1\2\377\20"}, 16) = -1 EAFNOSUPPORT (Address family not supported by protocol)"#,
        ),
        (
            bind(3, bytes(1, &[0; 16]), 16, 0),
            r#"bind(3, {sa_family=AF_UNSPEC, sa_data="\0\0\0\0\0\0\0\0\0\0\0\0\0\0"}, 16) = 0"#,
        ),
    ];
    for (ev, want) in cases {
        assert_eq!(line(&ev), want);
    }
    let connect = event(
        Call::Connect {
            fd: 4,
            addr: bytes(1, &sin([127, 0, 0, 1], 47044)),
            addrlen: 16,
        },
        -115,
    );
    assert_eq!(
        line(&connect),
        r#"connect(4, {sa_family=AF_INET, sin_port=htons(47044), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 EINPROGRESS (Operation now in progress)"#
    );
}

#[test]
fn setsockopt_lines() {
    let one = 1i32.to_ne_bytes();
    let cases = [
        (setsockopt(1, 2, bytes(1, &one), 4, 0), "setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0"),
        (setsockopt(1, 2, bytes(1, &[1, 0, 0, 0, 0, 0, 0, 0]), 8, 0), "setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 8) = 0"),
        (setsockopt(1, 2, bytes(0x7f60_8b59_8f50, &[1, 0]), 2, -22),
         "setsockopt(3, SOL_SOCKET, SO_REUSEADDR, 0x7f608b598f50, 2) = -1 EINVAL (Invalid argument)"),
        (setsockopt(1, 2, not_read(0x7f60_8c15_08c8), 0, -22),
         "setsockopt(3, SOL_SOCKET, SO_REUSEADDR, 0x7f608c1508c8, 0) = -1 EINVAL (Invalid argument)"),
        (setsockopt(1, 2, not_read(0), 4, -14), "setsockopt(3, SOL_SOCKET, SO_REUSEADDR, NULL, 4) = -1 EFAULT (Bad address)"),
        (setsockopt(1, 2, fault(1), 4, -14), "setsockopt(3, SOL_SOCKET, SO_REUSEADDR, 0x1, 4) = -1 EFAULT (Bad address)"),
        (setsockopt(41, 26, bytes(1, &0i32.to_ne_bytes()), 4, 0), "setsockopt(3, SOL_IPV6, IPV6_V6ONLY, [0], 4) = 0"),
        (setsockopt(0, 19, bytes(1, &one), 4, 0), "setsockopt(3, SOL_IP, IP_TRANSPARENT, [1], 4) = 0"),
        (setsockopt(6, 1, not_read(1), 0, -22), r#"setsockopt(3, SOL_TCP, TCP_NODELAY, "", 0) = -1 EINVAL (Invalid argument)"#),
        (setsockopt(6, 13, bytes(1, b"cubic"), 5, 0), r#"setsockopt(3, SOL_TCP, TCP_CONGESTION, "cubic", 5) = 0"#),
        (setsockopt(1, 25, bytes(1, b"lo\0"), 3, 0), r#"setsockopt(3, SOL_SOCKET, SO_BINDTODEVICE, "lo\0", 3) = 0"#),
        (setsockopt(1, 13, bytes(1, &[1, 0, 0, 0, 0, 0, 0, 0]), 8, 0),
         "setsockopt(3, SOL_SOCKET, SO_LINGER, {l_onoff=1, l_linger=0}, 8) = 0"),
        (setsockopt(1, 13, bytes(0x7f60_8b59_76e0, &[1, 0, 0, 0]), 4, -22),
         "setsockopt(3, SOL_SOCKET, SO_LINGER, 0x7f608b5976e0, 4) = -1 EINVAL (Invalid argument)"),
        (setsockopt(9999, 1, bytes(1, &one), 4, -92),
         "setsockopt(3, 0x270f /* SOL_?? */, 1, [1], 4) = -1 ENOPROTOOPT (Protocol not available)"),
        (setsockopt(1, 9999, bytes(1, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`a"), 33, -92),
         r#"setsockopt(3, SOL_SOCKET, 0x270f /* SO_??? */, "ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`"..., 33) = -1 ENOPROTOOPT (Protocol not available)"#),
    ];
    for (ev, want) in cases {
        assert_eq!(line(&ev), want);
    }
}

#[test]
fn accept_and_socketpair_lines() {
    let accept =
        |addr: UserBuf, before: Option<u32>, after: Option<u32>, flags: Option<i32>, ret: i64| {
            let addrlen = AddrLen {
                ptr: if before.is_some() { 2 } else { 0 },
                before,
                after,
            };
            event(
                Call::Accept {
                    fd: 3,
                    addr,
                    addrlen,
                    flags,
                },
                ret,
            )
        };
    let cases = [
        (accept(bytes(1, &sin([127, 0, 0, 1], 55638)), Some(128), Some(16), None, 7),
         r#"accept(3, {sa_family=AF_INET, sin_port=htons(55638), sin_addr=inet_addr("127.0.0.1")}, [128 => 16]) = 7"#),
        (accept(bytes(1, &sin([127, 0, 0, 1], 53792)), Some(16), Some(16), Some(0x80000), 5),
         r#"accept4(3, {sa_family=AF_INET, sin_port=htons(53792), sin_addr=inet_addr("127.0.0.1")}, [16], SOCK_CLOEXEC) = 5"#),
        (accept(bytes(1, &sin([127, 0, 0, 1], 0xd95c)[..8]), Some(8), Some(16), None, 7),
         r#"accept(3, {sa_family=AF_INET, sa_data="\331\\\177\0\0\1"}, [8 => 16]) = 7"#),
        (accept(not_read(0x7f3f_8790_7a30), Some(0), Some(28), None, 7), "accept(3, 0x7f3f87907a30, [0 => 28])    = 7"),
        (accept(not_read(0x7fff_0261_5480), Some(16), None, Some(0x80000), -11),
         "accept4(3, 0x7fff02615480, [16], SOCK_CLOEXEC) = -1 EAGAIN (Resource temporarily unavailable)"),
        (accept(not_read(0x7fff_0261_5480), Some(16), None, Some(0x80000), -512),
         "accept4(3, 0x7fff02615480, [16], SOCK_CLOEXEC) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)"),
        (accept(not_read(0), None, None, None, 7), "accept(3, NULL, NULL)                   = 7"),
        (accept(not_read(0), None, None, Some(0), 7), "accept4(3, NULL, NULL, 0)               = 7"),
        (accept(bytes(1, &[1, 0]), Some(110), Some(2), Some(0x80000), 5),
         "accept4(3, {sa_family=AF_UNIX}, [110 => 2], SOCK_CLOEXEC) = 5"),
    ];
    for (ev, want) in cases {
        assert_eq!(line(&ev), want);
    }
    let mut sv = Vec::new();
    sv.extend_from_slice(&3i32.to_ne_bytes());
    sv.extend_from_slice(&4i32.to_ne_bytes());
    let pair = event(
        Call::Socketpair {
            family: 1,
            sock_type: 0x80005,
            protocol: 0,
            sv: bytes(1, &sv),
        },
        0,
    );
    assert_eq!(
        line(&pair),
        "socketpair(AF_UNIX, SOCK_SEQPACKET|SOCK_CLOEXEC, 0, [3, 4]) = 0"
    );
    let _ = Errno(0);
}
