//! The tasks `trace` follows, as strace -f does: the command it started or the processes given
//! with `-p`, and every process and thread they start, until the last one exits.
//!
//! The kernel tells each fork and exit in the event ring, in order with the calls, so the set
//! is right at every call: that decides strace's `[pid N]` leader, and when tracing ends.

use std::collections::BTreeSet;

use crate::decode::TaskChange;

/// The live tasks (thread ids) of the followed processes.
#[derive(Debug, Default)]
pub struct Followed {
    tasks: BTreeSet<u32>,
}

impl Followed {
    /// Starts with every thread of `pids` and of their live descendants.
    pub fn attach(pids: impl IntoIterator<Item = u32>) -> Followed {
        let mut tasks = BTreeSet::new();
        for pid in pids {
            for p in std::iter::once(pid).chain(descendants(pid)) {
                tasks.extend(threads_of(p));
            }
        }
        Followed { tasks }
    }

    /// Applies a fork or an exit told by the kernel.
    pub fn apply(&mut self, change: TaskChange) {
        match change {
            TaskChange::Fork { child, .. } => {
                self.tasks.insert(child);
            }
            TaskChange::Exit { tid, .. } => {
                self.tasks.remove(&tid);
            }
        }
    }

    /// Live followed tasks.
    pub fn count(&self) -> usize {
        self.tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Forgets tasks that are gone although no exit was read for them (the ring was full, or a
    /// thread's id vanished in an exec): the end of tracing must not wait for them.
    pub fn forget_dead(&mut self) {
        self.tasks.retain(|&tid| task_alive(tid));
    }
}

/// Whether a task (process or thread) exists and has not exited: a zombie has.
pub fn task_alive(tid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{tid}/stat")) else {
        return false;
    };
    // The comm field may hold spaces and parentheses: the state follows the last ')'.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    !matches!(state, Some("Z" | "X" | "x") | None)
}

/// The process a task belongs to (the Tgid of /proc/TID/status).
pub fn tgid_of(tid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))?
        .trim()
        .parse()
        .ok()
}

/// The threads of a process (/proc/PID/task), or none when it is gone.
fn threads_of(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

/// Every live descendant of `pid`, from the ppid fields of /proc/*/stat.
pub fn descendants(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let parents: Vec<(u32, u32)> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
            // The comm field may hold spaces and parentheses: the ppid follows the last ')'.
            let parent = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some((p, parent))
        })
        .collect();
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    found.remove(0);
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forks_and_exits_change_the_set_in_order() {
        let mut f = Followed::default();
        f.apply(TaskChange::Fork {
            parent: 0,
            child: 10,
        });
        f.apply(TaskChange::Fork {
            parent: 10,
            child: 11,
        });
        assert_eq!(f.count(), 2);
        f.apply(TaskChange::Exit {
            pid: 10,
            tid: 11,
            process_gone: false,
        });
        assert_eq!(f.count(), 1);
        f.apply(TaskChange::Exit {
            pid: 10,
            tid: 10,
            process_gone: true,
        });
        assert!(f.is_empty());
    }

    #[test]
    fn this_process_is_alive_and_its_threads_are_found() {
        let me = std::process::id();
        assert!(task_alive(me));
        assert_eq!(tgid_of(me), Some(me));
        let f = Followed::attach([me]);
        assert!(f.count() >= 1);
        assert!(!task_alive(u32::MAX - 1));
    }
}
