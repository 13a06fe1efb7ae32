//! Arguments of the per-syscall entry tracepoints (the few entry stamps).
//!
//! kernel ABI: events/syscalls/sys_enter_*/format: common header (8 bytes), `int __syscall_nr`
//! at 8, then each argument as 8 bytes from offset 16.

use aya_ebpf::programs::TracePointContext;
use dualstack_common::ARGS;

const FIRST_ARG: usize = 16;

/// The first `n` arguments of a sys_enter record; the others are left zero.
pub fn sys_enter_args(ctx: &TracePointContext, n: usize) -> [u64; ARGS] {
    let mut args = [0u64; ARGS];
    for (i, arg) in args.iter_mut().enumerate().take(n) {
        // SAFETY: the record holds at least `n` arguments; read through a probe helper.
        *arg = unsafe { ctx.read_at::<u64>(FIRST_ARG + 8 * i) }.unwrap_or(0);
    }
    args
}
