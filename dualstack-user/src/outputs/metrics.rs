//! The daemon's counters, kept in a `prometheus-client` registry and written in the OpenMetrics
//! text format that Prometheus reads.
//!
//! Counters are handles bumped where things happen (hub, clients, log thread) and read only when
//! scraped, so counting costs the hot path one relaxed add. What others own is handed in, never
//! looked up: the event log's statistics as a snapshot ([`Metrics::set_log_stats`]), each
//! connected client as its labels and a handle to its drop counter
//! ([`Metrics::client_connected`]). This module knows nothing of its callers.

use std::{
    collections::BTreeMap,
    fmt::{self, Write as _},
    sync::{Arc, Mutex, PoisonError},
};

use dualstack_common::Syscall;
pub use prometheus_client::metrics::counter::Counter;
use prometheus_client::{
    collector::Collector,
    encoding::{
        text, DescriptorEncoder, EncodeLabelSet, EncodeLabelValue, EncodeMetric as _,
        LabelValueEncoder,
    },
    metrics::{
        counter::ConstCounter,
        family::Family,
        gauge::{ConstGauge, Gauge},
    },
    registry::Registry,
};

use crate::{kernel::losses::KernelLoss, outputs::event_log::LogStats};

/// The media type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Every name starts with this and `_`.
const PREFIX: &str = "dualstack";

/// Everything `/metrics` reports. Counter names gain `_total` in the exposition.
#[derive(Debug)]
pub struct Metrics {
    /// Every series but the per-client ones.
    registry: Registry,
    /// The per-client series: they tell who uses the daemon, so they are shown only on request.
    per_client: Registry,
    /// One handle per syscall, in [`Syscall::ALL`] order, into the `events` family.
    events: Vec<Counter>,
    pub kernel_drops: Counter,
    /// What the kernel could not do, by reason (see `KernelLoss`), ring drops included.
    kernel_losses: Vec<Counter>,
    pub client_drops: Counter,
    pub clients_accepted: Counter,
    pub clients_refused: Counter,
    pub auth_failures: Counter,
    /// TCP connections that lost their waiting place to a newcomer.
    pub tcp_evictions: Counter,
    /// Scrapes refused for a wrong or missing bearer token.
    pub metrics_auth_failures: Counter,
    pub clients_disconnected: Counter,
    pub decode_errors: Counter,
    /// Lines the hub could not hand to the log thread (its channel was full).
    pub log_queue_drops: Counter,
    clients_connected: Gauge,
    /// The NATS publisher's (see `outputs::nats`).
    pub nats: NatsCounters,
    log: Arc<Mutex<LogStats>>,
    /// The clients connected now, by id.
    clients: Arc<Mutex<BTreeMap<u64, ClientSeries>>>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SyscallLabel {
    syscall: &'static str,
}

/// What the metrics know of one connected client.
#[derive(Debug)]
struct ClientSeries {
    labels: ClientLabels,
    drops: Counter,
}

#[derive(Debug, EncodeLabelSet)]
struct ClientLabels {
    client: u64,
    transport: &'static str,
    peer: Escaped,
}

impl Default for Metrics {
    #[allow(clippy::too_many_lines)] // one registration after another
    fn default() -> Metrics {
        let mut registry = Registry::with_prefix(PREFIX);
        let events = Family::<SyscallLabel, Counter>::default();
        let handles = Syscall::ALL
            .iter()
            .map(|s| {
                events
                    .get_or_create(&SyscallLabel { syscall: s.name() })
                    .clone()
            })
            .collect();
        // `register` ends each help with a period; collectors write theirs as they are.
        registry.register("events", "Events read from the kernel, by syscall", events);
        let counter = |registry: &mut Registry, name: &str, help: &str| {
            let counter = Counter::default();
            registry.register(name, help, counter.clone());
            counter
        };
        let reg = &mut registry;
        let kernel_drops = counter(
            reg,
            "kernel_drops",
            "Events the kernel dropped because its ring buffer was full",
        );
        let losses = Family::<ReasonLabel, Counter>::default();
        let kernel_losses = KernelLoss::ALL
            .iter()
            .map(|l| {
                losses
                    .get_or_create(&ReasonLabel { reason: l.label() })
                    .clone()
            })
            .collect();
        reg.register(
            "kernel_losses",
            "What the kernel programs could not do, by reason: records dropped on a full ring \
             (ring_full), sockets left untracked (state_map_full), user buffers not read \
             (user_memory_unreadable), calls whose entry was not seen (entry_not_seen)",
            losses,
        );
        let client_drops = counter(
            reg,
            "client_drops",
            "Events not sent to a client because its queue was full, summed over clients",
        );
        let clients_accepted = counter(reg, "clients_accepted", "Client connections accepted");
        let clients_refused = counter(
            reg,
            "clients_refused",
            "Client connections refused: bad first line, wrong token, too many clients",
        );
        let auth_failures = counter(
            reg,
            "auth_failures",
            "TCP clients refused for a wrong or missing token",
        );
        let tcp_evictions = counter(
            reg,
            "tcp_evictions",
            "TCP connections that lost their place waiting for their token to a newcomer",
        );
        let metrics_auth_failures = counter(
            reg,
            "metrics_auth_failures",
            "Scrapes refused for a wrong or missing bearer token",
        );
        let clients_disconnected = counter(
            reg,
            "clients_disconnected",
            "Clients that went away or could no longer be written to",
        );
        let decode_errors = counter(
            reg,
            "decode_errors",
            "Kernel records that could not be decoded",
        );
        let clients_connected = Gauge::default();
        registry.register(
            "clients_connected",
            "Clients connected now",
            clients_connected.clone(),
        );
        let nats = NatsCounters::register(&mut registry);
        let log = Arc::new(Mutex::new(LogStats::default()));
        let log_queue_drops = Counter::default();
        registry.register_collector(Box::new(LogCollector {
            stats: Arc::clone(&log),
            queue_drops: log_queue_drops.clone(),
        }));
        let clients = Arc::new(Mutex::new(BTreeMap::new()));
        let mut per_client = Registry::with_prefix(PREFIX);
        per_client.register_collector(Box::new(ClientCollector(Arc::clone(&clients))));
        Metrics {
            registry,
            per_client,
            events: handles,
            kernel_drops,
            kernel_losses,
            client_drops,
            clients_accepted,
            clients_refused,
            auth_failures,
            tcp_evictions,
            metrics_auth_failures,
            clients_disconnected,
            decode_errors,
            log_queue_drops,
            clients_connected,
            nats,
            log,
            clients,
        }
    }
}

/// What the NATS publisher counts.
#[derive(Debug)]
pub struct NatsCounters {
    pub published: Counter,
    pub acked: Counter,
    pub reconnects: Counter,
    pub lost: Counter,
    pub pending_bytes: Gauge,
    pub pending_events: Gauge,
}

impl NatsCounters {
    /// Registers the publisher's series, in the order they are shown.
    fn register(registry: &mut Registry) -> NatsCounters {
        let mut counter = |name: &str, help: &str| {
            let counter = Counter::default();
            registry.register(name, help, counter.clone());
            counter
        };
        let published = counter("nats_published", "Event log lines sent to NATS JetStream");
        let acked = counter(
            "nats_acked",
            "Event log lines JetStream acknowledged (stored once each)",
        );
        let reconnects = counter(
            "nats_reconnects",
            "Connections to NATS made again after a loss",
        );
        let lost = counter(
            "nats_lost_files",
            "Event log files rotated away before they were sent",
        );
        let mut gauge = |name: &str, help: &str| {
            let gauge = Gauge::default();
            registry.register(name, help, gauge.clone());
            gauge
        };
        NatsCounters {
            published,
            acked,
            reconnects,
            lost,
            pending_bytes: gauge(
                "nats_pending_bytes",
                "Bytes of the event log not yet acknowledged by JetStream",
            ),
            pending_events: gauge(
                "nats_pending_events",
                "Events sent to JetStream and not yet acknowledged",
            ),
        }
    }
}

impl Metrics {
    pub fn count_event(&self, syscall: Syscall) {
        if let Some(i) = Syscall::ALL.iter().position(|s| *s == syscall) {
            self.events[i].inc();
        }
    }

    pub fn events(&self, syscall: Syscall) -> u64 {
        Syscall::ALL
            .iter()
            .position(|s| *s == syscall)
            .map_or(0, |i| self.events[i].get())
    }

    /// One line for the end of a run, as tcpdump prints what it captured and dropped.
    pub fn summary(&self) -> String {
        let events: u64 = self.events.iter().map(Counter::get).sum();
        let log = self.log_stats();
        format!(
            "{events} events read, {} lost in the kernel ring, {} decode errors; event log: \
             {} lines written, {} lines dropped, {} rotations; {} events dropped for slow clients",
            self.kernel_drops.get(),
            self.decode_errors.get(),
            log.lines_written,
            log.lines_dropped + self.log_queue_drops.get(),
            log.rotations,
            self.client_drops.get(),
        )
    }

    pub fn set_log_stats(&self, stats: LogStats) {
        *self.log.lock().unwrap_or_else(PoisonError::into_inner) = stats;
    }

    pub fn log_stats(&self) -> LogStats {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
    /// Counts `count` of a kernel loss; ring drops also in `kernel_drops`.
    pub fn kernel_loss(&self, loss: KernelLoss, count: u64) {
        self.kernel_losses[loss as usize].inc_by(count);
        if loss == KernelLoss::RingFull {
            self.kernel_drops.inc_by(count);
        }
    }

    /// Adds a client's series: its id, transport and peer (pid and uid, or address) as labels,
    /// and `drops`, the handle its owner counts the client's lost events with.
    pub fn client_connected(&self, id: u64, transport: &'static str, peer: &str, drops: Counter) {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        let labels = ClientLabels {
            client: id,
            transport,
            peer: Escaped(peer.to_owned()),
        };
        clients.insert(id, ClientSeries { labels, drops });
        self.clients_connected.set(clients.len() as i64);
    }

    pub fn client_gone(&self, id: u64) {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        clients.remove(&id);
        self.clients_connected.set(clients.len() as i64);
    }

    pub fn clients_connected(&self) -> usize {
        self.clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// The exposition of every metric, with # HELP and # TYPE lines and the closing `# EOF`.
    /// Per-client series only with `client_labels`.
    pub fn render(&self, client_labels: bool) -> String {
        let mut out = String::with_capacity(4096);
        let written = text::encode_registry(&mut out, &self.registry)
            .and_then(|()| {
                if client_labels {
                    text::encode_registry(&mut out, &self.per_client)
                } else {
                    Ok(())
                }
            })
            .and_then(|()| text::encode_eof(&mut out));
        written.expect("writing to a String does not fail");
        out
    }
}

/// The event log's counters, from the last snapshot its thread handed over.
#[derive(Debug)]
struct LogCollector {
    stats: Arc<Mutex<LogStats>>,
    /// Lines dropped before they reached the log thread: told with the log's own drops.
    queue_drops: Counter,
}

impl Collector for LogCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let log = self
            .stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for (name, help, value) in [
            (
                "log_bytes",
                "Bytes written to the event log.",
                log.bytes_written,
            ),
            (
                "log_lines",
                "Lines written to the event log.",
                log.lines_written,
            ),
            ("log_rotations", "Event log files rotated.", log.rotations),
            (
                "log_write_errors",
                "Failed writes to the event log.",
                log.write_errors,
            ),
            (
                "log_lines_dropped",
                "Lines the event log lost: dropped by the log, or not handed to it in time.",
                log.lines_dropped + self.queue_drops.get(),
            ),
        ] {
            let counter = ConstCounter::new(value);
            counter.encode(encoder.encode_descriptor(
                name,
                help,
                None,
                counter.metric_type(),
            )?)?;
        }
        Ok(())
    }
}

/// The connected clients' own series.
#[derive(Debug)]
struct ClientCollector(Arc<Mutex<BTreeMap<u64, ClientSeries>>>);

impl Collector for ClientCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let clients = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let mut family = encoder.encode_descriptor(
            "client_queue_drops",
            "Events a connected client has lost so far because its queue was full.",
            None,
            ConstGauge::new(0u64).metric_type(),
        )?;
        for c in clients.values() {
            ConstGauge::new(c.drops.get()).encode(family.encode_family(&c.labels)?)?;
        }
        Ok(())
    }
}

/// A label value as the text format wants it: `\`, `"` and newlines escaped (the encoder
/// writes values as they are).
#[derive(Debug)]
struct Escaped(String);

impl EncodeLabelValue for Escaped {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> fmt::Result {
        for c in self.0.chars() {
            match c {
                '\\' => encoder.write_str("\\\\")?,
                '"' => encoder.write_str("\\\"")?,
                '\n' => encoder.write_str("\\n")?,
                c => encoder.write_char(c)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_has_help_and_type() {
        let m = Metrics::default();
        m.count_event(Syscall::Bind);
        m.count_event(Syscall::Bind);
        let drops = Counter::default();
        m.client_connected(7, "unix", "pid=1 \"x\"\\", drops.clone());
        drops.inc_by(3);
        assert!(!m.render(false).contains("client=\"7\""));
        let text = m.render(true);
        assert!(
            text.contains("dualstack_events_total{syscall=\"bind\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("dualstack_clients_connected 1\n"), "{text}");
        assert!(
            text.contains(
                "dualstack_client_queue_drops{client=\"7\",transport=\"unix\",peer=\"pid=1 \\\"x\\\"\\\\\"} 3\n"
            ),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let sample = line.split(['{', ' ']).next().unwrap();
            // A counter's family is named without the `_total` of its samples.
            let family = sample.strip_suffix("_total").unwrap_or(sample);
            let kind = if family == sample { "gauge" } else { "counter" };
            assert!(
                text.contains(&format!("# TYPE {family} {kind}\n")),
                "{sample} has no TYPE {kind}"
            );
            assert!(
                text.contains(&format!("# HELP {family} ")),
                "{sample} has no HELP"
            );
        }
        m.client_gone(7);
        assert_eq!(m.clients_connected(), 0);
        assert!(m.render(true).contains("dualstack_clients_connected 0\n"));
    }
}
