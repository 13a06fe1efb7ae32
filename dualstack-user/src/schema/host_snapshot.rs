//! What a host's daemon publishes every `interval_s` seconds (one value per host, or per host
//! and netns, in a key-value bucket) and what `audit` reads back:
//!
//! `{"host":"web-1","netns":null,"taken":"2026-11-29T20:01:02.123456Z","interval_s":30,"listeners":[...]}`
//!
//! where each of `listeners` is a `listeners -f json` row ([`ListenerLine`]).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::ListenerLine;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostSnapshot<'a> {
    /// The host's id: what `audit` rules match with their `host` glob.
    pub host: Cow<'a, str>,
    /// The netns (a /run/netns name or an inode) the daemon was scoped to; null when it lists
    /// every netns of the host.
    pub netns: Option<Cow<'a, str>>,
    /// When the sockets were read: RFC 3339 UTC, e.g. `2026-11-29T20:01:02.123456Z`.
    pub taken: Cow<'a, str>,
    /// How often the daemon publishes, in seconds: a snapshot older than a few intervals
    /// tells of a daemon (or host) that stopped.
    pub interval_s: u64,
    /// Every listening TCP socket and bound UDP socket, as `listeners -f json` writes them.
    pub listeners: Vec<ListenerLine<'a>>,
}
