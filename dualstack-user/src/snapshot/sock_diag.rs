//! The kernel's own list of sockets: a NETLINK_SOCK_DIAG dump (what `ss` reads), done in the
//! calling thread's network namespace.
//!
//! One `inet_diag_req_v2` per (family, protocol) asks for every socket in some TCP states; the
//! answers are `inet_diag_msg` records with netlink attributes, among them INET_DIAG_SKV6ONLY,
//! which the kernel adds to every AF_INET6 socket on its own. Parsing is total: any bytes give
//! either sockets or a [`ParseError`], never a panic.

use std::{
    io,
    net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6},
    os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd},
    time::Duration,
};

use super::{
    error::{Error, Result},
    Protocol,
};
use crate::sockaddr::{AF_INET, AF_INET6};

// kernel ABI: include/uapi/linux/netlink.h.
const NETLINK_SOCK_DIAG: i32 = 4;
const NLMSG_HDRLEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLMSG_OVERRUN: u16 = 4;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const NLA_HDRLEN: usize = 4;
// kernel ABI: include/uapi/linux/sock_diag.h.
const SOCK_DIAG_BY_FAMILY: u16 = 20;
// kernel ABI: include/uapi/linux/inet_diag.h: struct inet_diag_req_v2 is 56 bytes (family,
// protocol, ext, pad, states, then the 48-byte struct inet_diag_sockid); struct inet_diag_msg
// is 72 bytes (family, state, timer, retrans, inet_diag_sockid at 4, expires at 52, rqueue,
// wqueue, uid at 64, inode at 68).
const INET_DIAG_REQ_V2_LEN: usize = 56;
const INET_DIAG_MSG_LEN: usize = 72;
const INET_DIAG_REQ_BYTECODE: u16 = 1;
const INET_DIAG_SKV6ONLY: u16 = 11;
const INET_DIAG_BC_S_EQ: u8 = 11;

// kernel ABI: include/net/tcp_states.h.
pub const TCP_ESTABLISHED: u8 = 1;
pub const TCP_SYN_RECV: u8 = 3;
pub const TCP_CLOSE: u8 = 7;
pub const TCP_LISTEN: u8 = 10;
pub const TCP_NEW_SYN_RECV: u8 = 12;
/// A pseudo-state (Linux 6.8+): asked for, it makes the dump include TCP sockets that are bound
/// but neither listening nor connected (reported in state TCP_CLOSE). Older kernels ignore it.
pub const TCP_BOUND_INACTIVE: u8 = 13;

/// The state bit of `idiag_states` for a TCP state.
pub const fn state_bit(state: u8) -> u32 {
    1 << state
}

/// What to dump.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Query {
    pub family: u16,
    pub protocol: Protocol,
    /// `idiag_states`: a bit per TCP state (UDP sockets use TCP_CLOSE and TCP_ESTABLISHED).
    pub states: u32,
    /// Only sockets with this local port (filtered by the kernel, with inet_diag bytecode).
    pub port: Option<u16>,
}

/// One socket as the kernel described it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiagSocket {
    pub family: u16,
    /// The kernel's sk_state (TCP numbering, also for UDP).
    pub state: u8,
    pub local: SocketAddr,
    pub inode: u64,
    pub uid: u32,
    /// IPV6_V6ONLY, from INET_DIAG_SKV6ONLY (AF_INET6 sockets only).
    pub v6only: Option<bool>,
}

/// Bytes that are not a well-formed sock_diag answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("netlink message of {len} bytes at offset {offset} overruns the {total}-byte buffer")]
    MessageLength {
        offset: usize,
        len: usize,
        total: usize,
    },
    #[error("{what} needs {need} bytes, the message has {have}")]
    Truncated {
        what: &'static str,
        need: usize,
        have: usize,
    },
    #[error("attribute of {len} bytes at offset {offset} does not fit the {total} bytes left")]
    AttributeLength {
        offset: usize,
        len: usize,
        total: usize,
    },
    #[error("socket of unexpected family {0}")]
    Family(u8),
    #[error("netlink overrun: the kernel dropped part of the dump")]
    Overrun,
}

/// What one received buffer held.
#[derive(Debug, PartialEq, Eq)]
pub enum Batch {
    /// Sockets; more buffers follow.
    More,
    /// The end of the dump.
    Done,
    /// The kernel answered with an error (a positive errno).
    Error(i32),
}

fn u16_ne(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_ne(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn align4(len: usize) -> usize {
    len.saturating_add(3) & !3
}

/// The request for one dump: nlmsghdr, inet_diag_req_v2 and, with a port, a bytecode filter.
pub fn request(query: &Query, seq: u32) -> Vec<u8> {
    let bytecode: Vec<u8> = match query.port {
        // kernel ABI: struct inet_diag_bc_op {u8 code; u8 yes; u16 no}. The comparison op is
        // followed by one carrying the port (host order) in `no`; "yes" jumps to the end of the
        // 8-byte program (accept), "no" 4 bytes past it (reject), as ss builds it.
        Some(port) => {
            let mut ops = vec![INET_DIAG_BC_S_EQ, 8];
            ops.extend_from_slice(&12u16.to_ne_bytes());
            ops.extend_from_slice(&[0, 0]);
            ops.extend_from_slice(&port.to_ne_bytes());
            ops
        }
        None => Vec::new(),
    };
    let attr_len = if bytecode.is_empty() {
        0
    } else {
        NLA_HDRLEN + bytecode.len()
    };
    let len = NLMSG_HDRLEN + INET_DIAG_REQ_V2_LEN + attr_len;
    let mut b = Vec::with_capacity(len);
    // kernel ABI: struct nlmsghdr {u32 len; u16 type; u16 flags; u32 seq; u32 pid}.
    b.extend_from_slice(&(len as u32).to_ne_bytes());
    b.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    b.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    b.extend_from_slice(&seq.to_ne_bytes());
    b.extend_from_slice(&0u32.to_ne_bytes());
    b.push(query.family as u8);
    b.push(query.protocol.ipproto());
    b.push(0); // idiag_ext: no optional extensions; SKV6ONLY comes anyway.
    b.push(0);
    b.extend_from_slice(&query.states.to_ne_bytes());
    b.resize(NLMSG_HDRLEN + INET_DIAG_REQ_V2_LEN, 0); // the socket id: unused by dumps
    if !bytecode.is_empty() {
        b.extend_from_slice(&(attr_len as u16).to_ne_bytes());
        b.extend_from_slice(&INET_DIAG_REQ_BYTECODE.to_ne_bytes());
        b.extend_from_slice(&bytecode);
    }
    b
}

/// Parses one received buffer of netlink messages, appending the sockets to `out`. Messages
/// with another sequence number (not ours) are skipped.
pub fn parse_batch(buf: &[u8], seq: u32, out: &mut Vec<DiagSocket>) -> Result<Batch, ParseError> {
    let mut offset = 0;
    while buf.len() - offset >= NLMSG_HDRLEN {
        let at = |o: usize| offset + o;
        let len = u32_ne(buf, at(0)).unwrap_or(0) as usize;
        if len < NLMSG_HDRLEN || len > buf.len() - offset {
            return Err(ParseError::MessageLength {
                offset,
                len,
                total: buf.len(),
            });
        }
        let kind = u16_ne(buf, at(4)).unwrap_or(0);
        let msg_seq = u32_ne(buf, at(8)).unwrap_or(0);
        let payload = &buf[offset + NLMSG_HDRLEN..offset + len];
        offset += align4(len).min(buf.len() - offset);
        if msg_seq != seq {
            continue;
        }
        match kind {
            NLMSG_DONE => {
                // A dump may end with an error code in its DONE message.
                return Ok(match u32_ne(payload, 0).map(|v| v as i32) {
                    Some(err) if err < 0 => Batch::Error(-err),
                    _ => Batch::Done,
                });
            }
            NLMSG_ERROR => {
                // kernel ABI: struct nlmsgerr {int error; struct nlmsghdr msg; ...}.
                let err = u32_ne(payload, 0).ok_or(ParseError::Truncated {
                    what: "nlmsgerr",
                    need: 4,
                    have: payload.len(),
                })? as i32;
                return Ok(if err == 0 {
                    Batch::Done
                } else {
                    Batch::Error(err.saturating_neg())
                });
            }
            NLMSG_OVERRUN => return Err(ParseError::Overrun),
            SOCK_DIAG_BY_FAMILY => out.push(parse_socket(payload)?),
            // NLMSG_NOOP and types this parser does not know carry nothing for it.
            _ => {}
        }
    }
    Ok(Batch::More)
}

/// Parses one inet_diag_msg with its attributes.
pub fn parse_socket(p: &[u8]) -> Result<DiagSocket, ParseError> {
    if p.len() < INET_DIAG_MSG_LEN {
        return Err(ParseError::Truncated {
            what: "inet_diag_msg",
            need: INET_DIAG_MSG_LEN,
            have: p.len(),
        });
    }
    let family = p[0];
    let state = p[1];
    // kernel ABI: inet_diag_sockid: sport (be16) at 4, src (4 × be32) at 8, if (u32) at 40.
    let port = u16::from_be_bytes([p[4], p[5]]);
    let mut src = [0u8; 16];
    src.copy_from_slice(&p[8..24]);
    let ifindex = u32_ne(p, 40).unwrap_or(0);
    let local = match u16::from(family) {
        AF_INET => SocketAddr::V4(SocketAddrV4::new(
            Ipv4Addr::new(src[0], src[1], src[2], src[3]),
            port,
        )),
        AF_INET6 => {
            let ip = Ipv6Addr::from(src);
            // Only link-local addresses need their interface to mean anything.
            let scope = if ip.is_unicast_link_local() {
                ifindex
            } else {
                0
            };
            SocketAddr::V6(SocketAddrV6::new(ip, port, 0, scope))
        }
        _ => return Err(ParseError::Family(family)),
    };
    let uid = u32_ne(p, 64).unwrap_or(0);
    let inode = u64::from(u32_ne(p, 68).unwrap_or(0));
    let mut v6only = None;
    let mut at = INET_DIAG_MSG_LEN;
    while p.len() - at >= NLA_HDRLEN {
        let len = usize::from(u16_ne(p, at).unwrap_or(0));
        let kind = u16_ne(p, at + 2).unwrap_or(0) & 0x3fff; // without NLA_F_NESTED/BYTEORDER
        if len < NLA_HDRLEN || len > p.len() - at {
            return Err(ParseError::AttributeLength {
                offset: at,
                len,
                total: p.len() - at,
            });
        }
        if kind == INET_DIAG_SKV6ONLY && u16::from(family) == AF_INET6 {
            v6only = p.get(at + NLA_HDRLEN).map(|&b| b != 0);
        }
        at += align4(len).min(p.len() - at);
    }
    Ok(DiagSocket {
        family: u16::from(family),
        state,
        local,
        inode,
        uid,
        v6only,
    })
}

/// A NETLINK_SOCK_DIAG socket in the calling thread's netns.
fn open() -> Result<OwnedFd> {
    let netlink = |what, source| Error::Netlink { what, source };
    // SAFETY: socket has no memory preconditions.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            NETLINK_SOCK_DIAG,
        )
    };
    if fd < 0 {
        return Err(netlink("socket", io::Error::last_os_error()));
    }
    // SAFETY: fd was just returned by socket and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // A dump never takes seconds: a stuck kernel answer becomes an error, not a hang.
    let timeout = libc::timeval {
        tv_sec: Duration::from_secs(5).as_secs() as libc::time_t,
        tv_usec: 0,
    };
    // SAFETY: timeout is a valid timeval and its size is given.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            std::ptr::addr_of!(timeout).cast(),
            size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(netlink("setsockopt", io::Error::last_os_error()));
    }
    Ok(fd)
}

/// Dumps the sockets `query` asks for, in the calling thread's netns.
pub fn dump(query: &Query) -> Result<Vec<DiagSocket>> {
    let fd = open()?;
    let seq = 1;
    let req = request(query, seq);
    // SAFETY: sockaddr_nl is plain old data; zeroed is a valid value (pid 0: the kernel).
    let mut kernel: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    // SAFETY: req and kernel are valid for the lengths given.
    let sent = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            req.as_ptr().cast(),
            req.len(),
            0,
            std::ptr::addr_of!(kernel).cast(),
            size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if sent < 0 {
        return Err(Error::Netlink {
            what: "send",
            source: io::Error::last_os_error(),
        });
    }
    // The kernel fills dump buffers up to 32 KiB; MSG_TRUNC reveals a longer one.
    let mut buf = vec![0u8; 64 * 1024];
    let mut sockets = Vec::new();
    loop {
        // SAFETY: buf is valid for buf.len() bytes.
        let n = unsafe {
            libc::recv(
                fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_TRUNC,
            )
        };
        if n < 0 {
            let source = io::Error::last_os_error();
            if source.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(Error::Netlink {
                what: "receive",
                source,
            });
        }
        let n = n as usize;
        if n > buf.len() {
            return Err(Error::Netlink {
                what: "receive",
                source: io::Error::other(format!(
                    "a {n}-byte message does not fit the {}-byte buffer",
                    buf.len()
                )),
            });
        }
        match parse_batch(&buf[..n], seq, &mut sockets)? {
            Batch::More => {}
            Batch::Done => return Ok(sockets),
            Batch::Error(errno) => {
                return Err(Error::Dump {
                    protocol: query.protocol.name(),
                    family: if query.family == AF_INET6 {
                        "AF_INET6"
                    } else {
                        "AF_INET"
                    },
                    module: query.protocol.diag_module(),
                    source: io::Error::from_raw_os_error(errno),
                })
            }
        }
    }
}

#[cfg(test)]
#[path = "sock_diag_tests.rs"]
mod tests;
