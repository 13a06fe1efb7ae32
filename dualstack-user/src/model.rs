//! The typed event every part of user space works with.

use std::{net::SocketAddr, time::Duration};

pub use dualstack_common::{Syscall, V6OnlySource};

use crate::sockaddr::SockAddr;

/// One completed syscall of a traced task.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Process id (tgid).
    pub pid: u32,
    /// Thread id: what strace shows in `[pid N]`.
    pub tid: u32,
    pub comm: String,
    /// CLOCK_MONOTONIC time of the syscall's exit.
    pub monotonic: Duration,
    /// CLOCK_MONOTONIC time of the syscall's entry (strace -tt prints it).
    pub entered: Duration,
    pub call: Call,
    pub ret: Return,
    /// What the tracer knew of the call's socket after the call.
    pub socket: Option<SocketInfo>,
    /// How that knowledge was kept.
    pub tracking: Tracking,
    /// The kernel's own view of the call's socket after the call.
    pub kernel: KernelView,
}

impl Event {
    pub fn syscall(&self) -> Syscall {
        self.call.syscall()
    }

    /// The address the call carried (bind/connect argument, accept's peer), if it was read;
    /// accept's peer only when it was read whole (see [`Event::peer`]).
    pub fn address(&self) -> Option<SockAddr> {
        match self.peer() {
            Some(Peer::Read(addr)) => Some(addr),
            Some(_) => None,
            None => self.address_bytes(),
        }
    }

    /// The sockaddr bytes the call carried, however many were read (a truncated peer address
    /// still starts with its family).
    fn address_bytes(&self) -> Option<SockAddr> {
        match &self.call {
            Call::Bind { addr, .. } | Call::Connect { addr, .. } | Call::Accept { addr, .. } => {
                addr.bytes().map(SockAddr::parse)
            }
            _ => None,
        }
    }

    /// What an accept or accept4 that returned a connection learnt of its peer; None for
    /// other calls and failed accepts.
    pub fn peer(&self) -> Option<Peer> {
        let Call::Accept { addr, addrlen, .. } = &self.call else {
            return None;
        };
        if self.ret.is_error() {
            return None;
        }
        if addr.ptr == 0 || addrlen.ptr == 0 {
            return Some(Peer::NotRequested);
        }
        let (Some(before), Some(after)) = (addrlen.before, addrlen.after) else {
            return Some(Peer::Fault);
        };
        // The kernel writes min(before, after) bytes and returns the peer's full length.
        if before < after {
            return Some(Peer::Truncated);
        }
        let len = after as usize;
        Some(match &addr.read {
            UserRead::Bytes(b) if b.len() >= len => Peer::Read(SockAddr::parse(&b[..len])),
            // The tracer copied less than the kernel wrote.
            UserRead::Bytes(_) => Peer::Truncated,
            UserRead::NotRead if len == 0 => Peer::Read(SockAddr::parse(&[])),
            UserRead::NotRead | UserRead::Fault => Peer::Fault,
        })
    }

    /// The address family the call concerns, if known: the kernel's socket first (right for
    /// inherited, passed and pre-existing sockets), then what the tracer saw.
    pub fn family(&self) -> Option<u16> {
        if let Some(k) = self.kernel.socket() {
            return Some(k.family);
        }
        if let Some(family) = self.socket.as_ref().and_then(|s| s.family) {
            return Some(family);
        }
        match &self.call {
            Call::Socket { family, .. } => u16::try_from(*family as u32).ok(),
            Call::Socketpair { family, .. } => u16::try_from(*family).ok(),
            _ => self.address_bytes().map(|a| a.family()),
        }
    }

    /// The local or remote ports the call concerns: its address argument's, the bound one, and
    /// the kernel socket's local port.
    pub fn ports(&self) -> impl Iterator<Item = u16> {
        let bound = self
            .socket
            .as_ref()
            .and_then(|s| s.bound.as_ref())
            .and_then(SockAddr::port);
        let local = self.kernel.socket().and_then(|k| k.local).map(|a| a.port());
        self.address()
            .as_ref()
            .and_then(SockAddr::port)
            .into_iter()
            .chain(bound)
            .chain(local)
    }

    /// The file descriptor the call worked on, if any.
    pub fn fd(&self) -> Option<i32> {
        match &self.call {
            Call::Socket { .. } | Call::Socketpair { .. } => None,
            Call::Setsockopt { fd, .. }
            | Call::Bind { fd, .. }
            | Call::Listen { fd, .. }
            | Call::Connect { fd, .. }
            | Call::Accept { fd, .. }
            | Call::Close { fd } => Some(*fd),
        }
    }
}

/// The syscall and its arguments, decoded as the kernel received them.
#[derive(Clone, Debug, PartialEq)]
pub enum Call {
    /// `family` and `protocol` are the raw registers: strace decides from the whole family
    /// register how to print the protocol, and prints it whole for families it does not decode.
    Socket {
        family: u64,
        sock_type: u32,
        protocol: u64,
    },
    Socketpair {
        family: u32,
        sock_type: u32,
        protocol: u32,
        sv: UserBuf,
    },
    Setsockopt {
        fd: i32,
        level: i32,
        optname: i32,
        optval: UserBuf,
        optlen: i32,
    },
    Bind {
        fd: i32,
        addr: UserBuf,
        addrlen: i32,
    },
    Listen {
        fd: i32,
        backlog: i32,
    },
    Connect {
        fd: i32,
        addr: UserBuf,
        addrlen: i32,
    },
    /// accept and accept4 (`flags` is Some for accept4).
    Accept {
        fd: i32,
        addr: UserBuf,
        addrlen: AddrLen,
        flags: Option<i32>,
    },
    Close {
        fd: i32,
    },
}

impl Call {
    pub fn syscall(&self) -> Syscall {
        match self {
            Call::Socket { .. } => Syscall::Socket,
            Call::Socketpair { .. } => Syscall::Socketpair,
            Call::Setsockopt { .. } => Syscall::Setsockopt,
            Call::Bind { .. } => Syscall::Bind,
            Call::Listen { .. } => Syscall::Listen,
            Call::Connect { .. } => Syscall::Connect,
            Call::Accept { flags: None, .. } => Syscall::Accept,
            Call::Accept { flags: Some(_), .. } => Syscall::Accept4,
            Call::Close { .. } => Syscall::Close,
        }
    }
}

/// accept's peer address, as far as the call let the tracer see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Peer {
    /// The peer's whole address.
    Read(SockAddr),
    /// addr or addrlen was NULL: the program did not ask for the peer.
    NotRequested,
    /// The program's buffer was shorter than the peer's address: only its start was written.
    Truncated,
    /// *addrlen or the address could not be read.
    Fault,
}

impl Peer {
    /// The name used in the JSON output.
    pub fn name(&self) -> &'static str {
        match self {
            Peer::Read(_) => "read",
            Peer::NotRequested => "not-requested",
            Peer::Truncated => "truncated",
            Peer::Fault => "fault",
        }
    }
}

/// A user-space pointer argument and what the tracer could read behind it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserBuf {
    pub ptr: u64,
    pub read: UserRead,
}

impl UserBuf {
    /// The bytes read, when the read worked.
    pub fn bytes(&self) -> Option<&[u8]> {
        match &self.read {
            UserRead::Bytes(b) => Some(b),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserRead {
    /// Nothing was read: NULL pointer, zero length, or the call failed before filling it.
    NotRead,
    /// The bytes read (possibly fewer than the length the program passed: see `truncated`).
    Bytes(Vec<u8>),
    /// The memory was unreadable.
    Fault,
}

/// accept's `socklen_t *addrlen`: the value before and after the call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddrLen {
    pub ptr: u64,
    pub before: Option<u32>,
    pub after: Option<u32>,
}

/// A syscall's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Return {
    Value(i64),
    Error(Errno),
}

impl Return {
    pub fn from_raw(ret: i64) -> Self {
        // Linux returns -errno in [-4095, -1].
        if (-4095..0).contains(&ret) {
            Return::Error(Errno(-ret as i32))
        } else {
            Return::Value(ret)
        }
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Return::Error(_))
    }
}

/// A Linux errno value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub i32);

impl Errno {
    /// Symbolic name, e.g. "EADDRINUSE".
    pub fn name(self) -> Option<&'static str> {
        crate::host::errno::errno_name(self.0)
    }

    /// Human message, e.g. "Address already in use".
    pub fn message(self) -> Option<&'static str> {
        crate::host::errno::errno_message(self.0)
    }
}

/// How the tracer keeps what it knows of a socket.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Tracking {
    /// Per kernel socket (its inode): shared by every descriptor of it, in every process.
    #[default]
    Socket,
    /// Per (process, descriptor), without the kernel's BTF: fork, dup and descriptor passing
    /// are not followed, so what it says may belong to another socket.
    Descriptor,
    /// Not kept: the state map was full when this socket was first seen.
    MapFull,
}

impl Tracking {
    /// The name used in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Tracking::Socket => "socket",
            Tracking::Descriptor => "descriptor",
            Tracking::MapFull => "map-full",
        }
    }
}

/// What the tracer knew of a socket: its creation, options and bound address.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SocketInfo {
    /// None when the socket was created before tracing began.
    pub family: Option<u16>,
    pub sock_type: Option<u32>,
    pub protocol: Option<u32>,
    pub v6only: Option<bool>,
    pub v6only_source: Option<V6OnlySource>,
    pub reuseaddr: Option<bool>,
    pub reuseport: Option<bool>,
    pub freebind: Option<bool>,
    pub transparent: Option<bool>,
    pub bind_device: Option<String>,
    pub bound: Option<SockAddr>,
}

/// The kernel's own view of a socket, read from its `struct sock` at the syscall's exit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KernelView {
    /// Not read: the call has no single socket (close, socketpair), the descriptor was not a
    /// socket, or a kernel read failed.
    NotRead,
    /// Not read because the running kernel's BTF was not available: values are inferred.
    NoBtf,
    Read(KernelSocket),
}

impl KernelView {
    pub fn socket(&self) -> Option<&KernelSocket> {
        match self {
            KernelView::Read(k) => Some(k),
            _ => None,
        }
    }
}

/// The fields of `struct sock` (and its `struct socket`) that decide what it accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelSocket {
    /// Inode of its network namespace (as in /proc/PID/ns/net).
    pub netns: u32,
    /// Inode of the socket (as in /proc/PID/fd/N -> socket:[inode]).
    pub inode: u64,
    pub family: u16,
    /// SOCK_STREAM, SOCK_DGRAM...
    pub sock_type: u16,
    /// skc_state: TCP_LISTEN is 10.
    pub state: u8,
    /// The effective IPV6_V6ONLY bit.
    pub v6only: bool,
    /// `net.ipv6.bindv6only` of its netns at the time of the call.
    pub netns_bindv6only: bool,
    /// The bound address with the real local port (0 when not bound); None for families
    /// other than AF_INET and AF_INET6.
    pub local: Option<SocketAddr>,
}
