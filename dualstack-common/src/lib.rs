//! The event ABI shared by dualstack's kernel programs and its user space.
//!
//! Every record the kernel writes to the `EVENTS` ring buffer is one [`SyscallEvent`]: a fixed
//! header, the raw syscall arguments, the tracked state of the socket the call worked on, and
//! two buffers of user memory read during the call. Layouts are `#[repr(C)]` with explicit
//! padding; the asserts beside each type pin their sizes so that a change is deliberate.
//! User space never transmutes these bytes: it checks length and kind and copies fields out.
#![no_std]

use core::mem::size_of;

/// Bumped whenever a layout below changes.
pub const ABI_VERSION: u16 = 1;

/// Bytes of sockaddr read from user memory (sizeof(struct sockaddr_storage)).
pub const ADDR_CAP: usize = 128;
/// Bytes of setsockopt's optval (and other small user buffers) read from user memory.
pub const DATA_CAP: usize = 64;
/// Length of a task's comm, including the NUL.
pub const COMM_LEN: usize = 16;
/// Length of an interface name (IFNAMSIZ).
pub const IFNAME_LEN: usize = 16;
/// Bytes of a bound address kept per socket: enough for a sockaddr_in6.
pub const BOUND_CAP: usize = 28;

/// The syscall an event records. Travels as a raw `u32`; user space converts it with `TryFrom`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Syscall {
    Socket = 1,
    Socketpair = 2,
    Setsockopt = 3,
    Bind = 4,
    Listen = 5,
    Connect = 6,
    Accept = 7,
    Accept4 = 8,
    Close = 9,
}

impl Syscall {
    pub const ALL: [Syscall; 9] = [
        Syscall::Socket,
        Syscall::Socketpair,
        Syscall::Setsockopt,
        Syscall::Bind,
        Syscall::Listen,
        Syscall::Connect,
        Syscall::Accept,
        Syscall::Accept4,
        Syscall::Close,
    ];

    /// The bit of this syscall in [`TraceConfig::syscall_mask`].
    pub const fn bit(self) -> u32 {
        1 << (self as u32)
    }

    /// The syscall's name as strace prints it.
    pub const fn name(self) -> &'static str {
        match self {
            Syscall::Socket => "socket",
            Syscall::Socketpair => "socketpair",
            Syscall::Setsockopt => "setsockopt",
            Syscall::Bind => "bind",
            Syscall::Listen => "listen",
            Syscall::Connect => "connect",
            Syscall::Accept => "accept",
            Syscall::Accept4 => "accept4",
            Syscall::Close => "close",
        }
    }
}

/// An unknown raw syscall kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownSyscall(pub u32);

impl TryFrom<u32> for Syscall {
    type Error = UnknownSyscall;

    fn try_from(raw: u32) -> Result<Self, Self::Error> {
        Syscall::ALL
            .into_iter()
            .find(|s| *s as u32 == raw)
            .ok_or(UnknownSyscall(raw))
    }
}

/// What became of an attempt to read user memory.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadStatus {
    /// Nothing to read: NULL pointer, zero length, or the buffer has no meaning for this call.
    NotRead = 0,
    /// `len` bytes were read.
    Ok = 1,
    /// The pointer was not readable (the kernel helper failed, as the syscall would with EFAULT).
    Fault = 2,
}

impl TryFrom<u32> for ReadStatus {
    type Error = u32;

    fn try_from(raw: u32) -> Result<Self, Self::Error> {
        match raw {
            0 => Ok(ReadStatus::NotRead),
            1 => Ok(ReadStatus::Ok),
            2 => Ok(ReadStatus::Fault),
            other => Err(other),
        }
    }
}

/// A copy of user memory taken during a syscall.
///
/// `len` counts the bytes copied into `bytes`; the length the program asked for stays in the
/// syscall's arguments, so a reader sees truncation as `len < requested`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct UserBytes<const N: usize> {
    /// A raw [`ReadStatus`].
    pub status: u32,
    pub len: u32,
    pub bytes: [u8; N],
}

impl<const N: usize> UserBytes<N> {
    pub const EMPTY: Self = UserBytes {
        status: ReadStatus::NotRead as u32,
        len: 0,
        bytes: [0; N],
    };
}

pub type AddrBytes = UserBytes<ADDR_CAP>;
pub type DataBytes = UserBytes<DATA_CAP>;
const _: () = assert!(size_of::<AddrBytes>() == 136);
const _: () = assert!(size_of::<DataBytes>() == 72);

/// Value of a boolean socket option that the tracer has not seen set.
pub const OPT_UNSET: u8 = 0xff;

/// Where a socket's IPV6_V6ONLY value came from.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum V6OnlySource {
    /// Not known: not an AF_INET6 socket, or nothing seen yet.
    Unknown = 0,
    /// An explicit setsockopt(IPV6_V6ONLY) seen by the tracer.
    Setsockopt = 1,
    /// The netns default `net.ipv6.bindv6only` at socket creation.
    NetnsDefault = 2,
    /// Read from the kernel's socket (sk_ipv6only) on a socket created before tracing started.
    Kernel = 3,
}

impl TryFrom<u8> for V6OnlySource {
    type Error = u8;

    fn try_from(raw: u8) -> Result<Self, Self::Error> {
        match raw {
            0 => Ok(V6OnlySource::Unknown),
            1 => Ok(V6OnlySource::Setsockopt),
            2 => Ok(V6OnlySource::NetnsDefault),
            3 => Ok(V6OnlySource::Kernel),
            other => Err(other),
        }
    }
}

/// `SockState::flags` bit: the socket was created while traced, so family, type and protocol
/// are known.
pub const SOCK_SEEN_CREATED: u8 = 1;
/// `SockState::flags` bit: `bound` holds the address of a successful bind.
pub const SOCK_BOUND: u8 = 2;

/// What the tracer knows of one socket, kept per (tgid, fd) from socket() to close().
///
/// Option fields hold 0 or 1, or [`OPT_UNSET`] when no successful setsockopt was seen.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SockState {
    pub family: u16,
    pub _pad0: u16,
    pub sock_type: u32,
    pub protocol: u32,
    /// `SOCK_*` bits above.
    pub flags: u8,
    pub v6only: u8,
    /// A raw [`V6OnlySource`].
    pub v6only_source: u8,
    pub reuseaddr: u8,
    pub reuseport: u8,
    pub freebind: u8,
    pub transparent: u8,
    pub _pad1: u8,
    /// SO_BINDTODEVICE's interface name, NUL padded; empty when unset.
    pub bind_device: [u8; IFNAME_LEN],
    /// Length of the sockaddr in `bound` (0 when not bound).
    pub bound_len: u32,
    /// The sockaddr passed to the last successful bind, truncated to [`BOUND_CAP`].
    pub bound: [u8; BOUND_CAP],
}

impl SockState {
    pub const EMPTY: Self = SockState {
        family: 0,
        _pad0: 0,
        sock_type: 0,
        protocol: 0,
        flags: 0,
        v6only: OPT_UNSET,
        v6only_source: V6OnlySource::Unknown as u8,
        reuseaddr: OPT_UNSET,
        reuseport: OPT_UNSET,
        freebind: OPT_UNSET,
        transparent: OPT_UNSET,
        _pad1: 0,
        bind_device: [0; IFNAME_LEN],
        bound_len: 0,
        bound: [0; BOUND_CAP],
    };
}
const _: () = assert!(size_of::<SockState>() == 68);

/// Key of the per-socket state map.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SockKey {
    pub tgid: u32,
    pub fd: u32,
}
const _: () = assert!(size_of::<SockKey>() == 8);

/// Fields every event starts with.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct EventHeader {
    /// A raw [`Syscall`].
    pub kind: u32,
    /// [`ABI_VERSION`] of the writer.
    pub version: u16,
    /// `EVENT_*` bits below.
    pub flags: u16,
    /// bpf_get_current_pid_tgid(): tgid in the high half, thread id in the low half.
    pub pid_tgid: u64,
    /// CLOCK_MONOTONIC nanoseconds at syscall exit.
    pub ts_ns: u64,
    /// The syscall's return value (negative errno on failure).
    pub ret: i64,
    pub comm: [u8; COMM_LEN],
}
const _: () = assert!(size_of::<EventHeader>() == 48);

/// `EventHeader::flags` bit: `sock` holds the tracked state of the call's socket.
pub const EVENT_HAS_SOCK: u16 = 1;

/// Number of raw syscall arguments kept.
pub const ARGS: usize = 6;

/// One syscall, as written to the ring buffer at its exit.
///
/// Meaning of the buffers by syscall:
/// - bind, connect: `addr` = the sockaddr argument (read at entry).
/// - accept, accept4: `addr` = the peer address (read at exit); `data` = addrlen as two u32,
///   the value before the call then the value after it.
/// - setsockopt: `data` = optval (read at entry).
/// - socketpair: `data` = the two new descriptors, sv[0] and sv[1] as i32 (read at exit).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SyscallEvent {
    pub header: EventHeader,
    /// The syscall's arguments as passed (unused ones are zero).
    pub args: [u64; ARGS],
    /// State of the socket the call worked on, after the call (valid with EVENT_HAS_SOCK).
    pub sock: SockState,
    pub addr: AddrBytes,
    pub data: DataBytes,
    pub _pad: u32,
}
pub const EVENT_SIZE: usize = size_of::<SyscallEvent>();
const _: () = assert!(EVENT_SIZE == 376);

/// A call parked between sys_enter and sys_exit, keyed by pid_tgid.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct PendingCall {
    /// A raw [`Syscall`].
    pub kind: u32,
    pub _pad: u32,
    pub args: [u64; ARGS],
    pub addr: AddrBytes,
    pub data: DataBytes,
}
const _: () = assert!(size_of::<PendingCall>() == 264);

/// Run-time settings written by the loader into the programs' read-only `CONFIG` global.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct TraceConfig {
    /// The tracer's own tgid: its calls are never traced.
    pub tracer_tgid: u32,
    /// Non-zero: trace only tgids present in the `TRACED` map (follow mode).
    pub follow: u32,
    /// Bits of [`Syscall::bit`] to trace.
    pub syscall_mask: u32,
    /// Non-zero: only calls that failed.
    pub failed_only: u32,
    /// Non-zero: only tasks whose comm equals `comm`.
    pub filter_comm: u32,
    /// Address family to keep (0: all).
    pub family: u32,
    /// Port to keep, host order (0: all).
    pub port: u32,
    /// Offset of child_pid in sched_process_fork's record (from tracefs).
    pub fork_child_pid_offset: u32,
    /// Offset of group_dead in sched_process_exit's record, or u32::MAX when absent.
    pub exit_group_dead_offset: u32,
    pub _pad: u32,
    pub comm: [u8; COMM_LEN],
}
const _: () = assert!(size_of::<TraceConfig>() == 56);

impl TraceConfig {
    pub const DEFAULT: Self = TraceConfig {
        tracer_tgid: 0,
        follow: 0,
        syscall_mask: u32::MAX,
        failed_only: 0,
        filter_comm: 0,
        family: 0,
        port: 0,
        fork_child_pid_offset: 20,
        exit_group_dead_offset: u32::MAX,
        _pad: 0,
        comm: [0; COMM_LEN],
    };
}

/// Index of the counters in the `COUNTERS` per-CPU array.
pub mod counter {
    /// Events lost because the ring buffer was full.
    pub const RING_FULL: u32 = 0;
    /// Entries lost because the PENDING map evicted them (exit without a matching entry).
    pub const NO_ENTRY: u32 = 1;
    pub const COUNT: u32 = 2;
}

#[cfg(feature = "user")]
mod pod {
    // SAFETY: plain #[repr(C)] data with explicit padding, valid for any bit pattern.
    unsafe impl aya::Pod for super::TraceConfig {}
    unsafe impl aya::Pod for super::SockKey {}
    unsafe impl aya::Pod for super::SockState {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syscall_kinds_round_trip() {
        for s in Syscall::ALL {
            assert_eq!(Syscall::try_from(s as u32), Ok(s));
        }
        assert_eq!(Syscall::try_from(0), Err(UnknownSyscall(0)));
        assert_eq!(Syscall::try_from(99), Err(UnknownSyscall(99)));
    }
}
