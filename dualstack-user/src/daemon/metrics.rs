//! The daemon's counters and their Prometheus text exposition (format 0.0.4).
//!
//! Counters are atomics bumped where things happen (hub, clients, log thread) and read only
//! when scraped, so counting costs the hot path one relaxed add.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    sync::{
        atomic::{AtomicU64, Ordering::Relaxed},
        Arc, Mutex, PoisonError,
    },
};

use dualstack_common::Syscall;

use crate::{outputs::event_log::LogStats, outputs::hub::ClientShared};

/// Everything `/metrics` reports.
#[derive(Debug, Default)]
pub struct Metrics {
    events: [AtomicU64; Syscall::ALL.len()],
    pub kernel_drops: AtomicU64,
    pub client_drops: AtomicU64,
    pub clients_accepted: AtomicU64,
    pub clients_refused: AtomicU64,
    pub auth_failures: AtomicU64,
    /// TCP connections that lost their waiting place to a newcomer.
    pub tcp_evictions: AtomicU64,
    /// Scrapes refused for a wrong or missing bearer token.
    pub metrics_auth_failures: AtomicU64,
    pub clients_disconnected: AtomicU64,
    pub decode_errors: AtomicU64,
    /// Lines the hub could not hand to the log thread (its channel was full).
    pub log_queue_drops: AtomicU64,
    log: Mutex<LogStats>,
    /// The clients connected now, by id.
    clients: Mutex<BTreeMap<u64, Arc<ClientShared>>>,
}

impl Metrics {
    pub fn count_event(&self, syscall: Syscall) {
        let index = Syscall::ALL.iter().position(|s| *s == syscall).unwrap_or(0);
        self.events[index].fetch_add(1, Relaxed);
    }

    pub fn events(&self, syscall: Syscall) -> u64 {
        Syscall::ALL
            .iter()
            .position(|s| *s == syscall)
            .map_or(0, |i| self.events[i].load(Relaxed))
    }

    /// One line for the end of a run, as tcpdump prints what it captured and dropped.
    pub fn summary(&self) -> String {
        let events: u64 = Syscall::ALL.iter().map(|&s| self.events(s)).sum();
        let log = self.log_stats();
        format!(
            "{events} events read, {} lost in the kernel ring, {} decode errors; event log: \
             {} lines written, {} lines dropped, {} rotations; {} events dropped for slow clients",
            self.kernel_drops.load(Relaxed),
            self.decode_errors.load(Relaxed),
            log.lines_written,
            log.lines_dropped + self.log_queue_drops.load(Relaxed),
            log.rotations,
            self.client_drops.load(Relaxed),
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

    pub fn client_connected(&self, client: Arc<ClientShared>) {
        self.clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(client.id, client);
    }

    pub fn client_gone(&self, id: u64) {
        self.clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
    }

    pub fn clients_connected(&self) -> usize {
        self.clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// The text exposition of every metric, with # HELP and # TYPE lines. Per-client series
    /// (labelled with the client's id, transport and peer: its pid and uid, or its address) only
    /// with `client_labels`: they tell who uses the daemon.
    pub fn render(&self, client_labels: bool) -> String {
        let mut out = String::with_capacity(4096);
        header(
            &mut out,
            "dualstack_events_total",
            "counter",
            "Events read from the kernel, by syscall.",
        );
        for (i, s) in Syscall::ALL.iter().enumerate() {
            let _ = writeln!(
                out,
                "dualstack_events_total{{syscall=\"{}\"}} {}",
                s.name(),
                self.events[i].load(Relaxed)
            );
        }
        for (name, help, value) in self.counters() {
            header(&mut out, name, "counter", help);
            let _ = writeln!(out, "{name} {value}");
        }
        let clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        header(
            &mut out,
            "dualstack_clients_connected",
            "gauge",
            "Clients connected now.",
        );
        let _ = writeln!(out, "dualstack_clients_connected {}", clients.len());
        if !client_labels {
            return out;
        }
        header(
            &mut out,
            "dualstack_client_queue_drops",
            "gauge",
            "Events a connected client has lost so far because its queue was full.",
        );
        for c in clients.values() {
            let _ = writeln!(
                out,
                "dualstack_client_queue_drops{{client=\"{}\",transport=\"{}\",peer=\"{}\"}} {}",
                c.id,
                c.transport,
                escape(&c.peer),
                c.drops()
            );
        }
        out
    }

    /// (name, help, value) of every plain counter.
    fn counters(&self) -> [(&'static str, &'static str, u64); 14] {
        let log = self.log_stats();
        [
            (
                "dualstack_kernel_drops_total",
                "Events the kernel dropped because its ring buffer was full.",
                self.kernel_drops.load(Relaxed),
            ),
            (
                "dualstack_client_drops_total",
                "Events not sent to a client because its queue was full, summed over clients.",
                self.client_drops.load(Relaxed),
            ),
            (
                "dualstack_clients_accepted_total",
                "Client connections accepted.",
                self.clients_accepted.load(Relaxed),
            ),
            (
                "dualstack_clients_refused_total",
                "Client connections refused: bad first line, wrong token, too many clients.",
                self.clients_refused.load(Relaxed),
            ),
            (
                "dualstack_auth_failures_total",
                "TCP clients refused for a wrong or missing token.",
                self.auth_failures.load(Relaxed),
            ),
            (
                "dualstack_tcp_evictions_total",
                "TCP connections that lost their place waiting for their token to a newcomer.",
                self.tcp_evictions.load(Relaxed),
            ),
            (
                "dualstack_metrics_auth_failures_total",
                "Scrapes refused for a wrong or missing bearer token.",
                self.metrics_auth_failures.load(Relaxed),
            ),
            (
                "dualstack_clients_disconnected_total",
                "Clients that went away or could no longer be written to.",
                self.clients_disconnected.load(Relaxed),
            ),
            (
                "dualstack_decode_errors_total",
                "Kernel records that could not be decoded.",
                self.decode_errors.load(Relaxed),
            ),
            (
                "dualstack_log_bytes_total",
                "Bytes written to the event log.",
                log.bytes_written,
            ),
            (
                "dualstack_log_lines_total",
                "Lines written to the event log.",
                log.lines_written,
            ),
            (
                "dualstack_log_rotations_total",
                "Event log files rotated.",
                log.rotations,
            ),
            (
                "dualstack_log_write_errors_total",
                "Failed writes to the event log.",
                log.write_errors,
            ),
            (
                "dualstack_log_lines_dropped_total",
                "Lines the event log lost: dropped by the log, or not handed to it in time.",
                log.lines_dropped + self.log_queue_drops.load(Relaxed),
            ),
        ]
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A label value as the text format wants it: `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_has_help_and_type() {
        let m = Metrics::default();
        m.count_event(Syscall::Bind);
        m.count_event(Syscall::Bind);
        m.client_connected(Arc::new(ClientShared::new(7, "unix", "pid=1 \"x\"".into())));
        assert!(!m.render(false).contains("client=\"7\""));
        let text = m.render(true);
        assert!(
            text.contains("dualstack_events_total{syscall=\"bind\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("dualstack_clients_connected 1\n"), "{text}");
        assert!(
            text.contains(
                "dualstack_client_queue_drops{client=\"7\",transport=\"unix\",peer=\"pid=1 \\\"x\\\"\"} 0\n"
            ),
            "{text}"
        );
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap();
            assert!(
                text.contains(&format!("# TYPE {name} ")),
                "{name} has no TYPE"
            );
            assert!(
                text.contains(&format!("# HELP {name} ")),
                "{name} has no HELP"
            );
        }
    }
}
