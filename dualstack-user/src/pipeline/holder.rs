//! Who holds the port a bind was refused for (EADDRINUSE): asked of the kernel (sock_diag) in
//! the failing socket's own netns the moment the event arrives, while the holder still holds it.
//! The lookup (a netns switch, a netlink dump, a /proc scan) runs off the caller's thread.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Condvar, Mutex, PoisonError},
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

/// The netns, protocol and port a refused bind wanted.
pub type PortKey = (u64, Protocol, u16);

/// How a holder is found: [`lookup`], or a stand-in in tests.
pub type LookupFn = fn(PortKey) -> Option<Holder>;

/// Finds holders for refused binds, with a short cache and a rate limit. The lookups run on
/// the runtime's blocking pool (inline without a runtime), never on the caller's thread: an
/// event waits for its own holder, no other event does.
pub struct HolderFinder {
    cache: HashMap<PortKey, (Instant, Arc<Lookup>)>,
    window: Option<Instant>,
    lookups: u32,
    lookup: LookupFn,
    /// Refused binds left without a holder because of the rate limit.
    pub skipped: u64,
}

impl Default for HolderFinder {
    fn default() -> Self {
        HolderFinder::with_lookup(lookup)
    }
}

impl HolderFinder {
    pub fn with_lookup(lookup: LookupFn) -> HolderFinder {
        HolderFinder {
            cache: HashMap::new(),
            window: None,
            lookups: 0,
            lookup,
            skipped: 0,
        }
    }

    /// The holder of the port `event`'s bind was refused for, found or being found; None when
    /// the event is no bind refused with EADDRINUSE, or the rate limit skips it.
    pub fn find(&mut self, event: &Event) -> Option<Arc<Lookup>> {
        let key = refused_bind(event)?;
        let now = Instant::now();
        if let Some((when, found)) = self.cache.get(&key) {
            if now.duration_since(*when) < CACHE_FOR {
                return Some(Arc::clone(found));
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
        let found = Arc::new(Lookup::default());
        let run = self.lookup;
        let filling = Arc::clone(&found);
        let job = move || filling.set(run(key));
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(job)),
            Err(_) => job(),
        }
        if self.cache.len() >= CACHE_MAX {
            self.cache.clear();
        }
        self.cache.insert(key, (now, Arc::clone(&found)));
        Some(found)
    }
}

/// A holder lookup, done or under way.
#[derive(Debug, Default)]
#[allow(clippy::option_option)] // not done yet / done, found nothing / done, found one
pub struct Lookup {
    result: Mutex<Option<Option<Holder>>>,
    /// Wakes threads blocked in [`Lookup::wait`].
    done: Condvar,
    /// Wakes tasks awaiting [`Lookup::settled`].
    done_async: tokio::sync::Notify,
}

impl Lookup {
    /// A lookup already answered.
    pub fn answered(holder: Option<Holder>) -> Lookup {
        let lookup = Lookup::default();
        lookup.set(holder);
        lookup
    }

    fn set(&self, holder: Option<Holder>) {
        *self.result.lock().unwrap_or_else(PoisonError::into_inner) = Some(holder);
        self.done.notify_all();
        self.done_async.notify_waiters();
    }

    pub fn is_done(&self) -> bool {
        self.result
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// The holder, blocking the thread until the lookup is done.
    pub fn wait(&self) -> Option<Holder> {
        let mut result = self.result.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(holder) = &*result {
                return holder.clone();
            }
            result = self
                .done
                .wait(result)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Returns once the lookup is done, without blocking the thread.
    pub async fn settled(&self) {
        loop {
            let notified = self.done_async.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_done() {
                return;
            }
            notified.await;
        }
    }
}

/// The socket holding `port` in `netns`: a listener rather than a socket only bound or
/// connected.
pub fn lookup((netns, protocol, port): PortKey) -> Option<Holder> {
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
