//! The event ABI shared by dualstack's kernel programs and its user space.
//!
//! The kernel writes one compact call record per traced syscall to the `EVENTS` ring buffer (see
//! [`record_size`] for its layout), and a [`TaskRecord`] per followed fork and exit. The typed
//! argument views ([`args`]) name each syscall's argument positions once, for the programs that
//! read the registers and for the decoder that reads the record. Layouts are `#[repr(C)]` with
//! explicit padding; the asserts beside each type pin their sizes so that a change is deliberate.
//! User space never transmutes these bytes: it checks length and kind and copies fields out.
#![no_std]

use core::mem::size_of;

/// Bumped whenever a layout below changes.
pub const ABI_VERSION: u16 = 4;

/// Bytes of user memory read at most for one argument: a sockaddr_storage, or an optval.
pub const USER_CAP: usize = 128;
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

    /// How many argument registers the call's record carries.
    pub const fn arg_count(self) -> usize {
        match self {
            Syscall::Close => 1,
            Syscall::Listen => 2,
            Syscall::Socket | Syscall::Bind | Syscall::Connect | Syscall::Accept => 3,
            Syscall::Socketpair | Syscall::Accept4 => 4,
            Syscall::Setsockopt => 5,
        }
    }

    /// The user-memory sections of the call's record.
    pub const fn sections(self) -> Sections {
        match self {
            Syscall::Bind | Syscall::Connect => Sections::Addr,
            Syscall::Accept | Syscall::Accept4 => Sections::AddrAndLen,
            Syscall::Setsockopt | Syscall::Socketpair => Sections::Data,
            Syscall::Socket | Syscall::Listen | Syscall::Close => Sections::None,
        }
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

/// Value of a boolean socket option that the tracer has not seen set.
pub const OPT_UNSET: u8 = 0xff;

/// Whether the tracer saw where a socket's IPV6_V6ONLY value came from. The other sources
/// (netns default, the kernel's own bit) are told apart in user space from the kernel's view.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum V6OnlySource {
    /// Not seen: not an AF_INET6 socket, or no setsockopt yet.
    Unknown = 0,
    /// An explicit setsockopt(IPV6_V6ONLY) seen by the tracer.
    Setsockopt = 1,
}

impl TryFrom<u8> for V6OnlySource {
    type Error = u8;

    fn try_from(raw: u8) -> Result<Self, Self::Error> {
        match raw {
            0 => Ok(V6OnlySource::Unknown),
            1 => Ok(V6OnlySource::Setsockopt),
            other => Err(other),
        }
    }
}

/// `SockState::flags` bit: the socket was created while traced, so family, type and protocol
/// are known.
pub const SOCK_SEEN_CREATED: u8 = 1;
/// `SockState::flags` bit: `bound` holds the address of a successful bind.
pub const SOCK_BOUND: u8 = 2;

/// What the tracer knows of one socket, kept per kernel socket (see [`SockKey`]) from its
/// creation until the close of its last descriptor.
///
/// Option fields hold 0 or 1, or [`OPT_UNSET`] when no successful setsockopt was seen.
/// Aligned to 8 so that the programs copy it in words.
#[repr(C, align(8))]
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
    pub _pad2: u32,
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
        _pad2: 0,
    };
}
const _: () = assert!(size_of::<SockState>() == 72);

/// Key of the per-socket state map.
///
/// With the kernel's BTF the key is the socket's inode (`ino`, `tgid` and `fd` zero): every
/// descriptor of the socket, in every process (fork, dup, dup2, SCM_RIGHTS, exec), shares one
/// state. Without BTF the kernel socket cannot be reached, and the key falls back to the
/// descriptor (`ino` zero): such state does not follow fork or dup, and events say so.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SockKey {
    pub ino: u64,
    pub tgid: u32,
    pub fd: u32,
}
const _: () = assert!(size_of::<SockKey>() == 16);

/// Default capacity of the per-socket state map: sized for 100,000 live sockets.
pub const SOCKETS_DEFAULT: u32 = 131_072;

/// `KernelSock::flags` bit: the socket was found through the task's fd table and read.
pub const KSOCK_READ: u32 = 1;
/// `KernelSock::flags` bit: the program knew no kernel offsets (no BTF): nothing was read.
pub const KSOCK_NO_BTF: u32 = 2;

/// The kernel's own view of the call's socket, read from `struct sock` at syscall exit.
///
/// Valid only with [`KSOCK_READ`]. Addresses are in network byte order, the port in host order
/// (`skc_num`, so a port-0 bind shows the port the kernel assigned).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct KernelSock {
    /// `KSOCK_*` bits above.
    pub flags: u32,
    /// Inode of the socket's network namespace (as in /proc/PID/ns/net).
    pub netns: u32,
    /// Inode of the socket (as in /proc/PID/fd/N -> socket:[ino]).
    pub ino: u64,
    /// `skc_family`.
    pub family: u16,
    /// `skc_num`: the bound local port, host order.
    pub port: u16,
    /// `skc_state` (TCP_LISTEN = 10, TCP_CLOSE = 7, ...).
    pub state: u8,
    /// The `skc_ipv6only` bit.
    pub ipv6only: u8,
    /// `net->ipv6.sysctl.bindv6only` of the socket's netns at the time of the call.
    pub netns_bindv6only: u8,
    pub _pad0: u8,
    /// `skc_rcv_saddr`: the bound IPv4 address.
    pub v4: [u8; 4],
    /// `skc_v6_rcv_saddr`: the bound IPv6 address.
    pub v6: [u8; 16],
    /// `socket.type` (SOCK_STREAM = 1, SOCK_DGRAM = 2, ...).
    pub sock_type: u16,
    pub _pad1: u16,
}
const _: () = assert!(size_of::<KernelSock>() == 48);

impl KernelSock {
    pub const EMPTY: Self = KernelSock {
        flags: 0,
        netns: 0,
        ino: 0,
        family: 0,
        port: 0,
        state: 0,
        ipv6only: 0,
        netns_bindv6only: 0,
        _pad0: 0,
        v4: [0; 4],
        v6: [0; 16],
        sock_type: 0,
        _pad1: 0,
    };
}

/// Fields every call record starts with.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct EventHeader {
    /// A raw [`Syscall`].
    pub kind: u32,
    /// [`ABI_VERSION`] of the writer.
    pub version: u16,
    /// `EVENT_*` bits below: what the record holds after its arguments.
    pub flags: u16,
    /// bpf_get_current_pid_tgid(): tgid in the high half, thread id in the low half.
    pub pid_tgid: u64,
    /// CLOCK_MONOTONIC nanoseconds at syscall exit.
    pub ts_ns: u64,
    /// CLOCK_MONOTONIC nanoseconds at syscall entry (what strace -tt prints), stamped only for
    /// the calls that may block (connect, accept, accept4) and close; 0 for the others, which
    /// return within microseconds: their exit time stands for it.
    pub enter_ts_ns: u64,
    /// The syscall's return value (negative errno on failure).
    pub ret: i64,
    pub comm: [u8; COMM_LEN],
}
pub const HEADER_SIZE: usize = size_of::<EventHeader>();
const _: () = assert!(HEADER_SIZE == 56);

/// `EventHeader::flags` bit: a [`SockState`] section follows the arguments: the tracked state
/// of the call's socket after the call.
pub const EVENT_HAS_SOCK: u16 = 1;
/// `EventHeader::flags` bit: the state is keyed by (tgid, fd), not by the kernel socket (no
/// BTF): it does not follow fork, dup or descriptor passing.
pub const EVENT_SOCK_BY_FD: u16 = 2;
/// `EventHeader::flags` bit: the call's socket had no state and none could be stored because
/// the state map was full (counted in [`counter::STATE_FULL`]).
pub const EVENT_STATE_FULL: u16 = 4;
/// `EventHeader::flags` bit: a [`KernelSock`] section follows (after the state, if any): the
/// kernel's view of the call's socket.
pub const EVENT_HAS_KERNEL: u16 = 8;
/// `EventHeader::flags` bit: the programs knew no kernel offsets (no BTF), so no kernel view
/// could be read.
pub const EVENT_NO_BTF: u16 = 16;

/// Number of syscall argument registers.
pub const ARGS: usize = 6;

/// Which user-memory sections a call record carries, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sections {
    None,
    /// A sockaddr (bind, connect).
    Addr,
    /// The peer's sockaddr, then addrlen as two u32: before the call and after it (accept).
    AddrAndLen,
    /// A data buffer (setsockopt's optval, socketpair's sv).
    Data,
}

/// Header of a user-memory section: `cap` bytes follow, of which the first `len` were read.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserHeader {
    /// A raw [`ReadStatus`].
    pub status: u16,
    /// Bytes that follow this header: one of [`USER_CAPS`].
    pub cap: u16,
    pub len: u32,
}
pub const USER_HEADER_SIZE: usize = size_of::<UserHeader>();
const _: () = assert!(USER_HEADER_SIZE == 8);

/// The sizes a user-memory section may have. A record is reserved at a size the verifier
/// knows, so a copy takes the smallest of these that holds it: 16 for sockaddr_in, ints and
/// addrlen pairs, 32 for sockaddr_in6, 128 for anything else (a sockaddr_storage).
pub const USER_CAPS: [usize; 3] = [16, 32, 128];

/// The section size that holds `len` bytes of user memory (at most the largest).
pub const fn user_cap(len: u64) -> usize {
    if len <= USER_CAPS[0] as u64 {
        USER_CAPS[0]
    } else if len <= USER_CAPS[1] as u64 {
        USER_CAPS[1]
    } else {
        USER_CAPS[2]
    }
}

/// The largest call record: setsockopt's five arguments with every section at its largest.
pub const MAX_RECORD_SIZE: usize = HEADER_SIZE
    + 8 * 5
    + size_of::<SockState>()
    + size_of::<KernelSock>()
    + 2 * USER_HEADER_SIZE
    + USER_CAPS[2]
    + USER_CAPS[0];

/// Size of accept's addrlen section: two u32 in the smallest cap.
pub const ADDRLEN_CAP: usize = USER_CAPS[0];

/// The layout of a call record, as written to the ring buffer at the syscall's exit. It is
/// sized to what the call has (a bind of an IPv6 address is 240 bytes, a listen 192, where
/// ABI 3's fixed record was 432):
///
/// 1. [`EventHeader`];
/// 2. the call's arguments: [`Syscall::arg_count`] u64 words, as the registers held them;
/// 3. with [`EVENT_HAS_SOCK`]: a [`SockState`];
/// 4. with [`EVENT_HAS_KERNEL`]: a [`KernelSock`];
/// 5. the user-memory sections [`Syscall::sections`] names, each a [`UserHeader`] and `cap`
///    bytes.
///
/// Every part is a multiple of 8 bytes long, so each starts aligned.
pub const fn record_size(kind: Syscall, flags: u16, caps: [usize; 2]) -> usize {
    let mut size = HEADER_SIZE + 8 * kind.arg_count();
    if flags & EVENT_HAS_SOCK != 0 {
        size += size_of::<SockState>();
    }
    if flags & EVENT_HAS_KERNEL != 0 {
        size += size_of::<KernelSock>();
    }
    size + match kind.sections() {
        Sections::None => 0,
        Sections::Addr | Sections::Data => USER_HEADER_SIZE + caps[0],
        Sections::AddrAndLen => 2 * USER_HEADER_SIZE + caps[0] + caps[1],
    }
}

/// Raw kind of a [`TaskRecord`] for a new task (a process or a thread) of a followed process.
pub const TASK_FORK: u32 = 0x100;
/// Raw kind of a [`TaskRecord`] for the exit of a followed task.
pub const TASK_EXIT: u32 = 0x101;
/// `TaskRecord::flags` bit of a [`TASK_EXIT`]: the whole process is gone (its last thread).
pub const TASK_GROUP_DEAD: u16 = 1;

/// A task starting or ending in follow mode, written to the same ring as the calls so that user
/// space knows, in order, which tasks were alive at each call (strace's `[pid N]` rule) and when
/// the last followed task is gone.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct TaskRecord {
    /// [`TASK_FORK`] or [`TASK_EXIT`].
    pub kind: u32,
    /// [`ABI_VERSION`] of the writer.
    pub version: u16,
    /// `TASK_*` bits above.
    pub flags: u16,
    /// The current task: the parent of a fork, the exiting task of an exit.
    pub pid_tgid: u64,
    /// CLOCK_MONOTONIC nanoseconds.
    pub ts_ns: u64,
    /// The new task's id (fork); 0 for an exit.
    pub child: u32,
    pub _pad: u32,
}
pub const TASK_RECORD_SIZE: usize = size_of::<TaskRecord>();
const _: () = assert!(TASK_RECORD_SIZE == 32);

/// Byte offsets of the kernel struct fields the programs read, resolved by the loader from the
/// running kernel's BTF (/sys/kernel/btf/vmlinux). `valid == 0` means unknown: the programs
/// then read nothing from kernel structs and mark events with [`KSOCK_NO_BTF`].
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelOffsets {
    pub valid: u32,
    /// `task_struct.files`
    pub task_files: u32,
    /// `files_struct.fdt`
    pub files_fdt: u32,
    /// `fdtable.max_fds`
    pub fdt_max_fds: u32,
    /// `fdtable.fd`
    pub fdt_fd: u32,
    /// `file.private_data`
    pub file_private_data: u32,
    /// `socket.sk`
    pub socket_sk: u32,
    /// `socket.file`: the back pointer that proves a file's private_data is a socket.
    pub socket_file: u32,
    /// `socket.type` (SOCK_STREAM, SOCK_DGRAM...).
    pub socket_type: u32,
    /// `socket_alloc.socket`
    pub socket_alloc_socket: u32,
    /// `socket_alloc.vfs_inode`
    pub socket_alloc_inode: u32,
    /// `inode.i_ino`
    pub inode_ino: u32,
    /// `sock_common.skc_family` (all `skc_*` offsets are within `struct sock`, whose first
    /// member is `__sk_common`).
    pub skc_family: u32,
    /// `sock_common.skc_state`
    pub skc_state: u32,
    /// `sock_common.skc_num`
    pub skc_num: u32,
    /// `sock_common.skc_rcv_saddr`
    pub skc_rcv_saddr: u32,
    /// `sock_common.skc_v6_rcv_saddr`
    pub skc_v6_rcv_saddr: u32,
    /// `sock_common.skc_net` (a `possible_net_t` holding one `struct net *`)
    pub skc_net: u32,
    /// Byte of `sock_common` holding the `skc_ipv6only` bitfield.
    pub skc_ipv6only_byte: u32,
    /// Bit of `skc_ipv6only` within that byte (0 = least significant).
    pub skc_ipv6only_bit: u32,
    /// `net.ns.inum`
    pub net_ns_inum: u32,
    /// `net.ipv6.sysctl.bindv6only`
    pub net_bindv6only: u32,
    /// The file's reference count: `file.f_ref` (6.13+) or `file.f_count`.
    pub file_refs: u32,
    /// The value of that count when one reference is left: 0 for `f_ref` (a `file_ref_t`
    /// counts from zero), 1 for `f_count`.
    pub file_one_ref: u32,
    /// `task_struct.comm` (`char[16]`): read directly where the task is a BTF pointer, for
    /// less than `bpf_get_current_comm` costs.
    pub task_comm: u32,
}
const _: () = assert!(size_of::<KernelOffsets>() == 100);

impl KernelOffsets {
    pub const UNKNOWN: Self = KernelOffsets {
        valid: 0,
        task_files: 0,
        files_fdt: 0,
        fdt_max_fds: 0,
        fdt_fd: 0,
        file_private_data: 0,
        socket_sk: 0,
        socket_file: 0,
        socket_type: 0,
        socket_alloc_socket: 0,
        socket_alloc_inode: 0,
        inode_ino: 0,
        skc_family: 0,
        skc_state: 0,
        skc_num: 0,
        skc_rcv_saddr: 0,
        skc_v6_rcv_saddr: 0,
        skc_net: 0,
        skc_ipv6only_byte: 0,
        skc_ipv6only_bit: 0,
        net_ns_inum: 0,
        net_bindv6only: 0,
        file_refs: 0,
        file_one_ref: 0,
        task_comm: 0,
    };
}

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
    /// Non-zero: show the close of every descriptor; else only of sockets.
    pub every_close: u32,
    /// Non-zero: tell every fork and exit on the host, not only those of followed tasks.
    pub task_events: u32,
    /// Non-zero: keep socket state in the LRU map (`SOCKETS_LRU`) instead of the plain hash
    /// (`SOCKETS`); the bench compares the two.
    pub state_lru: u32,
    /// Non-zero: the programs walk from the current task to its descriptor table with direct
    /// loads through BTF pointers (bpf_get_current_task_btf) instead of a helper call per
    /// field. Set with the tp_btf exit hook, whose kernels have BTF.
    pub direct_task: u32,
    pub comm: [u8; COMM_LEN],
    pub offsets: KernelOffsets,
}
const _: () = assert!(size_of::<TraceConfig>() == 168);

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
        every_close: 0,
        task_events: 0,
        state_lru: 0,
        direct_task: 0,
        comm: [0; COMM_LEN],
        offsets: KernelOffsets::UNKNOWN,
    };
}

pub mod args;
pub mod syscall_nr;

/// Index of the counters in the `COUNTERS` per-CPU array.
pub mod counter {
    /// Call records lost because the ring buffer was full.
    pub const RING_FULL: u32 = 0;
    /// Exits of connect, accept, accept4 or close without the stamp their entry leaves: calls
    /// under way when tracing began, or stamps the full `ENTERED` map could not take. Their
    /// records lack the entry time (and close's, the socket).
    pub const NO_ENTRY: u32 = 1;
    /// Sockets whose state could not be stored: the SOCKETS map was full.
    pub const STATE_FULL: u32 = 2;
    /// States stored in SOCKETS, and states removed from it by the programs: their difference
    /// is the map's fill, which tells user space when to sweep out sockets that died without
    /// a close (process exit, dup2 over them, exec with FD_CLOEXEC).
    pub const STATE_INSERTS: u32 = 3;
    pub const STATE_REMOVES: u32 = 4;
    /// Task records lost because the ring buffer was full.
    pub const TASK_RING_FULL: u32 = 5;
    /// User memory a call pointed to that could not be read (a bad pointer, or a page not
    /// present): the record says `fault` for it.
    pub const USER_FAULT: u32 = 6;
    pub const COUNT: u32 = 7;
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

    /// The records of the socket lifecycle loop (socket, setsockopt of an int, bind of a
    /// sockaddr_in6, listen, close), each with the socket's state and the kernel's view.
    #[test]
    fn lifecycle_records_are_half_the_old_fixed_size() {
        let full = EVENT_HAS_SOCK | EVENT_HAS_KERNEL;
        let sizes = [
            record_size(Syscall::Socket, full, [0, 0]),
            record_size(Syscall::Setsockopt, full, [user_cap(4), 0]),
            record_size(Syscall::Bind, full, [user_cap(28), 0]),
            record_size(Syscall::Listen, full, [0, 0]),
            record_size(Syscall::Close, full, [0, 0]),
        ];
        assert_eq!(sizes, [200, 240, 240, 192, 184]);
        assert_eq!(sizes.iter().sum::<usize>() / sizes.len(), 211);
        assert!(sizes.iter().all(|s| s % 8 == 0));
        let accept = record_size(Syscall::Accept4, full, [user_cap(16), ADDRLEN_CAP]);
        assert_eq!(accept, 56 + 32 + 72 + 48 + 8 + 16 + 8 + 16);
        assert!(MAX_RECORD_SIZE >= accept);
    }

    #[test]
    fn syscall_kinds_round_trip() {
        for s in Syscall::ALL {
            assert_eq!(Syscall::try_from(s as u32), Ok(s));
        }
        assert_eq!(Syscall::try_from(0), Err(UnknownSyscall(0)));
        assert_eq!(Syscall::try_from(99), Err(UnknownSyscall(99)));
    }
}
