//! Follow mode: the set of traced tgids grows with fork and shrinks with exit.

use aya_ebpf::{
    helpers::bpf_get_current_pid_tgid, macros::tracepoint, programs::TracePointContext,
};

use crate::maps::{config, PENDING, TRACED};

/// sched_process_fork: a child of a traced process (or of the tracer itself, which is how
/// `dualstack trace -- CMD` traces CMD from its first instruction) is traced too.
#[tracepoint]
pub fn sched_process_fork(ctx: TracePointContext) -> u32 {
    let cfg = config();
    if cfg.follow == 0 {
        return 0;
    }
    let parent = (bpf_get_current_pid_tgid() >> 32) as u32;
    // SAFETY: presence test only.
    if parent != cfg.tracer_tgid && unsafe { TRACED.get(&parent) }.is_none() {
        return 0;
    }
    // kernel ABI: child_pid's offset differs across kernels; the loader reads it from tracefs.
    // SAFETY: read through a probe helper.
    if let Ok(child) = unsafe { ctx.read_at::<u32>(cfg.fork_child_pid_offset as usize) } {
        let _ = TRACED.insert(&child, &1, 0);
    }
    0
}

/// sched_process_exit: forget a dead thread's parked call, and a dead process's tgid.
#[tracepoint]
pub fn sched_process_exit(ctx: TracePointContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let _ = PENDING.remove(&pid_tgid);
    let cfg = config();
    if cfg.follow == 0 {
        return 0;
    }
    let tgid = (pid_tgid >> 32) as u32;
    let group_dead = if cfg.exit_group_dead_offset == u32::MAX {
        tgid == pid_tgid as u32
    } else {
        // SAFETY: read through a probe helper at an offset taken from tracefs.
        unsafe { ctx.read_at::<u8>(cfg.exit_group_dead_offset as usize) }.unwrap_or(0) != 0
    };
    if group_dead {
        let _ = TRACED.remove(&tgid);
    }
    0
}
