//! Errors of the library, with messages that say what is wrong and what to do.

use std::{io, path::PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "permission denied: dualstack loads eBPF programs and needs root, or the capabilities \
         CAP_BPF and CAP_PERFMON; this process lacks {0} (run it with sudo)"
    )]
    Permission(String),
    #[error(
        "tracefs is mounted at /sys/kernel/tracing but this process may not read it ({0}): \
         dualstack reads tracepoint ids there; run it as root, or as a user with \
         CAP_DAC_READ_SEARCH besides CAP_BPF and CAP_PERFMON"
    )]
    TracefsUnreadable(#[source] io::Error),
    #[error(
        "tracefs is not available at /sys/kernel/tracing and mounting it failed ({0}); mount it \
         with `mount -t tracefs nodev /sys/kernel/tracing` (needs a kernel with CONFIG_FTRACE)"
    )]
    Tracefs(#[source] io::Error),
    #[error(
        "tracepoint {0} does not exist on this kernel: dualstack needs syscall tracepoints \
         (CONFIG_FTRACE_SYSCALLS)"
    )]
    MissingTracepoint(String),
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("loading the eBPF programs failed: {0}")]
    Load(#[from] aya::EbpfError),
    #[error("eBPF program {name} failed to load or attach: {source}")]
    Program {
        name: String,
        source: aya::programs::ProgramError,
    },
    #[error("eBPF map {name}: {source}")]
    Map {
        name: &'static str,
        source: aya::maps::MapError,
    },
    #[error("eBPF map {0} is missing from the object")]
    MissingMap(&'static str),
    #[error(
        "the kernel's BTF (/sys/kernel/btf/vmlinux) cannot be read for the tp_btf exit hook: \
         {0}; use `--exit-hook raw-tp`"
    )]
    KernelBtf(String),
    #[error("dualstack reads syscall arguments from x86_64 registers and does not run on {0} yet")]
    Architecture(&'static str),
    #[error(transparent)]
    Io(#[from] io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
