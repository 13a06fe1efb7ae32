//! An event record (`"type":"event"`), schema version 3.
//!
//! - `time` (RFC 3339 UTC), `pid`, `ppid` (the process it was forked from, or the nearest
//!   live ancestor once that one exited; null when unknown), `tid`, `comm`, `syscall`, `fd`
//!   (null for socket/socketpair).
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
//!
//! Reading is lenient where the schema grew: a field added since version 2 (`ppid`) or one
//! that may be null may be absent.

use std::borrow::Cow;

use dualstack_common::Syscall;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventLine<'a> {
    pub time: Cow<'a, str>,
    pub pid: u32,
    #[serde(default)]
    pub ppid: Option<u32>,
    pub tid: u32,
    pub comm: Cow<'a, str>,
    #[serde(with = "super::syscall_name")]
    pub syscall: Syscall,
    #[serde(default)]
    pub fd: Option<i32>,
    pub ret: i64,
    #[serde(default)]
    pub errno: Option<Cow<'a, str>>,
    #[serde(default)]
    pub error: Option<Cow<'a, str>>,
    #[serde(default)]
    pub family: Option<Cow<'a, str>>,
    #[serde(default)]
    pub address: Option<Cow<'a, str>>,
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub peer: Option<Cow<'a, str>>,
    #[serde(default)]
    pub v6only: Option<bool>,
    #[serde(default)]
    pub v6only_source: Option<Cow<'a, str>>,
    #[serde(default)]
    pub kernel_status: Cow<'a, str>,
    #[serde(default)]
    pub kernel: Option<KernelLine<'a>>,
    #[serde(default)]
    pub verdict: Option<VerdictLine<'a>>,
    #[serde(default)]
    pub holder: Option<HolderLine<'a>>,
    #[serde(default)]
    pub socket: Option<SocketLine<'a>>,
    #[serde(default)]
    pub tracking: Cow<'a, str>,
    pub strace: Cow<'a, str>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelLine<'a> {
    pub netns: u32,
    pub inode: u64,
    pub family: Cow<'a, str>,
    #[serde(rename = "type")]
    pub sock_type: Cow<'a, str>,
    pub state: u8,
    pub v6only: bool,
    pub netns_bindv6only: bool,
    pub address: Option<Cow<'a, str>>,
    pub port: Option<u16>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictLine<'a> {
    pub ipv4: bool,
    pub ipv6: bool,
    pub accepts: Cow<'a, str>,
    pub certain: bool,
    pub reason: Cow<'a, str>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocketLine<'a> {
    #[serde(rename = "type")]
    pub sock_type: Option<Cow<'a, str>>,
    pub protocol: Option<u32>,
    pub reuseaddr: Option<bool>,
    pub reuseport: Option<bool>,
    pub freebind: Option<bool>,
    pub transparent: Option<bool>,
    pub bind_device: Option<Cow<'a, str>>,
    pub bound_address: Option<Cow<'a, str>>,
    pub bound_port: Option<u16>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderLine<'a> {
    pub pid: Option<u32>,
    pub comm: Option<Cow<'a, str>>,
    pub fd: Option<i32>,
    pub family: Cow<'a, str>,
    pub address: Cow<'a, str>,
    pub port: u16,
    pub state: Cow<'a, str>,
    pub v6only: Option<bool>,
    pub accepts: Cow<'a, str>,
    pub reason: Cow<'a, str>,
}

impl EventLine<'_> {
    /// Did the call fail? (An errno unknown to the tracer has no name, but `ret` is -1.)
    pub fn failed(&self) -> bool {
        self.errno.is_some() || self.ret == -1
    }

    /// The ports the event concerns: its own, its socket's bound one, the kernel's local one.
    pub fn ports(&self) -> impl Iterator<Item = u16> + '_ {
        self.port
            .into_iter()
            .chain(self.socket.as_ref().and_then(|s| s.bound_port))
            .chain(self.kernel.as_ref().and_then(|k| k.port))
    }
}
