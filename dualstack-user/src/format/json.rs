//! JSON Lines: one object per event, with a stable schema named for people (see README).
//!
//! Schema (version 1):
//! - `type`: "event" (or "lost" for a [`lost_record`]).
//! - `time` (RFC 3339 UTC), `pid`, `tid`, `comm`, `syscall`, `fd` (null for socket/socketpair).
//! - `ret` (the return value, -1 on failure), `errno` and `error` (name and message, or null).
//! - `family` ("AF_INET6"...), `address` and `port`: the address the call carried (bind and
//!   connect argument, accept's peer) or else the socket's bound address; null when unknown.
//! - `v6only` (true/false/null) and `v6only_source` ("setsockopt", "netns-default", "kernel").
//! - `socket`: what the tracer knew of the socket (type, protocol, options, bound address).
//! - `strace`: the call exactly as strace prints it.

use serde::Serialize;

use crate::{
    clock::Clock,
    format::names,
    model::{Event, Return, SocketInfo, V6OnlySource},
    sockaddr::SockAddr,
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
    v6only: Option<bool>,
    v6only_source: Option<&'static str>,
    socket: Option<SocketRecord<'a>>,
    strace: &'a str,
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

pub fn v6only_source_name(source: V6OnlySource) -> &'static str {
    match source {
        V6OnlySource::Unknown => "unknown",
        V6OnlySource::Setsockopt => "setsockopt",
        V6OnlySource::NetnsDefault => "netns-default",
        V6OnlySource::Kernel => "kernel",
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
pub fn write_event(out: &mut Vec<u8>, event: &Event, clock: &Clock, strace_text: &str) {
    let (ret, errno, error) = match event.ret {
        Return::Value(v) => (v, None, None),
        Return::Error(e) => (-1, e.name(), e.message()),
    };
    let carried = event.address().filter(|a| a.port().is_some());
    let bound = event.socket.as_ref().and_then(|s| s.bound.clone());
    let shown = carried.or(bound);
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
        address: shown.as_ref().and_then(SockAddr::ip_text),
        port: shown.as_ref().and_then(SockAddr::port),
        v6only: event.socket.as_ref().and_then(|s| s.v6only),
        v6only_source: event
            .socket
            .as_ref()
            .and_then(|s| s.v6only_source)
            .map(v6only_source_name),
        socket: event.socket.as_ref().map(socket_record),
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
