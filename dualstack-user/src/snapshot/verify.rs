//! `--verify`: proves each verdict with real connections made inside the socket's own netns.
//!
//! For each family a listener may take, one loopback connection is tried: 127.0.0.1 and ::1 for
//! a wildcard bind, the bound address itself for a loopback one (a v4-mapped ::ffff:a.b.c.d is
//! tried as a.b.c.d). Other addresses are not tried: that would send traffic off the host.
//! TCP connects with a short timeout, sends nothing and ends the connection the ordinary way: a
//! FIN (shutdown), then whatever the server sends is read and dropped until it closes too or a
//! short wait is over, and only then the socket is closed. A reset would kill servers that treat
//! ECONNRESET on an accepted socket as fatal, and closing with unread data (a banner) sends one.
//! UDP sends one empty datagram on a connected socket and waits for the ICMP port unreachable
//! that says no socket took it (silence means one did).
//!
//! Several sockets can share a port (sshd's 0.0.0.0 + [::] V6ONLY=1 pair, SO_REUSEPORT), and a
//! connection proves only that *some* socket of that (netns, protocol, port) took it. So a
//! socket is a MISMATCH when its verdict says it accepts a family whose connection was refused,
//! or says it does not while that connection was accepted and no other socket of the group
//! claims the family. A socket with one family proven and the other not (its connection failed
//! with an errno or timed out) is "partial"; "ok" means every family tried was proven.

use std::{
    collections::{BTreeSet, HashMap},
    io::{self, Read as _},
    net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpStream, UdpSocket},
    os::fd::AsRawFd as _,
    thread,
    time::{Duration, Instant},
};

use super::{netns, sock_diag, Listener, Netns, Protocol};
use crate::host::errno::{errno_message, errno_name};

/// How long a TCP connect may take before the attempt counts as unanswered.
const TCP_TIMEOUT: Duration = Duration::from_millis(500);
/// How long test connections wait, together, for the servers to close their side after ours.
const TCP_CLOSE_WAIT: Duration = Duration::from_millis(500);
/// TCP test connections open at once.
const TCP_BATCH: usize = 64;
/// Waits for an ICMP port unreachable; a silent first datagram is sent once more (ICMP may be
/// rate-limited).
const UDP_WAITS: [Duration; 2] = [Duration::from_millis(100), Duration::from_millis(250)];
/// UDP probes sent at once: below the kernel's ICMP burst (net.ipv4.icmp_msgs_burst, 50).
const UDP_BATCH: usize = 32;

/// What one connection attempt gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    Accepted,
    Refused,
    NotTried,
    /// No answer within the timeout (TCP only).
    Timeout,
    /// The attempt failed otherwise (an errno: ENETUNREACH when the netns lacks ::1...).
    Failed(i32),
}

impl Probe {
    /// The JSON name: "accepted", "refused", "not-tried", "timeout" or "error".
    pub fn name(self) -> &'static str {
        match self {
            Probe::Accepted => "accepted",
            Probe::Refused => "refused",
            Probe::NotTried => "not-tried",
            Probe::Timeout => "timeout",
            Probe::Failed(_) => "error",
        }
    }
}

/// The verdict check of one socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every family tried was proven.
    Ok,
    /// One family was proven; the other could not be (its connection failed or timed out).
    Partial,
    Mismatch,
    NotVerified,
}

impl Outcome {
    /// The JSON name: "ok", "partial", "mismatch" or "not-verified".
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Partial => "partial",
            Outcome::Mismatch => "mismatch",
            Outcome::NotVerified => "not-verified",
        }
    }
}

/// What `--verify` found for one socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verification {
    pub ipv4: Probe,
    pub ipv6: Probe,
    pub result: Outcome,
    /// Why it is a mismatch or not verified, or what could not be tried.
    pub note: Option<String>,
}

impl Verification {
    fn not_verified(note: String) -> Verification {
        Verification {
            ipv4: Probe::NotTried,
            ipv6: Probe::NotTried,
            result: Outcome::NotVerified,
            note: Some(note),
        }
    }
}

const FAMILIES: [&str; 2] = ["IPv4", "IPv6"];

/// The socket takes new peers (a listener, or an unconnected UDP socket).
fn takes_peers(l: &Listener) -> bool {
    match l.protocol {
        Protocol::Tcp => l.state == sock_diag::TCP_LISTEN,
        Protocol::Udp => l.state == sock_diag::TCP_CLOSE,
    }
}

/// Where to connect to test IPv4 and IPv6, or why the socket cannot be tested.
pub fn targets(l: &Listener) -> Result<[Option<SocketAddr>; 2], &'static str> {
    if !takes_peers(l) {
        return Err(match l.protocol {
            Protocol::Tcp => "not a listener",
            Protocol::Udp => "connected to one peer: it takes datagrams from that peer only",
        });
    }
    let port = l.local.port();
    let v4 = |ip: Ipv4Addr| Some(SocketAddr::new(IpAddr::V4(ip), port));
    let v6 = |ip: Ipv6Addr| Some(SocketAddr::new(IpAddr::V6(ip), port));
    let ipv4 = |ip: Ipv4Addr| {
        if ip.is_unspecified() {
            Ok([v4(Ipv4Addr::LOCALHOST), v6(Ipv6Addr::LOCALHOST)])
        } else if ip.is_loopback() {
            Ok([v4(ip), None])
        } else {
            Err("not a loopback address")
        }
    };
    match l.local.ip() {
        IpAddr::V4(ip) => ipv4(ip),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(mapped) => ipv4(mapped),
            None if ip.is_unspecified() => Ok([v4(Ipv4Addr::LOCALHOST), v6(Ipv6Addr::LOCALHOST)]),
            None if ip.is_loopback() => Ok([None, v6(ip)]),
            None => Err("not a loopback address"),
        },
    }
}

/// `ENETUNREACH (Network is unreachable)`, or `errno N` for a number without a name.
fn errno_text(errno: i32) -> String {
    match (errno_name(errno), errno_message(errno)) {
        (Some(name), Some(message)) => format!("{name} ({message})"),
        (Some(name), None) => name.to_owned(),
        _ => format!("errno {errno}"),
    }
}

/// Judges one socket from its probes and whether another socket of its group claims each
/// family. Pure: the rules of the module comment.
pub fn judge(
    l: &Listener,
    targets: [Option<SocketAddr>; 2],
    probes: [Probe; 2],
    others_claim: [bool; 2],
) -> Verification {
    let claims = [l.verdict.ipv4, l.verdict.ipv6];
    let mut mismatches = Vec::new();
    let mut notes = Vec::new();
    let mut ok = false;
    for f in 0..2 {
        let (family, target) = (FAMILIES[f], targets[f]);
        let to = target.map_or_else(String::new, |t| format!(" to {t}"));
        match probes[f] {
            Probe::Accepted if claims[f] || others_claim[f] => ok = true,
            Probe::Accepted => mismatches.push(format!(
                "the {family} connection{to} was accepted, but no socket on this port accepts {family} by its verdict"
            )),
            Probe::Refused if claims[f] => mismatches.push(format!(
                "the {family} connection{to} was refused, although the verdict says it accepts {family}"
            )),
            Probe::Refused => ok = true,
            Probe::NotTried => {}
            Probe::Timeout => notes.push(format!(
                "{family} is unproven: the connection{to} got no answer within {} ms",
                TCP_TIMEOUT.as_millis()
            )),
            Probe::Failed(errno) => notes.push(format!(
                "{family} could not be tried: the connection{to} failed with {}",
                errno_text(errno)
            )),
        }
    }
    let (result, note) = if !mismatches.is_empty() {
        (Outcome::Mismatch, Some(mismatches.join("; ")))
    } else if ok && notes.is_empty() {
        (Outcome::Ok, None)
    } else if ok {
        (Outcome::Partial, Some(notes.join("; ")))
    } else if notes.is_empty() {
        (Outcome::NotVerified, Some("nothing to try".to_owned()))
    } else {
        (Outcome::NotVerified, Some(notes.join("; ")))
    };
    Verification {
        ipv4: probes[0],
        ipv6: probes[1],
        result,
        note,
    }
}

fn failed(e: &io::Error) -> Probe {
    Probe::Failed(e.raw_os_error().unwrap_or(0))
}

/// Connects, sends nothing and ends our side with a FIN; the stream is kept for [`close_all`].
fn tcp_connect(target: SocketAddr) -> (Probe, Option<TcpStream>) {
    match TcpStream::connect_timeout(&target, TCP_TIMEOUT) {
        Ok(stream) => {
            let _ = stream.shutdown(Shutdown::Write);
            (Probe::Accepted, Some(stream))
        }
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => (Probe::Refused, None),
        Err(e) if e.kind() == io::ErrorKind::TimedOut => (Probe::Timeout, None),
        Err(e) => (failed(&e), None),
    }
}

/// Reads what a stream has; true once the server has closed (or the stream failed).
fn drained(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return true,
        }
    }
}

/// Closes test connections the way a polite client does: after our FIN, what the servers send
/// (a banner) is read and dropped until each closes its side or [`TCP_CLOSE_WAIT`] is over.
/// Closing a socket with unread data would send a reset.
fn close_all(mut streams: Vec<TcpStream>) {
    streams.retain(|s| s.set_nonblocking(true).is_ok());
    let deadline = Instant::now() + TCP_CLOSE_WAIT;
    loop {
        streams.retain_mut(|s| !drained(s));
        let left = deadline.saturating_duration_since(Instant::now());
        if streams.is_empty() || left.is_zero() {
            break;
        }
        let mut fds: Vec<libc::pollfd> = streams
            .iter()
            .map(|s| libc::pollfd {
                fd: s.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        let millis = i32::try_from(left.as_millis()).unwrap_or(i32::MAX).max(1);
        // SAFETY: fds is a valid array of fds.len() pollfd structs of open descriptors.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, millis) };
        if rc < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            break;
        }
    }
    // Dropping closes: the rest (servers that have not closed yet) get no reset from us now.
}

/// Probes TCP targets, at most [`TCP_BATCH`] connections open at once.
fn tcp_probes(targets: &[SocketAddr]) -> Vec<Probe> {
    let mut probes = Vec::with_capacity(targets.len());
    for chunk in targets.chunks(TCP_BATCH) {
        let mut streams = Vec::new();
        for &target in chunk {
            let (probe, stream) = tcp_connect(target);
            probes.push(probe);
            streams.extend(stream);
        }
        close_all(streams);
    }
    probes
}

/// A connected, non-blocking UDP socket of the target's family.
fn udp_socket(target: SocketAddr) -> io::Result<UdpSocket> {
    let any: IpAddr = match target {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let socket = UdpSocket::bind(SocketAddr::new(any, 0))?;
    socket.connect(target)?;
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// What a probe socket heard: Some(probe) once decided.
fn udp_heard(socket: &UdpSocket) -> Option<Probe> {
    let refused = |e: &io::Error| e.kind() == io::ErrorKind::ConnectionRefused;
    match socket.take_error() {
        Ok(Some(e)) if refused(&e) => return Some(Probe::Refused),
        Ok(Some(e)) => return Some(failed(&e)),
        _ => {}
    }
    let mut buf = [0u8; 1];
    match socket.recv(&mut buf) {
        // A reply: something took the datagram.
        Ok(_) => Some(Probe::Accepted),
        Err(e) if refused(&e) => Some(Probe::Refused),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
        Err(e) => Some(failed(&e)),
    }
}

/// Probes UDP targets together (each waits for the same ICMP answer time).
fn udp_probes(targets: &[SocketAddr]) -> Vec<Probe> {
    let mut probes = vec![Probe::NotTried; targets.len()];
    for (chunk, probes) in targets.chunks(UDP_BATCH).zip(probes.chunks_mut(UDP_BATCH)) {
        let sockets: Vec<Option<UdpSocket>> = chunk
            .iter()
            .zip(probes.iter_mut())
            .map(|(&t, p)| udp_socket(t).map_err(|e| *p = failed(&e)).ok())
            .collect();
        for wait in UDP_WAITS {
            let mut sent = false;
            for (socket, probe) in sockets.iter().zip(probes.iter_mut()) {
                if let (Some(socket), Probe::NotTried) = (socket, *probe) {
                    match socket.send(&[]) {
                        Ok(_) => sent = true,
                        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                            *probe = Probe::Refused;
                        }
                        Err(e) => *probe = failed(&e),
                    }
                }
            }
            if !sent {
                break;
            }
            thread::sleep(wait);
            for (socket, probe) in sockets.iter().zip(probes.iter_mut()) {
                if let (Some(socket), Probe::NotTried) = (socket, *probe) {
                    if let Some(heard) = udp_heard(socket) {
                        *probe = heard;
                    }
                }
            }
        }
        for (socket, probe) in sockets.iter().zip(probes.iter_mut()) {
            if socket.is_some() && *probe == Probe::NotTried {
                // Silence after every datagram: a socket took them.
                *probe = Probe::Accepted;
            }
        }
    }
    probes
}

/// What each (protocol, target) gave.
type Probes = HashMap<(Protocol, SocketAddr), Probe>;

/// Probes every target of one netns, in that netns (run on its thread).
fn probe_all(targets: &BTreeSet<(Protocol, SocketAddr)>) -> Probes {
    let mut out = HashMap::new();
    let udp: Vec<SocketAddr> = targets
        .iter()
        .filter(|(p, _)| *p == Protocol::Udp)
        .map(|&(_, t)| t)
        .collect();
    for (t, probe) in udp.iter().zip(udp_probes(&udp)) {
        out.insert((Protocol::Udp, *t), probe);
    }
    let tcp: Vec<SocketAddr> = targets
        .iter()
        .filter(|(p, _)| *p == Protocol::Tcp)
        .map(|&(_, t)| t)
        .collect();
    for (t, probe) in tcp.iter().zip(tcp_probes(&tcp)) {
        out.insert((Protocol::Tcp, *t), probe);
    }
    out
}

/// Verifies `selected` (listeners of `all`, the snapshot whose groups they belong to). The
/// result is in the order of `selected`.
pub fn verify(selected: &[&Listener], all: &[Listener], namespaces: &[Netns]) -> Vec<Verification> {
    let plans: Vec<Result<[Option<SocketAddr>; 2], &str>> =
        selected.iter().map(|l| targets(l)).collect();
    let mut wanted: HashMap<u64, BTreeSet<(Protocol, SocketAddr)>> = HashMap::new();
    for (l, plan) in selected.iter().zip(&plans) {
        if let Ok(targets) = plan {
            let set = wanted.entry(l.netns).or_default();
            set.extend(targets.iter().flatten().map(|&t| (l.protocol, t)));
        }
    }
    let mut probed: HashMap<u64, Result<Probes, String>> = HashMap::new();
    for (inode, targets) in wanted {
        let result = match namespaces.iter().find(|n| n.inode == inode) {
            Some(ns) => netns::run_in(ns, || probe_all(&targets)).map_err(|e| e.to_string()),
            None => Err(format!("network namespace {inode} was not read")),
        };
        probed.insert(inode, result);
    }
    selected
        .iter()
        .zip(plans)
        .map(|(l, plan)| {
            let targets = match plan {
                Ok(targets) => targets,
                Err(why) => return Verification::not_verified(why.to_owned()),
            };
            let results = match probed.get(&l.netns) {
                Some(Ok(results)) => results,
                Some(Err(e)) => return Verification::not_verified(e.clone()),
                None => return Verification::not_verified("nothing to try".to_owned()),
            };
            let probe = |t: Option<SocketAddr>| {
                t.and_then(|t| results.get(&(l.protocol, t)).copied())
                    .unwrap_or(Probe::NotTried)
            };
            let others = all.iter().filter(|o| {
                o.netns == l.netns
                    && o.protocol == l.protocol
                    && o.local.port() == l.local.port()
                    && o.inode != l.inode
                    && takes_peers(o)
            });
            let mut others_claim = [false; 2];
            for o in others {
                others_claim[0] |= o.verdict.ipv4;
                others_claim[1] |= o.verdict.ipv6;
            }
            judge(
                l,
                targets,
                [probe(targets[0]), probe(targets[1])],
                others_claim,
            )
        })
        .collect()
}

#[cfg(test)]
#[path = "verify_tests.rs"]
mod tests;
