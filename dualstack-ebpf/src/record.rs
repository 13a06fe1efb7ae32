//! A completed call, gathered on the stack at syscall exit, and its compact record: reserved in
//! the ring at its exact size and filled there.

use aya_ebpf::helpers::{
    bpf_ktime_get_ns,
    generated::{bpf_get_current_comm, bpf_probe_read_user},
};
use dualstack_common::{
    args::Args, counter, record_size, user_cap, EventHeader, KernelSock, ReadStatus, Sections,
    SockKey, SockState, Syscall, UserHeader, ABI_VERSION, ADDRLEN_CAP, COMM_LEN, EVENT_HAS_KERNEL,
    EVENT_HAS_SOCK, EVENT_NO_BTF, EVENT_SOCK_BY_FD, EVENT_STATE_FULL, HEADER_SIZE, KSOCK_NO_BTF,
    KSOCK_READ, USER_CAP, USER_HEADER_SIZE,
};

use crate::maps::{count, EVENTS};

/// Bytes of user memory kept on the stack: a sockaddr_in6, and every option value the state
/// needs. A longer buffer (a unix socket's path) is read again at its full size straight into
/// the record, so the 512-byte stack never holds a sockaddr_storage.
pub const STACK_USER: usize = 32;

/// User memory read during a call, word-aligned so that it is copied into the record in words.
#[repr(C, align(8))]
pub struct UserCopy {
    /// First, so that it is word-aligned.
    pub bytes: [u8; STACK_USER],
    /// A raw `ReadStatus`.
    pub status: u16,
    pub len: u32,
    /// The user pointer and the length asked for, to read a long buffer again into the record.
    pub ptr: u64,
    pub want: u64,
    /// At most this many bytes are read: `USER_CAP`, or less for option values.
    pub max: u32,
}

impl UserCopy {
    pub const fn empty() -> Self {
        UserCopy {
            bytes: [0; STACK_USER],
            status: ReadStatus::NotRead as u16,
            len: 0,
            ptr: 0,
            want: 0,
            max: 0,
        }
    }
}

/// Everything a call's record says, gathered before the record is reserved: the state map is
/// updated whether or not the ring has room.
pub struct Call {
    pub kind: Syscall,
    pub pid_tgid: u64,
    pub ret: i64,
    pub args: Args,
    /// CLOCK_MONOTONIC nanoseconds at entry, or 0 when the call left no stamp.
    pub enter_ts_ns: u64,
    /// The kernel's view of the call's socket (`KSOCK_READ` when read).
    pub kernel: KernelSock,
    /// The tracked state of the call's socket after the call, when `has_sock`.
    pub sock: SockState,
    pub has_sock: bool,
    /// The socket had no state and the full map could not take one.
    pub state_full: bool,
    /// State to remove once the record is written (a close that released its socket).
    pub forget: Option<SockKey>,
    /// The sockaddr (bind, connect, accept) or the data buffer (setsockopt, socketpair).
    pub user: UserCopy,
    /// accept: `*addrlen` before and after the call, and how many of the two were read.
    pub addrlen: [u32; 2],
    pub addrlen_read: u32,
}

impl Call {
    #[inline(always)]
    pub fn new(kind: Syscall, pid_tgid: u64, args: Args, ret: i64) -> Self {
        Call {
            kind,
            pid_tgid,
            ret,
            args,
            enter_ts_ns: 0,
            kernel: KernelSock::EMPTY,
            sock: SockState::EMPTY,
            has_sock: false,
            state_full: false,
            forget: None,
            user: UserCopy::empty(),
            addrlen: [0; 2],
            addrlen_read: 0,
        }
    }

    pub fn tgid(&self) -> u32 {
        (self.pid_tgid >> 32) as u32
    }

    /// Sends `self.sock` with the record, unless the map refused to store it (the record then
    /// says the map was full).
    #[inline(always)]
    pub fn send_state(&mut self) {
        self.has_sock = !self.state_full;
    }
}

/// Writes the call's record to the ring; counts it when the ring is full. A subprogram, like
/// the handlers, so that its temporaries do not add to the dispatcher's frame, and one per
/// kind (`KIND`, a raw `Syscall`): the verifier must see the record's size as a constant,
/// which it does when the kind's layout is one.
#[inline(never)]
pub fn emit<const KIND: u32>(call: &Call) {
    let kind = const { syscall(KIND) };
    let mut flags = 0u16;
    if call.has_sock {
        flags |= EVENT_HAS_SOCK;
    }
    if call.kernel.flags & KSOCK_READ != 0 {
        flags |= EVENT_HAS_KERNEL;
    }
    if call.kernel.flags & KSOCK_NO_BTF != 0 {
        flags |= EVENT_NO_BTF;
        if call.has_sock {
            flags |= EVENT_SOCK_BY_FD;
        }
    }
    if call.state_full {
        flags |= EVENT_STATE_FULL;
    }
    let sections = kind.sections();
    let cap = if sections == Sections::None {
        0
    } else {
        user_cap(u64::from(call.user.len))
    };
    // A buffer longer than the stack copy is read again, at its size, into the record.
    let reread = call.user.status == ReadStatus::Ok as u16 && call.user.len as usize > STACK_USER;
    // The verifier needs the size as a constant: on every path to here it is one, made of the
    // kind's constants and the branches above.
    let size = record_size(kind, flags, [cap, ADDRLEN_CAP]);
    let Some(mut entry) = EVENTS.reserve_bytes(size, 0) else {
        count(counter::RING_FULL);
        return;
    };
    let base = entry.as_mut_ptr();
    // SAFETY: every write below lands inside the `size` bytes reserved: `record_size` counts
    // exactly the parts written, in the same order; offsets are multiples of 8.
    unsafe {
        write_header(base.cast(), kind, call, flags);
        let mut at = HEADER_SIZE;
        let args = base.add(at).cast::<u64>();
        for i in 0..kind.arg_count() {
            args.add(i).write(call.args[i]);
        }
        at += 8 * kind.arg_count();
        if call.has_sock {
            base.add(at).cast::<SockState>().write(call.sock);
            at += core::mem::size_of::<SockState>();
        }
        if flags & EVENT_HAS_KERNEL != 0 {
            base.add(at).cast::<KernelSock>().write(call.kernel);
            at += core::mem::size_of::<KernelSock>();
        }
        if sections != Sections::None {
            if reread {
                read_user_into(base.add(at), &call.user);
            } else {
                write_user(base.add(at), &call.user, cap);
            }
            at += USER_HEADER_SIZE + cap;
        }
        if sections == Sections::AddrAndLen {
            let status = if call.addrlen_read == 0 {
                ReadStatus::NotRead
            } else {
                ReadStatus::Ok
            };
            base.add(at).cast::<UserHeader>().write(UserHeader {
                status: status as u16,
                cap: ADDRLEN_CAP as u16,
                len: 4 * call.addrlen_read,
            });
            let words = base.add(at + USER_HEADER_SIZE).cast::<u64>();
            words.write(u64::from(call.addrlen[0]) | (u64::from(call.addrlen[1]) << 32));
            words.add(1).write(0);
        }
    }
    entry.submit(wakeup_flag());
}

/// The syscall of a raw kind, at compile time.
const fn syscall(raw: u32) -> Syscall {
    let mut i = 0;
    while i < Syscall::ALL.len() {
        if Syscall::ALL[i] as u32 == raw {
            return Syscall::ALL[i];
        }
        i += 1;
    }
    panic!("not a syscall kind");
}

#[inline(always)]
unsafe fn write_header(header: *mut EventHeader, kind: Syscall, call: &Call, flags: u16) {
    // SAFETY: the caller reserved room for the header at `header`. Fields are written in
    // place: a whole EventHeader would be built on the stack first.
    unsafe {
        (&raw mut (*header).kind).write(kind as u32);
        (&raw mut (*header).version).write(ABI_VERSION);
        (&raw mut (*header).flags).write(flags);
        (&raw mut (*header).pid_tgid).write(call.pid_tgid);
        (&raw mut (*header).ts_ns).write(bpf_ktime_get_ns());
        (&raw mut (*header).enter_ts_ns).write(call.enter_ts_ns);
        (&raw mut (*header).ret).write(call.ret);
        let comm = &raw mut (*header).comm;
        if bpf_get_current_comm(comm.cast(), COMM_LEN as u32) != 0 {
            comm.write([0; COMM_LEN]);
        }
    }
}

/// Reads a long user buffer straight into a section of `USER_CAP` bytes at `dst`.
#[inline(always)]
unsafe fn read_user_into(dst: *mut u8, user: &UserCopy) {
    let n = if user.want >= u64::from(user.max) {
        user.max
    } else {
        (user.want as u32) & (USER_CAP as u32 - 1)
    };
    let n = n.min(USER_CAP as u32);
    // SAFETY: the caller reserved USER_HEADER_SIZE + USER_CAP bytes at `dst`; the helper
    // checks the user pointer.
    unsafe {
        let ok =
            bpf_probe_read_user(dst.add(USER_HEADER_SIZE).cast(), n, user.ptr as *const _) == 0;
        if !ok {
            count(counter::USER_FAULT);
        }
        dst.cast::<UserHeader>().write(UserHeader {
            status: if ok {
                ReadStatus::Ok
            } else {
                ReadStatus::Fault
            } as u16,
            cap: USER_CAP as u16,
            len: if ok { n } else { 0 },
        });
    }
}

/// Writes a user-memory section of `cap` bytes (one of `USER_CAPS`) at `dst`.
#[inline(always)]
unsafe fn write_user(dst: *mut u8, user: &UserCopy, cap: usize) {
    // SAFETY: the caller reserved USER_HEADER_SIZE + cap bytes at `dst`.
    unsafe {
        dst.cast::<UserHeader>().write(UserHeader {
            status: user.status,
            cap: cap as u16,
            len: user.len,
        });
        let words = dst.add(USER_HEADER_SIZE).cast::<u64>();
        let from = user.bytes.as_ptr().cast::<u64>();
        // Constant trip counts, so each copy unrolls into word moves.
        match cap {
            16 => copy_words::<2>(words, from),
            _ => copy_words::<4>(words, from),
        }
    }
}

#[inline(always)]
unsafe fn copy_words<const N: usize>(dst: *mut u64, src: *const u64) {
    for i in 0..N {
        // SAFETY: both hold N words (caller's contract); `UserCopy` is 8-aligned.
        unsafe { dst.add(i).write(src.add(i).read()) };
    }
}

// kernel ABI: include/uapi/linux/bpf.h, BPF_RB_* flags.
const BPF_RB_NO_WAKEUP: u64 = 1;
const BPF_RB_FORCE_WAKEUP: u64 = 2;
const BPF_RB_AVAIL_DATA: u64 = 0;
/// Bytes waiting in the ring before the reader is woken.
const WAKEUP_BYTES: u64 = 256 << 10;

/// Waking the reader costs an interrupt per event (an expensive VM exit on virtual machines):
/// submit silently and wake it only once a batch is waiting. The reader also polls on a short
/// timer, so a lone event still shows within milliseconds.
#[inline(always)]
fn wakeup_flag() -> u64 {
    if EVENTS.query(BPF_RB_AVAIL_DATA) >= WAKEUP_BYTES {
        BPF_RB_FORCE_WAKEUP
    } else {
        BPF_RB_NO_WAKEUP
    }
}
