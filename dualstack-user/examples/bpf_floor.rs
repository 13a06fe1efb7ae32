//! Attaches the bench's floor: an empty program on `tp_btf/sys_exit`, the exit dispatcher's
//! hook. Prints `ready` once attached and keeps it attached until standard input closes.
//!
//! Run as root: `cargo run --release -p dualstack-user --example bpf_floor` (`cargo xtask
//! bench` runs it beside untraced, dualstack and strace runs).

use std::io::Read as _;

use dualstack::kernel::loader::Floor;

fn main() -> anyhow::Result<()> {
    let floor = Floor::attach()?;
    println!("ready");
    let mut rest = Vec::new();
    std::io::stdin().read_to_end(&mut rest)?;
    drop(floor);
    Ok(())
}
