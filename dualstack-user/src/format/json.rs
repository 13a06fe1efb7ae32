//! JSON Lines: one object per event, with a stable schema named for people (see README).
//!
//! Schema (version 2):
//! - `type`: "event" (or "lost" for a [`lost_record`]).
//! - `time` (RFC 3339 UTC), `pid`, `tid`, `comm`, `syscall`, `fd` (null for socket/socketpair).
//! - `ret` (the return value, -1 on failure), `errno` and `error` (name and message, or null).
//! - `family` ("AF_INET6"...), `address` and `port`: the address the call carried (bind and
//!   connect argument), else the kernel's bound address and real port, else the address of the
//!   socket's last bind; null when unknown. For accept and accept4 they are the peer's, and
//!   only when `peer` is "read": null otherwise, never the listener's.
//! - `peer` (accept and accept4 that returned a connection, else null): "read" (the whole peer
//!   address), "not-requested" (addr or addrlen NULL), "truncated" (the buffer was shorter
//!   than the peer's address) or "fault" (unreadable).
//! - `v6only` (true/false/null, AF_INET6 only): the effective IPV6_V6ONLY, the kernel's bit when
//!   it was read; `v6only_source`: "setsockopt", "netns-default", "bind-address" (the kernel sets
//!   it on a bind to a specific IPv6 address), "pre-existing" (socket created
//!   before tracing started: the kernel's bit is the only source) or "inferred" (not read).
//! - `kernel_status`: "read", "not-read" (no single socket, or not a socket) or "no-btf";
//!   `kernel`: the kernel's view when read: `netns`, `inode`, `family`, `type`, `state`,
//!   `v6only`, `netns_bindv6only`, `address`, `port` (the real port after a port-0 bind).
//! - `verdict` (listen, and bind of a UDP socket): `ipv4`, `ipv6` (what it accepts), `accepts`
//!   ("IPv4+IPv6", "IPv4", "IPv6"), `certain` (false when an input was inferred), `reason`.
//! - `holder` (bind refused with EADDRINUSE): the socket holding the port, as the kernel
//!   reports it: `pid`, `comm`, `fd` (null when no process was found), `family`, `address`,
//!   `port`, `state`, `v6only`, `accepts`, `reason`.
//! - `socket`: what the tracer knew of the socket (type, protocol, options, bound address).
//! - `tracking`: how that was kept: "socket" (per kernel socket, shared by every descriptor
//!   of it in every process), "descriptor" (per process and descriptor, without BTF: fork, dup
//!   and passed sockets are not followed) or "map-full" (not kept: the state map was full).
//! - `strace`: the call exactly as strace prints it.

use serde::Serialize;

use crate::{
    clock::Clock,
    enrich::Notes,
    format::names,
    holder::Holder,
    model::{Call, Event, KernelSocket, KernelView, Peer, Return, SocketInfo},
    sockaddr::SockAddr,
    verdict::Verdict,
};

#[derive(Serialize)]
struct EventRecord<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    time: String,
    pid: u32,
    tid: u32,
    comm: &'a str,
    syscall: &'static str,
    fd: Option<i32>,
    ret: i64,
    errno: Option<&'static str>,
    error: Option<&'static str>,
    family: Option<String>,
    address: Option<String>,
    port: Option<u16>,
    peer: Option<&'static str>,
    v6only: Option<bool>,
    v6only_source: Option<&'static str>,
    kernel_status: &'static str,
    kernel: Option<KernelRecord>,
    verdict: Option<VerdictRecord<'a>>,
    holder: Option<HolderRecord<'a>>,
    socket: Option<SocketRecord<'a>>,
    tracking: &'static str,
    strace: &'a str,
}

#[derive(Serialize)]
struct KernelRecord {
    netns: u32,
    inode: u64,
    family: String,
    #[serde(rename = "type")]
    sock_type: String,
    state: u8,
    v6only: bool,
    netns_bindv6only: bool,
    address: Option<String>,
    port: Option<u16>,
}

#[derive(Serialize)]
struct VerdictRecord<'a> {
    ipv4: bool,
    ipv6: bool,
    accepts: &'static str,
    certain: bool,
    reason: &'a str,
}

#[derive(Serialize)]
struct SocketRecord<'a> {
    #[serde(rename = "type")]
    sock_type: Option<String>,
    protocol: Option<u32>,
    reuseaddr: Option<bool>,
    reuseport: Option<bool>,
    freebind: Option<bool>,
    transparent: Option<bool>,
    bind_device: Option<&'a str>,
    bound_address: Option<String>,
    bound_port: Option<u16>,
}

#[derive(Serialize)]
struct HolderRecord<'a> {
    pid: Option<u32>,
    comm: Option<&'a str>,
    fd: Option<i32>,
    family: String,
    address: String,
    port: u16,
    state: &'static str,
    v6only: Option<bool>,
    accepts: &'static str,
    reason: &'a str,
}

fn holder_record(h: &Holder) -> HolderRecord<'_> {
    HolderRecord {
        pid: h.pid,
        comm: h.comm.as_deref(),
        fd: h.fd,
        family: names::address_family_str(u32::from(h.family)),
        address: h.local.ip().to_string(),
        port: h.local.port(),
        state: h.state,
        v6only: h.v6only,
        accepts: h.verdict.label(),
        reason: &h.verdict.reason,
    }
}

fn kernel_record(k: &KernelSocket) -> KernelRecord {
    KernelRecord {
        netns: k.netns,
        inode: k.inode,
        family: names::address_family_str(u32::from(k.family)),
        sock_type: names::socket_type(u32::from(k.sock_type)),
        state: k.state,
        v6only: k.v6only,
        netns_bindv6only: k.netns_bindv6only,
        address: k.local.map(|a| a.ip().to_string()),
        port: k.local.map(|a| a.port()),
    }
}

fn verdict_record(v: &Verdict) -> VerdictRecord<'_> {
    VerdictRecord {
        ipv4: v.ipv4,
        ipv6: v.ipv6,
        accepts: v.label(),
        certain: v.certain,
        reason: &v.reason,
    }
}

fn socket_record(s: &SocketInfo) -> SocketRecord<'_> {
    SocketRecord {
        sock_type: s.sock_type.map(names::socket_type),
        protocol: s.protocol,
        reuseaddr: s.reuseaddr,
        reuseport: s.reuseport,
        freebind: s.freebind,
        transparent: s.transparent,
        bind_device: s.bind_device.as_deref(),
        bound_address: s.bound.as_ref().and_then(SockAddr::ip_text),
        bound_port: s.bound.as_ref().and_then(SockAddr::port),
    }
}

/// Appends the JSON line of `event` (with its newline). `strace_text` is its strace line.
pub fn write_event(
    out: &mut Vec<u8>,
    event: &Event,
    notes: &Notes,
    clock: &Clock,
    strace_text: &str,
) {
    let (ret, errno, error) = match event.ret {
        Return::Value(v) => (v, None, None),
        Return::Error(e) => (-1, e.name(), e.message()),
    };
    let as_pair = |a: &SockAddr| (a.ip_text(), a.port());
    let carried = event
        .address()
        .filter(|a| a.port().is_some())
        .map(|a| as_pair(&a));
    let kernel_bound = event
        .kernel
        .socket()
        .and_then(|k| k.local)
        .filter(|a| a.port() != 0)
        .map(|a| (Some(a.ip().to_string()), Some(a.port())));
    let last_bind = event
        .socket
        .as_ref()
        .and_then(|s| s.bound.as_ref())
        .map(as_pair);
    let (address, port) = if let Call::Accept { .. } = event.call {
        // An accept's address is its peer's, or nothing: never the listener's.
        carried
    } else {
        carried.or(kernel_bound).or(last_bind)
    }
    .unwrap_or((None, None));
    let record = EventRecord {
        kind: "event",
        time: clock.rfc3339(event.monotonic),
        pid: event.pid,
        tid: event.tid,
        comm: &event.comm,
        syscall: event.syscall().name(),
        fd: event.fd(),
        ret,
        errno,
        error,
        family: event
            .family()
            .map(|f| names::address_family_str(u32::from(f))),
        address,
        port,
        peer: event.peer().as_ref().map(Peer::name),
        v6only: notes.v6only.map(|(v, _)| v),
        v6only_source: notes.v6only.map(|(_, origin)| origin.name()),
        kernel_status: match &event.kernel {
            KernelView::Read(_) => "read",
            KernelView::NotRead => "not-read",
            KernelView::NoBtf => "no-btf",
        },
        kernel: event.kernel.socket().map(kernel_record),
        verdict: notes.verdict.as_ref().map(verdict_record),
        holder: notes.holder.as_ref().map(holder_record),
        socket: event.socket.as_ref().map(socket_record),
        tracking: event.tracking.name(),
        strace: strace_text.trim_end(),
    };
    // Serialising plain data into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, &record);
    out.push(b'\n');
}

/// The record that says events were lost, and why.
pub fn lost_record(out: &mut Vec<u8>, count: u64, reason: &str) {
    let record = serde_json::json!({ "type": "lost", "count": count, "reason": reason });
    let _ = serde_json::to_writer(&mut *out, &record);
    out.push(b'\n');
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
