//! Who holds the port a bind was refused for (EADDRINUSE): asked of the kernel (sock_diag) in
//! the failing socket's own netns the moment the event arrives, while the holder still holds it.

use std::net::SocketAddr;

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

/// The socket that blocks `event`'s bind, when it is a bind refused with EADDRINUSE and the
/// holder can still be found. Prefers a listener over a socket only bound or connected.
pub fn find_holder(event: &Event) -> Option<Holder> {
    let (netns, protocol, port) = refused_bind(event)?;
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
