//! dualstack: trace the socket lifecycle with eBPF and tell what each listener accepts.
//!
//! Data flow: [`loader`] attaches the kernel programs; [`reader`] takes records from their ring
//! buffer; [`decode`] turns bytes into a [`model::Event`]; [`filter`] keeps what the user asked
//! for; [`format`] writes strace text or JSON; [`cli`] wires it into commands.
//! [`btf`] finds, in the running kernel's BTF, the struct offsets the kernel programs read.

pub mod btf;
pub mod cli;
pub mod clock;
pub mod daemon;
pub mod decode;
pub mod enrich;
pub mod error;
pub mod filter;
pub mod format;
pub mod loader;
pub mod model;
pub mod reader;
pub mod sockaddr;
pub mod verdict;
