//! The policy file: what it accepts, and errors that name the file's line.

use std::path::Path;

use super::policy::{Check, Families, Forbidden, Policy, Protocol};

fn error(text: &str) -> String {
    match Policy::parse(text, "policy.toml") {
        Ok(policy) => panic!("parsed, with {} rules: {text}", policy.rules.len()),
        Err(err) => err.to_string(),
    }
}

#[test]
fn the_example_policy_of_the_repository_parses() {
    let text = include_str!("../../../dist/policy.example.toml");
    let policy = Policy::parse(text, "dist/policy.example.toml").unwrap();
    let rules: Vec<(&str, &Check)> = policy
        .rules
        .iter()
        .map(|r| (r.name.as_str(), &r.check))
        .collect();
    assert_eq!(
        rules,
        [
            ("ssh-both", &Check::Require(Families::Both)),
            ("ssh-separate-sockets", &Check::Forbid(Forbidden::DualStack)),
            ("postgres-not-wildcard", &Check::Forbid(Forbidden::Wildcard)),
            ("web-ports", &Check::AllowPorts(vec![22, 80, 443])),
            ("resolver-ipv4-only", &Check::Require(Families::Ipv4)),
        ]
    );
    let ssh = &policy.rules[0];
    assert_eq!(ssh.select.port, Some(22));
    assert_eq!(ssh.select.protocol, Some(Protocol::Tcp));
    assert_eq!(policy.rules[1].select.comm.as_deref(), Some("sshd"));
    assert_eq!(
        policy.rules[3].select.host.as_ref().unwrap().as_str(),
        "web-*"
    );
    assert_eq!(policy.rules[4].select.netns.as_deref(), Some("resolver"));
    // The line of each rule's [[rule]] header.
    let headers: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| *l == "[[rule]]")
        .map(|(i, _)| i + 1)
        .collect();
    let lines: Vec<usize> = policy.rules.iter().map(|r| r.line).collect();
    assert_eq!(lines, headers);
}

#[test]
fn every_selector_and_check_is_read() {
    let policy = Policy::parse(
        r#"
[[rule]]
name = "all"
host = "db-?"
port = 5432
comm = "postgres"
netns = "4026532000"
protocol = "udp"
require = "ipv6"
"#,
        "p.toml",
    )
    .unwrap();
    let rule = &policy.rules[0];
    assert_eq!(rule.line, 2);
    assert_eq!(rule.check, Check::Require(Families::Ipv6));
    assert!(rule.select.host.as_ref().unwrap().matches("db-1"));
    assert_eq!(rule.select.port, Some(5432));
    assert_eq!(rule.select.comm.as_deref(), Some("postgres"));
    assert_eq!(rule.select.netns.as_deref(), Some("4026532000"));
    assert_eq!(rule.select.protocol, Some(Protocol::Udp));
}

#[test]
fn a_policy_without_rules_is_empty() {
    assert!(Policy::parse("", "p.toml").unwrap().rules.is_empty());
    assert!(Policy::parse("# nothing yet\n", "p.toml")
        .unwrap()
        .rules
        .is_empty());
}

#[test]
fn an_unknown_key_names_its_line() {
    let text = r#"[[rule]]
name = "ssh-both"
port = 22
require = "ipv4+ipv6"

[[rule]]
name = "typo"
requir = "ipv4"
"#;
    let err = error(text);
    assert!(
        err.starts_with("policy.toml:8: unknown field `requir`, expected one of `name`, `host`"),
        "{err}"
    );
}

#[test]
fn an_unknown_table_names_its_line() {
    let err = error("\n[[rules]]\nname = \"a\"\nrequire = \"ipv4\"\n");
    assert_eq!(err, "policy.toml:2: unknown field `rules`, expected `rule`");
}

#[test]
fn a_syntax_error_names_its_line() {
    let err = error("[[rule]]\nname = \"a\"\nport = 22\nrequire = ipv4\n");
    assert!(err.starts_with("policy.toml:4: "), "{err}");
    let err = error("[[rule]]\nname = \"a\"\n\nport = 22\nforbid = \"wildcard\n");
    assert!(err.starts_with("policy.toml:5: "), "{err}");
    let err = error("[[rule]\nname = \"a\"\n");
    assert!(err.starts_with("policy.toml:1: "), "{err}");
}

#[test]
fn a_bad_value_names_its_line() {
    let err = error("[[rule]]\nname = \"a\"\nrequire = \"ipv5\"\n");
    assert_eq!(
        err,
        "policy.toml:3: unknown variant `ipv5`, expected one of `ipv4`, `ipv6`, `ipv4+ipv6`"
    );
    let err = error("[[rule]]\nname = \"a\"\nforbid = \"dualstack\"\n");
    assert_eq!(
        err,
        "policy.toml:3: unknown variant `dualstack`, expected `dual-stack` or `wildcard`"
    );
    let err = error("[[rule]]\nname = \"a\"\nport = 70000\nrequire = \"ipv4\"\n");
    assert_eq!(
        err,
        "policy.toml:3: invalid value: integer `70000`, expected u16"
    );
    let err = error("[[rule]]\nname = \"a\"\nprotocol = \"sctp\"\nrequire = \"ipv4\"\n");
    assert_eq!(
        err,
        "policy.toml:3: unknown variant `sctp`, expected `tcp` or `udp`"
    );
    let err = error("[[rule]]\nname = \"a\"\nallow_ports = [22, \"https\"]\n");
    assert!(err.starts_with("policy.toml:3: "), "{err}");
}

#[test]
fn a_rule_without_a_check_names_its_line() {
    let text =
        "[[rule]]\nname = \"a\"\nforbid = \"wildcard\"\n\n[[rule]]\nname = \"b\"\nport = 22\n";
    assert_eq!(
        error(text),
        "policy.toml:5: rule \"b\" has no check: give one of require, forbid or allow_ports"
    );
}

#[test]
fn a_rule_with_two_checks_names_its_line() {
    let text = "\n\n[[rule]]\nname = \"a\"\nrequire = \"ipv4\"\nforbid = \"wildcard\"\n";
    assert_eq!(
        error(text),
        "policy.toml:3: rule \"a\" has more than one check: give only one of require, forbid \
         or allow_ports (write two rules for two checks)"
    );
    let text = "[[rule]]\nname = \"a\"\nforbid = \"wildcard\"\nallow_ports = [22]\n";
    assert!(error(text).starts_with("policy.toml:1: rule \"a\" has more than one check"));
}

#[test]
fn a_rule_without_a_name_names_its_line() {
    let text = "[[rule]]\nname = \"a\"\nrequire = \"ipv4\"\n[[rule]]\nrequire = \"ipv4\"\n";
    assert_eq!(error(text), "policy.toml:4: missing field `name`");
    let text = "[[rule]]\nname = \" \"\nrequire = \"ipv4\"\n";
    assert_eq!(error(text), "policy.toml:2: a rule's name is empty");
}

#[test]
fn a_name_used_twice_is_refused() {
    let text = "[[rule]]\nname = \"a\"\nrequire = \"ipv4\"\n\n[[rule]]\nname = \"a\"\nforbid = \"wildcard\"\n";
    assert_eq!(
        error(text),
        "policy.toml:6: rule \"a\" is named twice (first at line 1): violations name their rule"
    );
}

#[test]
fn a_bad_host_glob_names_its_line() {
    let text = "[[rule]]\nname = \"a\"\nhost = \"web-[\"\nforbid = \"wildcard\"\n";
    let err = error(text);
    assert!(
        err.starts_with("policy.toml:3: bad host glob \"web-[\": "),
        "{err}"
    );
}

#[test]
fn allow_ports_takes_no_port_selector() {
    let text = "[[rule]]\nname = \"a\"\nport = 22\nallow_ports = [22]\n";
    assert_eq!(
        error(text),
        "policy.toml:1: rule \"a\" has both port and allow_ports: allow_ports judges every \
         port of the hosts it selects"
    );
}

#[test]
fn a_missing_file_says_so() {
    let err = Policy::load(Path::new("/nonexistent/policy.toml")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("/nonexistent/policy.toml: cannot read the policy: "),
        "{err}"
    );
}
