//! `dualstack listeners --format json`: one object per socket (JSON Lines).
//!
//! Fields:
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

use serde::Serialize;

use crate::{
    format::names,
    snapshot::{
        verify::{Probe, Verification},
        Listener, Owner,
    },
};

#[derive(Serialize)]
struct ListenerRecord<'a> {
    netns: u64,
    netns_name: Option<&'a str>,
    netns_pid: Option<u32>,
    protocol: &'static str,
    family: &'static str,
    address: String,
    port: u16,
    state: &'static str,
    v6only: Option<bool>,
    inode: u64,
    uid: u32,
    owners: Vec<OwnerRecord<'a>>,
    accepts: Accepts,
    reason: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    verify: Option<VerifyRecord<'a>>,
}

#[derive(Serialize)]
struct OwnerRecord<'a> {
    pid: u32,
    comm: &'a str,
    fd: i32,
}

#[derive(Serialize)]
struct Accepts {
    ipv4: bool,
    ipv6: bool,
}

#[derive(Serialize)]
struct VerifyRecord<'a> {
    ipv4: &'static str,
    ipv6: &'static str,
    result: &'static str,
    note: Option<&'a str>,
}

fn owner(o: &Owner) -> OwnerRecord<'_> {
    OwnerRecord {
        pid: o.pid,
        comm: &o.comm,
        fd: o.fd,
    }
}

/// Appends one JSON line for `l` (with its verification, when --verify ran).
pub fn write_listener(out: &mut Vec<u8>, l: &Listener, verification: Option<&Verification>) {
    let record = ListenerRecord {
        netns: l.netns,
        netns_name: l.netns_name.as_deref(),
        netns_pid: l.netns_pid,
        protocol: l.protocol.name(),
        family: names::address_family(l.family).unwrap_or("AF_???"),
        address: l.local.ip().to_string(),
        port: l.local.port(),
        state: l.state_name(),
        v6only: l.v6only,
        inode: l.inode,
        uid: l.uid,
        owners: l.owners.iter().map(owner).collect(),
        accepts: Accepts {
            ipv4: l.verdict.ipv4,
            ipv6: l.verdict.ipv6,
        },
        reason: &l.verdict.reason,
        verify: verification.map(|v| VerifyRecord {
            ipv4: Probe::name(v.ipv4),
            ipv6: Probe::name(v.ipv6),
            result: v.result.name(),
            note: v.note.as_deref(),
        }),
    };
    // Serialising plain strings and numbers into a Vec cannot fail.
    if serde_json::to_writer(&mut *out, &record).is_ok() {
        out.push(b'\n');
    }
}
