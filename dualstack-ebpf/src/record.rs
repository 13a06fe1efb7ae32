//! A completed call, gathered on the stack at syscall exit, and its compact record: reserved in
//! the ring at its exact size and filled there.

use aya_ebpf::helpers::{
    bpf_ktime_get_ns,
    generated::{self as gen, bpf_get_current_comm, bpf_probe_read_user},
};
use dualstack_common::{
    args::Args, counter, record_size, user_cap, EventHeader, KernelSock, ReadStatus, Sections,
    SockKey, SockState, Syscall, UserHeader, ABI_VERSION, ADDRLEN_CAP, COMM_LEN, EVENT_HAS_KERNEL,
    EVENT_HAS_SOCK, EVENT_NO_BTF, EVENT_SOCK_BY_FD, EVENT_STATE_FULL, HEADER_SIZE, KSOCK_NO_BTF,
    KSOCK_READ, USER_CAP, USER_CAPS, USER_HEADER_SIZE,
};

use core::mem::MaybeUninit;

use crate::{
    kernel_sock::offsets,
    maps::{config, count, EVENTS},
    words::{copy, zero},
};

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

// Zeroed word by word (ReadStatus::NotRead is 0).
const _: () = assert!(ReadStatus::NotRead as u16 == 0);

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

/// The state of a socket nothing is known of (options unset), copied word by word.
static EMPTY_SOCK: SockState = SockState::EMPTY;

/// Fills `state` with [`SockState::EMPTY`].
#[inline(always)]
pub fn empty_sock(state: &mut SockState) {
    // SAFETY: both are valid SockStates.
    unsafe { copy(state, &EMPTY_SOCK) };
}

impl Call {
    /// Builds the call in `slot`, field by field: a `Call` built by value and moved there
    /// would be copied byte by byte (see `words`).
    #[inline(always)]
    pub fn init<'a>(
        slot: &'a mut MaybeUninit<Call>,
        kind: Syscall,
        pid_tgid: u64,
        args: &Args,
        ret: i64,
    ) -> &'a mut Call {
        let p = slot.as_mut_ptr();
        // SAFETY: every field of `*p` is written before the reference is made.
        unsafe {
            (&raw mut (*p).kind).write(kind);
            (&raw mut (*p).pid_tgid).write(pid_tgid);
            (&raw mut (*p).ret).write(ret);
            let dst = (&raw mut (*p).args).cast::<u64>();
            for (i, arg) in args.iter().enumerate() {
                dst.add(i).write(*arg);
            }
            (&raw mut (*p).enter_ts_ns).write(0);
            zero(&raw mut (*p).kernel);
            copy(&raw mut (*p).sock, &EMPTY_SOCK);
            (&raw mut (*p).has_sock).write(false);
            (&raw mut (*p).state_full).write(false);
            (&raw mut (*p).forget).write(None);
            // Zero bytes past what a read fills: a short option value reads as NUL-padded.
            zero(&raw mut (*p).user);
            (&raw mut (*p).addrlen).write([0; 2]);
            (&raw mut (*p).addrlen_read).write(0);
            slot.assume_init_mut()
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

impl Call {
    /// The `EVENT_*` flags of the call's record: which sections it holds, and why not.
    #[inline(always)]
    pub fn record_flags(&self) -> u16 {
        let mut flags = 0u16;
        if self.has_sock {
            flags |= EVENT_HAS_SOCK;
        }
        if self.kernel.flags & KSOCK_READ != 0 {
            flags |= EVENT_HAS_KERNEL;
        }
        if self.kernel.flags & KSOCK_NO_BTF != 0 {
            flags |= EVENT_NO_BTF;
            if self.has_sock {
                flags |= EVENT_SOCK_BY_FD;
            }
        }
        if self.state_full {
            flags |= EVENT_STATE_FULL;
        }
        flags
    }
}

/// Writes the call's record, with `flags` from `Call::record_flags`, to the ring; returns its
/// size, or 0 when the ring is full. A subprogram (see `dispatch`), one per kind (`KIND`, a
/// raw `Syscall`): the verifier must see the record's size as a constant, which it does when
/// the kind's layout is one.
#[inline(never)]
pub fn emit<const KIND: u32>(call: &Call, flags: u16) -> u32 {
    let kind = const { syscall(KIND) };
    let sections = kind.sections();
    let cap = if sections == Sections::None {
        0
    } else {
        user_cap(u64::from(call.user.len))
    };
    // A buffer longer than the stack copy (cap USER_CAP) is read again, whole, into the
    // record. The verifier needs the size as a constant: on every path to here it is one,
    // made of the kind's constants and the branches above.
    let size = record_size(kind, flags, [cap, ADDRLEN_CAP]);
    let Some(mut entry) = EVENTS.reserve_bytes(size, 0) else {
        return 0;
    };
    let base = entry.as_mut_ptr();
    // `record_size` counted exactly the parts written below, in order. Each write still
    // checks that it fits: the verifier follows each branch on its own and does not connect
    // this branch on the flags with the one that sized the record.
    let fits = |at: usize, len: usize| at + len <= size;
    // SAFETY: each write lands inside the `size` bytes reserved (checked); offsets are
    // multiples of 8.
    unsafe {
        write_header(base.cast(), kind, call, flags);
        let mut at = HEADER_SIZE;
        let args = base.add(at).cast::<u64>();
        for i in 0..kind.arg_count() {
            args.add(i).write(call.args[i]);
        }
        at += 8 * kind.arg_count();
        if flags & EVENT_HAS_SOCK != 0 {
            const LEN: usize = core::mem::size_of::<SockState>();
            if fits(at, LEN) {
                base.add(at).cast::<SockState>().write(call.sock);
            }
            at += LEN;
        }
        if flags & EVENT_HAS_KERNEL != 0 {
            const LEN: usize = core::mem::size_of::<KernelSock>();
            if fits(at, LEN) {
                base.add(at).cast::<KernelSock>().write(call.kernel);
            }
            at += LEN;
        }
        if sections != Sections::None {
            if cap == USER_CAP {
                if fits(at, USER_HEADER_SIZE + USER_CAP) {
                    read_user_into(base.add(at), &call.user);
                }
            } else if cap == USER_CAPS[1] {
                if fits(at, USER_HEADER_SIZE + USER_CAPS[1]) {
                    write_user::<{ USER_CAPS[1] / 8 }>(base.add(at), &call.user);
                }
            } else if fits(at, USER_HEADER_SIZE + USER_CAPS[0]) {
                write_user::<{ USER_CAPS[0] / 8 }>(base.add(at), &call.user);
            }
            at += USER_HEADER_SIZE + cap;
        }
        if sections == Sections::AddrAndLen && fits(at, USER_HEADER_SIZE + ADDRLEN_CAP) {
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
    size as u32
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
        write_comm(&raw mut (*header).comm);
    }
}

/// The current task's comm at `comm` (8-aligned). Where the task is a BTF pointer (tp_btf),
/// two direct loads from `task_struct.comm`; else the helper, a call and a copy that cost
/// some 30 ns more per record on the bench machine.
#[inline(always)]
pub unsafe fn write_comm(comm: *mut [u8; COMM_LEN]) {
    let words = comm.cast::<u64>();
    if let Some(o) = offsets().filter(|_| config().direct_task != 0) {
        // SAFETY: a BTF pointer to the current task: the verifier checks each load against
        // struct task_struct (the offset is a constant of the frozen CONFIG) and guards it
        // against faults; `comm` holds two words.
        unsafe {
            let task = gen::bpf_get_current_task_btf().cast::<u8>();
            let name = task.add(o.task_comm as usize).cast::<u64>();
            words.write(name.read_volatile());
            words.add(1).write(name.add(1).read_volatile());
        }
        return;
    }
    // SAFETY: the helper writes at most COMM_LEN bytes at `comm`.
    unsafe {
        if bpf_get_current_comm(comm.cast(), COMM_LEN as u32) != 0 {
            zero(comm.cast::<[u64; COMM_LEN / 8]>());
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

/// Writes a user-memory section of `WORDS` words (one of `USER_CAPS`) at `dst`, from the
/// stack copy.
#[inline(always)]
unsafe fn write_user<const WORDS: usize>(dst: *mut u8, user: &UserCopy) {
    // SAFETY: the caller checked that USER_HEADER_SIZE + 8 * WORDS bytes fit at `dst`.
    unsafe {
        dst.cast::<UserHeader>().write(UserHeader {
            status: user.status,
            cap: (8 * WORDS) as u16,
            len: user.len,
        });
        let words = dst.add(USER_HEADER_SIZE).cast::<u64>();
        copy_words::<WORDS>(words, user.bytes.as_ptr().cast::<u64>());
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
