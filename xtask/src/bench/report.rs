//! The summary printed at the end of a run, and the same numbers as JSON.

use std::fmt::Write as _;

use super::{
    fleet::FleetResults,
    getppid::GetppidResults,
    socket_loop::{SocketResults, Variant, EVENTS_PER_ITERATION},
    stats::{median, min_max, paired_ratio, per},
    BenchArgs,
};

/// The overhead target for `dualstack trace -- CMD`.
const TARGET_RATIO: f64 = 1.20;

pub(super) struct Report<'a> {
    pub(super) args: &'a BenchArgs,
    pub(super) socket: SocketResults,
    pub(super) getppid: GetppidResults,
    pub(super) fleet: Option<FleetResults>,
    pub(super) seconds: f64,
}

impl Report<'_> {
    fn socket_median_us(&self, v: Variant) -> f64 {
        median(&self.socket.loop_ns[v as usize]) / self.socket.iterations[v as usize] as f64 / 1e3
    }

    fn ratio(&self, v: Variant) -> f64 {
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

    fn getppid_paired_ratio(&self) -> f64 {
        let m = self.args.getppid_iterations;
        paired_ratio(&self.getppid.traced_ns, m, &self.getppid.untraced_ns, m)
    }

    fn tracer_cpu_ns_per_event(&self) -> f64 {
        let cpu: Vec<u64> = self.socket.tracer.iter().map(|t| t.cpu_ns).collect();
        median(&cpu) / (self.args.iterations * EVENTS_PER_ITERATION) as f64
    }

    fn socket_lost(&self) -> u64 {
        self.socket.tracer.iter().map(|t| t.lost).sum()
    }

    fn socket_undecodable(&self) -> u64 {
        self.socket.tracer.iter().map(|t| t.undecodable).sum()
    }

    fn getppid_ns(&self, traced: bool) -> f64 {
        let values = if traced {
            &self.getppid.traced_ns
        } else {
            &self.getppid.untraced_ns
        };
        median(values) / self.args.getppid_iterations as f64
    }

    fn passed(&self) -> bool {
        self.ratio(Variant::Dualstack) <= TARGET_RATIO
    }

    pub(super) fn print(&self) {
        println!();
        println!(
            "socket loop ({} iterations, {} under strace; {EVENTS_PER_ITERATION} syscalls each; median of {} rounds)",
            self.args.iterations,
            self.socket.iterations[Variant::Strace as usize],
            self.args.rounds
        );
        println!(
            "  {:<10} {:>10} {:>19} {:>8} {:>8}",
            "variant", "µs/iter", "min..max µs/iter", "ratio", "paired"
        );
        for v in Variant::ALL {
            let (lo, hi) = min_max(&self.socket.loop_ns[v as usize]);
            let n = self.socket.iterations[v as usize];
            println!(
                "  {:<10} {:>10.2} {:>19} {:>7.2}x {:>7.2}x",
                v.name(),
                self.socket_median_us(v),
                format!("{:.2}..{:.2}", per(lo, n) / 1e3, per(hi, n) / 1e3),
                self.ratio(v),
                self.paired_ratio(v)
            );
        }
        println!("  (ratio: of the medians; paired: median of the ratios within each round)");
        let verdict = if self.passed() { "PASS" } else { "FAIL" };
        println!(
            "  target: dualstack <= {TARGET_RATIO:.2}x untraced: {verdict} (measured {:.2}x)",
            self.ratio(Variant::Dualstack)
        );
        println!(
            "  dualstack CPU: {:.0} ns/event (median, loop start to exit); events lost: {}{}",
            self.tracer_cpu_ns_per_event(),
            self.socket_lost(),
            if self.socket_lost() == 0 {
                ""
            } else {
                "  <-- DROPS (must be 0)"
            }
        );
        if self.socket_undecodable() > 0 {
            println!("  undecodable records: {}", self.socket_undecodable());
        }
        println!();
        println!(
            "getppid loop ({} calls, median of {} rounds)",
            self.args.getppid_iterations, self.args.rounds
        );
        println!(
            "  {:<12} {:>10} {:>8} {:>8}",
            "variant", "ns/call", "ratio", "paired"
        );
        let base = self.getppid_ns(false);
        println!(
            "  {:<12} {:>10.1} {:>7.2}x {:>7.2}x",
            "untraced", base, 1.0, 1.0
        );
        println!(
            "  {:<12} {:>10.1} {:>7.2}x {:>7.2}x",
            "system-wide",
            self.getppid_ns(true),
            self.getppid_ns(true) / base,
            self.getppid_paired_ratio()
        );
        println!("  system-wide tracer: events lost {}", self.getppid.lost);
        println!();
        println!("bench took {:.0} s", self.seconds);
    }

    pub(super) fn json(&self) -> String {
        let list = |values: &[u64]| {
            values
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let cpu: Vec<u64> = self.socket.tracer.iter().map(|t| t.cpu_ns).collect();
        let mut s = String::new();
        let _ = writeln!(s, "{{");
        let _ = writeln!(s, "  \"rounds\": {},", self.args.rounds);
        let _ = writeln!(s, "  \"socket_loop\": {{");
        let _ = writeln!(s, "    \"events_per_iteration\": {EVENTS_PER_ITERATION},");
        for v in Variant::ALL {
            let _ = writeln!(
                s,
                "    \"{}\": {{ \"iterations\": {}, \"median_us_per_iteration\": {:.4}, \"ratio\": {:.4}, \"paired_ratio\": {:.4}, \"loop_ns\": [{}] }},",
                v.name(),
                self.socket.iterations[v as usize],
                self.socket_median_us(v),
                self.ratio(v),
                self.paired_ratio(v),
                list(&self.socket.loop_ns[v as usize])
            );
        }
        let _ = writeln!(s, "    \"target_ratio\": {TARGET_RATIO},");
        let _ = writeln!(s, "    \"target_pass\": {},", self.passed());
        let _ = writeln!(
            s,
            "    \"dualstack_cpu_ns_per_event\": {:.1},",
            self.tracer_cpu_ns_per_event()
        );
        let _ = writeln!(s, "    \"dualstack_cpu_ns\": [{}],", list(&cpu));
        let _ = writeln!(s, "    \"events_lost\": {},", self.socket_lost());
        let _ = writeln!(
            s,
            "    \"undecodable_records\": {}",
            self.socket_undecodable()
        );
        let _ = writeln!(s, "  }},");
        let _ = writeln!(s, "  \"getppid_loop\": {{");
        let _ = writeln!(s, "    \"calls\": {},", self.args.getppid_iterations);
        let _ = writeln!(
            s,
            "    \"untraced_ns_per_call\": {:.3},",
            self.getppid_ns(false)
        );
        let _ = writeln!(
            s,
            "    \"system_wide_ns_per_call\": {:.3},",
            self.getppid_ns(true)
        );
        let _ = writeln!(
            s,
            "    \"ratio\": {:.4},",
            self.getppid_ns(true) / self.getppid_ns(false)
        );
        let _ = writeln!(
            s,
            "    \"paired_ratio\": {:.4},",
            self.getppid_paired_ratio()
        );
        let _ = writeln!(
            s,
            "    \"untraced_loop_ns\": [{}],",
            list(&self.getppid.untraced_ns)
        );
        let _ = writeln!(
            s,
            "    \"system_wide_loop_ns\": [{}],",
            list(&self.getppid.traced_ns)
        );
        let _ = writeln!(s, "    \"events_lost\": {},", self.getppid.lost);
        let _ = writeln!(
            s,
            "    \"undecodable_records\": {}",
            self.getppid.undecodable
        );
        let _ = writeln!(s, "  }},");
        if let Some(fleet) = &self.fleet {
            let _ = writeln!(s, "  \"fleet\": {},", fleet.json());
        }
        let _ = writeln!(s, "  \"seconds\": {:.1}", self.seconds);
        let _ = writeln!(s, "}}");
        s
    }
}
