//! Where --verify connects for each kind of bind, and how it judges what came back.

use super::*;
use crate::{
    sockaddr::{AF_INET, AF_INET6},
    verdict::{verdict, V6OnlyOrigin, VerdictInput},
};

fn listener(protocol: Protocol, local: &str, v6only: Option<bool>, inode: u64) -> Listener {
    let local: SocketAddr = local.parse().unwrap();
    let family = if local.is_ipv4() { AF_INET } else { AF_INET6 };
    Listener {
        netns: 1,
        netns_name: None,
        netns_pid: Some(1),
        protocol,
        family,
        local,
        v6only,
        state: match protocol {
            Protocol::Tcp => sock_diag::TCP_LISTEN,
            Protocol::Udp => sock_diag::TCP_CLOSE,
        },
        inode,
        uid: 0,
        owners: Vec::new(),
        verdict: verdict(&VerdictInput {
            family,
            local,
            v6only,
            origin: V6OnlyOrigin::Kernel,
            netns_default: Some(false),
        }),
    }
}

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

#[test]
fn targets_by_bind() {
    let t = |local: &str| targets(&listener(Protocol::Tcp, local, Some(false), 1));
    assert_eq!(
        t("0.0.0.0:80"),
        Ok([Some(addr("127.0.0.1:80")), Some(addr("[::1]:80"))])
    );
    assert_eq!(
        t("[::]:80"),
        Ok([Some(addr("127.0.0.1:80")), Some(addr("[::1]:80"))])
    );
    assert_eq!(t("127.0.0.5:80"), Ok([Some(addr("127.0.0.5:80")), None]));
    assert_eq!(t("[::1]:80"), Ok([None, Some(addr("[::1]:80"))]));
    assert_eq!(
        t("[::ffff:127.0.0.1]:80"),
        Ok([Some(addr("127.0.0.1:80")), None])
    );
    assert_eq!(
        t("[::ffff:0.0.0.0]:80"),
        Ok([Some(addr("127.0.0.1:80")), Some(addr("[::1]:80"))])
    );
    assert_eq!(t("192.0.2.1:80"), Err("not a loopback address"));
    assert_eq!(t("[2001:db8::1]:80"), Err("not a loopback address"));
    assert_eq!(t("[::ffff:192.0.2.1]:80"), Err("not a loopback address"));
    let mut connected = listener(Protocol::Udp, "0.0.0.0:53", None, 1);
    connected.state = sock_diag::TCP_ESTABLISHED;
    assert!(targets(&connected).is_err());
}

fn both(l: &Listener) -> [Option<SocketAddr>; 2] {
    targets(l).expect("targets")
}

#[test]
fn dual_stack_accepting_both_is_ok() {
    let l = listener(Protocol::Tcp, "[::]:80", Some(false), 1);
    let v = judge(&l, both(&l), [Probe::Accepted, Probe::Accepted], [false; 2]);
    assert_eq!(v.result, Outcome::Ok);
    assert_eq!(v.note, None);
}

#[test]
fn claimed_family_refused_is_a_mismatch() {
    let l = listener(Protocol::Tcp, "[::]:80", Some(false), 1);
    let v = judge(&l, both(&l), [Probe::Refused, Probe::Accepted], [false; 2]);
    assert_eq!(v.result, Outcome::Mismatch);
    assert_eq!(
        v.note.as_deref(),
        Some(
            "the IPv4 connection to 127.0.0.1:80 was refused, although the verdict says it \
             accepts IPv4"
        )
    );
}

#[test]
fn unclaimed_family_accepted_is_a_mismatch_unless_a_sibling_claims_it() {
    let l = listener(Protocol::Tcp, "[::]:22", Some(true), 1);
    let v = judge(&l, both(&l), [Probe::Accepted, Probe::Accepted], [false; 2]);
    assert_eq!(v.result, Outcome::Mismatch);
    assert!(v
        .note
        .unwrap()
        .contains("no socket on this port accepts IPv4"));
    // The sshd pair: the AF_INET 0.0.0.0 sibling took the IPv4 connection.
    let v = judge(
        &l,
        both(&l),
        [Probe::Accepted, Probe::Accepted],
        [true, false],
    );
    assert_eq!(v.result, Outcome::Ok);
}

#[test]
fn verify_uses_the_group_for_sibling_claims() {
    let v6 = listener(Protocol::Tcp, "[::]:22", Some(true), 1);
    let v4 = listener(Protocol::Tcp, "0.0.0.0:22", None, 2);
    let elsewhere = listener(Protocol::Tcp, "0.0.0.0:23", None, 3);
    let all = vec![v6.clone(), v4, elsewhere];
    // No netns to enter: not verified, with the reason.
    let out = verify(&[&all[0]], &all, &[]);
    assert_eq!(out[0].result, Outcome::NotVerified);
    assert_eq!(
        out[0].note.as_deref(),
        Some("network namespace 1 was not read")
    );
}

#[test]
fn inconclusive_attempts_say_why() {
    let l = listener(Protocol::Tcp, "[::]:80", Some(false), 1);
    let v = judge(
        &l,
        both(&l),
        [Probe::Timeout, Probe::Failed(libc::ENETUNREACH)],
        [false; 2],
    );
    assert_eq!(v.result, Outcome::NotVerified);
    assert_eq!(
        v.note.as_deref(),
        Some(
            "IPv4 is unproven: the connection to 127.0.0.1:80 got no answer within 500 ms; IPv6 \
             could not be tried: the connection to [::1]:80 failed with ENETUNREACH (Network is \
             unreachable)"
        )
    );
}

#[test]
fn one_family_proven_and_the_other_not_is_partial() {
    let l = listener(Protocol::Tcp, "[::]:80", Some(false), 1);
    // A netns without IPv6 on lo: ::1 cannot be reached.
    let v = judge(
        &l,
        both(&l),
        [Probe::Accepted, Probe::Failed(libc::ENETUNREACH)],
        [false; 2],
    );
    assert_eq!(v.result, Outcome::Partial);
    assert_eq!(v.result.name(), "partial");
    assert_eq!(
        v.note.as_deref(),
        Some(
            "IPv6 could not be tried: the connection to [::1]:80 failed with ENETUNREACH \
             (Network is unreachable)"
        )
    );
    let v = judge(&l, both(&l), [Probe::Timeout, Probe::Accepted], [false; 2]);
    assert_eq!(v.result, Outcome::Partial);
    assert!(v.note.unwrap().starts_with("IPv4 is unproven"));
    // Refused is a proof too: an IPv6-only socket whose IPv4 connection was refused is ok.
    let only6 = listener(Protocol::Tcp, "[::]:80", Some(true), 1);
    let v = judge(
        &only6,
        both(&only6),
        [Probe::Refused, Probe::Accepted],
        [false; 2],
    );
    assert_eq!((v.result, v.note), (Outcome::Ok, None));
    // A mismatch stays a mismatch whatever the other family gave.
    let v = judge(
        &l,
        both(&l),
        [Probe::Refused, Probe::Failed(libc::ENETUNREACH)],
        [false; 2],
    );
    assert_eq!(v.result, Outcome::Mismatch);
}

#[test]
fn loopback_bind_is_tried_in_its_family_only() {
    let l = listener(Protocol::Udp, "127.0.0.1:53", None, 1);
    let t = targets(&l).unwrap();
    let v = judge(&l, t, [Probe::Accepted, Probe::NotTried], [false; 2]);
    assert_eq!((v.result, v.ipv6.name()), (Outcome::Ok, "not-tried"));
}
