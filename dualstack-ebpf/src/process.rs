//! Follow mode: the set of traced tasks grows with fork and shrinks with exit, and user space
//! is told of both, in order with the calls.

use aya_ebpf::{
    helpers::{bpf_get_current_pid_tgid, bpf_ktime_get_ns},
    macros::tracepoint,
    programs::TracePointContext,
};
use dualstack_common::{counter, TaskRecord, ABI_VERSION, TASK_EXIT, TASK_FORK, TASK_GROUP_DEAD};

use crate::maps::{config, count, ENTERED, EVENTS, TRACED};

/// sched_process_fork: a child (process or thread) of a traced process is traced too. It runs
/// in the parent before the child is first scheduled, so the record precedes the child's calls.
/// With `task_events`, every fork on the host is told, so that user space knows each process's
/// ancestors (a `pid` filter keeps a process and its descendants).
#[tracepoint]
pub fn sched_process_fork(ctx: TracePointContext) -> u32 {
    let cfg = config();
    let pid_tgid = bpf_get_current_pid_tgid();
    let parent = (pid_tgid >> 32) as u32;
    // SAFETY: presence test only.
    let followed = cfg.follow != 0 && unsafe { TRACED.get(&parent) }.is_some();
    if !followed && cfg.task_events == 0 {
        return 0;
    }
    // kernel ABI: child_pid's offset differs across kernels; the loader reads it from tracefs.
    // SAFETY: read through a probe helper.
    if let Ok(child) = unsafe { ctx.read_at::<u32>(cfg.fork_child_pid_offset as usize) } {
        if followed {
            let _ = TRACED.insert(&child, &1, 0);
        }
        tell(TASK_FORK, 0, pid_tgid, child);
    }
    0
}

/// sched_process_exit: forget a dead thread's entry stamp, its id, and a dead process's tgid.
#[tracepoint]
pub fn sched_process_exit(ctx: TracePointContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let _ = ENTERED.remove(&pid_tgid);
    let cfg = config();
    let tgid = (pid_tgid >> 32) as u32;
    let tid = pid_tgid as u32;
    // SAFETY: presence test only.
    let followed = cfg.follow != 0 && unsafe { TRACED.get(&tgid) }.is_some();
    if !followed && cfg.task_events == 0 {
        return 0;
    }
    let group_dead = if cfg.exit_group_dead_offset == u32::MAX {
        tgid == tid
    } else {
        // SAFETY: read through a probe helper at an offset taken from tracefs.
        unsafe { ctx.read_at::<u8>(cfg.exit_group_dead_offset as usize) }.unwrap_or(0) != 0
    };
    // A thread's id went in at its creation: it must not outlive it, or a process that reuses
    // the id would be traced.
    if followed && tid != tgid {
        let _ = TRACED.remove(&tid);
    }
    if followed && group_dead {
        let _ = TRACED.remove(&tgid);
    }
    tell(
        TASK_EXIT,
        if group_dead { TASK_GROUP_DEAD } else { 0 },
        pid_tgid,
        0,
    );
    0
}

#[inline(always)]
fn tell(kind: u32, flags: u16, pid_tgid: u64, child: u32) {
    let record = TaskRecord {
        kind,
        version: ABI_VERSION,
        flags,
        pid_tgid,
        // SAFETY: plain helper call.
        ts_ns: unsafe { bpf_ktime_get_ns() },
        child,
        _pad: 0,
    };
    // Wake the reader at once: these records are rare, and the end of tracing waits on them.
    if EVENTS.output::<TaskRecord>(&record, 0).is_err() {
        count(counter::TASK_RING_FULL);
    }
}
