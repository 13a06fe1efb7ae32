//! Maps and the read-only run-time configuration shared by all programs.

use aya_ebpf::{
    macros::map,
    maps::{HashMap, LruHashMap, PerCpuArray, RingBuf},
};
use dualstack_common::{counter, PendingCall, SockKey, SockState, TraceConfig, SOCKETS_DEFAULT};

/// Written by the loader before the programs load (a `const volatile` in libbpf terms).
#[no_mangle]
static CONFIG: TraceConfig = TraceConfig::DEFAULT;

/// The configuration, read through a volatile load so the compiler cannot fold the default in.
#[inline(always)]
pub fn config() -> &'static TraceConfig {
    // SAFETY: CONFIG is a valid static; the volatile read only defeats constant folding.
    unsafe { &*core::ptr::read_volatile(&&raw const CONFIG) }
}

/// Completed calls, one `SyscallEvent` each, and follow mode's `TaskRecord`s. The loader may
/// resize it.
#[map]
pub static EVENTS: RingBuf = RingBuf::with_byte_size(16 << 20, 0);

/// Calls between enter and exit, keyed by pid_tgid. A plain hash (cheaper than LRU on the hot
/// path): every entry is removed at the call's exit or at the thread's exit.
#[map]
pub static PENDING: HashMap<u64, PendingCall> = HashMap::with_max_entries(16384, 0);

/// Per-CPU room to build a `PendingCall`: too large for the 512-byte eBPF stack.
#[map]
pub static SCRATCH: PerCpuArray<PendingCall> = PerCpuArray::with_max_entries(1, 0);

/// What is known of each socket, keyed by the kernel socket (see `SockKey`). A plain hash, not
/// an LRU: a live socket's state is never evicted. A full map refuses new sockets, which is
/// counted (`STATE_FULL`) and marked on their events; user space sweeps out the state of
/// sockets that died without a close. The loader sets the size (`--max-sockets`).
#[map]
pub static SOCKETS: HashMap<SockKey, SockState> = HashMap::with_max_entries(SOCKETS_DEFAULT, 0);

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
