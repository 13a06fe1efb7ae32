//! What the kernel programs could not do, by reason, as their counters tell it: records lost
//! on a full ring, and what recorded calls lack (a socket's state on a full map, user memory
//! that could not be read, an entry not seen). Each reaches the `lost` records and the metrics
//! under its own reason.

use crate::{
    kernel::loader::KernelCounters,
    schema::{REASON_KERNEL, REASON_NO_ENTRY, REASON_STATE_FULL, REASON_USER_FAULT},
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelLoss {
    /// Call records dropped: the ring buffer was full.
    RingFull,
    /// Sockets left untracked: the state map was full.
    StateFull,
    /// User buffers a call pointed to that could not be read.
    UserFault,
    /// Calls whose entry stamp was missing.
    NoEntry,
}

impl KernelLoss {
    pub const ALL: [KernelLoss; 4] = [
        KernelLoss::RingFull,
        KernelLoss::StateFull,
        KernelLoss::UserFault,
        KernelLoss::NoEntry,
    ];

    /// The `reason` of its `lost` records.
    pub fn reason(self) -> &'static str {
        match self {
            KernelLoss::RingFull => REASON_KERNEL,
            KernelLoss::StateFull => REASON_STATE_FULL,
            KernelLoss::UserFault => REASON_USER_FAULT,
            KernelLoss::NoEntry => REASON_NO_ENTRY,
        }
    }

    /// The `reason` label of its metric.
    pub fn label(self) -> &'static str {
        match self {
            KernelLoss::RingFull => "ring_full",
            KernelLoss::StateFull => "state_map_full",
            KernelLoss::UserFault => "user_memory_unreadable",
            KernelLoss::NoEntry => "entry_not_seen",
        }
    }

    /// Its count so far.
    pub fn of(self, counters: &KernelCounters) -> u64 {
        match self {
            KernelLoss::RingFull => counters.ring_full,
            KernelLoss::StateFull => counters.state_full,
            KernelLoss::UserFault => counters.user_fault,
            KernelLoss::NoEntry => counters.no_entry,
        }
    }
}

/// What was last told of each loss: the counts new since then are told next.
#[derive(Clone, Copy, Debug, Default)]
pub struct Told([u64; KernelLoss::ALL.len()]);

impl Told {
    /// The losses counted since the last call, each with its new count; remembers them as told.
    pub fn news(&mut self, counters: &KernelCounters) -> Vec<(KernelLoss, u64)> {
        KernelLoss::ALL
            .into_iter()
            .zip(self.0.iter_mut())
            .filter_map(|(loss, told)| {
                let now = loss.of(counters);
                let new = now.saturating_sub(*told);
                *told = now;
                (new > 0).then_some((loss, new))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_loss_is_told_once_by_its_own_reason() {
        let mut told = Told::default();
        let mut counters = KernelCounters {
            ring_full: 3,
            user_fault: 1,
            ..KernelCounters::default()
        };
        assert_eq!(
            told.news(&counters),
            vec![(KernelLoss::RingFull, 3), (KernelLoss::UserFault, 1)]
        );
        assert_eq!(told.news(&counters), vec![]);
        counters.no_entry = 2;
        counters.ring_full = 4;
        assert_eq!(
            told.news(&counters),
            vec![(KernelLoss::RingFull, 1), (KernelLoss::NoEntry, 2)]
        );
        let reasons: Vec<_> = KernelLoss::ALL.iter().map(|l| l.reason()).collect();
        assert_eq!(
            reasons,
            [
                "kernel ring buffer full",
                "socket state map full",
                "user memory unreadable",
                "call entry not seen"
            ]
        );
    }
}
