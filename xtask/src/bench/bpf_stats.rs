//! BPF run time per traced syscall, from the kernel's bpf_stats: one run of `socket_loop N`
//! under the floor, and one under `dualstack trace -o /dev/null --` for each way of loading it
//! (tp_btf or raw_tp exit hook, hash or LRU state map). The counters of the programs the
//! floor or tracer process holds are read just before the loop starts and just after it ends,
//! while the tracer still runs; the difference is the loop's.
//!
//! Every program counts all its runs on the host in that window (sys_exit runs at the exit of
//! every syscall of every process), so the figure per traced syscall is what the host paid
//! for tracing the loop's 5 × N calls, all else included.

use std::{
    collections::BTreeMap,
    io::{BufRead as _, BufReader, Write as _},
    path::Path,
    process::{Command, Stdio},
    thread,
};

use anyhow::{bail, Context as _, Result};

use super::{
    bpf_progs::{program_counters, program_names, Counters, StatsEnabled},
    floor::Floor,
    process::{read_all, run_loop, tracer_complaints, KillOnDrop},
    socket_loop::EVENTS_PER_ITERATION,
};

/// The target: BPF time per traced syscall with the default loading (tp_btf, hash).
pub(super) const TARGET_NS_PER_SYSCALL: f64 = 200.0;

/// The floor that writes a record per traced call and nothing else: the least any design
/// writing records costs, so the part of the target that knowing the socket may take.
pub(super) const RECORD_FLOOR: &str = "record floor";

/// The ways of loading the tracer that are compared: (label, `dualstack trace` flags).
const TRACER_SETUPS: [(&str, &[&str]); 3] = [
    (
        "tp_btf+hash",
        &["--exit-hook", "tp-btf", "--state-map", "hash"],
    ),
    (
        "tp_btf+lru",
        &["--exit-hook", "tp-btf", "--state-map", "lru"],
    ),
    (
        "raw_tp+hash",
        &["--exit-hook", "raw-tp", "--state-map", "hash"],
    ),
];

/// Run under the tracer: says `armed` once the tracer has attached (it starts its command only
/// then), waits for a line to start the loop, and after it for the end of its input, so that
/// the tracer and its programs outlive the loop until the counters are read.
const WRAPPER: &str = r#"echo armed; read go; "$0" "$1" || exit; read done; exit 0"#;

/// One program's runs during the loop.
pub(super) struct ProgramRuns {
    pub(super) name: String,
    pub(super) counters: Counters,
}

/// One loop's BPF accounting.
pub(super) struct StatsRun {
    pub(super) label: &'static str,
    pub(super) programs: Vec<ProgramRuns>,
    /// Events the kernel ring dropped (the floor keeps none).
    pub(super) lost: u64,
}

impl StatsRun {
    pub(super) fn total_ns(&self) -> u64 {
        self.programs.iter().map(|p| p.counters.run_time_ns).sum()
    }

    /// Runs of the program on the exit hook (the floor's, sys_exit or sys_exit_raw).
    pub(super) fn exit_runs(&self) -> u64 {
        self.programs
            .iter()
            .filter(|p| p.name.contains("sys_exit"))
            .map(|p| p.counters.run_cnt)
            .sum()
    }
}

pub(super) struct BpfStats {
    pub(super) iterations: u64,
    /// kernel.bpf_stats_enabled before the bench.
    pub(super) sysctl_before: String,
    /// The floors first (empty, record), then the tracer setups.
    pub(super) runs: Vec<StatsRun>,
}

impl BpfStats {
    pub(super) fn traced_syscalls(&self) -> u64 {
        self.iterations * EVENTS_PER_ITERATION
    }

    pub(super) fn ns_per_traced_syscall(&self, run: &StatsRun) -> f64 {
        run.total_ns() as f64 / self.traced_syscalls() as f64
    }

    pub(super) fn run(&self, label: &str) -> Option<&StatsRun> {
        self.runs.iter().find(|r| r.label == label)
    }

    /// The default loading, which the target is about.
    pub(super) fn default_run(&self) -> Option<&StatsRun> {
        self.run(TRACER_SETUPS[0].0)
    }

    pub(super) fn floor_run(&self) -> Option<&StatsRun> {
        self.run("floor")
    }

    pub(super) fn record_floor_run(&self) -> Option<&StatsRun> {
        self.run(RECORD_FLOOR)
    }

    pub(super) fn lost(&self) -> u64 {
        self.runs.iter().map(|r| r.lost).sum()
    }

    pub(super) fn passed(&self) -> bool {
        self.default_run()
            .is_some_and(|r| self.ns_per_traced_syscall(r) <= TARGET_NS_PER_SYSCALL)
    }
}

pub(super) fn bench_bpf_stats(
    iterations: u64,
    dualstack: &Path,
    bpf_floor: &Path,
    socket_loop: &Path,
) -> Result<BpfStats> {
    let enabled = StatsEnabled::enable()?;
    println!(
        "bpf_stats: socket_loop {iterations} once under the floor and once per tracer setup ({}); \
         kernel.bpf_stats_enabled was {}",
        TRACER_SETUPS.map(|(label, _)| label).join(", "),
        enabled.previous()
    );
    let n = iterations.to_string();
    let mut runs = vec![
        floor_run("floor", Floor::start(bpf_floor)?, socket_loop, &n)?,
        floor_run(
            RECORD_FLOOR,
            Floor::start_record(bpf_floor)?,
            socket_loop,
            &n,
        )?,
    ];
    for (label, flags) in TRACER_SETUPS {
        runs.push(traced_run(label, dualstack, flags, socket_loop, &n)?);
    }
    for run in &runs {
        println!(
            "  {:<12} {:>8.1} ns of BPF per traced syscall",
            run.label,
            run.total_ns() as f64 / (iterations * EVENTS_PER_ITERATION) as f64
        );
    }
    Ok(BpfStats {
        iterations,
        sysctl_before: enabled.previous().to_owned(),
        runs,
    })
}

fn floor_run(label: &'static str, floor: Floor, socket_loop: &Path, n: &str) -> Result<StatsRun> {
    let before = program_counters(floor.pid())?;
    run_loop(Command::new(socket_loop).arg(n), "socket_loop")?;
    let after = program_counters(floor.pid())?;
    let names = program_names()?;
    floor.stop()?;
    Ok(StatsRun {
        label,
        programs: runs_between(&before, &after, &names)?,
        lost: 0,
    })
}

/// `dualstack trace -o /dev/null FLAGS -- sh -c WRAPPER socket_loop N`.
fn traced_run(
    label: &'static str,
    dualstack: &Path,
    flags: &[&str],
    socket_loop: &Path,
    n: &str,
) -> Result<StatsRun> {
    let mut tracer = KillOnDrop(
        Command::new(dualstack)
            .args(["trace", "-o", "/dev/null"])
            .args(flags)
            .args(["--", "sh", "-c", WRAPPER])
            .arg(socket_loop)
            .arg(n)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot start dualstack trace")?,
    );
    let pid = tracer.0.id();
    let stderr = tracer.0.stderr.take().expect("piped");
    let stderr = thread::spawn(move || read_all(stderr));
    let mut stdin = tracer.0.stdin.take().expect("piped");
    let mut stdout = BufReader::new(tracer.0.stdout.take().expect("piped"));
    let mut text = String::new();
    let mut read_until = |prefix: &str| -> Result<bool> {
        loop {
            let mut line = String::new();
            if stdout.read_line(&mut line)? == 0 {
                return Ok(false);
            }
            text.push_str(&line);
            if line.starts_with(prefix) {
                return Ok(true);
            }
        }
    };
    let mut measured = None;
    if read_until("armed")? {
        let before = program_counters(pid)?;
        writeln!(stdin, "go").context("cannot start the loop")?;
        if read_until("elapsed_ns=")? {
            measured = Some((before, program_counters(pid)?));
        }
    }
    // The end of its input ends the wrapper, and with it the trace.
    drop(stdin);
    let status = tracer.0.wait().context("cannot wait for dualstack trace")?;
    let stderr = stderr.join().expect("stderr reader panicked");
    let Some((before, after)) = measured.filter(|_| status.success()) else {
        bail!("dualstack trace {flags:?} -- socket_loop failed ({status}):\n{text}{stderr}");
    };
    let names = program_names()?;
    let programs = runs_between(&before, &after, &names)?;
    let (lost, _) = tracer_complaints(&stderr)?;
    Ok(StatsRun {
        label,
        programs,
        lost,
    })
}

/// The runs of each program between two readings, named, busiest first.
fn runs_between(
    before: &BTreeMap<u32, Counters>,
    after: &BTreeMap<u32, Counters>,
    names: &BTreeMap<u32, String>,
) -> Result<Vec<ProgramRuns>> {
    if after.is_empty() {
        bail!("the process held no BPF program");
    }
    let mut runs: Vec<ProgramRuns> = after
        .iter()
        .map(|(id, counters)| ProgramRuns {
            name: names.get(id).cloned().unwrap_or_else(|| format!("id {id}")),
            counters: counters.since(before.get(id).copied().unwrap_or_default()),
        })
        .collect();
    runs.sort_by_key(|p| std::cmp::Reverse(p.counters.run_time_ns));
    Ok(runs)
}
