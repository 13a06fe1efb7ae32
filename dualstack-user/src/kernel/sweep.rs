//! The kernel forgets a socket's state at the close of its last descriptor. Sockets can also
//! die without a close the programs see (their process exits, dup2 or exec closes them), and
//! their states would fill the map; no hook on this kind of kernel sees a socket's release.
//! So user space sweeps: when the map is half full, every state whose socket no process holds
//! any more is removed. A live socket is never removed, except one that is in flight between
//! two processes (SCM_RIGHTS) at the very moment of a sweep.

use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

use dualstack_common::SockKey;

use crate::kernel::{
    error::Result,
    loader::{KernelCounters, Probes},
};

/// Sweeps at most this often, however full the map is.
const MIN_INTERVAL: Duration = Duration::from_secs(5);

/// When to sweep, and how much was swept.
pub struct SocketSweep {
    capacity: u64,
    last: Option<Instant>,
    /// States removed by sweeps so far.
    pub swept: u64,
}

impl SocketSweep {
    pub fn new(capacity: u32) -> SocketSweep {
        SocketSweep {
            capacity: capacity.into(),
            last: None,
            swept: 0,
        }
    }

    /// States in the map now, as the counters tell it.
    pub fn fill(&self, counters: &KernelCounters) -> u64 {
        counters
            .state_inserts
            .saturating_sub(counters.state_removes)
            .saturating_sub(self.swept)
    }

    /// Sweeps when the map is at least half full and the last sweep is old enough; returns
    /// how many states were removed.
    pub fn tick(&mut self, probes: &mut Probes, counters: &KernelCounters) -> Result<u64> {
        if self.fill(counters) * 2 < self.capacity
            || self.last.is_some_and(|t| t.elapsed() < MIN_INTERVAL)
        {
            return Ok(0);
        }
        self.last = Some(Instant::now());
        // Keys first, then the live sockets: a socket born in between is not in the keys.
        let keys = probes.socket_keys()?;
        let live = LiveSockets::scan();
        let dead: Vec<SockKey> = keys.into_iter().filter(|k| !live.holds(k)).collect();
        let removed = probes.remove_sockets(&dead)?;
        self.swept += removed;
        log::debug!("swept {removed} states of sockets no process holds");
        Ok(removed)
    }
}

/// The sockets some process holds, from /proc/*/fd.
struct LiveSockets {
    inodes: HashSet<u64>,
    fds: HashSet<(u32, u32)>,
}

impl LiveSockets {
    fn scan() -> LiveSockets {
        let mut live = LiveSockets {
            inodes: HashSet::new(),
            fds: HashSet::new(),
        };
        let Ok(procs) = std::fs::read_dir("/proc") else {
            return live;
        };
        for pid in procs.flatten() {
            let Some(pid) = pid.file_name().to_str().and_then(|p| p.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
                continue;
            };
            for fd in fds.flatten() {
                let Ok(target) = std::fs::read_link(fd.path()) else {
                    continue;
                };
                let ino = target
                    .to_str()
                    .and_then(|t| t.strip_prefix("socket:["))
                    .and_then(|t| t.strip_suffix(']'))
                    .and_then(|t| t.parse().ok());
                if let Some(ino) = ino {
                    live.inodes.insert(ino);
                    if let Some(n) = fd.file_name().to_str().and_then(|n| n.parse().ok()) {
                        live.fds.insert((pid, n));
                    }
                }
            }
        }
        live
    }

    fn holds(&self, key: &SockKey) -> bool {
        if key.ino != 0 {
            self.inodes.contains(&key.ino)
        } else {
            self.fds.contains(&(key.tgid, key.fd))
        }
    }
}
