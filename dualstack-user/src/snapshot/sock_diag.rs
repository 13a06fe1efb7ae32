//! The kernel's own list of sockets: a NETLINK_SOCK_DIAG dump (what `ss` reads), done in the
//! calling thread's network namespace.
//!
//! One `inet_diag_req_v2` per (family, protocol) asks for every socket in some TCP states; the
//! answers are `inet_diag_msg` records with netlink attributes, among them INET_DIAG_SKV6ONLY,
//! which the kernel adds to every AF_INET6 socket on its own. The messages are built and read by
//! the netlink-packet crates and sent over a netlink-sys socket; this module turns them into
//! [`DiagSocket`]s. Parsing is total: any bytes give either sockets or a [`ParseError`], never a
//! panic.

use std::{
    io,
    net::{IpAddr, SocketAddr, SocketAddrV4, SocketAddrV6},
    os::fd::AsRawFd as _,
    time::Duration,
};

use netlink_packet_core::{
    DecodeError, DefaultNla, Emitable as _, NetlinkBuffer, NetlinkHeader, NetlinkMessage,
    NetlinkPayload, ParseableParametrized as _, NLMSG_DONE, NLMSG_ERROR, NLMSG_OVERRUN, NLM_F_DUMP,
    NLM_F_REQUEST,
};
use netlink_packet_sock_diag::{
    inet::{nlas::Nla, ExtensionFlags, InetRequest, InetResponse, SocketId, StateFlags},
    SockDiagMessage, AF_UNIX, SOCK_DIAG_BY_FAMILY,
};
use netlink_sys::{protocols::NETLINK_SOCK_DIAG, Socket, SocketAddr as KernelAddr};

use super::{
    error::{Error, ParseError, Result},
    Protocol,
};
use crate::sockaddr::AF_INET6;

pub use netlink_packet_sock_diag::constants::{
    TCP_CLOSE, TCP_ESTABLISHED, TCP_LISTEN, TCP_SYN_RECV,
};
// kernel ABI: include/net/tcp_states.h; newer than the states netlink-packet-sock-diag names.
pub const TCP_NEW_SYN_RECV: u8 = 12;
/// A pseudo-state (Linux 6.8+): asked for, it makes the dump include TCP sockets that are bound
/// but neither listening nor connected (reported in state TCP_CLOSE). Older kernels ignore it.
pub const TCP_BOUND_INACTIVE: u8 = 13;

// kernel ABI: include/uapi/linux/inet_diag.h.
const INET_DIAG_REQ_BYTECODE: u16 = 1;
const INET_DIAG_BC_S_EQ: u8 = 11;

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

/// The inet_diag bytecode that keeps only sockets with local port `port`.
///
/// netlink-packet-sock-diag has no type for the request's INET_DIAG_REQ_BYTECODE attribute, so
/// the two ops are written here. kernel ABI: struct inet_diag_bc_op {u8 code; u8 yes; u16 no}.
/// The comparison op is followed by one carrying the port (host order) in `no`; "yes" jumps to
/// the end of the 8-byte program (accept), "no" 4 bytes past it (reject), as ss builds it.
fn port_filter(port: u16) -> Vec<u8> {
    let mut ops = vec![INET_DIAG_BC_S_EQ, 8];
    ops.extend_from_slice(&12u16.to_ne_bytes());
    ops.extend_from_slice(&[0, 0]);
    ops.extend_from_slice(&port.to_ne_bytes());
    ops
}

/// The request for one dump: nlmsghdr, inet_diag_req_v2 and, with a port, a bytecode filter.
pub fn request(query: &Query, seq: u32) -> Vec<u8> {
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    header.sequence_number = seq;
    let mut message = NetlinkMessage::new(
        header,
        SockDiagMessage::InetRequest(InetRequest {
            family: query.family as u8,
            protocol: query.protocol.ipproto(),
            // No optional extensions: SKV6ONLY comes anyway.
            extensions: ExtensionFlags::empty(),
            // Kept as given: the crate names only the states up to TCP_CLOSING.
            states: StateFlags::from_bits_retain(query.states),
            // The socket id is unused by dumps.
            socket_id: if query.family == AF_INET6 {
                SocketId::new_v6()
            } else {
                SocketId::new_v4()
            },
        })
        .into(),
    );
    message.finalize();
    let mut b = vec![0; message.buffer_len()];
    message.serialize(&mut b);
    if let Some(port) = query.port {
        // The crate's request has no attributes: the filter goes after it, and the length
        // in the header is made to cover it.
        let filter = DefaultNla::new(INET_DIAG_REQ_BYTECODE, port_filter(port));
        let at = b.len();
        b.resize(at + filter.buffer_len(), 0);
        filter.emit(&mut b[at..]);
        let len = b.len() as u32;
        NetlinkBuffer::new(&mut b[..]).set_length(len);
    }
    b
}

fn align4(len: usize) -> usize {
    len.saturating_add(3) & !3
}

/// Parses one received buffer of netlink messages, appending the sockets to `out`. Messages
/// with another sequence number (not ours) and types without meaning here are skipped.
pub fn parse_batch(buf: &[u8], seq: u32, out: &mut Vec<DiagSocket>) -> Result<Batch, ParseError> {
    let mut offset = 0;
    while offset < buf.len() {
        let start = offset;
        let bytes = &buf[start..];
        let malformed = |e: DecodeError| ParseError::Decode(format!("at byte {start}: {e}"));
        let frame = NetlinkBuffer::new_checked(bytes).map_err(malformed)?;
        let len = frame.length() as usize;
        offset += align4(len).min(bytes.len());
        // NLMSG_NOOP and unknown types carry nothing for us.
        let known = matches!(
            frame.message_type(),
            NLMSG_DONE | NLMSG_ERROR | NLMSG_OVERRUN | SOCK_DIAG_BY_FAMILY
        );
        if frame.sequence_number() != seq || !known {
            continue;
        }
        let message =
            NetlinkMessage::<SockDiagMessage>::deserialize(&bytes[..len]).map_err(malformed)?;
        match message.payload {
            // A dump may end with an error code in its DONE message.
            NetlinkPayload::Done(done) if done.code < 0 => {
                return Ok(Batch::Error(done.code.saturating_neg()))
            }
            NetlinkPayload::Done(_) => return Ok(Batch::Done),
            // kernel ABI: struct nlmsgerr; error 0 is an acknowledgement.
            NetlinkPayload::Error(err) => {
                return Ok(match err.code {
                    None => Batch::Done,
                    Some(code) => Batch::Error(code.get().saturating_neg()),
                })
            }
            NetlinkPayload::Overrun(_) => return Err(ParseError::Overrun),
            NetlinkPayload::InnerMessage(inner) => out.push(socket(inner)?),
            // NLMSG_NOOP is skipped above; the enum is non-exhaustive.
            _ => {}
        }
    }
    Ok(Batch::More)
}

/// Parses the payload of one SOCK_DIAG_BY_FAMILY message: an inet_diag_msg with its
/// attributes.
pub fn parse_socket(payload: &[u8]) -> Result<DiagSocket, ParseError> {
    let message = SockDiagMessage::parse_with_param(payload, SOCK_DIAG_BY_FAMILY)
        .map_err(|e| ParseError::Decode(e.to_string()))?;
    socket(message)
}

/// The socket a decoded message describes.
fn socket(message: SockDiagMessage) -> Result<DiagSocket, ParseError> {
    match message {
        SockDiagMessage::InetResponse(response) => Ok(inet_socket(&response)),
        // The decoder gives only answers, and only AF_UNIX ones are not inet.
        _ => Err(ParseError::Family(AF_UNIX)),
    }
}

fn inet_socket(response: &InetResponse) -> DiagSocket {
    let header = &response.header;
    let id = &header.socket_id;
    let local = match id.source_address {
        IpAddr::V4(ip) => SocketAddr::V4(SocketAddrV4::new(ip, id.source_port)),
        IpAddr::V6(ip) => {
            // Only link-local addresses need their interface to mean anything.
            let scope = if ip.is_unicast_link_local() {
                id.interface_id
            } else {
                0
            };
            SocketAddr::V6(SocketAddrV6::new(ip, id.source_port, 0, scope))
        }
    };
    let family = u16::from(header.family);
    let v6only = response.nlas.iter().find_map(|nla| match nla {
        Nla::SkV6Only(v6only) if family == AF_INET6 => Some(*v6only),
        _ => None,
    });
    DiagSocket {
        family,
        state: header.state,
        local,
        inode: u64::from(header.inode),
        uid: header.uid,
        v6only,
    }
}

/// A NETLINK_SOCK_DIAG socket in the calling thread's netns.
fn open() -> Result<Socket> {
    let netlink = |what, source| Error::Netlink { what, source };
    let socket = Socket::new(NETLINK_SOCK_DIAG).map_err(|e| netlink("socket", e))?;
    // A dump never takes seconds: a stuck kernel answer becomes an error, not a hang.
    // netlink-sys has no receive timeout, hence the setsockopt here.
    let timeout = libc::timeval {
        tv_sec: Duration::from_secs(5).as_secs() as libc::time_t,
        tv_usec: 0,
    };
    // SAFETY: timeout is a valid timeval and its size is given.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            std::ptr::addr_of!(timeout).cast(),
            size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(netlink("setsockopt", io::Error::last_os_error()));
    }
    Ok(socket)
}

/// Dumps the sockets `query` asks for, in the calling thread's netns.
pub fn dump(query: &Query) -> Result<Vec<DiagSocket>> {
    let socket = open()?;
    let seq = 1;
    socket
        .send_to(&request(query, seq), &KernelAddr::new(0, 0), 0)
        .map_err(|source| Error::Netlink {
            what: "send",
            source,
        })?;
    // The kernel fills dump buffers up to 32 KiB; MSG_TRUNC reveals a longer one.
    let mut buf = vec![0u8; 64 * 1024];
    let mut sockets = Vec::new();
    loop {
        let n = match socket.recv(&mut &mut buf[..], libc::MSG_TRUNC) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => {
                return Err(Error::Netlink {
                    what: "receive",
                    source,
                })
            }
        };
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
