//! dualstack: trace the socket lifecycle with eBPF and tell what each listener accepts.
//!
//! Data flow: [`loader`] attaches the kernel programs; [`reader`] takes records from their ring
//! buffer; [`decode`] turns bytes into a [`model::Event`]; [`filter`] keeps what the user asked
//! for; [`enrich`] adds each listener's [`verdict`] and [`holder`] names who holds a refused
//! port; [`format`] writes strace text or JSON; [`cli`] wires it into commands.
//! [`btf`] finds, in the running kernel's BTF, the struct offsets the kernel programs read.
//! [`snapshot`] lists the listening sockets of every network namespace without eBPF
//! (`listeners`). [`daemon`] serves the events to many clients and writes them through
//! [`sink`] (the rotated event log); [`export`] reads that log back.

pub mod btf;
pub mod cli;
pub mod clock;
pub mod daemon;
pub mod decode;
pub mod enrich;
pub mod error;
pub mod export;
pub mod filter;
pub mod format;
#[cfg(test)]
mod fuzz;
pub mod holder;
pub mod loader;
pub mod model;
pub mod netns_default;
pub mod reader;
pub mod sink;
pub mod snapshot;
pub mod sockaddr;
pub mod sweep;
pub mod verdict;
