//! Maps and the read-only run-time configuration shared by all programs.

use aya_ebpf::{
    macros::map,
    maps::{HashMap, LruHashMap, PerCpuArray, RingBuf},
};
use dualstack_common::{counter, KernelSock, SockKey, SockState, TraceConfig, SOCKETS_DEFAULT};

/// Written by the loader before the programs load (a `const volatile` in libbpf terms).
#[no_mangle]
static CONFIG: TraceConfig = TraceConfig::DEFAULT;

/// The configuration, read through a volatile load so the compiler cannot fold the default in.
#[inline(always)]
pub fn config() -> &'static TraceConfig {
    // SAFETY: CONFIG is a valid static; the volatile read only defeats constant folding.
    unsafe { &*core::ptr::read_volatile(&&raw const CONFIG) }
}

/// Call records, sized to each call, and follow mode's `TaskRecord`s. The loader may resize it.
#[map]
pub static EVENTS: RingBuf = RingBuf::with_byte_size(16 << 20, 0);

/// What the entry of a call leaves for its exit, for the few calls that need it.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct EnterStamp {
    /// CLOCK_MONOTONIC nanoseconds at entry.
    pub ts_ns: u64,
    /// A raw `Syscall`: a stamp of another call (whose exit was not seen) is stale.
    pub kind: u32,
    /// accept, accept4: `*addrlen` before the call (the call overwrites it); `ADDRLEN_UNREAD`
    /// when it could not be read.
    pub addrlen: u32,
    /// close: non-zero when the descriptor held the last reference to its socket.
    pub last_ref: u32,
    pub _pad: u32,
    /// close: the kernel's view of the socket, read while the descriptor still existed.
    pub kernel: KernelSock,
}

pub const ADDRLEN_UNREAD: u32 = u32::MAX;

/// Entry stamps of calls under way, keyed by pid_tgid: only connect, accept, accept4 (they
/// block, and `-t` prints their entry time) and close of a socket (the descriptor is gone at
/// exit). The other traced calls need nothing from their entry. A plain hash: each entry is
/// removed at the call's exit or the thread's exit.
#[map]
pub static ENTERED: HashMap<u64, EnterStamp> = HashMap::with_max_entries(16384, 0);

/// What is known of each socket, keyed by the kernel socket (see `SockKey`). A plain hash: a
/// live socket's state is never evicted. A full map refuses new sockets, which is counted
/// (`STATE_FULL`) and marked on their events; the programs remove a state at the close of the
/// socket's last descriptor, and user space sweeps out the state of sockets that died without
/// a close (process exit, exec). The loader sets the size (`--max-sockets`).
#[map]
pub static SOCKETS: HashMap<SockKey, SockState> = HashMap::with_max_entries(SOCKETS_DEFAULT, 0);

/// The same, as an LRU map, used instead when `CONFIG.state_lru` is set: it never refuses a
/// socket, but may evict a live one's state. The bench measures both; the loader shrinks the
/// one not in use to a single entry.
#[map]
pub static SOCKETS_LRU: LruHashMap<SockKey, SockState> =
    LruHashMap::with_max_entries(SOCKETS_DEFAULT, 0);

/// Task ids to trace in follow mode (processes, and the threads they start), added at fork and
/// removed at exit.
#[map]
pub static TRACED: LruHashMap<u32, u8> = LruHashMap::with_max_entries(65536, 0);

/// `dualstack_common::counter` slots.
#[map]
pub static COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(counter::COUNT, 0);

/// Adds one to a counter slot.
#[inline(always)]
pub fn count(slot: u32) {
    if let Some(value) = COUNTERS.get_ptr_mut(slot) {
        // SAFETY: per-CPU slot, no concurrent writer on this CPU.
        unsafe { *value += 1 };
    }
}
