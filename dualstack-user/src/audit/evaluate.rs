//! Snapshots and a policy in, one row per listener out, each with the rules it breaks.

use std::{
    borrow::Cow,
    collections::BTreeMap,
    net::IpAddr,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use super::{
    policy::{Check, Forbidden, Policy, Rule},
    HostStatus, Report,
};
use crate::schema::{
    AcceptsLine, AuditLine, AuditOwnerLine, HostSnapshot, ListenerLine, ViolationLine,
};

/// A snapshot is stale after this many of its intervals when the caller gives no age.
pub const STALE_INTERVALS: u32 = 3;

/// (host, netns inode, protocol, port): the sockets that together decide what a port accepts.
type PortKey<'a> = (&'a str, u64, &'a str, u16);

/// Audits `snapshots` against `policy` at `now`. A snapshot older than `stale_after` (by
/// default [`STALE_INTERVALS`] times its own `interval_s`) is stale: its rows are still judged,
/// and marked.
///
/// Every listening TCP socket and unconnected UDP socket is a row; a connected UDP socket
/// (state `ESTAB`) takes datagrams from its one peer only, is no listener, and is left out.
/// What a socket accepts is its snapshot's verdict (`accepts`), made on its own host with the
/// kernel's IPV6_V6ONLY bit.
pub fn audit<'a>(
    snapshots: &'a [HostSnapshot<'a>],
    policy: &Policy,
    now: SystemTime,
    stale_after: Option<Duration>,
) -> Report<'a> {
    let mut hosts: Vec<HostStatus> = snapshots
        .iter()
        .map(|s| host_status(s, now, stale_after))
        .collect();
    let listeners: Vec<(usize, &ListenerLine<'_>)> = snapshots
        .iter()
        .enumerate()
        .flat_map(|(i, s)| s.listeners.iter().map(move |l| (i, l)))
        .filter(|(_, l)| l.state != "ESTAB")
        .collect();

    // An sshd-style pair (AF_INET + AF_INET6 V6ONLY) accepts both families only together.
    let mut ports: BTreeMap<PortKey<'_>, AcceptsLine> = BTreeMap::new();
    for &(i, l) in &listeners {
        let union = ports
            .entry(port_key(&snapshots[i], l))
            .or_insert(AcceptsLine {
                ipv4: false,
                ipv6: false,
            });
        union.ipv4 |= l.accepts.ipv4;
        union.ipv6 |= l.accepts.ipv6;
    }

    let mut rows: Vec<AuditLine<'a>> = listeners
        .iter()
        .map(|&(i, l)| {
            let snapshot = &snapshots[i];
            let violations = policy
                .rules
                .iter()
                .filter(|rule| rule.select.matches(snapshot, l))
                .filter_map(|rule| {
                    let union = ports[&port_key(snapshot, l)];
                    violation(rule, l, union).map(|sentence| ViolationLine {
                        rule: Cow::Owned(rule.name.clone()),
                        sentence: Cow::Owned(sentence),
                    })
                })
                .collect();
            row(snapshot, hosts[i].stale, l, violations)
        })
        .collect();
    rows.sort_by(|a, b| {
        (&a.host, a.netns, a.port, &a.family, &a.protocol, &a.address).cmp(&(
            &b.host,
            b.netns,
            b.port,
            &b.family,
            &b.protocol,
            &b.address,
        ))
    });
    hosts.sort_by(|a, b| (&a.host, &a.netns).cmp(&(&b.host, &b.netns)));
    Report { hosts, rows }
}

fn port_key<'a>(snapshot: &'a HostSnapshot<'_>, l: &'a ListenerLine<'_>) -> PortKey<'a> {
    (&snapshot.host, l.netns, &l.protocol, l.port)
}

fn host_status(
    snapshot: &HostSnapshot<'_>,
    now: SystemTime,
    stale_after: Option<Duration>,
) -> HostStatus {
    let stale_after = stale_after.unwrap_or_else(|| {
        Duration::from_secs(snapshot.interval_s).saturating_mul(STALE_INTERVALS)
    });
    let age = snapshot.taken.parse::<jiff::Timestamp>().ok().map(|taken| {
        let now_ns = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos() as i128);
        // A host whose clock runs ahead of ours sent a snapshot "from the future": new.
        let age_ns = now_ns.saturating_sub(taken.as_nanosecond()).max(0);
        Duration::from_nanos(u64::try_from(age_ns).unwrap_or(u64::MAX))
    });
    HostStatus {
        host: snapshot.host.to_string(),
        netns: snapshot.netns.as_deref().map(str::to_owned),
        taken: snapshot.taken.to_string(),
        age,
        stale_after,
        // A time that cannot be read gives no reason to trust the snapshot.
        stale: age.is_none_or(|age| age > stale_after),
    }
}

/// The sentence of `rule`'s violation by `l`, if it breaks it. `union` is what `l`'s port
/// accepts, every socket on it counted.
fn violation(rule: &Rule, l: &ListenerLine<'_>, union: AcceptsLine) -> Option<String> {
    let name = &rule.name;
    match &rule.check {
        Check::Require(families) => (union != families.accepts()).then(|| {
            format!(
                "port {} accepts {}; rule {name} requires {}",
                l.port,
                accepts_text(union),
                accepts_text(families.accepts())
            )
        }),
        Check::Forbid(Forbidden::DualStack) => (l.accepts.ipv4 && l.accepts.ipv6).then(|| {
            format!(
                "this socket alone accepts IPv4 and IPv6; rule {name} forbids dual-stack \
                 sockets (use an AF_INET socket plus an AF_INET6 socket with IPV6_V6ONLY=1)"
            )
        }),
        Check::Forbid(Forbidden::Wildcard) => is_wildcard(&l.address).then(|| {
            format!(
                "bound to {} (every address of the host); rule {name} forbids wildcard binds",
                l.address
            )
        }),
        Check::AllowPorts(allowed) => (!allowed.contains(&l.port)).then(|| {
            let list = if allowed.is_empty() {
                "no port".to_owned()
            } else {
                let ports: Vec<String> = allowed.iter().map(u16::to_string).collect();
                format!("only port {}", ports.join(", "))
            };
            format!("port {} is not allowed; rule {name} allows {list}", l.port)
        }),
    }
}

/// "IPv4 only", "IPv6 only", "IPv4+IPv6", "neither IPv4 nor IPv6".
pub fn accepts_text(accepts: AcceptsLine) -> &'static str {
    match (accepts.ipv4, accepts.ipv6) {
        (true, true) => "IPv4+IPv6",
        (true, false) => "IPv4 only",
        (false, true) => "IPv6 only",
        (false, false) => "neither IPv4 nor IPv6",
    }
}

/// 0.0.0.0, ::, and ::ffff:0.0.0.0 (which an AF_INET6 socket binds to take any IPv4).
fn is_wildcard(address: &str) -> bool {
    match address.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.is_unspecified(),
        Ok(IpAddr::V6(v6)) => {
            v6.is_unspecified() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_unspecified())
        }
        Err(_) => false,
    }
}

fn row<'a>(
    snapshot: &'a HostSnapshot<'a>,
    stale: bool,
    l: &'a ListenerLine<'a>,
    violations: Vec<ViolationLine<'a>>,
) -> AuditLine<'a> {
    let mut owners: Vec<AuditOwnerLine<'a>> = Vec::with_capacity(l.owners.len());
    for o in &l.owners {
        // A process holding the socket on two descriptors is one owner.
        if !owners.iter().any(|seen| seen.pid == o.pid) {
            owners.push(AuditOwnerLine {
                pid: o.pid,
                comm: Cow::Borrowed(&o.comm),
            });
        }
    }
    owners.sort_by_key(|o| o.pid);
    AuditLine {
        host: Cow::Borrowed(&snapshot.host),
        stale,
        netns: l.netns,
        netns_name: l.netns_name.as_deref().map(Cow::Borrowed),
        netns_pid: l.netns_pid,
        protocol: Cow::Borrowed(&l.protocol),
        family: Cow::Borrowed(&l.family),
        address: Cow::Borrowed(&l.address),
        port: l.port,
        v6only: l.v6only,
        accepts: l.accepts,
        owners,
        reason: Cow::Borrowed(&l.reason),
        violations,
    }
}
