//! A snapshot of the sockets that wait for peers — every listening TCP socket and every bound
//! UDP socket, in every network namespace of the host — with what each accepts.
//!
//! No eBPF: the kernel's sock_diag lists the sockets of a netns with their IPV6_V6ONLY bit (as
//! for `ss`), /proc names the processes holding them, and [`crate::verdict`] says what each
//! accepts. Each netns is read from a thread that entered it ([`netns::run_in`]).

pub mod access;
pub mod error;
pub mod netns;
pub mod owners;
pub mod sock_diag;
pub mod verify;

use std::{
    collections::{HashMap, HashSet},
    net::SocketAddr,
};

pub use error::{Error, Result};
pub use netns::Netns;
use sock_diag::{state_bit, DiagSocket, Query};

use crate::{
    sockaddr::{AF_INET, AF_INET6},
    verdict::{verdict, V6OnlyOrigin, Verdict, VerdictInput},
};

/// The transport protocol of a socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }

    /// kernel ABI: include/uapi/linux/in.h, IPPROTO_TCP and IPPROTO_UDP.
    pub(crate) fn ipproto(self) -> u8 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
        }
    }

    /// The kernel module that answers sock_diag dumps of this protocol.
    pub(crate) fn diag_module(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp_diag",
            Protocol::Udp => "udp_diag",
        }
    }
}

/// A process holding a socket open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    pub pid: u32,
    pub comm: String,
    pub fd: i32,
}

/// One socket, with what it accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listener {
    /// The inode of its network namespace.
    pub netns: u64,
    /// The netns's name in /run/netns, when it has one.
    pub netns_name: Option<String>,
    /// The lowest pid in the netns (`nsenter -t PID -n` enters it), when a process is in it and
    /// no process with a lower pid could be in it unseen.
    pub netns_pid: Option<u32>,
    pub protocol: Protocol,
    /// AF_INET or AF_INET6.
    pub family: u16,
    pub local: SocketAddr,
    /// IPV6_V6ONLY as the kernel reports it (None for AF_INET).
    pub v6only: Option<bool>,
    /// The kernel's sk_state, in TCP numbering (see [`Listener::state_name`]).
    pub state: u8,
    pub inode: u64,
    pub uid: u32,
    /// Every process holding it, lowest pid first (empty when none could be read).
    pub owners: Vec<Owner>,
    pub verdict: Verdict,
}

impl Listener {
    /// The state as `ss` names it; `BOUND` is a TCP socket bound but neither listening nor
    /// connected.
    pub fn state_name(&self) -> &'static str {
        use sock_diag::{TCP_CLOSE, TCP_ESTABLISHED, TCP_LISTEN};
        match (self.protocol, self.state) {
            (_, TCP_LISTEN) => "LISTEN",
            (_, TCP_ESTABLISHED) => "ESTAB",
            (Protocol::Udp, TCP_CLOSE) => "UNCONN",
            (Protocol::Tcp, TCP_CLOSE) => "BOUND",
            (_, 2) => "SYN-SENT",
            (_, 4) => "FIN-WAIT-1",
            (_, 5) => "FIN-WAIT-2",
            (_, 6) => "TIME-WAIT",
            (_, 8) => "CLOSE-WAIT",
            (_, 9) => "LAST-ACK",
            (_, 11) => "CLOSING",
            _ => "UNKNOWN",
        }
    }

    /// How a person names its netns: the /run/netns name, else `pid N`, else the inode.
    pub fn netns_label(&self) -> String {
        match (&self.netns_name, self.netns_pid) {
            (Some(name), _) => name.clone(),
            (None, Some(pid)) => format!("pid {pid}"),
            (None, None) => self.netns.to_string(),
        }
    }
}

/// What to read.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// Only this netns (else every netns on the host).
    pub netns: Option<Netns>,
    /// Only sockets on this local port.
    pub port: Option<u16>,
}

/// A snapshot, with what could not be read.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Sorted by netns, protocol, port, family, address.
    pub listeners: Vec<Listener>,
    /// The namespaces that were read.
    pub namespaces: Vec<Netns>,
    /// Namespaces (or dumps of one) that could not be read, with why.
    pub failed: Vec<(String, Error)>,
    /// Processes whose netns or descriptors could not be read (permission denied), ascending.
    pub unreadable: Vec<u32>,
    /// Those of them whose netns could not be found at all.
    pub netns_unknown: Vec<u32>,
}

/// What a thread inside one netns read.
struct NetnsRead {
    bindv6only: Option<bool>,
    sockets: Vec<(Protocol, DiagSocket)>,
    failed: Vec<Error>,
}

/// `net.ipv6.bindv6only` of the calling thread's netns (None without IPv6).
fn bindv6only() -> Option<bool> {
    let text = std::fs::read_to_string("/proc/sys/net/ipv6/bindv6only").ok()?;
    Some(text.trim() != "0")
}

/// Runs `queries` in the calling thread's netns. A dump the kernel refuses (a protocol without
/// its diag module) is noted and the others go on.
fn read_netns(queries: &[Query]) -> NetnsRead {
    let mut read = NetnsRead {
        bindv6only: bindv6only(),
        sockets: Vec::new(),
        failed: Vec::new(),
    };
    for query in queries {
        let mut result = sock_diag::dump(query);
        if let Err(Error::Dump { source, .. }) = &result {
            // A kernel without INET_DIAG_BC_S_EQ refuses the port filter: filter here instead.
            if query.port.is_some() && source.raw_os_error() == Some(libc::EINVAL) {
                result = sock_diag::dump(&Query {
                    port: None,
                    ..*query
                });
            }
        }
        match result {
            Ok(sockets) => read.sockets.extend(
                sockets
                    .into_iter()
                    .filter(|s| {
                        s.local.port() != 0 && query.port.is_none_or(|p| s.local.port() == p)
                    })
                    .map(|s| (query.protocol, s)),
            ),
            Err(e) => read.failed.push(e),
        }
    }
    read
}

/// The dumps of a snapshot: TCP listeners and every UDP socket, of both families.
fn listener_queries(port: Option<u16>) -> Vec<Query> {
    let mut queries = Vec::new();
    for family in [AF_INET, AF_INET6] {
        queries.push(Query {
            family,
            protocol: Protocol::Tcp,
            states: state_bit(sock_diag::TCP_LISTEN),
            port,
        });
        queries.push(Query {
            family,
            protocol: Protocol::Udp,
            states: u32::MAX,
            port,
        });
    }
    queries
}

fn to_listener(
    netns: &Netns,
    netns_default: Option<bool>,
    protocol: Protocol,
    s: &DiagSocket,
) -> Listener {
    let verdict = verdict(&VerdictInput {
        family: s.family,
        local: s.local,
        v6only: s.v6only,
        origin: V6OnlyOrigin::Kernel,
        netns_default,
    });
    Listener {
        netns: netns.inode,
        netns_name: netns.name.clone(),
        netns_pid: netns.lowest_pid,
        protocol,
        family: s.family,
        local: s.local,
        v6only: s.v6only,
        state: s.state,
        inode: s.inode,
        uid: s.uid,
        owners: Vec::new(),
        verdict,
    }
}

/// Fills in the holders of every socket; returns the processes that could not be read.
fn attach_owners(listeners: &mut [Listener], netns: Option<u64>) -> Vec<u32> {
    let inodes: HashSet<u64> = listeners
        .iter()
        .map(|l| l.inode)
        .filter(|&i| i != 0)
        .collect();
    let mut scan = owners::scan(&inodes, netns);
    for l in listeners.iter_mut() {
        // Socket inodes are unique on the host: each holder list goes to one socket.
        if let Some(owners) = scan.owners.remove(&l.inode) {
            l.owners = owners;
        }
    }
    scan.unreadable
}

/// Reads the listeners `request` asks for.
pub fn scan(request: &Request) -> Snapshot {
    let mut snapshot = Snapshot::default();
    let namespaces = if let Some(netns) = &request.netns {
        vec![netns.clone()]
    } else {
        let mut all = netns::all();
        let known: HashSet<u64> = all.list.iter().map(|n| n.inode).collect();
        all.list.extend(owners::socket_namespaces(&known));
        snapshot.unreadable = all.unreadable;
        snapshot.netns_unknown = all.unplaced;
        all.list
    };
    let queries = listener_queries(request.port);
    for netns in namespaces {
        match netns::run_in(&netns, || read_netns(&queries)) {
            Ok(read) => {
                for e in read.failed {
                    snapshot.failed.push((netns.label(), e));
                }
                snapshot.listeners.extend(
                    read.sockets
                        .into_iter()
                        .map(|(protocol, s)| to_listener(&netns, read.bindv6only, protocol, &s)),
                );
                snapshot.namespaces.push(netns);
            }
            Err(e) => snapshot.failed.push((netns.label(), e)),
        }
    }
    let order: HashMap<u64, usize> = snapshot
        .namespaces
        .iter()
        .enumerate()
        .map(|(i, n)| (n.inode, i))
        .collect();
    snapshot.listeners.sort_by_key(|l| {
        (
            order.get(&l.netns).copied(),
            l.protocol,
            l.local.port(),
            l.family,
            l.local.ip(),
            l.inode,
        )
    });
    snapshot
        .unreadable
        .extend(attach_owners(&mut snapshot.listeners, None));
    snapshot.unreadable.sort_unstable();
    snapshot.unreadable.dedup();
    snapshot
}

/// Every listening TCP socket and bound UDP socket in every network namespace. Namespaces that
/// cannot be read are logged and skipped; it fails only when none could be read.
pub fn snapshot() -> Result<Vec<Listener>> {
    let mut snapshot = scan(&Request::default());
    if snapshot.namespaces.is_empty() && !snapshot.failed.is_empty() {
        return Err(snapshot.failed.swap_remove(0).1);
    }
    for (netns, e) in &snapshot.failed {
        log::warn!("network namespace {netns} skipped: {e}");
    }
    Ok(snapshot.listeners)
}

/// The sockets of `protocol` bound to local `port` in one netns: for TCP listeners and also
/// sockets bound but not listening, or connected — anything that makes a bind to that port fail
/// with EADDRINUSE. Reads only that netns and stops the holder search early (see
/// [`owners::scan`]), so it is cheap enough to run when a bind fails.
pub fn sockets_in_netns(netns_inode: u64, protocol: Protocol, port: u16) -> Result<Vec<Listener>> {
    let netns = netns::by_inode(netns_inode)?;
    let states = match protocol {
        // Request sockets (half-open connections) are not sockets a process holds.
        Protocol::Tcp => {
            !(state_bit(sock_diag::TCP_SYN_RECV) | state_bit(sock_diag::TCP_NEW_SYN_RECV))
        }
        Protocol::Udp => u32::MAX,
    };
    let queries: Vec<Query> = [AF_INET, AF_INET6]
        .into_iter()
        .map(|family| Query {
            family,
            protocol,
            states,
            port: Some(port),
        })
        .collect();
    let mut read = netns::run_in(&netns, || read_netns(&queries))?;
    if read.sockets.is_empty() {
        if let Some(e) = read.failed.pop() {
            return Err(e);
        }
    }
    let mut listeners: Vec<Listener> = read
        .sockets
        .into_iter()
        .map(|(protocol, s)| to_listener(&netns, read.bindv6only, protocol, &s))
        .collect();
    listeners.sort_by_key(|l| (l.state, l.family, l.local.ip(), l.inode));
    attach_owners(&mut listeners, Some(netns.inode));
    Ok(listeners)
}
