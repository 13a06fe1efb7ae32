//! The one path every event takes on the user side: a decoded [`Event`] becomes a [`Record`]
//! (its process's ancestry, the verdict and V6ONLY notes, the holder of a refused port), which
//! renders itself as a strace line, a JSON line or a table row. `trace`, the daemon, `export`'s
//! tests and the benchmarks all make records here; the outputs (../outputs) take them.

pub mod holder;
pub mod netns_default;
pub mod notes;
pub mod process_tree;
pub mod record;

use crate::{
    clock::Clock,
    decode::TaskChange,
    filter::Filter,
    model::{Event, KernelView},
};

pub use holder::{Holder, HolderFinder};
pub use notes::Notes;
pub use process_tree::ProcessTree;
pub use record::Record;

/// Turns events into records; keeps what that needs from one event to the next.
pub struct Pipeline {
    clock: Clock,
    /// `net.ipv6.bindv6only` of this netns, for events whose kernel state was not read.
    host_bindv6only: Option<bool>,
    /// ... and of the traced processes' namespaces, read once each.
    netns_defaults: netns_default::NetnsDefaults,
    holders: HolderFinder,
    tree: ProcessTree,
    /// Keep each record's ancestors (for filters by process tree).
    lineage: bool,
}

impl Pipeline {
    /// A pipeline for this host's live events.
    pub fn new(clock: Clock) -> Pipeline {
        Pipeline::with_parts(
            clock,
            crate::host::bindv6only(),
            HolderFinder::default(),
            ProcessTree::live(),
        )
    }

    /// A pipeline of chosen parts (tests, benchmarks, replays).
    pub fn with_parts(
        clock: Clock,
        host_bindv6only: Option<bool>,
        holders: HolderFinder,
        tree: ProcessTree,
    ) -> Pipeline {
        Pipeline {
            clock,
            host_bindv6only,
            netns_defaults: netns_default::NetnsDefaults::default(),
            holders,
            tree,
            lineage: false,
        }
    }

    /// A pipeline that asks nothing of this host: no holder lookups, no /proc (tests, replays,
    /// benchmarks).
    pub fn offline(clock: Clock, host_bindv6only: Option<bool>) -> Pipeline {
        Pipeline::with_parts(
            clock,
            host_bindv6only,
            HolderFinder::with_lookup(|_| None),
            ProcessTree::told(),
        )
    }

    /// Keep every record's ancestors, for filters that keep a process and its descendants.
    #[must_use]
    pub fn keep_lineage(mut self) -> Pipeline {
        self.lineage = true;
        self
    }

    /// A fork or an exit the kernel told.
    pub fn task(&mut self, change: TaskChange) {
        self.tree.apply(change);
    }

    /// The record of `event`, or None when `filter` does not keep it (nothing is looked up
    /// for an event that is not kept).
    pub fn record_if(&mut self, event: Event, filter: &Filter) -> Option<Record> {
        let ancestors = if self.lineage || !filter.pids.is_empty() {
            self.tree.ancestors(event.pid)
        } else {
            Vec::new()
        };
        if !filter.matches(&record::facts(&event, &ancestors)) {
            return None;
        }
        Some(self.finish(event, ancestors))
    }

    pub fn record(&mut self, event: Event) -> Record {
        let ancestors = if self.lineage {
            self.tree.ancestors(event.pid)
        } else {
            Vec::new()
        };
        self.finish(event, ancestors)
    }

    fn finish(&mut self, event: Event, ancestors: Vec<u32>) -> Record {
        // Without the kernel's view, the default the socket took is that of its process's
        // netns, which may not be the tracer's.
        let default = match event.kernel {
            KernelView::NoBtf => self
                .netns_defaults
                .of_process(event.pid)
                .or(self.host_bindv6only),
            _ => self.host_bindv6only,
        };
        let notes = Notes::of(&event, default);
        let holder = self.holders.find(&event);
        let ppid = match ancestors.first() {
            Some(&parent) => Some(parent),
            None => self.tree.parent_of(event.pid),
        };
        Record::new(event, ppid, ancestors, notes, holder, self.clock)
    }

    /// Refused binds shown without their port's holder because of the lookups' rate limit.
    pub fn holders_skipped(&self) -> u64 {
        self.holders.skipped
    }
}
