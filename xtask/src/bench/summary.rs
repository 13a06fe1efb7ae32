//! The side-by-side summary: untraced, the floor, the record floor, dualstack keeping nothing,
//! dualstack full and strace -f, one column each; and the targets the issue sets.

use std::fmt::Write as _;

use serde_json::json;

use super::{
    bpf_stats::TARGET_NS_PER_SYSCALL,
    pipeline::{TARGET_JSON_RATE, TARGET_STRACE_RATE},
    report::{Report, TARGET_GETPPID_ABOVE_FLOOR, TARGET_RATIO},
    socket_loop::Variant,
};

/// A figure of one column, or nothing where it was not measured.
type Cell = Option<String>;

impl Report<'_> {
    /// The figures per column: (row label, one cell per [`Variant::ALL`]).
    fn summary_rows(&self) -> Vec<(&'static str, Vec<Cell>)> {
        let by_variant = |f: &dyn Fn(Variant) -> Cell| Variant::ALL.map(f).to_vec();
        let only =
            |at: Variant, value: String| by_variant(&|v: Variant| (v == at).then(|| value.clone()));
        let g = &self.getppid;
        let getppid_setting = |v: Variant| match v {
            Variant::Untraced => Some(&g.untraced_ns),
            Variant::Floor => Some(&g.floor_ns),
            Variant::Dualstack => Some(&g.traced_ns),
            Variant::RecordFloor | Variant::ProbesOnly | Variant::Strace => None,
        };
        let bpf_ns = |v: Variant| {
            let run = match v {
                Variant::Floor => self.bpf.floor_run(),
                Variant::RecordFloor => self.bpf.record_floor_run(),
                Variant::Dualstack => self.bpf.default_run(),
                _ => None,
            }?;
            Some(format!("{:.1}", self.bpf.ns_per_traced_syscall(run)))
        };
        vec![
            (
                "socket loop µs/iteration",
                by_variant(&|v| Some(format!("{:.2}", self.socket_median_us(v)))),
            ),
            (
                "socket loop ratio",
                by_variant(&|v| Some(format!("{:.2}x", self.ratio(v)))),
            ),
            (
                "getppid ns/call",
                by_variant(&|v| getppid_setting(v).map(|s| format!("{:.1}", self.getppid_ns(s)))),
            ),
            (
                "getppid ratio",
                by_variant(&|v| {
                    getppid_setting(v).map(|s| format!("{:.3}x", self.getppid_ratio(s)))
                }),
            ),
            ("BPF ns/traced syscall", by_variant(&bpf_ns)),
            (
                "tracer CPU ns/event",
                only(
                    Variant::Dualstack,
                    format!("{:.0}", self.tracer_cpu_ns_per_event()),
                ),
            ),
            (
                "kernel record bytes/event",
                only(
                    Variant::Dualstack,
                    format!("{:.1}", self.pipeline.record_bytes),
                ),
            ),
            (
                "events lost",
                only(Variant::Dualstack, self.lost().to_string()),
            ),
        ]
    }

    /// (target, measured, passed).
    fn targets(&self) -> Vec<(String, String, bool)> {
        let bpf = self
            .bpf
            .default_run()
            .map_or(f64::NAN, |r| self.bpf.ns_per_traced_syscall(r));
        let record_floor = self
            .bpf
            .record_floor_run()
            .map_or(f64::NAN, |r| self.bpf.ns_per_traced_syscall(r));
        let ratio = self.ratio(Variant::Dualstack);
        let above_floor = self.getppid_above_floor();
        let rate = |output: &str| {
            self.pipeline
                .outputs
                .iter()
                .find(|(name, _, _)| name == output)
                .map_or(f64::NAN, |(_, rate, _)| *rate)
        };
        let (strace_rate, json_rate) = (rate("strace text"), rate("JSON"));
        vec![
            (
                format!("BPF per traced syscall <= {TARGET_NS_PER_SYSCALL:.0} ns"),
                format!("{bpf:.1} ns; a record alone, {record_floor:.1}"),
                bpf <= TARGET_NS_PER_SYSCALL,
            ),
            (
                format!("socket loop, full tracing <= {TARGET_RATIO:.2}x untraced"),
                format!(
                    "{ratio:.2}x; a record alone, {:.2}x",
                    self.ratio(Variant::RecordFloor)
                ),
                ratio <= TARGET_RATIO,
            ),
            (
                format!("getppid, system-wide trace <= floor + {TARGET_GETPPID_ABOVE_FLOOR}"),
                format!(
                    "{above_floor:+.3}; the entry tracepoints alone, {:+.3}",
                    self.getppid_ratio(&self.getppid.entries_ns)
                        - self.getppid_ratio(&self.getppid.floor_ns)
                ),
                above_floor <= TARGET_GETPPID_ABOVE_FLOOR,
            ),
            (
                "zero events lost".to_owned(),
                self.lost().to_string(),
                self.lost() == 0,
            ),
            (
                format!("pipeline, strace text >= {TARGET_STRACE_RATE:.0} events/s"),
                format!("{strace_rate:.0} events/s"),
                strace_rate >= TARGET_STRACE_RATE,
            ),
            (
                format!("pipeline, JSON >= {TARGET_JSON_RATE:.0} events/s"),
                format!("{json_rate:.0} events/s"),
                json_rate >= TARGET_JSON_RATE,
            ),
        ]
    }

    pub(super) fn print_summary(&self) {
        println!("summary (medians; getppid under dualstack: a system-wide trace)");
        let mut header = format!("  {:<26}", "");
        for v in Variant::ALL {
            let name = if v == Variant::Strace {
                "strace -f"
            } else {
                v.name()
            };
            let _ = write!(header, " {name:>11}");
        }
        println!("{header}");
        for (label, cells) in self.summary_rows() {
            let mut line = format!("  {label:<26}");
            for cell in cells {
                let _ = write!(line, " {:>11}", cell.as_deref().unwrap_or("-"));
            }
            println!("{line}");
        }
        println!(
            "  (BPF ns under dualstack: --exit-hook tp-btf --state-map hash; per program above)"
        );
        if let Some(run) = self.bpf.record_floor_run() {
            println!(
                "  (record floor: {:.1} ns of BPF per traced syscall for a record per call and \
                 nothing else)",
                self.bpf.ns_per_traced_syscall(run)
            );
        }
        println!("targets:");
        for (target, measured, passed) in self.targets() {
            let verdict = if passed { "PASS" } else { "FAIL" };
            println!("  {target:<48} {verdict} (measured {measured})");
        }
    }

    pub(super) fn summary_json(&self) -> serde_json::Value {
        let mut rows = serde_json::Map::new();
        for (label, cells) in self.summary_rows() {
            let mut row = serde_json::Map::new();
            for (v, cell) in Variant::ALL.iter().zip(cells) {
                if let Some(cell) = cell {
                    row.insert(v.name().into(), cell.into());
                }
            }
            rows.insert(label.into(), row.into());
        }
        let targets: Vec<serde_json::Value> = self
            .targets()
            .into_iter()
            .map(|(target, measured, pass)| {
                json!({ "target": target, "measured": measured, "pass": pass })
            })
            .collect();
        json!({ "table": rows, "targets": targets })
    }
}
