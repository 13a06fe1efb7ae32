//! What a bound socket accepts — IPv4, IPv6 or both — and why, in a sentence.
//!
//! A pure function of what decides it in Linux (net/ipv6/af_inet6.c inet6_bind, and the
//! listener lookups of net/ipv4/inet_hashtables.c): the socket's family, its bound address,
//! and for AF_INET6 the effective IPV6_V6ONLY bit with where that value came from.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
};

use crate::sockaddr::{AF_INET, AF_INET6};

/// Where the effective IPV6_V6ONLY value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum V6OnlyOrigin {
    /// An explicit setsockopt(IPV6_V6ONLY) seen by the tracer.
    Setsockopt,
    /// Not set: the socket took its netns's `net.ipv6.bindv6only` when it was created.
    NetnsDefault,
    /// Set by the kernel itself: a bind to a specific (not v4-mapped) IPv6 address sets it.
    BindAddress,
    /// The socket existed before tracing started: only the kernel's bit is known.
    PreExisting,
    /// Reported by the kernel for a socket seen in a snapshot (sock_diag).
    Kernel,
    /// Not read from the kernel (no BTF): the value is the tracer's best guess.
    Inferred,
}

impl V6OnlyOrigin {
    /// The name used in JSON.
    pub fn name(self) -> &'static str {
        match self {
            V6OnlyOrigin::Setsockopt => "setsockopt",
            V6OnlyOrigin::NetnsDefault => "netns-default",
            V6OnlyOrigin::BindAddress => "bind-address",
            V6OnlyOrigin::PreExisting => "pre-existing",
            V6OnlyOrigin::Kernel => "kernel",
            V6OnlyOrigin::Inferred => "inferred",
        }
    }
}

/// Everything the verdict depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerdictInput {
    /// AF_INET or AF_INET6.
    pub family: u16,
    /// The bound local address and port (the wildcard when the socket was never bound).
    pub local: SocketAddr,
    /// The effective IPV6_V6ONLY bit; `None` when not known at all.
    pub v6only: Option<bool>,
    pub origin: V6OnlyOrigin,
    /// `net.ipv6.bindv6only` of the socket's netns, when known.
    pub netns_default: Option<bool>,
}

/// What a socket accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub ipv4: bool,
    pub ipv6: bool,
    /// False when an input was guessed rather than read (unknown V6ONLY, no BTF).
    pub certain: bool,
    /// One sentence a person understands.
    pub reason: String,
}

impl Verdict {
    /// A short label for tables: "IPv4+IPv6", "IPv4", "IPv6" or "none".
    pub fn label(&self) -> &'static str {
        match (self.ipv4, self.ipv6) {
            (true, true) => "IPv4+IPv6",
            (true, false) => "IPv4",
            (false, true) => "IPv6",
            (false, false) => "none",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

/// The verdict for one socket.
pub fn verdict(input: &VerdictInput) -> Verdict {
    let local = input.local;
    match (input.family, local.ip()) {
        (AF_INET, _) | (AF_INET6, IpAddr::V4(_)) => Verdict {
            ipv4: true,
            ipv6: false,
            certain: true,
            reason: format!("AF_INET socket on {local} -> accepts IPv4 only"),
        },
        (AF_INET6, IpAddr::V6(ip)) => inet6(input, ip),
        (family, _) => Verdict {
            ipv4: false,
            ipv6: false,
            certain: true,
            reason: format!(
                "socket of family {family} on {local} -> accepts neither IPv4 nor IPv6"
            ),
        },
    }
}

fn inet6(input: &VerdictInput, ip: Ipv6Addr) -> Verdict {
    let local = input.local;
    if let Some(v4) = ip.to_ipv4_mapped() {
        let to = if v4 == Ipv4Addr::UNSPECIFIED {
            "any IPv4 address".to_owned()
        } else {
            v4.to_string()
        };
        return Verdict {
            ipv4: true,
            ipv6: false,
            certain: true,
            reason: format!(
                "AF_INET6 socket on {local}, a v4-mapped address -> accepts IPv4 only (to {to}), \
                 through an IPv6 socket"
            ),
        };
    }
    if !ip.is_unspecified() {
        return Verdict {
            ipv4: false,
            ipv6: true,
            certain: true,
            reason: format!(
                "AF_INET6 socket on {local}, a specific IPv6 address -> accepts IPv6 only"
            ),
        };
    }
    let (v6only, certain) = match input.v6only {
        Some(v) => (v, input.origin != V6OnlyOrigin::Inferred),
        // Linux creates sockets with the netns default, itself 0 unless changed.
        None => (input.netns_default.unwrap_or(false), false),
    };
    let bit = u8::from(v6only);
    let why = match (input.v6only, input.origin) {
        (None, _) => match input.netns_default {
            Some(d) => format!(
                "IPV6_V6ONLY not seen, assumed {bit} from net.ipv6.bindv6only={}",
                u8::from(d)
            ),
            None => format!("IPV6_V6ONLY not known, assumed the Linux default {bit}"),
        },
        (Some(_), V6OnlyOrigin::Setsockopt) => format!("IPV6_V6ONLY={bit} (set by setsockopt)"),
        (Some(_), V6OnlyOrigin::NetnsDefault) => match input.netns_default {
            Some(d) => format!(
                "IPV6_V6ONLY={bit} (netns default net.ipv6.bindv6only={})",
                u8::from(d)
            ),
            None => format!("IPV6_V6ONLY={bit} (netns default)"),
        },
        (Some(_), V6OnlyOrigin::BindAddress) => {
            format!("IPV6_V6ONLY={bit} (set by the bind to a specific address)")
        }
        (Some(_), V6OnlyOrigin::PreExisting) => format!(
            "IPV6_V6ONLY={bit} (read from the kernel: the socket was created before tracing started)"
        ),
        (Some(_), V6OnlyOrigin::Kernel) => format!("IPV6_V6ONLY={bit} (reported by the kernel)"),
        (Some(_), V6OnlyOrigin::Inferred) => {
            format!("IPV6_V6ONLY={bit} (inferred: the kernel's bit could not be read)")
        }
    };
    let accepts = if v6only {
        "accepts IPv6 only"
    } else {
        "accepts IPv4 and IPv6"
    };
    Verdict {
        ipv4: !v6only,
        ipv6: true,
        certain,
        reason: format!("AF_INET6 socket on {local}, {why} -> {accepts}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(family: u16, local: &str, v6only: Option<bool>, origin: V6OnlyOrigin) -> VerdictInput {
        VerdictInput {
            family,
            local: local.parse().unwrap(),
            v6only,
            origin,
            netns_default: Some(false),
        }
    }

    #[test]
    fn inet_is_ipv4_only() {
        let v = verdict(&input(AF_INET, "0.0.0.0:22", None, V6OnlyOrigin::Kernel));
        assert_eq!((v.ipv4, v.ipv6, v.certain), (true, false, true));
        assert_eq!(
            v.reason,
            "AF_INET socket on 0.0.0.0:22 -> accepts IPv4 only"
        );
        assert_eq!(v.label(), "IPv4");
    }

    #[test]
    fn wildcard_with_v6only_0_from_the_netns_default_is_dual_stack() {
        let v = verdict(&input(
            AF_INET6,
            "[::]:1521",
            Some(false),
            V6OnlyOrigin::NetnsDefault,
        ));
        assert_eq!((v.ipv4, v.ipv6, v.certain), (true, true, true));
        assert_eq!(
            v.reason,
            "AF_INET6 socket on [::]:1521, IPV6_V6ONLY=0 (netns default net.ipv6.bindv6only=0) \
             -> accepts IPv4 and IPv6"
        );
        assert_eq!(v.label(), "IPv4+IPv6");
    }

    #[test]
    fn wildcard_with_v6only_1_is_ipv6_only() {
        let v = verdict(&input(
            AF_INET6,
            "[::]:22",
            Some(true),
            V6OnlyOrigin::Setsockopt,
        ));
        assert_eq!((v.ipv4, v.ipv6), (false, true));
        assert_eq!(
            v.reason,
            "AF_INET6 socket on [::]:22, IPV6_V6ONLY=1 (set by setsockopt) -> accepts IPv6 only"
        );
    }

    #[test]
    fn netns_default_1_makes_a_plain_wildcard_ipv6_only() {
        let mut i = input(AF_INET6, "[::]:80", Some(true), V6OnlyOrigin::NetnsDefault);
        i.netns_default = Some(true);
        let v = verdict(&i);
        assert_eq!((v.ipv4, v.ipv6), (false, true));
        assert!(v.reason.contains("net.ipv6.bindv6only=1"), "{}", v.reason);
    }

    #[test]
    fn specific_ipv6_address_is_ipv6_only_whatever_v6only_says() {
        for v6only in [Some(false), Some(true), None] {
            let v = verdict(&input(AF_INET6, "[::1]:80", v6only, V6OnlyOrigin::Kernel));
            assert_eq!((v.ipv4, v.ipv6, v.certain), (false, true, true));
            assert_eq!(
                v.reason,
                "AF_INET6 socket on [::1]:80, a specific IPv6 address -> accepts IPv6 only"
            );
        }
    }

    #[test]
    fn v4_mapped_address_is_ipv4_only_through_ipv6() {
        let v = verdict(&input(
            AF_INET6,
            "[::ffff:127.0.0.1]:80",
            Some(false),
            V6OnlyOrigin::NetnsDefault,
        ));
        assert_eq!((v.ipv4, v.ipv6), (true, false));
        assert!(v.reason.contains("(to 127.0.0.1)"), "{}", v.reason);
        let v = verdict(&input(
            AF_INET6,
            "[::ffff:0.0.0.0]:80",
            Some(false),
            V6OnlyOrigin::NetnsDefault,
        ));
        assert_eq!((v.ipv4, v.ipv6), (true, false));
        assert!(v.reason.contains("(to any IPv4 address)"), "{}", v.reason);
    }

    #[test]
    fn pre_existing_socket_says_so() {
        let v = verdict(&input(
            AF_INET6,
            "[::]:80",
            Some(false),
            V6OnlyOrigin::PreExisting,
        ));
        assert!(v.certain);
        assert!(
            v.reason.contains("created before tracing started"),
            "{}",
            v.reason
        );
    }

    #[test]
    fn unknown_or_inferred_v6only_is_marked_uncertain() {
        let v = verdict(&input(AF_INET6, "[::]:80", None, V6OnlyOrigin::Kernel));
        assert_eq!((v.ipv4, v.ipv6, v.certain), (true, true, false));
        assert!(v.reason.contains("assumed 0"), "{}", v.reason);
        let v = verdict(&input(
            AF_INET6,
            "[::]:80",
            Some(true),
            V6OnlyOrigin::Inferred,
        ));
        assert_eq!((v.ipv4, v.ipv6, v.certain), (false, true, false));
        assert!(v.reason.contains("inferred"), "{}", v.reason);
    }
}
