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
        // High bits in the family register: decoded from the whole register (families.py).
        ((0x1_0000_000a, 1, 0), 4, "socket(AF_INET6, SOCK_STREAM, 0)        = 4"),
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

/// Lines from strace 6.1 on this machine for calls made with ctypes (`libc.syscall`).
fn connect(addr: UserBuf, addrlen: i32, ret: i64) -> Event {
    event(
        Call::Connect {
            fd: 3,
            addr,
            addrlen,
        },
        ret,
    )
}

#[test]
fn netlink_pid_is_signed() {
    let nl = |pid: u32| {
        let mut b = vec![16u8, 0, 0, 0];
        b.extend_from_slice(&pid.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        b
    };
    assert_eq!(
        line(&bind(3, bytes(1, &nl(0xffff_ffff)), 12, 0)),
        "bind(3, {sa_family=AF_NETLINK, nl_pid=-1, nl_groups=00000000}, 12) = 0"
    );
    assert_eq!(
        line(&bind(3, bytes(1, &nl(0x8000_0000)), 12, -22)),
        "bind(3, {sa_family=AF_NETLINK, nl_pid=-2147483648, nl_groups=00000000}, 12) = -1 EINVAL (Invalid argument)"
    );
}

#[test]
fn inet6_scope_id_from_partial_lengths() {
    // The program passed 28 bytes of sockaddr_in6 and then addrlen 24..28.
    let cases = [
        (
            "::1",
            0x0403_0201,
            24,
            r#"bind(4, {sa_family=AF_INET6, sin6_port=htons(47064), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr)}, 24) = -1 EINVAL (Invalid argument)"#,
        ),
        (
            "::1",
            0x0403_0201,
            25,
            r#"bind(4, {sa_family=AF_INET6, sin6_port=htons(47064), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=1}, 25) = -1 EINVAL (Invalid argument)"#,
        ),
        (
            "::1",
            0x0403_0201,
            26,
            r#"bind(4, {sa_family=AF_INET6, sin6_port=htons(47064), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=513}, 26) = -1 EINVAL (Invalid argument)"#,
        ),
        (
            "::1",
            0x0403_0201,
            27,
            r#"bind(4, {sa_family=AF_INET6, sin6_port=htons(47064), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=197121}, 27) = -1 EINVAL (Invalid argument)"#,
        ),
        (
            "::1",
            0x0403_0201,
            28,
            r#"bind(4, {sa_family=AF_INET6, sin6_port=htons(47064), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=67305985}, 28) = -1 EINVAL (Invalid argument)"#,
        ),
        (
            "::1",
            0,
            26,
            r#"bind(4, {sa_family=AF_INET6, sin6_port=htons(47064), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 26) = -1 EINVAL (Invalid argument)"#,
        ),
        (
            "::1",
            4242,
            25,
            r#"bind(4, {sa_family=AF_INET6, sin6_port=htons(47064), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=146}, 25) = -1 EINVAL (Invalid argument)"#,
        ),
        (
            "fe80::1",
            0x0403_0201,
            25,
            r#"bind(4, {sa_family=AF_INET6, sin6_port=htons(47064), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "fe80::1", &sin6_addr), sin6_scope_id=if_nametoindex("lo")}, 25) = -1 EINVAL (Invalid argument)"#,
        ),
        (
            "fe80::1",
            0x0403_0201,
            27,
            r#"bind(4, {sa_family=AF_INET6, sin6_port=htons(47064), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "fe80::1", &sin6_addr), sin6_scope_id=197121}, 27) = -1 EINVAL (Invalid argument)"#,
        ),
        (
            "fe80::1",
            4242,
            26,
            r#"bind(4, {sa_family=AF_INET6, sin6_port=htons(47064), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "fe80::1", &sin6_addr), sin6_scope_id=4242}, 26) = -1 EINVAL (Invalid argument)"#,
        ),
    ];
    for (ip, scope, len, want) in cases {
        let sa = sin6(ip, 47064, 0, scope);
        let ev = bind(4, bytes(1, &sa[..len]), len as i32, -22);
        assert_eq!(line(&ev), want, "{ip} scope {scope} len {len}");
    }
}

#[test]
fn setsockopt_negative_optlen() {
    // optval: 01 00 00 00 "cubic" 00 00 00, then the bytes 0..63 (the tracer reads 64).
    let mut val = b"\x01\x00\x00\x00cubic\x00\x00\x00".to_vec();
    val.extend(0u8..52);
    let p = 0x7f8e_0cb1_6f60;
    let cases = [
        (setsockopt(41, 26, bytes(p, &val), -1, -22),
         r#"setsockopt(3, SOL_IPV6, IPV6_V6ONLY, "\1\0\0\0cubic\0\0\0\0\1\2\3\4\5\6\7\10\t\n\v\f\r\16\17\20\21\22\23"..., -1) = -1 EINVAL (Invalid argument)"#),
        (setsockopt(6, 13, bytes(p, &val), -100, -22),
         r#"setsockopt(3, SOL_TCP, TCP_CONGESTION, "\1\0\0\0cubic\0\0\0\0\1\2\3\4\5\6\7\10\t\n\v\f\r\16\17\20\21\22\23"..., -100) = -1 EINVAL (Invalid argument)"#),
        (setsockopt(1, 25, bytes(p, &val), i32::MIN, -22),
         r#"setsockopt(3, SOL_SOCKET, SO_BINDTODEVICE, "\1\0\0\0cubic\0\0\0\0\1\2\3\4\5\6\7\10\t\n\v\f\r\16\17\20\21\22\23"..., -2147483648) = -1 EINVAL (Invalid argument)"#),
        (setsockopt(9999, 1, bytes(p, &val), -4, -22),
         r#"setsockopt(3, 0x270f /* SOL_?? */, 1, "\1\0\0\0cubic\0\0\0\0\1\2\3\4\5\6\7\10\t\n\v\f\r\16\17\20\21\22\23"..., -4) = -1 EINVAL (Invalid argument)"#),
        (setsockopt(1, 2, bytes(p, &val), -1, -22),
         "setsockopt(3, SOL_SOCKET, SO_REUSEADDR, 0x7f8e0cb16f60, -1) = -1 EINVAL (Invalid argument)"),
        (setsockopt(1, 13, bytes(p, &val), -1, -22),
         "setsockopt(3, SOL_SOCKET, SO_LINGER, 0x7f8e0cb16f60, -1) = -1 EINVAL (Invalid argument)"),
        (setsockopt(270, 1, bytes(p, &val), -1, -22),
         "setsockopt(3, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, 0x7f8e0cb16f60, -1) = -1 EINVAL (Invalid argument)"),
        (setsockopt(1, 2, bytes(p, &val), i32::MAX, 0),
         "setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 2147483647) = 0"),
        (setsockopt(41, 26, bytes(p, &val[..5]), 5, -92),
         r#"setsockopt(3, SOL_IPV6, IPV6_V6ONLY, "\1\0\0\0c", 5) = -1 ENOPROTOOPT (Protocol not available)"#),
        (setsockopt(270, 1, bytes(p, &val[..5]), 5, -92),
         "setsockopt(3, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, [1], 5) = -1 ENOPROTOOPT (Protocol not available)"),
        (setsockopt(1, 13, bytes(p, &val[..9]), 9, 0),
         "setsockopt(3, SOL_SOCKET, SO_LINGER, {l_onoff=1, l_linger=1768060259}, 9) = 0"),
    ];
    for (ev, want) in cases {
        assert_eq!(line(&ev), want);
    }
}

#[test]
fn unix_path_stops_at_sun_path() {
    // "/tmp/" + 103 'x' fills sun_path's 108 bytes; "ABCDEFGHIJKLMNOPQRSTUVWXYZ" follows.
    let mut path = b"\x01\x00/tmp/".to_vec();
    path.extend([b'x'; 103]);
    path.extend(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    path.extend([b'y'; 200]);
    // The tracer reads at most 128 bytes of a sockaddr.
    let path = bytes(1, &path[..128]);
    let cases = [
        (
            111,
            r#"connect(3, {sa_family=AF_UNIX, sun_path="/tmp/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}, 111) = -1 EINVAL (Invalid argument)"#,
        ),
        (
            128,
            r#"connect(3, {sa_family=AF_UNIX, sun_path="/tmp/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}, 128) = -1 EINVAL (Invalid argument)"#,
        ),
        (
            129,
            r#"connect(3, {sa_family=AF_UNIX, sun_path="/tmp/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}, 129) = -1 EINVAL (Invalid argument)"#,
        ),
        (
            200,
            r#"connect(3, {sa_family=AF_UNIX, sun_path="/tmp/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}, 200) = -1 EINVAL (Invalid argument)"#,
        ),
    ];
    for (len, want) in cases {
        assert_eq!(line(&connect(path.clone(), len, -22)), want, "len {len}");
    }
    // Abstract: NUL, 106 'a', then "BCDEFGHIJKLMNOPQRSTUVWXYZ": 107 bytes after the NUL.
    let mut name = b"\x01\x00\x00".to_vec();
    name.extend([b'a'; 106]);
    name.extend(b"BCDEFGHIJKLMNOPQRSTUVWXYZ");
    name.extend([b'z'; 100]);
    let name = bytes(1, &name[..128]);
    let cases = [
        (
            110,
            -111,
            r#"connect(3, {sa_family=AF_UNIX, sun_path=@"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaB"}, 110) = -1 ECONNREFUSED (Connection refused)"#,
        ),
        (
            111,
            -22,
            r#"connect(3, {sa_family=AF_UNIX, sun_path=@"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaB"}, 111) = -1 EINVAL (Invalid argument)"#,
        ),
        (
            128,
            -22,
            r#"connect(3, {sa_family=AF_UNIX, sun_path=@"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaB"}, 128) = -1 EINVAL (Invalid argument)"#,
        ),
        (
            200,
            -22,
            r#"connect(3, {sa_family=AF_UNIX, sun_path=@"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaB"}, 200) = -1 EINVAL (Invalid argument)"#,
        ),
    ];
    for (len, ret, want) in cases {
        assert_eq!(line(&connect(name.clone(), len, ret)), want, "len {len}");
    }
    // A NUL inside sun_path still ends the path.
    let mut short = b"\x01\x00/tmp/".to_vec();
    short.extend([b'q'; 103]);
    short.push(0);
    short.extend([b'r'; 20]);
    assert_eq!(
        line(&connect(bytes(1, &short), 128, -22)),
        r#"connect(3, {sa_family=AF_UNIX, sun_path="/tmp/qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"}, 128) = -1 EINVAL (Invalid argument)"#
    );
}

#[test]
fn accept_addrlen_is_signed() {
    let accept = |before: u32, after: Option<u32>, flags: Option<i32>, ret: i64| {
        let addr = if ret < 0 {
            not_read(0x7fbb_d34e_f4b0)
        } else {
            bytes(0x7fbb_d34e_f4b0, &sin([127, 0, 0, 1], 58008))
        };
        event(
            Call::Accept {
                fd: 3,
                addr,
                addrlen: AddrLen {
                    ptr: 2,
                    before: Some(before),
                    after,
                },
                flags,
            },
            ret,
        )
    };
    let cases = [
        (
            accept(0xffff_ffff, None, None, -22),
            "accept(3, 0x7fbbd34ef4b0, [-1])         = -1 EINVAL (Invalid argument)",
        ),
        (
            accept(0x8000_0000, None, None, -22),
            "accept(3, 0x7fbbd34ef4b0, [-2147483648]) = -1 EINVAL (Invalid argument)",
        ),
        (
            accept(0xffff_fffe, None, None, -22),
            "accept(3, 0x7fbbd34ef4b0, [-2])         = -1 EINVAL (Invalid argument)",
        ),
        (
            accept(0xffff_ffff, None, Some(0x80000), -22),
            "accept4(3, 0x7fbbd34ef4b0, [-1], SOCK_CLOEXEC) = -1 EINVAL (Invalid argument)",
        ),
        (
            accept(0x7fff_ffff, Some(16), None, 5),
            r#"accept(3, {sa_family=AF_INET, sin_port=htons(58008), sin_addr=inet_addr("127.0.0.1")}, [2147483647 => 16]) = 5"#,
        ),
    ];
    for (ev, want) in cases {
        assert_eq!(line(&ev), want);
    }
}

#[test]
fn socket_domain_register_with_high_bits() {
    // strace prints the domain and type from their low 32 bits but chooses the protocol's
    // decoder by the whole domain register (src/net.c SYS_FUNC(socket)).
    let cases: [(u64, u64, u64, &str); 7] = [
        (
            0x1_0000_000a,
            1,
            0,
            "socket(AF_INET6, SOCK_STREAM, 0)        = 4",
        ),
        (
            0x1_0000_0002,
            1,
            6,
            "socket(AF_INET, SOCK_STREAM, 6)         = 4",
        ),
        (
            0x1_0000_0010,
            3,
            0,
            "socket(AF_NETLINK, SOCK_RAW, 0)         = 4",
        ),
        (
            0x1_0000_0011,
            3,
            0x300,
            "socket(AF_PACKET, SOCK_RAW, 768)        = 4",
        ),
        (
            0xa,
            0x1_0000_0001,
            0,
            "socket(AF_INET6, SOCK_STREAM, IPPROTO_IP) = 4",
        ),
        (
            0xa,
            1,
            0x1_0000_0006,
            "socket(AF_INET6, SOCK_STREAM, IPPROTO_TCP) = 4",
        ),
        (
            1,
            1,
            0x1_0000_0000,
            "socket(AF_UNIX, SOCK_STREAM, 4294967296) = 4",
        ),
    ];
    for (domain, sock_type, protocol, want) in cases {
        let mut args = String::new();
        super::write_socket_args(&mut args, domain, sock_type, protocol);
        assert!(
            want.starts_with(&format!("socket({args}) ")),
            "{args:?} is not the arguments of {want:?}"
        );
    }
}
