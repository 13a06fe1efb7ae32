//! The fan-out: each record goes to the event log and to the queue of every client whose filter
//! keeps it, rendered at most once per format (by whoever needs it first) and shared.
//!
//! Queues are bounded and filled with `try_send`, so the hub never waits: a full queue costs
//! its client that event (counted), never the kernel reader or another client. What a client
//! lost is told to it by its own writer once it has caught up (see [`ClientShared::take_owed`]).
//! A record still waiting for its port holder's lookup is queued as it is: the writers of the
//! clients that want it (and the log thread) wait for it, in their own order; nobody else does.

use std::sync::{
    atomic::{AtomicU64, Ordering::Relaxed},
    Arc,
};

use bytes::Bytes;
use tokio::sync::{
    mpsc::{self, error::TrySendError},
    Notify,
};

use crate::{
    kernel::losses::KernelLoss,
    outputs::event_log::handle::LogHandle,
    outputs::{
        metrics::{Counter, Metrics},
        selection::Selection,
    },
    pipeline::Record,
    schema::{lost_line, REASON_EARLY, REASON_SLOW},
};

/// Events handed out between two yields to the client writers: with one thread, a long batch
/// would otherwise fill every queue before any writer could empty its own.
const YIELD_EVERY: usize = 64;

/// What a client queue holds.
#[derive(Debug)]
pub enum Item {
    /// A record the client's filter keeps, to write in its format.
    Record(Arc<Record>),
    /// A record for a client whose first line has not been read yet: its writer filters and
    /// picks the format once it knows them.
    Undecided(Arc<Record>),
}

/// The part of a client shared by the hub, its writer and the metrics.
#[derive(Debug)]
pub struct ClientShared {
    pub id: u64,
    pub transport: &'static str,
    /// Who it is: peer credentials (Unix) or address (TCP).
    pub peer: String,
    /// Shared with the metrics, which show it per client.
    drops: Counter,
    owed_slow: AtomicU64,
    /// By [`KernelLoss`], in `KernelLoss::ALL` order.
    owed_kernel: [AtomicU64; KernelLoss::ALL.len()],
    owed_early: AtomicU64,
    /// Wakes the writer when something is owed while its queue is idle.
    pub wake: Notify,
}

impl ClientShared {
    pub fn new(id: u64, transport: &'static str, peer: String) -> ClientShared {
        ClientShared {
            id,
            transport,
            peer,
            drops: Counter::default(),
            owed_slow: AtomicU64::new(0),
            owed_kernel: Default::default(),
            owed_early: AtomicU64::new(0),
            wake: Notify::new(),
        }
    }

    /// Events this client lost because its queue was full.
    pub fn drops(&self) -> u64 {
        self.drops.get()
    }

    /// The lost records owed to this client, each reported once (swap keeps it exact even if
    /// hub and writer ran on different threads).
    pub fn take_owed(&self) -> impl Iterator<Item = Bytes> {
        let kernel: Vec<_> = KernelLoss::ALL
            .iter()
            .zip(&self.owed_kernel)
            .map(|(loss, owed)| (owed.swap(0, Relaxed), loss.reason()))
            .collect();
        let early = self.owed_early.swap(0, Relaxed);
        let slow = self.owed_slow.swap(0, Relaxed);
        kernel
            .into_iter()
            .chain([(early, REASON_EARLY), (slow, REASON_SLOW)])
            .filter(|(n, _)| *n > 0)
            .map(|(n, reason)| Bytes::from(lost_line(n, reason)))
    }
}

/// Messages from connection tasks to the hub.
#[derive(Debug)]
pub enum Control {
    /// A client to serve; `selection` None until its first line is read.
    Register {
        shared: Arc<ClientShared>,
        tx: mpsc::Sender<Item>,
        selection: Option<Selection>,
    },
    Decide {
        id: u64,
        selection: Selection,
    },
    Remove {
        id: u64,
    },
}

struct Client {
    shared: Arc<ClientShared>,
    tx: mpsc::Sender<Item>,
    selection: Option<Selection>,
    /// Events that found the queue full before the selection was known: whether they were
    /// lost to the client depends on its filter, so they are judged once it arrives. At most
    /// a queue's worth; past that only counted in `early_uncounted`.
    early: Vec<Arc<Record>>,
    early_uncounted: u64,
}

impl Client {
    /// An event that found the queue full.
    fn overflow(&mut self, item: Item, metrics: &Metrics) {
        match item {
            Item::Undecided(record) if self.early.len() < self.tx.max_capacity() => {
                self.early.push(record);
            }
            Item::Undecided(_) => self.early_uncounted += 1,
            Item::Record(_) => {
                self.shared.drops.inc();
                self.shared.owed_slow.fetch_add(1, Relaxed);
                metrics.client_drops.inc();
            }
        }
    }

    /// Takes the selection, and counts as lost the early overflow it would have kept (all of
    /// what could not be kept to judge: it may have matched).
    fn decide(&mut self, selection: Selection, metrics: &Metrics) {
        let matched = self
            .early
            .drain(..)
            .filter(|r| selection.matches(r))
            .count() as u64;
        let lost = matched + std::mem::take(&mut self.early_uncounted);
        self.early = Vec::new();
        self.selection = Some(selection);
        if lost > 0 {
            self.shared.drops.inc_by(lost);
            self.shared.owed_early.fetch_add(lost, Relaxed);
            metrics.client_drops.inc_by(lost);
            self.shared.wake.notify_one();
        }
    }
}

/// The clients, the log and the counters a record goes to.
pub struct Hub {
    clients: Vec<Client>,
    metrics: Arc<Metrics>,
    log: Option<LogHandle>,
}

impl Hub {
    pub fn new(metrics: Arc<Metrics>, log: Option<LogHandle>) -> Hub {
        Hub {
            clients: Vec::new(),
            metrics,
            log,
        }
    }

    pub fn control(&mut self, msg: Control) {
        match msg {
            Control::Register {
                shared,
                tx,
                selection,
            } => {
                let drops = shared.drops.clone();
                self.metrics
                    .client_connected(shared.id, shared.transport, &shared.peer, drops);
                self.clients.push(Client {
                    shared,
                    tx,
                    selection,
                    early: Vec::new(),
                    early_uncounted: 0,
                });
            }
            Control::Decide { id, selection } => {
                if let Some(c) = self.clients.iter_mut().find(|c| c.shared.id == id) {
                    c.decide(selection, &self.metrics);
                }
            }
            Control::Remove { id } => self.remove(id),
        }
    }

    fn remove(&mut self, id: u64) {
        self.clients.retain(|c| c.shared.id != id);
        self.metrics.client_gone(id);
    }

    /// Hands out a batch of records, letting the client writers run every [`YIELD_EVERY`].
    pub async fn publish_all(&mut self, batch: &mut Vec<Record>) {
        for (i, record) in batch.drain(..).enumerate() {
            if i > 0 && i % YIELD_EVERY == 0 {
                tokio::task::yield_now().await;
            }
            self.publish(record);
        }
    }

    /// Hands one record to the log and to every client that wants it, without waiting.
    pub fn publish(&mut self, record: Record) {
        self.metrics.count_event(record.event.syscall());
        let record = Arc::new(record);
        if let Some(log) = &self.log {
            log.write_record(Arc::clone(&record));
        }
        let mut closed = Vec::new();
        for c in &mut self.clients {
            let item = match &c.selection {
                None => Item::Undecided(Arc::clone(&record)),
                Some(s) if s.matches(&record) => Item::Record(Arc::clone(&record)),
                Some(_) => continue,
            };
            match c.tx.try_send(item) {
                Ok(()) => {}
                Err(TrySendError::Full(item)) => c.overflow(item, &self.metrics),
                Err(TrySendError::Closed(_)) => closed.push(c.shared.id),
            }
        }
        for id in closed {
            self.remove(id);
        }
    }

    /// Tells every client, and the log, that the kernel dropped `count` events.
    /// Tells what the kernel could not do (`count` of `loss`) to the metrics, the log and
    /// every client, each as a `lost` record with the loss's reason.
    pub fn kernel_lost(&mut self, loss: KernelLoss, count: u64) {
        self.metrics.kernel_loss(loss, count);
        match loss {
            KernelLoss::RingFull => log::warn!(
                "the kernel dropped {count} events: its ring buffer was full (try a larger --ring-mib)"
            ),
            KernelLoss::StateFull => log::warn!(
                "{count} sockets not tracked: the socket state map was full; their events say so \
                 (try a larger --max-sockets)"
            ),
            KernelLoss::UserFault | KernelLoss::NoEntry => {
                log::info!("{count} kernel records incomplete: {}", loss.reason());
            }
        }
        if let Some(log) = &self.log {
            log.kernel_lost(loss, count);
        }
        for c in &self.clients {
            c.shared.owed_kernel[loss as usize].fetch_add(count, Relaxed);
            c.shared.wake.notify_one();
        }
    }

    pub fn reopen_log(&self) {
        match &self.log {
            Some(log) => log.reopen(),
            None => log::info!("SIGHUP: no event log to reopen (--no-log)"),
        }
    }

    /// Drops every queue: each writer sends what its queue holds, then closes.
    pub fn close_clients(&mut self) {
        for c in self.clients.drain(..) {
            self.metrics.client_gone(c.shared.id);
        }
    }

    /// Writes and flushes what the log thread holds, and stops it.
    pub fn close_log(&mut self) {
        if let Some(mut log) = self.log.take() {
            log.close();
        }
    }
}

#[cfg(test)]
#[path = "hub_tests.rs"]
mod tests;
