//! Command-line interface: one module per command.

pub mod audit;
pub mod audit_follow;
pub mod completions;
pub mod daemon;
pub mod export;
pub mod filter_args;
pub mod fleet_stream;
pub mod followed;
pub mod kernel_args;
pub mod listeners;
pub mod man;
pub mod stream;
pub mod trace;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "dualstack",
    version,
    about = "Trace the socket lifecycle with eBPF and tell what each listener accepts: IPv4, IPv6 or both."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once
pub enum Command {
    /// Print socket, setsockopt, bind, listen, connect, accept and close calls as strace does.
    Trace(trace::TraceArgs),
    /// List every listening TCP and bound UDP socket in every network namespace, with what it
    /// accepts.
    Listeners(listeners::ListenersArgs),
    /// Print events from the event log as strace text, JSON or CSV, with the trace filters.
    Export(export::ExportArgs),
    /// Trace every process and serve the events to clients over a Unix socket (and TCP).
    Daemon(daemon::DaemonArgs),
    /// Print the events a running `dualstack daemon` serves.
    Stream(stream::StreamArgs),
    /// The fleet's listeners from NATS (each host's daemon publishes them), judged by a policy.
    Audit(audit::AuditArgs),
    /// Print the shell completion script for bash, zsh or fish.
    Completions(completions::CompletionsArgs),
    /// Write the manual pages into a directory (for packaging).
    #[command(hide = true)]
    Man(man::ManArgs),
}
