//! Attaches one of the bench's floors on `tp_btf/sys_exit`, the exit dispatcher's hook: the
//! empty program; with `record` the program that writes a record per traced call and does
//! nothing else (its records are read and dropped here); with `entries` the empty program and
//! empty programs on the syscall-entry tracepoints dualstack attaches. Prints `ready` once attached and keeps
//! it attached until standard input closes.
//!
//! Run as root: `cargo run --release -p dualstack-user --example bpf_floor [record|entries]` (`cargo
//! xtask bench` runs it beside untraced, dualstack and strace runs).

use std::{io::Read as _, sync::mpsc, time::Duration};

use dualstack::kernel::loader::{Floor, FloorKind};

fn main() -> anyhow::Result<()> {
    let kind = match std::env::args().nth(1).as_deref() {
        None => FloorKind::Empty,
        Some("record") => FloorKind::Record,
        Some("entries") => FloorKind::WithEntries,
        Some(other) => anyhow::bail!("unknown floor {other:?}: none, `record` or `entries`"),
    };
    let mut floor = Floor::attach(kind)?;
    println!("ready");
    let (closed, stdin_closed) = mpsc::channel();
    std::thread::spawn(move || {
        let mut rest = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut rest);
        let _ = closed.send(());
    });
    loop {
        if kind == FloorKind::Record {
            floor.drain()?;
        }
        match stdin_closed.recv_timeout(Duration::from_millis(2)) {
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    drop(floor);
    Ok(())
}
