//! Host-side stub of the kernel crate: dualstack-user's build script depends on it so that cargo
//! rebuilds the kernel programs when this crate changes. The programs live in the binary target.
#![no_std]
