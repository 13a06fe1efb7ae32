//! Who started whom: each process's parent, so that a `pid` filter keeps a process and its
//! descendants in `trace`, in the daemon's clients and in `export` alike.
//!
//! Fed by the kernel's fork and exit records (the daemon asks for every fork on the host), by
//! /proc for processes that started before tracing (read at first sight), or, in `export`, by
//! the `ppid` of each logged event. When a process exits its children are handed to its own
//! parent, as the chain from them to it would otherwise break: a daemon's double fork leaves the
//! service under the process that launched it.

use std::collections::{BTreeSet, HashMap};

use crate::decode::TaskChange;

/// Processes known at most; past it the map starts again from what it learns next.
const MAX_KNOWN: usize = 1 << 16;
/// Ancestors walked at most: a loop in what was read can never hang the walk.
const MAX_DEPTH: usize = 64;

/// Each known process's parent (tgids), and each parent's children.
#[derive(Debug, Default)]
pub struct ProcessTree {
    parent: HashMap<u32, u32>,
    /// The inverse of `parent`: an exit hands its children over without a scan of the host.
    children: HashMap<u32, Vec<u32>>,
    /// Read a process's parent from /proc when it is not known yet (a live host, not a log).
    from_proc: bool,
}

impl ProcessTree {
    /// A tree of this host's processes, filled from /proc as they are first seen.
    pub fn live() -> ProcessTree {
        ProcessTree {
            from_proc: true,
            ..ProcessTree::default()
        }
    }

    /// A tree that learns only what it is told (export reads a log of another time).
    pub fn told() -> ProcessTree {
        ProcessTree::default()
    }

    /// A fork or an exit told by the kernel.
    pub fn apply(&mut self, change: TaskChange) {
        match change {
            // The child may be a thread: it is forgotten at its exit.
            TaskChange::Fork {
                parent_pid, child, ..
            } => self.learn(child, parent_pid),
            TaskChange::Exit {
                pid,
                tid,
                process_gone,
            } => {
                if process_gone {
                    self.gone(pid);
                } else if tid != pid {
                    self.forget(tid);
                }
            }
        }
    }

    /// `pid` was started by `ppid` (a log's `ppid` field, a fork).
    #[allow(clippy::similar_names)] // pid and ppid are the kernel's names
    pub fn learn(&mut self, pid: u32, ppid: u32) {
        if pid == ppid || pid == 0 {
            return;
        }
        if self.parent.len() >= MAX_KNOWN && !self.parent.contains_key(&pid) {
            self.parent.clear();
            self.children.clear();
        }
        match self.parent.insert(pid, ppid) {
            Some(old) if old == ppid => {}
            old => {
                if let Some(old) = old {
                    self.unlink(old, pid);
                }
                self.children.entry(ppid).or_default().push(pid);
            }
        }
    }

    /// A task (a thread) is gone.
    fn forget(&mut self, tid: u32) {
        if let Some(parent) = self.parent.remove(&tid) {
            self.unlink(parent, tid);
        }
    }

    fn unlink(&mut self, parent: u32, child: u32) {
        if let Some(kids) = self.children.get_mut(&parent) {
            kids.retain(|&k| k != child);
            if kids.is_empty() {
                self.children.remove(&parent);
            }
        }
    }

    /// Process `pid` exited: its children now hang from its parent.
    fn gone(&mut self, pid: u32) {
        let kids = self.children.remove(&pid).unwrap_or_default();
        let Some(grandparent) = self.parent.remove(&pid) else {
            // Its own parent unknown: its children's chain ends here, as it would have.
            return;
        };
        self.unlink(grandparent, pid);
        for kid in kids {
            self.parent.insert(kid, grandparent);
            self.children.entry(grandparent).or_default().push(kid);
        }
    }

    /// The parent of `pid`, when known.
    pub fn parent_of(&mut self, pid: u32) -> Option<u32> {
        if let Some(&parent) = self.parent.get(&pid) {
            return Some(parent);
        }
        if !self.from_proc {
            return None;
        }
        let parent = crate::host::process::parent_of(pid)?;
        self.learn(pid, parent);
        Some(parent)
    }

    /// `pid`'s ancestors, nearest first, as far as they are known.
    pub fn ancestors(&mut self, pid: u32) -> Vec<u32> {
        let mut chain = Vec::new();
        let mut at = pid;
        while chain.len() < MAX_DEPTH {
            match self.parent_of(at) {
                Some(parent) if parent != 0 && parent != pid && !chain.contains(&parent) => {
                    chain.push(parent);
                    at = parent;
                }
                _ => break,
            }
        }
        chain
    }
}

/// Is `pid`, or one of its `ancestors`, among `roots`?
pub fn within(pid: u32, ancestors: &[u32], roots: &BTreeSet<u32>) -> bool {
    roots.contains(&pid) || ancestors.iter().any(|a| roots.contains(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fork(parent_pid: u32, child: u32) -> TaskChange {
        TaskChange::Fork {
            parent: parent_pid,
            parent_pid,
            child,
        }
    }

    fn exit(pid: u32) -> TaskChange {
        TaskChange::Exit {
            pid,
            tid: pid,
            process_gone: true,
        }
    }

    #[test]
    fn a_double_fork_stays_under_its_launcher() {
        let mut tree = ProcessTree::told();
        tree.apply(fork(10, 11));
        tree.apply(fork(11, 12));
        tree.apply(exit(11));
        assert_eq!(tree.ancestors(12), vec![10]);
        assert!(within(12, &tree.ancestors(12), &BTreeSet::from([10])));
        assert!(!within(12, &tree.ancestors(12), &BTreeSet::from([11])));
    }

    #[test]
    fn thread_exits_forget_the_thread_only() {
        let mut tree = ProcessTree::told();
        tree.apply(fork(10, 11));
        tree.apply(TaskChange::Fork {
            parent: 11,
            parent_pid: 11,
            child: 13,
        });
        tree.apply(TaskChange::Exit {
            pid: 11,
            tid: 13,
            process_gone: false,
        });
        assert_eq!(tree.parent_of(13), None);
        assert_eq!(tree.parent_of(11), Some(10));
    }

    #[test]
    fn children_follow_every_exit_up_the_chain() {
        let mut tree = ProcessTree::told();
        tree.apply(fork(1, 10));
        tree.apply(fork(10, 11));
        tree.apply(fork(11, 12));
        tree.apply(fork(11, 13));
        tree.apply(exit(11));
        tree.apply(exit(10));
        assert_eq!(tree.ancestors(12), vec![1]);
        assert_eq!(tree.ancestors(13), vec![1]);
        tree.learn(12, 13);
        tree.apply(exit(13));
        assert_eq!(tree.ancestors(12), vec![1]);
        assert_eq!(tree.children.get(&1).map(Vec::len), Some(1));
    }

    #[test]
    fn loops_in_what_was_read_end_the_walk() {
        let mut tree = ProcessTree::told();
        tree.learn(1, 2);
        tree.learn(2, 1);
        assert_eq!(tree.ancestors(1), vec![2]);
    }

    #[test]
    fn this_process_has_its_parent_from_proc() {
        let mut tree = ProcessTree::live();
        let me = std::process::id();
        assert_eq!(
            tree.parent_of(me),
            Some(std::os::unix::process::parent_id())
        );
    }
}
