//! Policies judged on hand-made snapshots: each rule kind broken and kept, its selectors, the
//! sockets of a port counted together, stale snapshots.

use std::{
    borrow::Cow,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use super::{audit, Policy, Report};
use crate::schema::{AcceptsLine, HostSnapshot, ListenerLine, OwnerLine};

/// The snapshots' `taken`: 2026-11-29T20:01:00Z.
const TAKEN: &str = "2026-11-29T20:01:00Z";
pub(super) const TAKEN_S: u64 = 1_795_982_460;
/// The host netns's inode.
const INIT_NETNS: u64 = 4_026_531_840;

pub(super) fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(TAKEN_S + 10)
}

fn socket(
    family: &str,
    address: &str,
    port: u16,
    v6only: Option<bool>,
    accepts: (bool, bool),
    pid: u32,
    comm: &str,
) -> ListenerLine<'static> {
    ListenerLine {
        netns: INIT_NETNS,
        netns_name: None,
        netns_pid: Some(1),
        protocol: "tcp".into(),
        family: family.to_owned().into(),
        address: address.to_owned().into(),
        port,
        state: "LISTEN".into(),
        v6only,
        inode: 20_000 + u64::from(port),
        uid: 0,
        owners: vec![OwnerLine {
            pid,
            comm: comm.to_owned().into(),
            fd: 3,
        }],
        accepts: AcceptsLine {
            ipv4: accepts.0,
            ipv6: accepts.1,
        },
        reason: format!("{family} socket on {address}:{port}").into(),
        verify: None,
    }
}

/// An AF_INET socket: IPv4 only.
pub(super) fn inet(address: &str, port: u16, pid: u32, comm: &str) -> ListenerLine<'static> {
    socket("AF_INET", address, port, None, (true, false), pid, comm)
}

/// An AF_INET6 socket as the kernel judges it: on :: it takes IPv4 too unless IPV6_V6ONLY
/// is set (whether by the program or by net.ipv6.bindv6only=1).
pub(super) fn inet6(
    address: &str,
    port: u16,
    v6only: bool,
    pid: u32,
    comm: &str,
) -> ListenerLine<'static> {
    let ipv4 = address == "::" && !v6only;
    socket(
        "AF_INET6",
        address,
        port,
        Some(v6only),
        (ipv4, true),
        pid,
        comm,
    )
}

fn in_netns(l: ListenerLine<'static>, inode: u64, name: Option<&str>) -> ListenerLine<'static> {
    ListenerLine {
        netns: inode,
        netns_name: name.map(|n| Cow::Owned(n.to_owned())),
        netns_pid: None,
        ..l
    }
}

pub(super) fn udp(l: ListenerLine<'static>) -> ListenerLine<'static> {
    ListenerLine {
        protocol: "udp".into(),
        state: "UNCONN".into(),
        ..l
    }
}

pub(super) fn host(name: &str, listeners: Vec<ListenerLine<'static>>) -> HostSnapshot<'static> {
    HostSnapshot {
        host: name.to_owned().into(),
        netns: None,
        taken: TAKEN.into(),
        interval_s: 30,
        listeners,
    }
}

pub(super) fn policy(text: &str) -> Policy {
    Policy::parse(text, "policy.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// `host proto address port: ok`, or a line per violation: `...: [rule] sentence`.
fn verdicts(report: &Report<'_>) -> Vec<String> {
    report
        .rows
        .iter()
        .flat_map(|r| {
            let key = format!("{} {} {} {}", r.host, r.protocol, r.address, r.port);
            if r.violations.is_empty() {
                vec![format!("{key}: ok")]
            } else {
                r.violations
                    .iter()
                    .map(|v| format!("{key}: [{}] {}", v.rule, v.sentence))
                    .collect()
            }
        })
        .collect()
}

fn judge(policy_text: &str, snapshots: &[HostSnapshot<'static>]) -> Vec<String> {
    verdicts(&audit(snapshots, &policy(policy_text), now(), None))
}

const SSH_BOTH: &str = "[[rule]]\nname = \"ssh-both\"\nport = 22\nrequire = \"ipv4+ipv6\"\n";

#[test]
fn require_both_is_kept_by_the_sshd_pair() {
    let snapshots = [host(
        "web-1",
        vec![
            inet("0.0.0.0", 22, 812, "sshd"),
            inet6("::", 22, true, 812, "sshd"),
        ],
    )];
    assert_eq!(
        judge(SSH_BOTH, &snapshots),
        ["web-1 tcp 0.0.0.0 22: ok", "web-1 tcp :: 22: ok"]
    );
}

#[test]
fn require_both_is_kept_by_one_dual_stack_socket() {
    // net.ipv6.bindv6only=0, the default: an AF_INET6 socket on :: takes IPv4 as well.
    let snapshots = [host("web-1", vec![inet6("::", 22, false, 812, "sshd")])];
    assert_eq!(judge(SSH_BOTH, &snapshots), ["web-1 tcp :: 22: ok"]);
}

#[test]
fn require_both_is_broken_by_an_ipv4_socket_alone() {
    let snapshots = [host("web-1", vec![inet("0.0.0.0", 22, 812, "sshd")])];
    assert_eq!(
        judge(SSH_BOTH, &snapshots),
        [
            "web-1 tcp 0.0.0.0 22: [ssh-both] port 22 accepts IPv4 only; rule ssh-both requires \
          IPv4+IPv6"
        ]
    );
}

#[test]
fn require_both_is_broken_by_a_v6only_socket_alone() {
    // net.ipv6.bindv6only=1 (or IPV6_V6ONLY set) without the AF_INET socket beside it.
    let snapshots = [host("web-1", vec![inet6("::", 22, true, 812, "sshd")])];
    assert_eq!(
        judge(SSH_BOTH, &snapshots),
        [
            "web-1 tcp :: 22: [ssh-both] port 22 accepts IPv6 only; rule ssh-both requires \
          IPv4+IPv6"
        ]
    );
}

#[test]
fn require_one_family_is_broken_by_a_port_that_takes_both() {
    let rule = "[[rule]]\nname = \"dns-v4\"\nport = 53\nrequire = \"ipv4\"\n";
    let kept = [host("ns-1", vec![inet("0.0.0.0", 53, 40, "named")])];
    assert_eq!(judge(rule, &kept), ["ns-1 tcp 0.0.0.0 53: ok"]);
    let broken = [host(
        "ns-1",
        vec![
            inet("0.0.0.0", 53, 40, "named"),
            inet6("::1", 53, true, 40, "named"),
        ],
    )];
    assert_eq!(
        judge(rule, &broken),
        [
            "ns-1 tcp 0.0.0.0 53: [dns-v4] port 53 accepts IPv4+IPv6; rule dns-v4 requires IPv4 only",
            "ns-1 tcp ::1 53: [dns-v4] port 53 accepts IPv4+IPv6; rule dns-v4 requires IPv4 only",
        ]
    );
    let ipv6 = "[[rule]]\nname = \"v6\"\nport = 53\nrequire = \"ipv6\"\n";
    assert_eq!(
        judge(ipv6, &kept),
        ["ns-1 tcp 0.0.0.0 53: [v6] port 53 accepts IPv4 only; rule v6 requires IPv6 only"]
    );
}

#[test]
fn a_port_is_counted_per_host_netns_and_protocol() {
    // Each half of a pair, but on another host, in another netns, or of another protocol:
    // none of them accepts both families on its own port.
    let snapshots = [
        host(
            "web-1",
            vec![
                inet("0.0.0.0", 22, 812, "sshd"),
                in_netns(
                    inet6("::", 22, true, 900, "sshd"),
                    4_026_532_000,
                    Some("blue"),
                ),
                udp(inet6("::", 22, true, 901, "sshd")),
            ],
        ),
        host("web-2", vec![inet6("::", 22, true, 812, "sshd")]),
    ];
    let found = judge(SSH_BOTH, &snapshots);
    assert_eq!(found.len(), 4, "{found:#?}");
    assert!(found.iter().all(|f| f.contains("[ssh-both]")), "{found:#?}");
}

#[test]
fn require_counts_sockets_the_rule_does_not_select() {
    // The rule selects sshd's socket; the port's other socket (another program) still counts.
    let rule = "[[rule]]\nname = \"r\"\ncomm = \"sshd\"\nrequire = \"ipv4+ipv6\"\n";
    let snapshots = [host(
        "web-1",
        vec![
            inet("0.0.0.0", 22, 812, "sshd"),
            inet6("::", 22, true, 77, "sslh"),
        ],
    )];
    assert_eq!(
        judge(rule, &snapshots),
        ["web-1 tcp 0.0.0.0 22: ok", "web-1 tcp :: 22: ok"]
    );
}

#[test]
fn a_port_nobody_listens_on_is_no_violation() {
    let snapshots = [host("web-1", vec![inet("0.0.0.0", 80, 5, "nginx")])];
    assert_eq!(judge(SSH_BOTH, &snapshots), ["web-1 tcp 0.0.0.0 80: ok"]);
}

const NO_DUAL: &str = "[[rule]]\nname = \"no-dual\"\nforbid = \"dual-stack\"\n";

#[test]
fn forbid_dual_stack_is_broken_by_one_socket_taking_both() {
    let snapshots = [host("web-1", vec![inet6("::", 22, false, 812, "sshd")])];
    assert_eq!(
        judge(NO_DUAL, &snapshots),
        [
            "web-1 tcp :: 22: [no-dual] this socket alone accepts IPv4 and IPv6; rule no-dual \
          forbids dual-stack sockets (use an AF_INET socket plus an AF_INET6 socket with \
          IPV6_V6ONLY=1)"
        ]
    );
}

#[test]
fn forbid_dual_stack_is_kept_by_the_sshd_pair() {
    let snapshots = [host(
        "web-1",
        vec![
            inet("0.0.0.0", 22, 812, "sshd"),
            inet6("::", 22, true, 812, "sshd"),
            // An AF_INET6 socket on one address takes IPv6 only, whatever its V6ONLY bit.
            inet6("2001:db8::1", 443, false, 5, "nginx"),
        ],
    )];
    assert_eq!(
        judge(NO_DUAL, &snapshots),
        [
            "web-1 tcp 0.0.0.0 22: ok",
            "web-1 tcp :: 22: ok",
            "web-1 tcp 2001:db8::1 443: ok"
        ]
    );
}

const PG_LOCAL: &str =
    "[[rule]]\nname = \"pg-local\"\ncomm = \"postgres\"\nforbid = \"wildcard\"\n";

#[test]
fn forbid_wildcard_is_broken_by_any_wildcard_address() {
    let snapshots = [host(
        "db-1",
        vec![
            inet("0.0.0.0", 5432, 60, "postgres"),
            inet6("::", 5432, true, 60, "postgres"),
            inet6("::ffff:0.0.0.0", 5433, false, 61, "postgres"),
        ],
    )];
    assert_eq!(
        judge(PG_LOCAL, &snapshots),
        [
            "db-1 tcp 0.0.0.0 5432: [pg-local] bound to 0.0.0.0 (every address of the host); \
             rule pg-local forbids wildcard binds",
            "db-1 tcp :: 5432: [pg-local] bound to :: (every address of the host); rule \
             pg-local forbids wildcard binds",
            "db-1 tcp ::ffff:0.0.0.0 5433: [pg-local] bound to ::ffff:0.0.0.0 (every address \
             of the host); rule pg-local forbids wildcard binds",
        ]
    );
}

#[test]
fn forbid_wildcard_is_kept_by_chosen_addresses_and_other_programs() {
    let snapshots = [host(
        "db-1",
        vec![
            inet("127.0.0.1", 5432, 60, "postgres"),
            inet6("::1", 5432, true, 60, "postgres"),
            inet("0.0.0.0", 22, 812, "sshd"),
        ],
    )];
    assert_eq!(
        judge(PG_LOCAL, &snapshots),
        [
            "db-1 tcp 0.0.0.0 22: ok",
            "db-1 tcp 127.0.0.1 5432: ok",
            "db-1 tcp ::1 5432: ok"
        ]
    );
}

const WEB_PORTS: &str =
    "[[rule]]\nname = \"web-ports\"\nhost = \"web-*\"\nallow_ports = [22, 443]\n";

#[test]
fn allow_ports_is_broken_by_another_port_on_a_selected_host() {
    let snapshots = [
        host(
            "web-1",
            vec![
                inet("0.0.0.0", 443, 5, "nginx"),
                inet("0.0.0.0", 8080, 6, "java"),
            ],
        ),
        // Not selected by the host glob.
        host("db-1", vec![inet("0.0.0.0", 8080, 6, "java")]),
    ];
    assert_eq!(
        judge(WEB_PORTS, &snapshots),
        [
            "db-1 tcp 0.0.0.0 8080: ok",
            "web-1 tcp 0.0.0.0 443: ok",
            "web-1 tcp 0.0.0.0 8080: [web-ports] port 8080 is not allowed; rule web-ports \
             allows only port 22, 443",
        ]
    );
    let nothing = "[[rule]]\nname = \"closed\"\nallow_ports = []\n";
    assert_eq!(
        judge(nothing, &snapshots[1..]),
        ["db-1 tcp 0.0.0.0 8080: [closed] port 8080 is not allowed; rule closed allows no port"]
    );
}

#[test]
fn the_host_glob_selects_by_host_id() {
    let rule = "[[rule]]\nname = \"r\"\nhost = \"web-?\"\nforbid = \"wildcard\"\n";
    let snapshots: Vec<HostSnapshot<'static>> = ["web-1", "web-12", "web", "WEB-1", "db-web-1"]
        .into_iter()
        .map(|h| host(h, vec![inet("0.0.0.0", 80, 5, "nginx")]))
        .collect();
    let selected: Vec<String> = judge(rule, &snapshots)
        .into_iter()
        .filter(|f| f.contains("[r]"))
        .collect();
    assert_eq!(selected.len(), 1, "{selected:#?}");
    assert!(selected[0].starts_with("web-1 "), "{selected:#?}");
    let star = "[[rule]]\nname = \"r\"\nhost = \"*web*\"\nforbid = \"wildcard\"\n";
    let selected = judge(star, &snapshots)
        .into_iter()
        .filter(|f| f.contains("[r]"))
        .count();
    assert_eq!(selected, 4);
}

#[test]
fn port_comm_and_protocol_select() {
    let snapshots = [host(
        "web-1",
        vec![
            inet("0.0.0.0", 80, 5, "nginx"),
            inet("0.0.0.0", 81, 5, "nginx"),
            inet("0.0.0.0", 80, 6, "apache2"),
            udp(inet("0.0.0.0", 80, 5, "nginx")),
        ],
    )];
    let rule = "[[rule]]\nname = \"r\"\nport = 80\ncomm = \"nginx\"\nprotocol = \"tcp\"\n\
                forbid = \"wildcard\"\n";
    let found = judge(rule, &snapshots);
    let selected: Vec<&String> = found.iter().filter(|f| f.contains("[r]")).collect();
    assert_eq!(selected, ["web-1 tcp 0.0.0.0 80: [r] bound to 0.0.0.0 (every address of the host); rule r forbids wildcard binds"]);
    // The one with pid 5 of the two tcp :80 rows: nginx, not apache2.
    let report = audit(&snapshots, &policy(rule), now(), None);
    let broken: Vec<u32> = report
        .rows
        .iter()
        .filter(|r| !r.violations.is_empty())
        .map(|r| r.owners[0].pid)
        .collect();
    assert_eq!(broken, [5]);
}

#[test]
fn comm_matches_any_process_holding_the_socket() {
    let mut shared = inet("0.0.0.0", 80, 5, "nginx");
    shared.owners.push(OwnerLine {
        pid: 9,
        comm: "cache".into(),
        fd: 7,
    });
    let snapshots = [host("web-1", vec![shared])];
    let rule = "[[rule]]\nname = \"r\"\ncomm = \"cache\"\nforbid = \"wildcard\"\n";
    assert_eq!(judge(rule, &snapshots).len(), 1);
    assert!(judge(rule, &snapshots)[0].contains("[r]"));
}

#[test]
fn netns_selects_by_name_inode_or_the_daemons_scope() {
    let blue = 4_026_532_100;
    let snapshots = [
        host(
            "web-1",
            vec![
                inet("0.0.0.0", 80, 5, "nginx"),
                in_netns(inet("0.0.0.0", 81, 6, "nginx"), blue, Some("blue")),
                in_netns(inet("0.0.0.0", 82, 7, "nginx"), 4_026_532_200, None),
            ],
        ),
        HostSnapshot {
            netns: Some("green".into()),
            ..host(
                "web-2",
                vec![in_netns(
                    inet("0.0.0.0", 83, 8, "nginx"),
                    4_026_532_300,
                    None,
                )],
            )
        },
    ];
    let selected = |netns: &str| -> Vec<u16> {
        let rule = format!("[[rule]]\nname = \"r\"\nnetns = \"{netns}\"\nforbid = \"wildcard\"\n");
        let report = audit(&snapshots, &policy(&rule), now(), None);
        report
            .rows
            .iter()
            .filter(|r| !r.violations.is_empty())
            .map(|r| r.port)
            .collect()
    };
    assert_eq!(selected("blue"), [81]);
    assert_eq!(selected(&blue.to_string()), [81]);
    assert_eq!(selected("4026532200"), [82]);
    assert_eq!(selected(&INIT_NETNS.to_string()), [80]);
    assert_eq!(selected("green"), [83]);
    assert_eq!(selected("red"), [0_u16; 0]);
}

#[test]
fn every_rule_broken_is_listed_in_the_policys_order() {
    let text = format!("{NO_DUAL}\n{SSH_BOTH}\n[[rule]]\nname = \"w\"\nforbid = \"wildcard\"\n");
    let snapshots = [host("web-1", vec![inet6("::", 22, false, 812, "sshd")])];
    let report = audit(&snapshots, &policy(&text), now(), None);
    let rules: Vec<&str> = report.rows[0]
        .violations
        .iter()
        .map(|v| v.rule.as_ref())
        .collect();
    assert_eq!(rules, ["no-dual", "w"]);
    assert!(report.has_violations());
}

#[test]
fn a_clean_report_has_no_violations() {
    let snapshots = [host(
        "web-1",
        vec![
            inet("0.0.0.0", 22, 812, "sshd"),
            inet6("::", 22, true, 812, "sshd"),
        ],
    )];
    let report = audit(&snapshots, &policy(SSH_BOTH), now(), None);
    assert!(!report.has_violations());
    assert!(!report.has_stale());
    let empty = audit(&snapshots, &Policy::default(), now(), None);
    assert!(!empty.has_violations());
    assert_eq!(empty.rows.len(), 2);
}

#[test]
fn rows_are_sorted_by_host_netns_port_and_family() {
    let snapshots = [
        host(
            "web-2",
            vec![
                inet6("::", 22, true, 1, "sshd"),
                in_netns(inet("0.0.0.0", 1, 2, "a"), 4_026_532_999, None),
                inet("0.0.0.0", 443, 3, "nginx"),
                inet("0.0.0.0", 22, 1, "sshd"),
            ],
        ),
        host("web-1", vec![inet("0.0.0.0", 9000, 4, "x")]),
    ];
    let report = audit(&snapshots, &Policy::default(), now(), None);
    let order: Vec<(&str, u64, u16, &str)> = report
        .rows
        .iter()
        .map(|r| (r.host.as_ref(), r.netns, r.port, r.family.as_ref()))
        .collect();
    assert_eq!(
        order,
        [
            ("web-1", INIT_NETNS, 9000, "AF_INET"),
            ("web-2", INIT_NETNS, 22, "AF_INET"),
            ("web-2", INIT_NETNS, 22, "AF_INET6"),
            ("web-2", INIT_NETNS, 443, "AF_INET"),
            ("web-2", 4_026_532_999, 1, "AF_INET"),
        ]
    );
    let hosts: Vec<&str> = report.hosts.iter().map(|h| h.host.as_str()).collect();
    assert_eq!(hosts, ["web-1", "web-2"]);
}

#[test]
fn a_connected_udp_socket_is_no_listener() {
    let mut connected = udp(inet("10.0.0.5", 41_234, 300, "resolved"));
    connected.state = "ESTAB".into();
    let snapshots = [host(
        "web-1",
        vec![connected, udp(inet("0.0.0.0", 53, 300, "resolved"))],
    )];
    let rule = "[[rule]]\nname = \"p\"\nallow_ports = [53]\n";
    assert_eq!(judge(rule, &snapshots), ["web-1 udp 0.0.0.0 53: ok"]);
}

#[test]
fn owners_are_processes_not_descriptors() {
    let mut l = inet("0.0.0.0", 80, 5, "nginx");
    l.owners = [(5, 3), (5, 9), (6, 3), (7, 3)]
        .into_iter()
        .map(|(pid, fd)| OwnerLine {
            pid,
            comm: "nginx".into(),
            fd,
        })
        .collect();
    let snapshots = [host("web-1", vec![l])];
    let report = audit(&snapshots, &Policy::default(), now(), None);
    let pids: Vec<u32> = report.rows[0].owners.iter().map(|o| o.pid).collect();
    assert_eq!(pids, [5, 6, 7]);
}

#[test]
fn a_snapshot_older_than_three_intervals_is_stale() {
    let mut old = host("web-1", vec![inet("0.0.0.0", 22, 812, "sshd")]);
    old.taken = "2026-11-29T19:59:29Z".into(); // 101 s before now, 3 × 30 s allowed
    let fresh = host("web-2", vec![inet("0.0.0.0", 22, 812, "sshd")]);
    let snapshots = [old, fresh];
    let report = audit(&snapshots, &Policy::default(), now(), None);
    let stale: Vec<(&str, bool, Option<u64>, u64)> = report
        .hosts
        .iter()
        .map(|h| {
            (
                h.host.as_str(),
                h.stale,
                h.age.map(|a| a.as_secs()),
                h.stale_after.as_secs(),
            )
        })
        .collect();
    assert_eq!(
        stale,
        [
            ("web-1", true, Some(101), 90),
            ("web-2", false, Some(10), 90)
        ]
    );
    let rows: Vec<(&str, bool)> = report
        .rows
        .iter()
        .map(|r| (r.host.as_ref(), r.stale))
        .collect();
    assert_eq!(rows, [("web-1", true), ("web-2", false)]);
    assert!(report.has_stale());
    // Stale or not, its sockets are judged.
    let judged = audit(&snapshots, &policy(SSH_BOTH), now(), None);
    assert!(judged.rows.iter().all(|r| r.violations.len() == 1));

    // The caller's limit replaces the intervals.
    let report = audit(
        &snapshots,
        &Policy::default(),
        now(),
        Some(Duration::from_mins(2)),
    );
    assert!(!report.has_stale());
    let report = audit(
        &snapshots,
        &Policy::default(),
        now(),
        Some(Duration::from_secs(5)),
    );
    assert!(report.hosts.iter().all(|h| h.stale));
}

#[test]
fn a_snapshot_of_unreadable_or_future_time() {
    let mut garbled = host("web-1", vec![]);
    garbled.taken = "yesterday".into();
    let mut ahead = host("web-2", vec![]);
    ahead.taken = "2026-11-29T20:05:00Z".into(); // its clock runs 4 minutes ahead of ours
    let mut offset = host("web-3", vec![]);
    offset.taken = "2026-11-29T21:01:05+01:00".into(); // 5 s old
    let snapshots = [garbled, ahead, offset];
    let report = audit(&snapshots, &Policy::default(), now(), None);
    let status: Vec<(bool, Option<u64>)> = report
        .hosts
        .iter()
        .map(|h| (h.stale, h.age.map(|a| a.as_secs())))
        .collect();
    assert_eq!(status, [(true, None), (false, Some(0)), (false, Some(5))]);
}

#[test]
fn a_published_snapshot_is_read_with_the_schema() {
    let text = r#"{"host":"web-1","netns":null,"taken":"2026-11-29T20:01:00Z","interval_s":30,
        "listeners":[{"netns":4026531840,"netns_name":null,"netns_pid":1,"protocol":"tcp",
        "family":"AF_INET6","address":"::","port":22,"state":"LISTEN","v6only":false,
        "inode":20311,"uid":0,"owners":[{"pid":612,"comm":"sshd","fd":4}],
        "accepts":{"ipv4":true,"ipv6":true},"reason":"AF_INET6 socket on [::]:22, IPV6_V6ONLY=0 (reported by the kernel) -> accepts IPv4 and IPv6"}]}"#;
    let snapshot: HostSnapshot<'static> = serde_json::from_str(text).unwrap();
    let written: serde_json::Value = serde_json::to_value(&snapshot).unwrap();
    assert_eq!(
        written,
        serde_json::from_str::<serde_json::Value>(text).unwrap()
    );
    let snapshots = [snapshot];
    assert_eq!(judge(SSH_BOTH, &snapshots), ["web-1 tcp :: 22: ok"]);
    assert_eq!(
        judge(NO_DUAL, &snapshots),
        [
            "web-1 tcp :: 22: [no-dual] this socket alone accepts IPv4 and IPv6; rule no-dual \
          forbids dual-stack sockets (use an AF_INET socket plus an AF_INET6 socket with \
          IPV6_V6ONLY=1)"
        ]
    );
}
