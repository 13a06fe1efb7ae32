//! The table of BPF run time per program and per traced syscall, and the same as JSON.

use std::fmt::Write as _;

use serde_json::json;

use super::{
    bpf_stats::{BpfStats, TARGET_NS_PER_SYSCALL},
    stats::rounded,
};

impl BpfStats {
    pub(super) fn print(&self) {
        println!(
            "BPF run time (bpf_stats), socket_loop {} = {} traced syscalls, loop start to end; \
             every run on the host in that window counts",
            self.iterations,
            self.traced_syscalls()
        );
        let mut names: Vec<&str> = Vec::new();
        for run in &self.runs {
            for p in &run.programs {
                if !names.contains(&p.name.as_str()) {
                    names.push(&p.name);
                }
            }
        }
        let mut header = format!("  {:<18}", "program");
        for run in &self.runs {
            let _ = write!(header, " {:>21}", format!("{} runs  ns/run", run.label));
        }
        println!("{header}");
        for name in names {
            let mut line = format!("  {name:<18}");
            for run in &self.runs {
                let cell = match run.programs.iter().find(|p| p.name == name) {
                    Some(p) if p.counters.run_cnt > 0 => format!(
                        "{:>10} {:>7.1}",
                        p.counters.run_cnt,
                        p.counters.run_time_ns as f64 / p.counters.run_cnt as f64
                    ),
                    Some(_) => format!("{:>10} {:>7}", 0, "-"),
                    None => "-".to_owned(),
                };
                let _ = write!(line, " {cell:>21}");
            }
            println!("{line}");
        }
        let mut line = format!("  {:<18}", "ns per traced call");
        for run in &self.runs {
            let _ = write!(line, " {:>21.1}", self.ns_per_traced_syscall(run));
        }
        println!("{line}");
        let mut line = format!("  {:<18}", "exit-hook runs");
        for run in &self.runs {
            let _ = write!(line, " {:>21}", run.exit_runs());
        }
        println!("{line}");
        if let Some(run) = self.default_run() {
            println!(
                "  target: <= {TARGET_NS_PER_SYSCALL:.0} ns of BPF per traced syscall ({}): {} \
                 (measured {:.1}); events lost: {}",
                run.label,
                if self.passed() { "PASS" } else { "FAIL" },
                self.ns_per_traced_syscall(run),
                self.lost()
            );
        }
    }

    /// The figures as a JSON object.
    pub(super) fn json(&self) -> serde_json::Value {
        let mut runs = serde_json::Map::new();
        for run in &self.runs {
            let programs: Vec<serde_json::Value> = run
                .programs
                .iter()
                .map(|p| {
                    json!({
                        "name": p.name,
                        "runs": p.counters.run_cnt,
                        "run_time_ns": p.counters.run_time_ns,
                    })
                })
                .collect();
            runs.insert(
                run.label.to_owned(),
                json!({
                    "ns_per_traced_syscall": rounded(self.ns_per_traced_syscall(run), 2),
                    "total_run_time_ns": run.total_ns(),
                    "exit_hook_runs": run.exit_runs(),
                    "events_lost": run.lost,
                    "programs": programs,
                }),
            );
        }
        json!({
            "iterations": self.iterations,
            "traced_syscalls": self.traced_syscalls(),
            "sysctl_before": self.sysctl_before,
            "target_ns_per_traced_syscall": TARGET_NS_PER_SYSCALL,
            "target_pass": self.passed(),
            "runs": runs,
        })
    }
}
