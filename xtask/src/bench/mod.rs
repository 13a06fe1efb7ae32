//! `cargo xtask bench`: the tracer's overhead, measured side by side in one run.
//!
//! Two workloads, compiled from bench/*.c into target/bench/ at bench time:
//!
//! * `socket_loop N`: N × `socket(AF_INET6)+setsockopt+bind([::]:0)+listen+close`, run
//!   untraced, under the floor ([`floor`]: an empty program on the exit dispatcher's hook),
//!   under dualstack keeping nothing, under `dualstack trace -o /dev/null --` and under
//!   `strace -f`, in interleaved rounds (the order rotates each round). Each run reports its
//!   own loop time; medians of the time per iteration are compared (strace runs fewer
//!   iterations: it is far slower). The tracer's own CPU time (from the loop's start to its
//!   exit) per event and the events the kernel ring buffer dropped are reported too.
//! * `getppid_loop M`: M `getppid()` calls, untraced vs under the floor vs while `dualstack
//!   trace -o /dev/null` traces the whole system in the background: the system-wide tax on
//!   unrelated syscalls, and how far above the floor's it is.
//! * BPF run time ([`bpf_stats`]): the kernel's bpf_stats counters of the floor's and the
//!   tracer's programs over one socket loop each, per program and per traced syscall, for
//!   the tp_btf and raw_tp exit hooks and the hash and LRU state maps.
//! * the user side alone ([`pipeline`]): kernel records of a real run replayed through decode
//!   -> record -> strace text and -> JSON on one core, in events per second; and the mean
//!   size of those records (the ring buffer's bytes per event).
//! * the fleet ([`fleet`]): a daemon publishing `socket_loop`'s events to a local JetStream, in
//!   events per second acknowledged and daemon CPU per event; and how long a new listener takes
//!   to reach `dualstack audit`. `--only fleet` runs this part alone.
//!
//! The machines are shared and noisy, so only ratios measured in the same run mean much.
//!
//! One file per part: [`socket_loop`], [`getppid`] and [`bpf_stats`] are the measurements,
//! [`process`] and [`floor`] run and reap their programs, [`bpf_progs`] reads the kernel's
//! counters, [`stats`], [`report`], [`bpf_report`] and [`summary`] turn the figures into the
//! tables and `target/bench/results.json`.

mod bpf_progs;
mod bpf_report;
mod bpf_stats;
mod fleet;
mod floor;
mod getppid;
mod pipeline;
mod process;
mod report;
mod socket_loop;
mod stats;
mod summary;

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Instant,
};

use anyhow::{bail, ensure, Context as _, Result};
use clap::{Args, ValueEnum};

use self::{
    bpf_stats::bench_bpf_stats, getppid::bench_getppid, report::Report,
    socket_loop::bench_socket_loop,
};

#[derive(Args)]
pub struct BenchArgs {
    /// Rounds of each comparison; every round runs each variant once (medians are reported).
    #[arg(long, default_value_t = 7)]
    pub rounds: usize,
    /// Iterations of the socket loop per run (5 traced syscalls each).
    #[arg(long, default_value_t = 50_000)]
    pub iterations: u64,
    /// Iterations of the socket loop under strace, which is some 30-50 times slower
    /// (default: a fifth of --iterations; times are compared per iteration).
    #[arg(long)]
    pub strace_iterations: Option<u64>,
    /// `getppid()` calls per run of the getppid loop.
    #[arg(long, default_value_t = 2_000_000)]
    pub getppid_iterations: u64,
    /// Iterations of the socket loop whose events the fleet part publishes (5 events each).
    #[arg(long, default_value_t = 40_000)]
    pub fleet_iterations: u64,
    /// Run one part only.
    #[arg(long, value_enum)]
    pub only: Option<Part>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Part {
    /// The tracer's overhead: socket loop, getppid loop, the user side alone.
    Overhead,
    /// A daemon publishing to a local NATS JetStream, and `audit`.
    Fleet,
}

pub fn run(args: &BenchArgs, dualstack: &Path) -> Result<()> {
    ensure!(args.rounds >= 1, "--rounds must be at least 1");
    ensure!(args.iterations >= 1, "--iterations must be at least 1");
    ensure!(
        args.strace_iterations != Some(0),
        "--strace-iterations must be at least 1"
    );
    ensure!(
        args.getppid_iterations >= 1,
        "--getppid-iterations must be at least 1"
    );
    ensure!(
        args.fleet_iterations >= 1,
        "--fleet-iterations must be at least 1"
    );
    ensure!(dualstack.is_file(), "{} is not built", dualstack.display());
    let root = crate::workspace_root();
    let out_dir = root.join("target/bench");
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let socket_loop = compile(&root.join("bench/socket_loop.c"), &out_dir)?;
    let getppid_loop = compile(&root.join("bench/getppid_loop.c"), &out_dir)?;
    let started = Instant::now();

    let overhead = if args.only == Some(Part::Fleet) {
        None
    } else {
        let bpf_floor = floor::build_floor()?;
        Some((
            bench_socket_loop(args, dualstack, &bpf_floor, &socket_loop)?,
            bench_getppid(args, dualstack, &bpf_floor, &getppid_loop)?,
            bench_bpf_stats(args.iterations, dualstack, &bpf_floor, &socket_loop)?,
            pipeline::bench_pipeline()?,
        ))
    };
    let fleet = if args.only == Some(Part::Overhead) {
        None
    } else {
        Some(fleet::bench_fleet(
            dualstack,
            &socket_loop,
            args.fleet_iterations,
        )?)
    };
    let seconds = started.elapsed().as_secs_f64();

    let json = if let Some((socket, getppid, bpf, pipeline)) = overhead {
        let report = Report {
            args,
            socket,
            getppid,
            bpf,
            pipeline,
            fleet,
            seconds,
        };
        report.print();
        if let Some(fleet) = &report.fleet {
            println!();
            fleet.print();
        }
        report.json()
    } else {
        let fleet = fleet.context("no part was run")?;
        println!();
        fleet.print();
        serde_json::json!({ "fleet": fleet.json(), "seconds": stats::rounded(seconds, 1) })
    };
    let json_path = out_dir.join("results.json");
    let mut text = serde_json::to_string_pretty(&json)?;
    text.push('\n');
    std::fs::write(&json_path, text)
        .with_context(|| format!("cannot write {}", json_path.display()))?;
    println!("results: {}", json_path.display());
    Ok(())
}

/// Compiles one C workload with `cc -O2` into `out_dir`; returns the binary's path.
fn compile(source: &Path, out_dir: &Path) -> Result<PathBuf> {
    let name = source
        .file_stem()
        .and_then(|s| s.to_str())
        .context("bad workload source name")?;
    let binary = out_dir.join(name);
    let output = Command::new("cc")
        .args(["-O2", "-Wall", "-Wextra", "-o"])
        .arg(&binary)
        .arg(source)
        .output()
        .context("cannot run cc (a C compiler is needed for the bench workloads)")?;
    if !output.status.success() {
        bail!(
            "cc failed on {}:\n{}",
            source.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(binary)
}
