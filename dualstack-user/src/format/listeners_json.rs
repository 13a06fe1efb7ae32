//! `dualstack listeners --format json`: one object per socket (JSON Lines).
//!
//! The row is the schema's [`ListenerLine`], whose fields are documented there.

use std::borrow::Cow;

use crate::{
    format::names,
    schema::{AcceptsLine, ListenerLine, OwnerLine, VerifyLine},
    snapshot::{
        verify::{Probe, Verification},
        Listener,
    },
};

/// The schema row of `l` (with its verification, when --verify ran).
pub fn listener_line<'a>(
    l: &'a Listener,
    verification: Option<&'a Verification>,
) -> ListenerLine<'a> {
    ListenerLine {
        netns: l.netns,
        netns_name: l.netns_name.as_deref().map(Cow::Borrowed),
        netns_pid: l.netns_pid,
        protocol: Cow::Borrowed(l.protocol.name()),
        family: Cow::Borrowed(names::address_family(l.family).unwrap_or("AF_???")),
        address: Cow::Owned(l.local.ip().to_string()),
        port: l.local.port(),
        state: Cow::Borrowed(l.state_name()),
        v6only: l.v6only,
        inode: l.inode,
        uid: l.uid,
        owners: l
            .owners
            .iter()
            .map(|o| OwnerLine {
                pid: o.pid,
                comm: Cow::Borrowed(&o.comm),
                fd: o.fd,
            })
            .collect(),
        accepts: AcceptsLine {
            ipv4: l.verdict.ipv4,
            ipv6: l.verdict.ipv6,
        },
        reason: Cow::Borrowed(&l.verdict.reason),
        verify: verification.map(|v| VerifyLine {
            ipv4: Cow::Borrowed(Probe::name(v.ipv4)),
            ipv6: Cow::Borrowed(Probe::name(v.ipv6)),
            result: Cow::Borrowed(v.result.name()),
            note: v.note.as_deref().map(Cow::Borrowed),
        }),
    }
}

/// Appends one JSON line for `l` (with its verification, when --verify ran).
pub fn write_listener(out: &mut Vec<u8>, l: &Listener, verification: Option<&Verification>) {
    listener_line(l, verification).write(out);
}
