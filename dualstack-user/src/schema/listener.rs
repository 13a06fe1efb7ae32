//! A `listeners -f json` row: one listening TCP or bound UDP socket.
//!
//! - `netns` (inode), `netns_name` (/run/netns name or null), `netns_pid` (lowest pid in it, or
//!   null when none is seen or an unreadable process with a lower pid could be in it): which
//!   network namespace.
//! - `protocol` ("tcp", "udp"), `family` ("AF_INET", "AF_INET6"), `address`, `port`, `state`
//!   ("LISTEN", "UNCONN", "ESTAB" for a connected UDP socket).
//! - `v6only` (true/false, null for AF_INET), `inode`, `uid`.
//! - `owners`: `[{pid, comm, fd}]`, every process holding the socket, lowest pid first.
//! - `accepts`: `{ipv4, ipv6}` booleans, and `reason`: the verdict in a sentence.
//! - With --verify, `verify`: `{ipv4, ipv6}` each "accepted", "refused", "not-tried",
//!   "timeout" or "error"; `result` "ok", "partial" (one family proven, the other's connection
//!   failed or timed out), "mismatch" or "not-verified"; `note` (why, or null).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenerLine<'a> {
    pub netns: u64,
    pub netns_name: Option<Cow<'a, str>>,
    pub netns_pid: Option<u32>,
    pub protocol: Cow<'a, str>,
    pub family: Cow<'a, str>,
    pub address: Cow<'a, str>,
    pub port: u16,
    pub state: Cow<'a, str>,
    pub v6only: Option<bool>,
    pub inode: u64,
    pub uid: u32,
    pub owners: Vec<OwnerLine<'a>>,
    pub accepts: AcceptsLine,
    pub reason: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<VerifyLine<'a>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerLine<'a> {
    pub pid: u32,
    pub comm: Cow<'a, str>,
    pub fd: i32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptsLine {
    pub ipv4: bool,
    pub ipv6: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyLine<'a> {
    pub ipv4: Cow<'a, str>,
    pub ipv6: Cow<'a, str>,
    pub result: Cow<'a, str>,
    pub note: Option<Cow<'a, str>>,
}

impl ListenerLine<'_> {
    /// Appends the row as JSON, with its newline.
    pub fn write(&self, out: &mut Vec<u8>) {
        // Serialising strings, numbers and options into a Vec cannot fail.
        if serde_json::to_writer(&mut *out, self).is_ok() {
            out.push(b'\n');
        }
    }
}
