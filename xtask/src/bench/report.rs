//! The figures of the overhead part: the tables of each measurement, and all of them as JSON.
//! The side-by-side summary and the targets are in [`super::summary`].

use serde_json::json;

use super::{
    bpf_stats::BpfStats,
    fleet::FleetResults,
    getppid::GetppidResults,
    pipeline::PipelineResults,
    socket_loop::{SocketResults, Variant, EVENTS_PER_ITERATION},
    stats::{median, min_max, paired_ratio, paired_ratio_difference, per, rounded},
    BenchArgs,
};

/// The overhead target for `dualstack trace -- CMD`.
pub(super) const TARGET_RATIO: f64 = 1.20;
/// How far above the floor's ratio a system-wide trace may put the getppid loop.
pub(super) const TARGET_GETPPID_ABOVE_FLOOR: f64 = 0.02;

pub(super) struct Report<'a> {
    pub(super) args: &'a BenchArgs,
    pub(super) socket: SocketResults,
    pub(super) getppid: GetppidResults,
    pub(super) bpf: BpfStats,
    pub(super) pipeline: PipelineResults,
    pub(super) fleet: Option<FleetResults>,
    pub(super) seconds: f64,
}

impl Report<'_> {
    pub(super) fn socket_median_us(&self, v: Variant) -> f64 {
        median(&self.socket.loop_ns[v as usize]) / self.socket.iterations[v as usize] as f64 / 1e3
    }

    pub(super) fn ratio(&self, v: Variant) -> f64 {
        self.socket_median_us(v) / self.socket_median_us(Variant::Untraced)
    }

    fn paired_ratio(&self, v: Variant) -> f64 {
        let u = Variant::Untraced as usize;
        paired_ratio(
            &self.socket.loop_ns[v as usize],
            self.socket.iterations[v as usize],
            &self.socket.loop_ns[u],
            self.socket.iterations[u],
        )
    }

    pub(super) fn tracer_cpu_ns_per_event(&self) -> f64 {
        let cpu: Vec<u64> = self.socket.tracer.iter().map(|t| t.cpu_ns).collect();
        median(&cpu) / (self.args.iterations * EVENTS_PER_ITERATION) as f64
    }

    fn socket_lost(&self) -> u64 {
        self.socket.tracer.iter().map(|t| t.lost).sum()
    }

    fn socket_undecodable(&self) -> u64 {
        self.socket.tracer.iter().map(|t| t.undecodable).sum()
    }

    /// Events dropped in every dualstack run of the bench.
    pub(super) fn lost(&self) -> u64 {
        self.socket_lost() + self.getppid.lost + self.bpf.lost()
    }

    /// Median time per getppid call of the loops run beside `setting` (one of the results'
    /// lists).
    pub(super) fn getppid_ns(&self, setting: &[u64]) -> f64 {
        median(setting) / self.args.getppid_iterations as f64
    }

    pub(super) fn getppid_ratio(&self, setting: &[u64]) -> f64 {
        self.getppid_ns(setting) / self.getppid_ns(&self.getppid.untraced_ns)
    }

    fn getppid_paired_ratio(&self, setting: &[u64]) -> f64 {
        let m = self.args.getppid_iterations;
        paired_ratio(setting, m, &self.getppid.untraced_ns, m)
    }

    /// The system-wide trace's getppid ratio minus the floor's.
    pub(super) fn getppid_above_floor(&self) -> f64 {
        self.getppid_ratio(&self.getppid.traced_ns) - self.getppid_ratio(&self.getppid.floor_ns)
    }

    fn getppid_paired_above_floor(&self) -> f64 {
        paired_ratio_difference(
            &self.getppid.traced_ns,
            &self.getppid.floor_ns,
            &self.getppid.untraced_ns,
        )
    }

    pub(super) fn print(&self) {
        self.print_socket_loop();
        println!();
        self.print_getppid();
        println!();
        self.bpf.print();
        println!();
        println!("user side alone (one core, replayed):");
        print!("{}", self.pipeline.text);
        println!();
        self.print_summary();
        println!();
        println!("bench took {:.0} s", self.seconds);
    }

    fn print_socket_loop(&self) {
        println!(
            "socket loop ({} iterations, {} under strace; {EVENTS_PER_ITERATION} syscalls each; median of {} rounds)",
            self.args.iterations,
            self.socket.iterations[Variant::Strace as usize],
            self.args.rounds
        );
        println!(
            "  {:<11} {:>10} {:>19} {:>8} {:>8}",
            "variant", "µs/iter", "min..max µs/iter", "ratio", "paired"
        );
        for v in Variant::ALL {
            let (lo, hi) = min_max(&self.socket.loop_ns[v as usize]);
            let n = self.socket.iterations[v as usize];
            println!(
                "  {:<11} {:>10.2} {:>19} {:>7.2}x {:>7.2}x",
                v.name(),
                self.socket_median_us(v),
                format!("{:.2}..{:.2}", per(lo, n) / 1e3, per(hi, n) / 1e3),
                self.ratio(v),
                self.paired_ratio(v)
            );
        }
        println!("  (ratio: of the medians; paired: median of the ratios within each round)");
        println!(
            "  dualstack CPU: {:.0} ns/event (median, loop start to exit); events lost: {}",
            self.tracer_cpu_ns_per_event(),
            self.socket_lost(),
        );
        if self.socket_undecodable() > 0 {
            println!("  undecodable records: {}", self.socket_undecodable());
        }
    }

    fn print_getppid(&self) {
        let g = &self.getppid;
        println!(
            "getppid loop ({} calls, median of {} rounds)",
            self.args.getppid_iterations, self.args.rounds
        );
        println!(
            "  {:<13} {:>10} {:>8} {:>8}",
            "variant", "ns/call", "ratio", "paired"
        );
        for (name, setting) in [
            ("untraced", &g.untraced_ns),
            ("floor", &g.floor_ns),
            ("floor+entries", &g.entries_ns),
            ("system-wide", &g.traced_ns),
        ] {
            println!(
                "  {name:<13} {:>10.1} {:>7.3}x {:>7.3}x",
                self.getppid_ns(setting),
                self.getppid_ratio(setting),
                self.getppid_paired_ratio(setting)
            );
        }
        println!(
            "  system-wide minus floor: {:+.3} (of the medians), {:+.3} (paired)",
            self.getppid_above_floor(),
            self.getppid_paired_above_floor()
        );
        println!(
            "  floor with the entry tracepoints minus floor: {:+.3} (of the medians)",
            self.getppid_ratio(&g.entries_ns) - self.getppid_ratio(&g.floor_ns)
        );
        println!("  system-wide tracer: events lost {}", g.lost);
    }

    pub(super) fn json(&self) -> serde_json::Value {
        let mut socket = serde_json::Map::new();
        socket.insert("events_per_iteration".into(), EVENTS_PER_ITERATION.into());
        for v in Variant::ALL {
            socket.insert(
                v.name().into(),
                json!({
                    "iterations": self.socket.iterations[v as usize],
                    "median_us_per_iteration": rounded(self.socket_median_us(v), 4),
                    "ratio": rounded(self.ratio(v), 4),
                    "paired_ratio": rounded(self.paired_ratio(v), 4),
                    "loop_ns": self.socket.loop_ns[v as usize],
                }),
            );
        }
        let cpu: Vec<u64> = self.socket.tracer.iter().map(|t| t.cpu_ns).collect();
        let more = json!({
            "target_ratio": TARGET_RATIO,
            "target_pass": self.ratio(Variant::Dualstack) <= TARGET_RATIO,
            "dualstack_cpu_ns_per_event": rounded(self.tracer_cpu_ns_per_event(), 1),
            "dualstack_cpu_ns": cpu,
            "events_lost": self.socket_lost(),
            "undecodable_records": self.socket_undecodable(),
        });
        socket.extend(more.as_object().cloned().unwrap_or_default());
        let g = &self.getppid;
        let getppid = json!({
            "calls": self.args.getppid_iterations,
            "untraced_ns_per_call": rounded(self.getppid_ns(&g.untraced_ns), 3),
            "floor_ns_per_call": rounded(self.getppid_ns(&g.floor_ns), 3),
            "system_wide_ns_per_call": rounded(self.getppid_ns(&g.traced_ns), 3),
            "floor_ratio": rounded(self.getppid_ratio(&g.floor_ns), 4),
            "floor_paired_ratio": rounded(self.getppid_paired_ratio(&g.floor_ns), 4),
            "floor_with_entries_ns_per_call": rounded(self.getppid_ns(&g.entries_ns), 3),
            "floor_with_entries_ratio": rounded(self.getppid_ratio(&g.entries_ns), 4),
            "ratio": rounded(self.getppid_ratio(&g.traced_ns), 4),
            "paired_ratio": rounded(self.getppid_paired_ratio(&g.traced_ns), 4),
            "ratio_minus_floor": rounded(self.getppid_above_floor(), 4),
            "paired_ratio_minus_floor": rounded(self.getppid_paired_above_floor(), 4),
            "target_above_floor": TARGET_GETPPID_ABOVE_FLOOR,
            "target_pass": self.getppid_above_floor() <= TARGET_GETPPID_ABOVE_FLOOR,
            "untraced_loop_ns": g.untraced_ns,
            "floor_loop_ns": g.floor_ns,
            "floor_with_entries_loop_ns": g.entries_ns,
            "system_wide_loop_ns": g.traced_ns,
            "events_lost": g.lost,
            "undecodable_records": g.undecodable,
        });
        let mut report = json!({
            "rounds": self.args.rounds,
            "socket_loop": socket,
            "getppid_loop": getppid,
            "bpf_stats": self.bpf.json(),
            "pipeline": self.pipeline.json(),
            "summary": self.summary_json(),
            "seconds": rounded(self.seconds, 1),
        });
        if let Some(fleet) = &self.fleet {
            report["fleet"] = fleet.json();
        }
        report
    }
}
