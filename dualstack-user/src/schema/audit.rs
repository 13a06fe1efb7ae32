//! An `audit -f json` row: one listener of one host, with the rules it breaks.
//!
//! - `host` (the snapshot's host id) and `stale` (true when that snapshot is older than the
//!   audit allows: the row may no longer be true).
//! - `netns`, `netns_name`, `netns_pid`, `protocol`, `family`, `address`, `port`, `v6only`,
//!   `accepts` `{ipv4, ipv6}` and `reason`: as in the `listeners` row it comes from.
//! - `owners`: `[{pid, comm}]`, each process holding the socket once, lowest pid first.
//! - `violations`: `[{rule, sentence}]`, in the policy's order; empty when none.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::AcceptsLine;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLine<'a> {
    pub host: Cow<'a, str>,
    pub stale: bool,
    pub netns: u64,
    pub netns_name: Option<Cow<'a, str>>,
    pub netns_pid: Option<u32>,
    pub protocol: Cow<'a, str>,
    pub family: Cow<'a, str>,
    pub address: Cow<'a, str>,
    pub port: u16,
    pub v6only: Option<bool>,
    pub accepts: AcceptsLine,
    pub owners: Vec<AuditOwnerLine<'a>>,
    pub reason: Cow<'a, str>,
    pub violations: Vec<ViolationLine<'a>>,
}

/// A process holding the socket (its descriptors do not matter to a policy).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditOwnerLine<'a> {
    pub pid: u32,
    pub comm: Cow<'a, str>,
}

/// A rule the listener breaks, and how, in a sentence for a person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViolationLine<'a> {
    pub rule: Cow<'a, str>,
    pub sentence: Cow<'a, str>,
}

impl AuditLine<'_> {
    /// Appends the row as JSON, with its newline.
    pub fn write(&self, out: &mut Vec<u8>) {
        // Serialising strings, numbers and options into a Vec cannot fail.
        if serde_json::to_writer(&mut *out, self).is_ok() {
            out.push(b'\n');
        }
    }
}

/// `audit --follow -f json`: a violation that appeared, on its listener, with the last event
/// of that host and port that the stream held when it appeared (the call that caused it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewViolationLine<'a> {
    pub listener: AuditLine<'a>,
    pub violation: ViolationLine<'a>,
    pub event: Option<super::EventLine<'a>>,
}
