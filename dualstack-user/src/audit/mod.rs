//! The policy engine of `audit`: hosts' published snapshots of their listeners
//! ([`HostSnapshot`]) and a policy file in, one row per listener out, each with the rules it
//! breaks in a sentence, rendered as a table or as JSON Lines ([`AuditLine`]). Where the
//! snapshots come from is the caller's business: nothing here does I/O but reading the
//! policy file.
//!
//! The checks of a rule (see [`policy`] for the file):
//! - `require = "ipv4" | "ipv6" | "ipv4+ipv6"`: what a selected port accepts, every socket on
//!   that (host, netns, protocol, port) counted together, is exactly that. An AF_INET socket
//!   plus an AF_INET6 IPV6_V6ONLY socket (sshd's pair) accept IPv4+IPv6; so does one AF_INET6
//!   socket on :: without IPV6_V6ONLY. A port nobody listens on is no violation: the rule
//!   cannot tell a stopped service from a host that never ran it.
//! - `forbid = "dual-stack"`: no selected socket accepts both families by itself.
//! - `forbid = "wildcard"`: no selected socket is bound to 0.0.0.0 or ::.
//! - `allow_ports = [22, 443]`: every selected socket's port is one of these.
//!
//! [`HostSnapshot`]: crate::schema::HostSnapshot
//! [`AuditLine`]: crate::schema::AuditLine

pub mod evaluate;
pub mod policy;
pub mod render;

use std::time::Duration;

pub use evaluate::{audit, STALE_INTERVALS};
pub use policy::{Policy, PolicyError};
pub use render::{write_json, write_table};

use crate::schema::AuditLine;

/// What an audit found: the snapshots' hosts and one row per listener, sorted by host, netns,
/// port and family.
#[derive(Clone, Debug)]
pub struct Report<'a> {
    /// One per snapshot, sorted by host and netns.
    pub hosts: Vec<HostStatus>,
    pub rows: Vec<AuditLine<'a>>,
}

/// A snapshot's host and how old its snapshot is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostStatus {
    pub host: String,
    /// The netns its daemon was scoped to, if any.
    pub netns: Option<String>,
    /// The snapshot's `taken`, as published.
    pub taken: String,
    /// How old the snapshot is; none when `taken` is no RFC 3339 time.
    pub age: Option<Duration>,
    pub stale_after: Duration,
    /// Older than `stale_after`, or of an unreadable age: its rows may no longer be true.
    pub stale: bool,
}

impl Report<'_> {
    /// Whether any listener breaks a rule.
    pub fn has_violations(&self) -> bool {
        self.rows.iter().any(|row| !row.violations.is_empty())
    }

    /// Whether any snapshot is stale.
    pub fn has_stale(&self) -> bool {
        self.hosts.iter().any(|h| h.stale)
    }
}

#[cfg(test)]
mod evaluate_tests;
#[cfg(test)]
mod policy_tests;
#[cfg(test)]
mod render_tests;
