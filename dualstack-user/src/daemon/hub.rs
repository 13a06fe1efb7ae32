//! The fan-out: each event goes to the event log and to the queue of every client whose filter
//! keeps it, serialised once per format and shared as `Bytes` clones.
//!
//! Queues are bounded and filled with `try_send`, so the hub never waits: a full queue costs
//! its client that event (counted), never the kernel reader or another client. What a client
//! lost is told to it by its own writer once it has caught up (see [`ClientShared::take_owed`]).

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
    daemon::{
        log::LogHandle,
        metrics::{Counter, Metrics},
        prepared::{FormatContext, Prepared},
        protocol::{lost_line, Selection},
    },
    holder::HolderFinder,
    model::Event,
};

/// Events handed out between two yields to the client writers: with one thread, a long batch
/// would otherwise fill every queue before any writer could empty its own.
const YIELD_EVERY: usize = 64;

pub const REASON_SLOW: &str = "client too slow";
pub const REASON_KERNEL: &str = "kernel ring buffer full";
/// Events a client wanted that its queue had no room for while the hub still sent it
/// everything, before its first line said what it wants.
pub const REASON_EARLY: &str = "dropped before the filter was known";

/// What a client queue holds.
#[derive(Debug)]
pub enum Item {
    /// A line already in the client's format.
    Line(Bytes),
    /// An event for a client whose first line has not been read yet: its writer filters and
    /// picks the format once it knows them.
    Undecided(Arc<Prepared>),
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
    owed_kernel: AtomicU64,
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
            owed_kernel: AtomicU64::new(0),
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
        let kernel = self.owed_kernel.swap(0, Relaxed);
        let early = self.owed_early.swap(0, Relaxed);
        let slow = self.owed_slow.swap(0, Relaxed);
        [
            (kernel, REASON_KERNEL),
            (early, REASON_EARLY),
            (slow, REASON_SLOW),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, reason)| lost_line(n, reason))
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
    early: Vec<Arc<Prepared>>,
    early_uncounted: u64,
}

impl Client {
    /// An event that found the queue full.
    fn overflow(&mut self, item: Item, metrics: &Metrics) {
        match item {
            Item::Undecided(prepared) if self.early.len() < self.tx.max_capacity() => {
                self.early.push(prepared);
            }
            Item::Undecided(_) => self.early_uncounted += 1,
            Item::Line(_) => {
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
            .filter(|p| selection.matches(&p.event))
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

/// The clients, the log and the counters an event goes to.
pub struct Hub {
    clients: Vec<Client>,
    metrics: Arc<Metrics>,
    log: Option<LogHandle>,
    context: FormatContext,
    /// Names the holder of a port a bind was refused for (rate limited: it asks the kernel).
    holders: HolderFinder,
}

impl Hub {
    pub fn new(metrics: Arc<Metrics>, log: Option<LogHandle>, context: FormatContext) -> Hub {
        Hub {
            clients: Vec::new(),
            metrics,
            log,
            context,
            holders: HolderFinder::default(),
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

    /// Hands out a batch of events, letting the client writers run every [`YIELD_EVERY`].
    pub async fn publish_all(&mut self, batch: &mut Vec<Event>) {
        for (i, event) in batch.drain(..).enumerate() {
            if i > 0 && i % YIELD_EVERY == 0 {
                tokio::task::yield_now().await;
            }
            self.publish(event);
        }
    }

    /// Hands one event to the log and to every client that wants it, without waiting.
    pub fn publish(&mut self, event: Event) {
        self.metrics.count_event(event.syscall());
        let holder = self.holders.find(&event);
        let prepared = Prepared::new(event, holder, self.context);
        if let Some(log) = &self.log {
            log.write(prepared.json().clone());
        }
        let mut closed = Vec::new();
        for c in &mut self.clients {
            let item = match &c.selection {
                None => Item::Undecided(Arc::clone(&prepared)),
                Some(s) if s.matches(&prepared.event) => {
                    Item::Line(prepared.line(s.format).clone())
                }
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
    pub fn kernel_lost(&mut self, count: u64) {
        self.metrics.kernel_drops.inc_by(count);
        log::warn!(
            "the kernel dropped {count} events: its ring buffer was full (try a larger --ring-mib)"
        );
        if let Some(log) = &self.log {
            log.kernel_lost(count);
        }
        for c in &self.clients {
            c.shared.owed_kernel.fetch_add(count, Relaxed);
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
mod tests {
    use std::{collections::BTreeSet, time::Duration};

    use super::*;
    use crate::{
        clock::Clock,
        daemon::protocol::WireFormat,
        filter::Filter,
        model::{Call, KernelView, Return},
    };

    fn close(pid: u32) -> Event {
        Event {
            pid,
            tid: pid,
            comm: "t".into(),
            monotonic: Duration::ZERO,
            entered: Duration::ZERO,
            call: Call::Close { fd: 3 },
            ret: Return::Value(0),
            socket: None,
            kernel: KernelView::NotRead,
            tracking: crate::model::Tracking::Socket,
        }
    }

    fn hub() -> (Hub, Arc<Metrics>) {
        let metrics = Arc::new(Metrics::default());
        let context = FormatContext {
            clock: Clock::fixed(0),
            host_bindv6only: None,
        };
        (Hub::new(Arc::clone(&metrics), None, context), metrics)
    }

    fn client(
        hub: &mut Hub,
        id: u64,
        queue: usize,
        selection: Option<Selection>,
    ) -> (Arc<ClientShared>, mpsc::Receiver<Item>) {
        let shared = Arc::new(ClientShared::new(id, "unix", "test".into()));
        let (tx, rx) = mpsc::channel(queue);
        hub.control(Control::Register {
            shared: Arc::clone(&shared),
            tx,
            selection,
        });
        (shared, rx)
    }

    fn owed(shared: &ClientShared) -> Vec<serde_json::Value> {
        shared
            .take_owed()
            .map(|line| serde_json::from_slice(&line).unwrap())
            .collect()
    }

    #[test]
    fn a_full_queue_costs_its_client_only_and_is_owed() {
        let (mut hub, metrics) = hub();
        let only_7 = Selection {
            filter: Filter {
                pids: BTreeSet::from([7]),
                ..Filter::default()
            },
            format: WireFormat::Strace,
        };
        let (slow, mut slow_rx) = client(&mut hub, 1, 2, Some(only_7));
        let (roomy, mut roomy_rx) = client(&mut hub, 2, 100, Some(Selection::default()));
        for pid in [7, 7, 8, 7, 7, 7] {
            hub.publish(close(pid));
        }
        let mut got = Vec::new();
        while let Ok(Item::Line(line)) = slow_rx.try_recv() {
            got.push(String::from_utf8(line.to_vec()).unwrap());
        }
        assert_eq!(got.len(), 2);
        assert!(got[0].starts_with("[pid     7] close(3)"), "{got:?}");
        assert_eq!(slow.drops(), 3);
        let lost = owed(&slow);
        assert_eq!(lost.len(), 1);
        assert_eq!(
            (lost[0]["count"].as_u64(), lost[0]["reason"].as_str()),
            (Some(3), Some(REASON_SLOW))
        );
        assert!(owed(&slow).is_empty(), "a loss is reported once");
        let mut n = 0;
        while let Ok(Item::Line(line)) = roomy_rx.try_recv() {
            assert!(line.starts_with(b"{\"type\":\"event\""));
            n += 1;
        }
        assert_eq!((n, roomy.drops()), (6, 0));
        assert_eq!(metrics.client_drops.get(), 3);
        assert_eq!(metrics.events(dualstack_common::Syscall::Close), 6);
    }

    #[test]
    fn undecided_clients_get_every_event_and_everyone_hears_of_kernel_drops() {
        let (mut hub, metrics) = hub();
        let (pending, mut rx) = client(&mut hub, 1, 10, None);
        hub.publish(close(1));
        hub.publish(close(2));
        assert!(matches!(rx.try_recv(), Ok(Item::Undecided(p)) if p.event.pid == 1));
        assert!(matches!(rx.try_recv(), Ok(Item::Undecided(p)) if p.event.pid == 2));
        hub.kernel_lost(4);
        let lost = owed(&pending);
        assert_eq!(
            (lost[0]["count"].as_u64(), lost[0]["reason"].as_str()),
            (Some(4), Some(REASON_KERNEL))
        );
        assert_eq!(metrics.kernel_drops.get(), 4);
    }

    #[test]
    fn events_lost_before_the_filter_is_known_count_only_if_the_filter_wants_them() {
        let (mut hub, metrics) = hub();
        let (early, mut rx) = client(&mut hub, 1, 2, None);
        for pid in [7, 8, 7, 8, 7] {
            hub.publish(close(pid));
        }
        let only_7 = Selection {
            filter: Filter {
                pids: BTreeSet::from([7]),
                ..Filter::default()
            },
            format: WireFormat::Json,
        };
        hub.control(Control::Decide {
            id: 1,
            selection: only_7,
        });
        // The queue kept pids 7 and 8; of the three it had no room for, two were 7.
        let lost = owed(&early);
        assert_eq!(lost.len(), 1, "{lost:?}");
        assert_eq!(
            (lost[0]["count"].as_u64(), lost[0]["reason"].as_str()),
            (Some(2), Some(REASON_EARLY))
        );
        assert_eq!((early.drops(), metrics.client_drops.get()), (2, 2));
        // Once decided, a full queue is the client's own slowness.
        hub.publish(close(7));
        assert!(matches!(rx.try_recv(), Ok(Item::Undecided(_))));
        assert_eq!(
            owed(&early)[0]["reason"].as_str(),
            Some(REASON_SLOW),
            "the queue still held one event and had no room for the new one"
        );
    }

    #[test]
    fn clients_whose_queue_closed_are_forgotten() {
        let (mut hub, metrics) = hub();
        let (_shared, rx) = client(&mut hub, 1, 10, Some(Selection::default()));
        let (_kept, _kept_rx) = client(&mut hub, 2, 10, Some(Selection::default()));
        assert_eq!(metrics.clients_connected(), 2);
        drop(rx);
        hub.publish(close(1));
        assert_eq!(metrics.clients_connected(), 1);
        hub.control(Control::Remove { id: 2 });
        assert_eq!(metrics.clients_connected(), 0);
    }
}
