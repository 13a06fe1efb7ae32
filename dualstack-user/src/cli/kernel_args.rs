//! The options of the kernel programs, shared by `trace` and `daemon`.

use clap::{Args, ValueEnum};
use dualstack::kernel::loader::{ExitHook, StateMap, KERNEL_BTF};

#[derive(Args, Clone, Debug)]
pub struct KernelArgs {
    /// Kernel BTF to resolve struct offsets from, or `none` to read nothing from kernel sockets
    /// (V6ONLY and verdicts are then inferred from the calls seen).
    #[arg(long, value_name = "PATH|none", default_value = KERNEL_BTF)]
    pub btf: String,
    /// Size of the kernel's event ring buffer, in MiB (a power of two).
    #[arg(long, default_value_t = 16)]
    pub ring_mib: u32,
    /// Sockets whose state (family, options, bound address) the kernel keeps at once.
    #[arg(long, default_value_t = dualstack_common::SOCKETS_DEFAULT)]
    pub max_sockets: u32,
    /// How the kernel program that sees each syscall's exit is attached: `tp-btf` loads the
    /// saved registers directly (needs /sys/kernel/btf/vmlinux), `raw-tp` copies them through
    /// a helper (works without kernel BTF); `auto` takes tp-btf when it can.
    #[arg(long, value_enum, default_value_t = ExitHookArg::Auto)]
    pub exit_hook: ExitHookArg,
    /// The kernel's per-socket state map: `hash` never evicts a live socket's state but
    /// refuses new sockets when full (they are then reported); `lru` never refuses, but may
    /// evict the state of an idle live socket.
    #[arg(long, value_enum, default_value_t = StateMapArg::Hash)]
    pub state_map: StateMapArg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExitHookArg {
    Auto,
    TpBtf,
    RawTp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StateMapArg {
    Hash,
    Lru,
}

impl KernelArgs {
    pub fn exit_hook(&self) -> ExitHook {
        match self.exit_hook {
            ExitHookArg::Auto => ExitHook::Auto,
            ExitHookArg::TpBtf => ExitHook::TpBtf,
            ExitHookArg::RawTp => ExitHook::RawTp,
        }
    }

    pub fn state_map(&self) -> StateMap {
        match self.state_map {
            StateMapArg::Hash => StateMap::Hash,
            StateMapArg::Lru => StateMap::Lru,
        }
    }
}
