//! The floor the bench measures against: the exit dispatcher's hook with a program that does
//! nothing. Loaded only by the bench (`dualstack_user::kernel::loader::Floor`).

use aya_ebpf::{macros::btf_tracepoint, programs::BtfTracePointContext};

#[btf_tracepoint(function = "sys_exit")]
pub fn floor_sys_exit(_ctx: BtfTracePointContext) -> u32 {
    0
}
