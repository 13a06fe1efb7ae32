//! Maps and the read-only run-time configuration shared by all programs.

use aya_ebpf::{
    macros::map,
    maps::{HashMap, LruHashMap, PerCpuArray, RingBuf},
};
use dualstack_common::{counter, PendingCall, SockKey, SockState, TraceConfig};

/// Written by the loader before the programs load (a `const volatile` in libbpf terms).
#[no_mangle]
static CONFIG: TraceConfig = TraceConfig::DEFAULT;

/// The configuration, read through a volatile load so the compiler cannot fold the default in.
#[inline(always)]
pub fn config() -> &'static TraceConfig {
    // SAFETY: CONFIG is a valid static; the volatile read only defeats constant folding.
    unsafe { &*core::ptr::read_volatile(&&raw const CONFIG) }
}

/// Completed calls, one `SyscallEvent` each. The loader may resize it.
#[map]
pub static EVENTS: RingBuf = RingBuf::with_byte_size(16 << 20, 0);

/// Calls between enter and exit, keyed by pid_tgid. A plain hash (cheaper than LRU on the hot
/// path): every entry is removed at the call's exit or at the thread's exit.
#[map]
pub static PENDING: HashMap<u64, PendingCall> = HashMap::with_max_entries(16384, 0);

/// Per-CPU room to build a `PendingCall`: too large for the 512-byte eBPF stack.
#[map]
pub static SCRATCH: PerCpuArray<PendingCall> = PerCpuArray::with_max_entries(1, 0);

/// What is known of each open socket, keyed by (tgid, fd).
/// LRU: processes exit without closing their sockets. Per-CPU LRU lists avoid a global lock.
#[map]
pub static SOCKETS: LruHashMap<SockKey, SockState> =
    LruHashMap::with_max_entries(65536, BPF_F_NO_COMMON_LRU);

/// tgids to trace in follow mode, grown by fork and shrunk by exit.
#[map]
pub static TRACED: LruHashMap<u32, u8> = LruHashMap::with_max_entries(65536, 0);

// kernel ABI: include/uapi/linux/bpf.h.
const BPF_F_NO_COMMON_LRU: u32 = 1 << 1;

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
