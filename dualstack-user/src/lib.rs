//! dualstack: trace the socket lifecycle with eBPF and tell what each listener accepts.
//!
//! The data flow, floor by floor (each module imports only from the floors below it):
//! - [`host`], [`schema`], [`sockaddr`], [`clock`]: facts of this host, the JSON schema, plain
//!   types. They import nothing of dualstack (but `schema` the syscall names).
//! - [`kernel`]: loads and attaches the kernel programs (offsets from the running kernel's
//!   BTF), reads their ring buffer, sweeps their socket map.
//! - [`decode`] turns ring-buffer bytes into a [`model::Event`]; [`filter`] is the one
//!   filter of every command; [`verdict`] says what a socket accepts.
//! - [`snapshot`] lists the listening sockets of every network namespace (`listeners`).
//! - [`format`]: renderings (strace text, table rows, `listeners` rows).
//! - [`pipeline`]: an event becomes a [`pipeline::Record`] (ancestry, verdict, port holder)
//!   that renders itself: the one path of `trace`, the daemon and the tests.
//! - [`outputs`]: where records go: the terminal, the daemon's client queues, the event log.
//! - [`daemon`] wires the outputs for many clients; [`export`] reads the event log back.
//! - [`audit`]: hosts' published listener snapshots judged by a policy file, one row per
//!   listener with the rules it breaks. It imports [`schema`] (and [`format`]'s quoting),
//!   never [`daemon`], [`outputs`] or the command line.
//!
//! The command line is the binary's (src/cli), not the library's.

pub mod audit;
pub mod clock;
pub mod daemon;
pub mod decode;
pub mod export;
pub mod filter;
pub mod format;
#[cfg(test)]
mod fuzz;
pub mod host;
pub mod kernel;
pub mod model;
pub mod outputs;
pub mod pipeline;
pub mod schema;
pub mod snapshot;
pub mod sockaddr;
pub mod verdict;
