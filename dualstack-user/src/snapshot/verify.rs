//! `--verify`: proves each verdict with real connections made inside the socket's own netns.
//!
//! For each family a listener may take, one loopback connection is tried: 127.0.0.1 and ::1 for
//! a wildcard bind, the bound address itself for a loopback one (a v4-mapped ::ffff:a.b.c.d is
//! tried as a.b.c.d). Other addresses are not tried: that would send traffic off the host.
//! TCP connects with a short timeout and resets the connection at once (no TIME_WAIT left); UDP
//! sends one empty datagram on a connected socket and waits for the ICMP port unreachable that
//! says no socket took it (silence means one did).
//!
//! Several sockets can share a port (sshd's 0.0.0.0 + [::] V6ONLY=1 pair, SO_REUSEPORT), and a
//! connection proves only that *some* socket of that (netns, protocol, port) took it. So a
//! socket is a MISMATCH when its verdict says it accepts a family whose connection was refused,
//! or says it does not while that connection was accepted and no other socket of the group
//! claims the family; anything else tried is "ok".

use std::{
    collections::{BTreeSet, HashMap},
    io,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket},
    os::fd::AsRawFd as _,
    thread,
    time::Duration,
};

use super::{netns, sock_diag, Listener, Netns, Protocol};
use crate::format::errno::errno_name;

/// How long a TCP connect may take before the attempt counts as unanswered.
const TCP_TIMEOUT: Duration = Duration::from_millis(500);
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
    Ok,
    Mismatch,
    NotVerified,
}

impl Outcome {
    /// The JSON name: "ok", "mismatch" or "not-verified".
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
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

fn errno_text(errno: i32) -> String {
    errno_name(errno).map_or_else(|| format!("errno {errno}"), str::to_owned)
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
            Probe::Timeout => notes.push(format!("the {family} connection{to} timed out")),
            Probe::Failed(errno) => notes.push(format!(
                "the {family} connection{to} failed: {}",
                errno_text(errno)
            )),
        }
    }
    let (result, note) = if !mismatches.is_empty() {
        (Outcome::Mismatch, Some(mismatches.join("; ")))
    } else if ok {
        (Outcome::Ok, (!notes.is_empty()).then(|| notes.join("; ")))
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

/// Sets SO_LINGER to zero so that closing sends a reset: the connection leaves nothing behind.
fn reset_on_close(stream: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: linger is a valid struct linger and its size is given.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            std::ptr::addr_of!(linger).cast(),
            size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

fn failed(e: &io::Error) -> Probe {
    Probe::Failed(e.raw_os_error().unwrap_or(0))
}

fn tcp_probe(target: SocketAddr) -> Probe {
    match TcpStream::connect_timeout(&target, TCP_TIMEOUT) {
        Ok(stream) => {
            reset_on_close(&stream);
            Probe::Accepted
        }
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => Probe::Refused,
        Err(e) if e.kind() == io::ErrorKind::TimedOut => Probe::Timeout,
        Err(e) => failed(&e),
    }
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
    for &(protocol, t) in targets {
        if protocol == Protocol::Tcp {
            out.insert((protocol, t), tcp_probe(t));
        }
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
