//! The table and the JSON Lines of an audit, exactly.

use super::{
    audit,
    evaluate_tests::{host, inet, inet6, now, policy},
    write_json, write_table,
};
use crate::schema::{AuditLine, HostSnapshot, OwnerLine};

const POLICY: &str = r#"
[[rule]]
name = "no-dual"
forbid = "dual-stack"

[[rule]]
name = "ssh-v4"
port = 22
require = "ipv4"

[[rule]]
name = "web-ports"
host = "web-*"
allow_ports = [22, 5432]
"#;

fn snapshots() -> Vec<HostSnapshot<'static>> {
    let mut postgres = inet("127.0.0.1", 5432, 60, "postgres");
    postgres.owners.push(OwnerLine {
        pid: 61,
        comm: "postgres".into(),
        fd: 5,
    });
    let mut stale = host("web-2", vec![inet("0.0.0.0", 8080, 6, "java")]);
    stale.taken = "2026-11-29T19:50:00Z".into();
    vec![
        host("web-1", vec![postgres, inet6("::", 22, false, 812, "sshd")]),
        stale,
    ]
}

#[test]
fn the_table_aligns_columns_and_marks_stale_hosts() {
    let snapshots = snapshots();
    let report = audit(&snapshots, &policy(POLICY), now(), None);
    let mut out = String::new();
    write_table(&mut out, &report);
    let expected = "\
HOST           NETNS  PROTO  FAMILY    ADDRESS    PORT  V6ONLY  ACCEPTS    OWNERS          VIOLATIONS
web-1          pid 1  tcp    AF_INET6  ::         22    0       IPv4+IPv6  812/sshd        this socket alone accepts IPv4 and IPv6; rule no-dual forbids dual-stack sockets (use an AF_INET socket plus an AF_INET6 socket with IPV6_V6ONLY=1)
                                                                                           port 22 accepts IPv4+IPv6; rule ssh-v4 requires IPv4 only
web-1          pid 1  tcp    AF_INET   127.0.0.1  5432  -       IPv4       60/postgres +1  -
web-2 (stale)  pid 1  tcp    AF_INET   0.0.0.0    8080  -       IPv4       6/java          port 8080 is not allowed; rule web-ports allows only port 22, 5432
stale: web-2: snapshot taken 2026-11-29T19:50:00Z is 670 s old (stale after 90 s)
";
    assert_eq!(out, expected, "\n{out}");
}

#[test]
fn the_table_keeps_each_row_on_its_line() {
    let mut l = inet("0.0.0.0", 80, 5, "evil\nweb-9");
    l.netns_name = Some("blue\r".into());
    let mut snapshot = host("web-1\t", vec![l]);
    snapshot.taken = "never\n".into();
    let snapshots = [snapshot];
    let report = audit(&snapshots, &policy(POLICY), now(), None);
    let mut out = String::new();
    write_table(&mut out, &report);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[1].starts_with("web-1\\t (stale)  blue\\r"), "{out}");
    assert!(lines[1].contains("5/evil\\nweb-9"), "{out}");
    assert_eq!(
        lines[2],
        "stale: web-1\\t: snapshot time \"never\\n\" is no RFC 3339 time"
    );
}

#[test]
fn json_lines_are_audit_rows() {
    let snapshots = snapshots();
    let report = audit(&snapshots, &policy(POLICY), now(), None);
    let mut out = Vec::new();
    write_json(&mut out, &report);
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(
        lines[2],
        r#"{"host":"web-2","stale":true,"netns":4026531840,"netns_name":null,"netns_pid":1,"protocol":"tcp","family":"AF_INET","address":"0.0.0.0","port":8080,"v6only":null,"accepts":{"ipv4":true,"ipv6":false},"owners":[{"pid":6,"comm":"java"}],"reason":"AF_INET socket on 0.0.0.0:8080","violations":[{"rule":"web-ports","sentence":"port 8080 is not allowed; rule web-ports allows only port 22, 5432"}]}"#
    );
    // A reader gets the rows back with the same type.
    let read: Vec<AuditLine<'static>> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(read, report.rows);
    assert_eq!(read[0].violations.len(), 2);
    assert_eq!(read[1].owners.len(), 2);
}
