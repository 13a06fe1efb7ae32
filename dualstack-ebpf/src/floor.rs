//! The floors the bench measures against, on the exit dispatcher's hook. Loaded only by the
//! bench (`dualstack_user::kernel::loader::Floor`).
//!
//! - `floor_sys_exit` does nothing: what the hook itself costs.
//! - `floor_sys_enter` does nothing either, attached beside it to the four syscall-entry
//!   tracepoints dualstack uses (close, connect, accept, accept4): what they cost every other
//!   syscall (the kernel tests each syscall's number against the enabled ones).
//! - `floor_record_sys_exit` does the least that any design writing a record per traced call
//!   must: it keeps the traced syscalls by number, reserves a record of the socket loop's mean
//!   size in the ring, writes its header (kind, pid, time, return value, comm, read as the
//!   dispatcher reads it) and arguments,
//!   and submits it. No socket, no state, no filter: what the real dispatcher adds on top of
//!   it is what knowing the socket costs.

use aya_ebpf::{
    helpers::{bpf_get_current_pid_tgid, bpf_ktime_get_ns},
    macros::{btf_tracepoint, tracepoint},
    programs::{BtfTracePointContext, TracePointContext},
};
use dualstack_common::{EventHeader, ABI_VERSION, HEADER_SIZE};

use crate::{dispatch::traced_call, maps::EVENTS, record::write_comm};

#[btf_tracepoint(function = "sys_exit")]
pub fn floor_sys_exit(_ctx: BtfTracePointContext) -> u32 {
    0
}

#[tracepoint]
pub fn floor_sys_enter(_ctx: TracePointContext) -> u32 {
    0
}

/// The socket loop's records average 211 bytes.
const FLOOR_RECORD: usize = 208;

// kernel ABI: include/uapi/linux/bpf.h, BPF_RB_NO_WAKEUP.
const BPF_RB_NO_WAKEUP: u64 = 1;

#[btf_tracepoint(function = "sys_exit")]
pub fn floor_record_sys_exit(ctx: BtfTracePointContext) -> u32 {
    let Some((kind, args)) = traced_call(&ctx) else {
        return 0;
    };
    let Some(mut entry) = EVENTS.reserve_bytes(FLOOR_RECORD, 0) else {
        return 0;
    };
    let base = entry.as_mut_ptr();
    // SAFETY: FLOOR_RECORD bytes are reserved at `base`: the header and six arguments fit.
    unsafe {
        let header = base.cast::<EventHeader>();
        let ts = bpf_ktime_get_ns();
        (&raw mut (*header).kind).write(kind as u32);
        (&raw mut (*header).version).write(ABI_VERSION);
        (&raw mut (*header).flags).write(0);
        (&raw mut (*header).pid_tgid).write(bpf_get_current_pid_tgid());
        (&raw mut (*header).ts_ns).write(ts);
        (&raw mut (*header).enter_ts_ns).write(ts);
        (&raw mut (*header).ret).write(ctx.arg(1));
        write_comm(&raw mut (*header).comm);
        let words = base.add(HEADER_SIZE).cast::<u64>();
        for (i, arg) in args.iter().enumerate() {
            words.add(i).write(*arg);
        }
    }
    entry.submit(BPF_RB_NO_WAKEUP);
    0
}

const _: () = assert!(HEADER_SIZE + 6 * 8 <= FLOOR_RECORD);
