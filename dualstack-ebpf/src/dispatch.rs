//! The one exit program: it sees every syscall's exit on the host, returns at once for the
//! ones not traced, and hands the others to their handler with the arguments read from the
//! saved user registers.
//!
//! Two builds of the same dispatcher: `tp_btf/sys_exit`, which loads the registers directly
//! (the verifier knows `struct pt_regs` from the kernel's BTF), and a `raw_tracepoint/sys_exit`
//! fallback for kernels without BTF, which copies them through a helper.

use core::mem::MaybeUninit;

use aya_ebpf::{
    helpers::{bpf_get_current_pid_tgid, bpf_probe_read_kernel},
    macros::{btf_tracepoint, raw_tracepoint},
    programs::{BtfTracePointContext, RawTracePointContext},
};
use dualstack_common::{
    args::Args,
    counter,
    syscall_nr::{x86_64::*, x86_64_syscall},
    Syscall,
};

use crate::{
    bind::{exit_bind, exit_listen},
    conn::{exit_accept, exit_connect},
    filter::{call_wanted, task_wanted},
    maps::count,
    record::{emit, Call},
    socket::{exit_close, exit_socket, exit_socketpair},
    sockopt::exit_setsockopt,
    state,
};

#[btf_tracepoint(function = "sys_exit")]
pub fn sys_exit(ctx: BtfTracePointContext) -> u32 {
    if let Some((kind, args)) = traced_call(&ctx) {
        on_exit(kind, &args, ctx.arg(1));
    }
    0
}

/// At `tp_btf/sys_exit`: the syscall and its arguments, when it is a traced one made by a
/// 64-bit task. (The bench's record floor starts the same way.)
#[inline(always)]
pub fn traced_call(ctx: &BtfTracePointContext) -> Option<(Syscall, Args)> {
    // kernel ABI: trace_sys_exit(struct pt_regs *regs, long ret).
    let regs: *const u8 = ctx.arg(0);
    // SAFETY: a BTF pointer to the task's saved registers: the verifier checks each load
    // against struct pt_regs and guards it against faults.
    let reg = |offset: usize| unsafe { regs.add(offset).cast::<u64>().read_volatile() };
    let kind = x86_64_syscall(reg(REGS_ORIG_AX))?;
    if reg(REGS_CS) & 0xffff != USER_CS {
        return None;
    }
    let args = [
        reg(REGS_DI),
        reg(REGS_SI),
        reg(REGS_DX),
        reg(REGS_R10),
        reg(REGS_R8),
        reg(REGS_R9),
    ];
    Some((kind, args))
}

#[raw_tracepoint(tracepoint = "sys_exit")]
pub fn sys_exit_raw(ctx: RawTracePointContext) -> u32 {
    let regs: *const u8 = ctx.arg(0);
    // SAFETY: the helper checks the address.
    let Ok(nr) = (unsafe { bpf_probe_read_kernel(regs.add(REGS_ORIG_AX).cast::<u64>()) }) else {
        return 0;
    };
    let Some(kind) = x86_64_syscall(nr) else {
        return 0;
    };
    // One copy of r10..cs: [r10, r9, r8, ax, cx, dx, si, di, orig_ax, ip, cs].
    // SAFETY: the helper checks the address.
    let Ok(block) = (unsafe { bpf_probe_read_kernel(regs.add(REGS_R10).cast::<[u64; 11]>()) })
    else {
        return 0;
    };
    if block[10] & 0xffff != USER_CS {
        return 0;
    }
    let args = [block[7], block[6], block[5], block[0], block[2], block[1]];
    on_exit(kind, &args, ctx.arg(1));
    0
}

const _: () = assert!(REGS_BLOCK == 11 * 8);

/// The handlers run as BPF subprograms: each takes its own stack frame for its temporaries,
/// where inlined they would all add up in the dispatcher's 512 bytes. Each returns the flags
/// of the call's record: a value the caller uses, so the compiler keeps it in r0 (the
/// verifier rejects a subprogram that leaves a stack pointer there, as one returning nothing
/// may).
macro_rules! subprograms {
    ($($name:ident => $handler:path),* $(,)?) => {
        $(
            #[inline(never)]
            fn $name(call: &mut Call) -> u16 {
                $handler(call);
                call.record_flags()
            }
        )*
    };
}

subprograms! {
    socket => exit_socket,
    socketpair => exit_socketpair,
    setsockopt => exit_setsockopt,
    bind => exit_bind,
    listen => exit_listen,
    connect => exit_connect,
    accept => exit_accept,
    close => exit_close,
}

#[inline(always)]
fn on_exit(kind: Syscall, args: &Args, ret: i64) {
    let pid_tgid = bpf_get_current_pid_tgid();
    if !task_wanted(pid_tgid) {
        return;
    }
    let mut slot = MaybeUninit::uninit();
    let call = Call::init(&mut slot, kind, pid_tgid, args, ret);
    // Each kind runs its handler, then writes a record of its own layout (see `emit`).
    macro_rules! run {
        ($($kind:ident => $handler:ident),* $(,)?) => {
            match kind {
                $(Syscall::$kind => {
                    let flags = $handler(call);
                    finish::<{ Syscall::$kind as u32 }>(call, flags);
                })*
            }
        };
    }
    run! {
        Socket => socket,
        Socketpair => socketpair,
        Setsockopt => setsockopt,
        Bind => bind,
        Listen => listen,
        Connect => connect,
        Accept => accept,
        Accept4 => accept,
        Close => close,
    }
}

/// After the handler: the record, if the call passes the filters, then the state a close
/// released.
#[inline(always)]
fn finish<const KIND: u32>(call: &Call, flags: u16) {
    if call_wanted(call) != 0 && emit::<KIND>(call, flags) == 0 {
        count(counter::RING_FULL);
    }
    if let Some(key) = call.forget {
        state::remove(&key);
    }
}
