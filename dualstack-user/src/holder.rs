//! Who holds the port a bind was refused for (EADDRINUSE): asked of the kernel (sock_diag) in
//! the failing socket's own netns the moment the event arrives, while the holder still holds it.

use std::{
    collections::HashMap,
    net::SocketAddr,
    time::{Duration, Instant},
};

use crate::{
    model::{Errno, Event, Return, Syscall},
    snapshot::{self, Listener, Protocol},
    verdict::Verdict,
};

// kernel ABI: include/uapi/asm-generic/errno.h, include/linux/net.h (enum sock_type).
const EADDRINUSE: i32 = 98;
const SOCK_STREAM: u16 = 1;
const SOCK_DGRAM: u16 = 2;

/// The socket holding a port, as the kernel reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub pid: Option<u32>,
    pub comm: Option<String>,
    pub fd: Option<i32>,
    pub family: u16,
    pub local: SocketAddr,
    pub v6only: Option<bool>,
    /// As `ss` names it: LISTEN, UNCONN, BOUND...
    pub state: &'static str,
    pub verdict: Verdict,
}

impl Holder {
    /// One sentence: "port 80 is held by pid 12 (nginx) fd 6: AF_INET6 socket on [::]:80, ...".
    pub fn sentence(&self, port: u16) -> String {
        let who = match (self.pid, &self.comm, self.fd) {
            (Some(pid), Some(comm), Some(fd)) => format!("pid {pid} ({comm}) fd {fd}"),
            (Some(pid), _, _) => format!("pid {pid}"),
            _ => "a socket no process could be found for".to_owned(),
        };
        format!("port {port} is held by {who}: {}", self.verdict.reason)
    }
}

/// The port of a bind refused with EADDRINUSE, with the protocol and netns to look in.
fn refused_bind(event: &Event) -> Option<(u64, Protocol, u16)> {
    if event.syscall() != Syscall::Bind || event.ret != Return::Error(Errno(EADDRINUSE)) {
        return None;
    }
    let kernel = event.kernel.socket()?;
    let protocol = match kernel.sock_type {
        SOCK_STREAM => Protocol::Tcp,
        SOCK_DGRAM => Protocol::Udp,
        _ => return None,
    };
    let port = event.address()?.port()?;
    Some((u64::from(kernel.netns), protocol, port))
}

/// How long a looked-up holder is reused for more refused binds of the same port.
const CACHE_FOR: Duration = Duration::from_secs(1);
/// Lookups allowed per second: each costs a netlink dump and a /proc scan (milliseconds on a
/// busy host), and a service retrying a bind in a loop must not slow the tracer down.
const LOOKUPS_PER_SECOND: u32 = 10;
/// Cached ports kept at most.
const CACHE_MAX: usize = 1024;

type PortKey = (u64, Protocol, u16);

/// Finds holders for refused binds, with a short cache and a rate limit.
#[derive(Default)]
pub struct HolderFinder {
    cache: HashMap<PortKey, (Instant, Option<Holder>)>,
    window: Option<Instant>,
    lookups: u32,
    /// Refused binds left without a holder because of the rate limit.
    pub skipped: u64,
}

impl HolderFinder {
    /// The socket that blocks `event`'s bind, when it is a bind refused with EADDRINUSE and the
    /// holder can still be found.
    pub fn find(&mut self, event: &Event) -> Option<Holder> {
        let key = refused_bind(event)?;
        let now = Instant::now();
        if let Some((when, holder)) = self.cache.get(&key) {
            if now.duration_since(*when) < CACHE_FOR {
                return holder.clone();
            }
        }
        if self
            .window
            .is_none_or(|start| now.duration_since(start) >= Duration::from_secs(1))
        {
            self.window = Some(now);
            self.lookups = 0;
        }
        if self.lookups >= LOOKUPS_PER_SECOND {
            self.skipped += 1;
            return None;
        }
        self.lookups += 1;
        let holder = lookup(key);
        if self.cache.len() >= CACHE_MAX {
            self.cache.clear();
        }
        self.cache.insert(key, (now, holder.clone()));
        holder
    }
}

/// The socket holding `port` in `netns`: a listener rather than a socket only bound or
/// connected.
fn lookup((netns, protocol, port): PortKey) -> Option<Holder> {
    let sockets = match snapshot::sockets_in_netns(netns, protocol, port) {
        Ok(sockets) => sockets,
        Err(err) => {
            log::debug!("cannot look up the holder of port {port}: {err}");
            return None;
        }
    };
    let best = sockets
        .iter()
        .find(|s| s.state_name() == "LISTEN")
        .or_else(|| sockets.first())?;
    Some(holder_of(best))
}

fn holder_of(socket: &Listener) -> Holder {
    let owner = socket.owners.first();
    Holder {
        pid: owner.map(|o| o.pid),
        comm: owner.map(|o| o.comm.clone()),
        fd: owner.map(|o| o.fd),
        family: socket.family,
        local: socket.local,
        v6only: socket.v6only,
        state: socket.state_name(),
        verdict: socket.verdict.clone(),
    }
}
