//! The kernel side, seen from user space: the programs loaded and attached with the running
//! kernel's struct offsets (from its BTF), their ring buffer read, their socket map swept.

pub mod btf;
pub mod error;
pub mod loader;
pub mod losses;
pub mod reader;
pub mod sweep;
