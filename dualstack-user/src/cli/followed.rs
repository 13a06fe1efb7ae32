//! The tasks `trace` follows, as strace -f does: the command it started or the processes given
//! with `-p`, and every process and thread they start, until the last one exits.
//!
//! The kernel tells each fork and exit in the event ring, in order with the calls, so the set
//! is right at every call: that decides strace's `[pid N]` leader, and when tracing ends.

use std::collections::BTreeSet;

use dualstack::{
    decode::TaskChange,
    host::process::{descendants, threads_of},
};

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
        self.tasks
            .retain(|&tid| dualstack::host::process::task_alive(tid));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forks_and_exits_change_the_set_in_order() {
        let mut f = Followed::default();
        f.apply(TaskChange::Fork {
            parent: 0,
            parent_pid: 0,
            child: 10,
        });
        f.apply(TaskChange::Fork {
            parent: 10,
            parent_pid: 10,
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
    fn this_process_and_its_threads_are_followed() {
        let f = Followed::attach([std::process::id()]);
        assert!(f.count() >= 1);
    }
}
