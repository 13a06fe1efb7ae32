//! `net.ipv6.bindv6only` of a process's network namespace, for events whose socket the kernel
//! programs could not read (no BTF): the default a new AF_INET6 socket took is its netns's,
//! not the tracer's. Read once per namespace, from a thread that enters it.

use std::collections::HashMap;

use crate::snapshot::netns::{by_inode, netns_of, run_in};

/// The defaults seen so far, by netns inode.
#[derive(Debug, Default)]
pub struct NetnsDefaults {
    by_netns: HashMap<u64, Option<bool>>,
}

impl NetnsDefaults {
    /// The default of the netns `pid` is in; None when the process or its netns cannot be
    /// read (it may have exited).
    pub fn of_process(&mut self, pid: u32) -> Option<bool> {
        let inode = netns_of(pid).ok()?;
        *self.by_netns.entry(inode).or_insert_with(|| read(inode))
    }
}

fn read(inode: u64) -> Option<bool> {
    let netns = by_inode(inode).ok()?;
    run_in(&netns, crate::host::bindv6only).ok()?
}
