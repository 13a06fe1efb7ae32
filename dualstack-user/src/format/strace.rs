//! strace's text: one line per event, byte-identical to strace 6.1 for the same call
//! (see tests/STRACE_FORMAT.md for each rule and the real line it comes from).

use std::{fmt::Write as _, net::Ipv6Addr};

use crate::{
    format::{
        names,
        quote::{quote, quote_limited},
    },
    host::errno::errno_is_restart,
    model::{AddrLen, Call, Event, Return, UserBuf, UserRead},
    sockaddr::{PacketAddr, SockAddr, UnixAddr, AF_UNIX},
};

/// strace's `acolumn`: the column where ` = ` starts.
const RESULT_COLUMN: usize = 40;
/// sizeof(struct sockaddr_storage): strace decodes at most this much of a sockaddr.
const SOCKADDR_STORAGE: usize = 128;
/// sizeof(struct sockaddr_in6) without and with sin6_scope_id.
const SOCKADDR_IN6_NO_SCOPE: usize = 24;
const SOCKADDR_IN6: usize = 28;

/// What starts a line before the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leader {
    /// Nothing (one traced process).
    None,
    /// `[pid  1234] `, as strace -f prints on stderr while several tasks are traced.
    Bracket,
    /// `1234  `, as strace -f -o FILE prints on every line.
    Plain,
}

/// Lookups that depend on the machine rather than the event.
pub struct Resolve<'a> {
    /// Interface name of an index (if_indextoname), for `if_nametoindex("lo")`.
    pub ifname: &'a dyn Fn(u32) -> Option<String>,
}

/// Appends the strace line of `event` (with its newline) to `out`. `time` is the `-tt` stamp.
pub fn write_line(
    out: &mut String,
    event: &Event,
    leader: Leader,
    time: Option<&str>,
    resolve: &Resolve,
) {
    let start = out.len();
    match leader {
        Leader::None => {}
        Leader::Bracket => {
            let _ = write!(out, "[pid {:>5}] ", event.tid);
        }
        Leader::Plain => {
            let _ = write!(out, "{:<5} ", event.tid);
        }
    }
    if let Some(time) = time {
        out.push_str(time);
        out.push(' ');
    }
    out.push_str(event.syscall().name());
    out.push('(');
    write_args(out, event, resolve);
    out.push_str(") ");
    let width = out.len() - start;
    if width < RESULT_COLUMN {
        out.extend(std::iter::repeat_n(' ', RESULT_COLUMN - width));
    }
    write_return(out, event.ret);
    out.push('\n');
}

fn write_return(out: &mut String, ret: Return) {
    match ret {
        Return::Value(v) => {
            let _ = write!(out, "= {v}");
        }
        Return::Error(errno) => {
            let value = if errno_is_restart(errno.0) { "?" } else { "-1" };
            match (errno.name(), errno.message()) {
                (Some(name), Some(message)) => {
                    let _ = write!(out, "= {value} {name} ({message})");
                }
                _ => {
                    let _ = write!(out, "= -1 (errno {})", errno.0);
                }
            }
        }
    }
}

fn write_args(out: &mut String, event: &Event, resolve: &Resolve) {
    let ok = !event.ret.is_error();
    match &event.call {
        Call::Socket {
            family,
            sock_type,
            protocol,
        } => write_socket_args(out, *family, u64::from(*sock_type), *protocol),
        Call::Socketpair {
            family,
            sock_type,
            protocol,
            sv,
        } => {
            let _ = write!(
                out,
                "{}, {}, {protocol}, ",
                names::address_family_str(*family),
                names::socket_type_cow(*sock_type)
            );
            match sv.bytes().filter(|b| ok && b.len() == 8) {
                Some(b) => {
                    let fd = |i: usize| i32::from_ne_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
                    let _ = write!(out, "[{}, {}]", fd(0), fd(4));
                }
                None => pointer(out, sv.ptr),
            }
        }
        Call::Setsockopt {
            fd,
            level,
            optname,
            optval,
            optlen,
        } => {
            let _ = write!(
                out,
                "{fd}, {}, {}, ",
                names::sockopt_level(*level),
                names::sockopt_name(*level, *optname)
            );
            write_optval(out, *level, *optname, optval, *optlen);
            let _ = write!(out, ", {optlen}");
        }
        Call::Bind { fd, addr, addrlen } | Call::Connect { fd, addr, addrlen } => {
            let _ = write!(out, "{fd}, ");
            write_sockaddr_arg(out, addr, i64::from(*addrlen), resolve);
            let _ = write!(out, ", {addrlen}");
        }
        Call::Listen { fd, backlog } => {
            let _ = write!(out, "{fd}, {backlog}");
        }
        Call::Accept {
            fd,
            addr,
            addrlen,
            flags,
        } => {
            let _ = write!(out, "{fd}, ");
            write_accept_addr(out, addr, addrlen, ok, resolve);
            if let Some(flags) = flags {
                let _ = write!(out, ", {}", names::accept4_flags(*flags));
            }
        }
        Call::Close { fd } => {
            let _ = write!(out, "{fd}");
        }
    }
}

/// socket()'s three arguments from their registers. strace prints the domain and the type
/// from their low 32 bits, but picks the protocol's decoder by the whole domain register: a
/// domain of 0x10000000a prints `AF_INET6` and the protocol as a plain number.
fn write_socket_args(out: &mut String, domain: u64, sock_type: u64, protocol: u64) {
    let _ = write!(
        out,
        "{}, {}, {}",
        names::address_family_str(domain as u32),
        names::socket_type_cow(sock_type as u32),
        names::socket_protocol_raw(u16::try_from(domain).unwrap_or(u16::MAX), protocol)
    );
}

/// strace's printaddr: `NULL` or the address in hex.
fn pointer(out: &mut String, ptr: u64) {
    if ptr == 0 {
        out.push_str("NULL");
    } else {
        let _ = write!(out, "{ptr:#x}");
    }
}

/// SOL_SOCKET options strace prints as `[int]` whenever optlen >= 4 (src/net.c).
const SOL_SOCKET_INT_OPTIONS: &[i32] = &[
    1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15, 16, 18, 19, 27, 29, 30, 32, 33, 34, 35, 36, 37, 40,
    41, 42, 43, 44, 45, 46, 49, 53, 56, 60, 63, 64, 65, 68, 69, 70, 73, 74, 75,
];
const SOL_SOCKET: i32 = 1;
const SOL_NETLINK: i32 = 270;
const SO_LINGER: i32 = 13;

fn write_optval(out: &mut String, level: i32, optname: i32, optval: &UserBuf, optlen: i32) {
    let int = |b: &[u8]| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
    let bytes = optval.bytes();
    if optval.ptr == 0 {
        out.push_str("NULL");
        return;
    }
    let int_like =
        (level == SOL_SOCKET && SOL_SOCKET_INT_OPTIONS.contains(&optname)) || level == SOL_NETLINK;
    if level == SOL_SOCKET && optname == SO_LINGER {
        match bytes.filter(|b| optlen >= 8 && b.len() >= 8) {
            Some(b) => {
                let _ = write!(out, "{{l_onoff={}, l_linger={}}}", int(b), int(&b[4..]));
            }
            None => pointer(out, optval.ptr),
        }
    } else if int_like || optlen == 4 {
        match bytes.filter(|b| optlen >= 4 && b.len() >= 4) {
            Some(b) => {
                let _ = write!(out, "[{}]", int(b));
            }
            None => pointer(out, optval.ptr),
        }
    } else {
        match &optval.read {
            UserRead::Bytes(b) => {
                // strace takes optlen as unsigned here: -1 is 4294967295 bytes, so the first
                // 32 are shown, then `...`.
                let len = optlen as u32 as usize;
                let shown = &b[..b.len().min(len).min(super::quote::MAX_STRLEN)];
                quote(out, shown);
                if len > super::quote::MAX_STRLEN {
                    out.push_str("...");
                }
            }
            UserRead::NotRead if optlen == 0 => out.push_str("\"\""),
            _ => pointer(out, optval.ptr),
        }
    }
}

/// bind/connect's sockaddr argument (strace's decode_sockaddr).
fn write_sockaddr_arg(out: &mut String, addr: &UserBuf, addrlen: i64, resolve: &Resolve) {
    if addr.ptr == 0 {
        out.push_str("NULL");
        return;
    }
    match addr.bytes() {
        // Fewer than sa_family's two bytes read: shown as memory strace could not read.
        Some(bytes) if addrlen >= 2 && bytes.len() >= 2 => {
            let len = usize::try_from(addrlen)
                .unwrap_or(0)
                .min(SOCKADDR_STORAGE)
                .min(bytes.len());
            write_sockaddr(out, &bytes[..len], resolve);
        }
        _ => pointer(out, addr.ptr),
    }
}

/// accept's addr and addrlen (strace's decode_sockname, where both lengths are `int`).
fn write_accept_addr(
    out: &mut String,
    addr: &UserBuf,
    addrlen: &AddrLen,
    ok: bool,
    resolve: &Resolve,
) {
    let Some(before) = addrlen.before.filter(|_| addr.ptr != 0 && addrlen.ptr != 0) else {
        pointer(out, addr.ptr);
        out.push_str(", ");
        pointer(out, addrlen.ptr);
        return;
    };
    let before = before as i32;
    if let Some(after) = addrlen.after.filter(|_| ok).map(|after| after as i32) {
        write_sockaddr_arg(out, addr, i64::from(before.min(after)), resolve);
        if before == after {
            let _ = write!(out, ", [{after}]");
        } else {
            let _ = write!(out, ", [{before} => {after}]");
        }
    } else {
        pointer(out, addr.ptr);
        let _ = write!(out, ", [{before}]");
    }
}

/// `{sa_family=..., ...}` for the first `bytes.len()` bytes of a sockaddr (at least 2).
pub fn write_sockaddr(out: &mut String, bytes: &[u8], resolve: &Resolve) {
    let family = u16::from_ne_bytes([bytes[0], bytes.get(1).copied().unwrap_or(0)]);
    let _ = write!(
        out,
        "{{sa_family={}",
        names::address_family_str(u32::from(family))
    );
    if bytes.len() <= 2 {
        out.push('}');
        return;
    }
    match SockAddr::parse(bytes) {
        SockAddr::Inet(a) => {
            let _ = write!(
                out,
                ", sin_port=htons({}), sin_addr=inet_addr(\"{}\")",
                a.port(),
                a.ip()
            );
        }
        SockAddr::Inet6 { addr, .. } => {
            let _ = write!(
                out,
                ", sin6_port=htons({}), sin6_flowinfo=htonl({}), inet_pton(AF_INET6, \"{}\", &sin6_addr)",
                addr.port(),
                addr.flowinfo(),
                inet6_text(addr.ip())
            );
            // strace copies the sockaddr into a zeroed buffer and shows sin6_scope_id whenever
            // addrlen > 24: with 25..27 it is the bytes given, the missing ones zero.
            if bytes.len() > SOCKADDR_IN6_NO_SCOPE {
                let mut scope = [0u8; 4];
                let given = &bytes[SOCKADDR_IN6_NO_SCOPE..bytes.len().min(SOCKADDR_IN6)];
                scope[..given.len()].copy_from_slice(given);
                let scope = u32::from_ne_bytes(scope);
                out.push_str(", sin6_scope_id=");
                if is_link_local(addr.ip()) {
                    write_ifindex(out, scope, resolve);
                } else {
                    let _ = write!(out, "{scope}");
                }
            }
        }
        SockAddr::Unix(UnixAddr::Unnamed) | SockAddr::Short(_) => {}
        SockAddr::Unix(UnixAddr::Path(path)) => {
            out.push_str(", sun_path=");
            quote(out, &path);
        }
        SockAddr::Unix(UnixAddr::Abstract(name)) => {
            out.push_str(", sun_path=@");
            quote(out, &name);
        }
        SockAddr::Netlink { pad, pid, groups } => {
            if pad != 0 {
                let _ = write!(out, ", nl_pad={pad:#x}");
            }
            // nl_pid is a __u32 that strace prints with %d.
            let pid = pid as i32;
            // C's %#08x: zero has no 0x prefix.
            if groups == 0 {
                let _ = write!(out, ", nl_pid={pid}, nl_groups=00000000");
            } else {
                let _ = write!(out, ", nl_pid={pid}, nl_groups={groups:#08x}");
            }
        }
        SockAddr::Packet(p) => write_packet(out, &p, resolve),
        SockAddr::Raw { data, .. } => {
            out.push_str(", sa_data=");
            quote(out, &data);
        }
    }
    debug_assert!(family != AF_UNIX || bytes.len() > 2);
    out.push('}');
}

fn write_packet(out: &mut String, p: &PacketAddr, resolve: &Resolve) {
    let _ = write!(
        out,
        ", sll_protocol=htons({}), sll_ifindex=",
        names::ether_protocol_str(u16::from_be(p.protocol))
    );
    write_ifindex(out, p.ifindex as u32, resolve);
    let _ = write!(
        out,
        ", sll_hatype={}, sll_pkttype={}, sll_halen={}",
        names::arphrd_str(p.hatype),
        names::packet_type_str(p.pkttype),
        p.halen
    );
    if p.halen > 0 {
        out.push_str(", sll_addr=[");
        for (i, b) in p.addr.iter().take(usize::from(p.halen).min(8)).enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "{b:#04x}");
        }
        out.push(']');
    }
}

/// strace's print_ifindex: `if_nametoindex("lo")` when the index names an interface.
fn write_ifindex(out: &mut String, index: u32, resolve: &Resolve) {
    match (resolve.ifname)(index) {
        Some(name) => {
            out.push_str("if_nametoindex(");
            quote_limited(out, name.as_bytes());
            out.push(')');
        }
        None => {
            let _ = write!(out, "{index}");
        }
    }
}

/// IN6_IS_ADDR_LINKLOCAL or IN6_IS_ADDR_MC_LINKLOCAL.
fn is_link_local(ip: &Ipv6Addr) -> bool {
    let o = ip.octets();
    (o[0] == 0xfe && o[1] & 0xc0 == 0x80) || (o[0] == 0xff && o[1] & 0x0f == 0x02)
}

/// IPv6 text exactly as glibc's inet_ntop writes it (which strace uses).
pub fn inet6_text(ip: &Ipv6Addr) -> String {
    let words = ip.segments();
    // The longest run of two or more zero words (the first of equals) becomes "::".
    let (mut best, mut cur) = ((0usize, 0usize), (0usize, 0usize));
    for (i, w) in words.iter().enumerate() {
        if *w == 0 {
            if cur.1 == 0 {
                cur.0 = i;
            }
            cur.1 += 1;
            if cur.1 > best.1 {
                best = cur;
            }
        } else {
            cur = (0, 0);
        }
    }
    if best.1 < 2 {
        best = (usize::MAX, 0);
    }
    let in_run = |i: usize| best.1 > 0 && i >= best.0 && i < best.0 + best.1;
    let mut out = String::new();
    for i in 0..8 {
        if in_run(i) {
            if i == best.0 {
                out.push(':');
            }
            continue;
        }
        if i != 0 {
            out.push(':');
        }
        // An embedded IPv4 address: ::a.b.c.d (compatible) or ::ffff:a.b.c.d (mapped).
        if i == 6 && best.0 == 0 && (best.1 == 6 || (best.1 == 5 && words[5] == 0xffff)) {
            let o = ip.octets();
            let _ = write!(out, "{}.{}.{}.{}", o[12], o[13], o[14], o[15]);
            return out;
        }
        let _ = write!(out, "{:x}", words[i]);
    }
    if best.1 > 0 && best.0 + best.1 == 8 {
        out.push(':');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::inet6_text;

    #[test]
    fn inet6_text_matches_glibc() {
        for (text, want) in [
            ("::", "::"),
            ("::1", "::1"),
            ("::ffff:127.0.0.1", "::ffff:127.0.0.1"),
            ("fe80::1", "fe80::1"),
            ("ff02::1", "ff02::1"),
            ("2001:db8::1:0:0:1", "2001:db8::1:0:0:1"),
            ("2001:db8:0:0:1::1", "2001:db8::1:0:0:1"),
            ("::2:3", "::0.2.0.3"),
            ("1:0:0:2::3", "1:0:0:2::3"),
            ("1::", "1::"),
        ] {
            assert_eq!(inet6_text(&text.parse().unwrap()), want, "{text}");
        }
    }
}

#[cfg(test)]
#[path = "strace_golden_tests.rs"]
mod golden_tests;
