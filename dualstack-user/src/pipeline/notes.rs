//! What dualstack adds to a traced call beyond strace's view: the verdict of a socket that
//! starts accepting (a TCP listen, a UDP bind), from the kernel's state when it was read.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::{
    model::{Call, Event, Return, Syscall, Tracking, V6OnlySource},
    sockaddr::{SockAddr, AF_INET, AF_INET6},
    verdict::{verdict, V6OnlyOrigin, Verdict, VerdictInput},
};

/// SOCK_DGRAM, in the low bits of a socket type.
const SOCK_DGRAM: u32 = 2;
const SOCK_TYPE_MASK: u32 = 0xf;

/// What dualstack adds to one event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Notes {
    /// The effective IPV6_V6ONLY of an AF_INET6 socket and where it came from.
    pub v6only: Option<(bool, V6OnlyOrigin)>,
    /// What the socket accepts, for a listen or a UDP bind.
    pub verdict: Option<Verdict>,
}

impl Notes {
    pub fn of(event: &Event, host_default: Option<bool>) -> Notes {
        let input = verdict_input(event, host_default);
        Notes {
            v6only: input
                .filter(|i| i.family == AF_INET6)
                .and_then(|i| Some((i.v6only?, i.origin))),
            verdict: input
                .filter(|_| starts_accepting(event))
                .map(|i| hedge(verdict(&i), event)),
        }
    }
}

/// A verdict the kernel did not confirm rests on what the tracer kept of the socket; kept per
/// descriptor (no BTF) or not kept (full map), that may belong to another socket: say so.
fn hedge(mut verdict: Verdict, event: &Event) -> Verdict {
    if event.kernel.socket().is_some() {
        return verdict;
    }
    let why = match event.tracking {
        Tracking::Socket => return verdict,
        Tracking::Descriptor => {
            "state kept per descriptor without BTF: fork, dup and passed sockets are not followed"
        }
        Tracking::MapFull => "no state kept: the socket state map was full",
    };
    verdict.certain = false;
    verdict.reason = format!("{} ({why})", verdict.reason);
    verdict
}

/// A successful listen, or a successful bind of a UDP socket.
fn starts_accepting(event: &Event) -> bool {
    if event.ret != Return::Value(0) {
        return false;
    }
    match event.syscall() {
        Syscall::Listen => true,
        Syscall::Bind => is_datagram(event),
        _ => false,
    }
}

fn is_datagram(event: &Event) -> bool {
    let sock_type = match event.kernel.socket() {
        Some(k) => Some(u32::from(k.sock_type)),
        None => event.socket.as_ref().and_then(|s| s.sock_type),
    };
    sock_type.is_some_and(|t| t & SOCK_TYPE_MASK == SOCK_DGRAM)
}

/// What decides the verdict of the event's socket: the kernel's view when it was read, else
/// what the tracer saw of the socket (setsockopt, bind), marked as inferred.
pub fn verdict_input(event: &Event, host_default: Option<bool>) -> Option<VerdictInput> {
    let kernel = event.kernel.socket();
    let info = event.socket.as_ref();
    let family = kernel
        .map(|k| k.family)
        .or_else(|| info.and_then(|s| s.family))
        .or_else(|| event.family())?;
    if family != AF_INET && family != AF_INET6 {
        return None;
    }
    let local = kernel
        .and_then(|k| k.local)
        .or_else(|| info.and_then(|s| s.bound.as_ref()).and_then(socket_addr))
        .or_else(|| bind_argument(event))
        .unwrap_or_else(|| wildcard(family));
    let created_while_traced = info.is_some_and(|s| s.family.is_some());
    let by_setsockopt = info
        .filter(|s| s.v6only_source == Some(V6OnlySource::Setsockopt))
        .and_then(|s| s.v6only);
    // kernel ABI: net/ipv6/af_inet6.c __inet6_bind sets sk_ipv6only on a bind to a specific,
    // not v4-mapped, IPv6 address.
    let specific_v6 = matches!(local.ip(), IpAddr::V6(ip) if !ip.is_unspecified() && ip.to_ipv4_mapped().is_none());
    let (v6only, origin) = match (kernel, by_setsockopt) {
        (Some(k), Some(_)) => (Some(k.v6only), V6OnlyOrigin::Setsockopt),
        (Some(k), None) if k.v6only && specific_v6 => (Some(true), V6OnlyOrigin::BindAddress),
        (Some(k), None) if created_while_traced => (Some(k.v6only), V6OnlyOrigin::NetnsDefault),
        (Some(k), None) => (Some(k.v6only), V6OnlyOrigin::PreExisting),
        (None, Some(v)) => (Some(v), V6OnlyOrigin::Setsockopt),
        (None, None) => (None, V6OnlyOrigin::Inferred),
    };
    Some(VerdictInput {
        family,
        local,
        v6only,
        origin,
        netns_default: kernel.map(|k| k.netns_bindv6only).or(host_default),
    })
}

fn socket_addr(addr: &SockAddr) -> Option<SocketAddr> {
    match addr {
        SockAddr::Inet(a) => Some(SocketAddr::V4(*a)),
        SockAddr::Inet6 { addr, .. } => Some(SocketAddr::V6(*addr)),
        _ => None,
    }
}

/// A bind's own address argument (a UDP bind event carries it).
fn bind_argument(event: &Event) -> Option<SocketAddr> {
    match &event.call {
        Call::Bind { .. } => event.address().as_ref().and_then(socket_addr),
        _ => None,
    }
}

/// Where a socket listens when it was never bound: the wildcard (the kernel picks a port).
fn wildcard(family: u16) -> SocketAddr {
    if family == AF_INET6 {
        SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0))
    } else {
        SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::{KernelSocket, KernelView, SocketInfo};

    fn listen(socket: Option<SocketInfo>, kernel: KernelView) -> Event {
        Event {
            pid: 1,
            tid: 1,
            comm: "t".into(),
            monotonic: Duration::ZERO,
            entered: Duration::ZERO,
            call: Call::Listen { fd: 3, backlog: 1 },
            ret: Return::Value(0),
            socket,
            tracking: crate::model::Tracking::Socket,
            kernel,
        }
    }

    fn kernel(v6only: bool, default: bool, local: &str) -> KernelView {
        KernelView::Read(KernelSocket {
            netns: 4_026_531_840,
            inode: 77,
            family: AF_INET6,
            sock_type: 1,
            state: 10,
            v6only,
            netns_bindv6only: default,
            local: Some(local.parse().unwrap()),
        })
    }

    fn created() -> SocketInfo {
        SocketInfo {
            family: Some(AF_INET6),
            sock_type: Some(1),
            ..SocketInfo::default()
        }
    }

    #[test]
    fn kernel_bit_of_a_traced_socket_without_setsockopt_is_the_netns_default() {
        let e = listen(Some(created()), kernel(true, true, "[::]:8080"));
        let v = Notes::of(&e, Some(false)).verdict.unwrap();
        assert_eq!((v.ipv4, v.ipv6, v.certain), (false, true, true));
        assert!(v.reason.contains("net.ipv6.bindv6only=1"), "{}", v.reason);
        assert!(v.reason.contains("[::]:8080"), "{}", v.reason);
    }

    #[test]
    fn setsockopt_seen_is_the_source() {
        let mut info = created();
        info.v6only = Some(false);
        info.v6only_source = Some(V6OnlySource::Setsockopt);
        let e = listen(Some(info), kernel(false, true, "[::]:1521"));
        let v = Notes::of(&e, None).verdict.unwrap();
        assert_eq!((v.ipv4, v.ipv6), (true, true));
        assert!(v.reason.contains("set by setsockopt"), "{}", v.reason);
    }

    #[test]
    fn socket_from_before_tracing_is_marked() {
        let e = listen(None, kernel(false, false, "[::]:80"));
        let v = Notes::of(&e, None).verdict.unwrap();
        assert!(v.reason.contains("before tracing started"), "{}", v.reason);
    }

    #[test]
    fn without_btf_the_verdict_is_inferred() {
        let mut info = created();
        info.bound = Some(SockAddr::Inet6 {
            addr: "[::]:80".parse().unwrap(),
            scope_present: true,
        });
        let e = listen(Some(info), KernelView::NoBtf);
        let v = Notes::of(&e, Some(false)).verdict.unwrap();
        assert_eq!((v.ipv4, v.ipv6, v.certain), (true, true, false));
        assert!(v.reason.contains("assumed 0"), "{}", v.reason);
    }

    #[test]
    fn failed_listen_and_other_calls_have_no_verdict() {
        let mut e = listen(Some(created()), kernel(false, false, "[::]:80"));
        e.ret = Return::Error(crate::model::Errno(98));
        assert!(Notes::of(&e, None).verdict.is_none());
        e.ret = Return::Value(0);
        e.call = Call::Close { fd: 3 };
        assert!(Notes::of(&e, None).verdict.is_none());
    }
}
