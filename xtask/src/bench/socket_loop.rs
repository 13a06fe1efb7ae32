//! Socket loop: untraced vs the floor vs the record floor vs dualstack keeping nothing vs
//! dualstack vs strace.

use std::{
    fmt::Write as _,
    io::{BufRead as _, BufReader, Read as _},
    path::Path,
    process::{Command, Stdio},
    thread,
};

use anyhow::{bail, Context as _, Result};

use super::{
    floor::Floor,
    process::{
        field_u64, parse_result, process_cpu_ns, read_all, run_loop, tracer_complaints, wait4,
    },
    stats::per,
    BenchArgs,
};

/// Traced syscalls per socket-loop iteration.
pub(super) const EVENTS_PER_ITERATION: u64 = 5;
const STRACE_SYSCALLS: &str =
    "trace=socket,socketpair,setsockopt,bind,listen,connect,accept,accept4,close";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Variant {
    Untraced,
    /// An empty program on the exit dispatcher's hook ([`super::floor`]), the loop untraced:
    /// the floor under any tracer of this design.
    Floor,
    /// A program on the same hook that writes a record per traced call and nothing else, its
    /// records read and dropped ([`super::floor`]): the least any tracer writing records costs.
    RecordFloor,
    /// dualstack attached but keeping nothing (a --comm that matches no task): its programs'
    /// early exits, above the floor.
    ProbesOnly,
    Dualstack,
    Strace,
}

impl Variant {
    pub(super) const ALL: [Variant; 6] = [
        Variant::Untraced,
        Variant::Floor,
        Variant::RecordFloor,
        Variant::ProbesOnly,
        Variant::Dualstack,
        Variant::Strace,
    ];

    pub(super) fn name(self) -> &'static str {
        match self {
            Variant::Untraced => "untraced",
            Variant::Floor => "floor",
            Variant::RecordFloor => "rec-floor",
            Variant::ProbesOnly => "probes-only",
            Variant::Dualstack => "dualstack",
            Variant::Strace => "strace",
        }
    }
}

/// One traced run: what the tracer cost beyond the loop's own time.
pub(super) struct TracerRun {
    /// The tracer's CPU time (all its threads, user + system) from the loop's start to its exit.
    pub(super) cpu_ns: u64,
    /// Events the kernel ring buffer dropped, as the tracer reported on stderr.
    pub(super) lost: u64,
    pub(super) undecodable: u64,
}

pub(super) struct SocketResults {
    /// Iterations per run, per variant.
    pub(super) iterations: [u64; Variant::ALL.len()],
    /// Loop times (ns) per variant, in round order.
    pub(super) loop_ns: [Vec<u64>; Variant::ALL.len()],
    pub(super) tracer: Vec<TracerRun>,
}

pub(super) fn bench_socket_loop(
    args: &BenchArgs,
    dualstack: &Path,
    bpf_floor: &Path,
    socket_loop: &Path,
) -> Result<SocketResults> {
    let strace_iterations = args
        .strace_iterations
        .unwrap_or((args.iterations / 5).max(1));
    let n = args.iterations.to_string();
    let strace_n = strace_iterations.to_string();
    println!(
        "socket loop: {} iterations ({strace_iterations} under strace) × {EVENTS_PER_ITERATION} syscalls, \
         {} rounds of {}",
        args.iterations,
        args.rounds,
        Variant::ALL.map(Variant::name).join(" / ")
    );
    let mut results = SocketResults {
        iterations: Variant::ALL.map(|v| {
            if v == Variant::Strace {
                strace_iterations
            } else {
                args.iterations
            }
        }),
        loop_ns: Default::default(),
        tracer: Vec::new(),
    };
    for round in 0..args.rounds {
        let mut line = format!("  round {}/{}:", round + 1, args.rounds);
        for k in 0..Variant::ALL.len() {
            let variant = Variant::ALL[(round + k) % Variant::ALL.len()];
            let ns = match variant {
                Variant::Untraced => run_loop(Command::new(socket_loop).arg(&n), "socket_loop")?,
                Variant::Floor | Variant::RecordFloor => {
                    let floor = if variant == Variant::Floor {
                        Floor::start(bpf_floor)?
                    } else {
                        Floor::start_record(bpf_floor)?
                    };
                    let ns = run_loop(Command::new(socket_loop).arg(&n), "socket_loop")?;
                    floor.stop()?;
                    ns
                }
                Variant::Strace => run_loop(
                    Command::new("strace")
                        .args(["-f", "-qq", "-o", "/dev/null", "-e", STRACE_SYSCALLS])
                        .arg(socket_loop)
                        .arg(&strace_n),
                    "strace -f socket_loop",
                )?,
                Variant::Dualstack => {
                    let (ns, tracer) = run_dualstack_loop(dualstack, &[], socket_loop, &n)?;
                    results.tracer.push(tracer);
                    ns
                }
                Variant::ProbesOnly => {
                    let filter = ["--comm", "no-such-task"];
                    run_dualstack_loop(dualstack, &filter, socket_loop, &n)?.0
                }
            };
            results.loop_ns[variant as usize].push(ns);
            let _ = write!(
                line,
                " {} {:.2} µs/it",
                variant.name(),
                per(ns, results.iterations[variant as usize]) / 1e3
            );
        }
        println!("{line}");
    }
    Ok(results)
}

/// `dualstack trace -o /dev/null -- socket_loop N`: the loop's time and the tracer's costs.
fn run_dualstack_loop(
    dualstack: &Path,
    filters: &[&str],
    socket_loop: &Path,
    n: &str,
) -> Result<(u64, TracerRun)> {
    let mut child = Command::new(dualstack)
        .args(["trace", "-o", "/dev/null"])
        .args(filters)
        .arg("--")
        .arg(socket_loop)
        .arg(n)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start dualstack trace")?;
    let pid = child.id();
    let stderr = child.stderr.take().expect("piped");
    let stderr_reader = thread::spawn(move || read_all(stderr));
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));

    // The loop prints "start" just before it begins: the tracer's CPU time is sampled then,
    // which leaves out the loading of its kernel programs.
    let mut text = String::new();
    let cpu_at_start = loop {
        let mut line = String::new();
        if stdout
            .read_line(&mut line)
            .context("cannot read the traced loop's output")?
            == 0
        {
            break None;
        }
        text.push_str(&line);
        if line.trim_end() == "start" {
            break Some(process_cpu_ns(pid).context("cannot read dualstack's CPU time")?);
        }
    };
    stdout
        .read_to_string(&mut text)
        .context("cannot read the traced loop's output")?;
    // Reaped here, with its resource usage: `child` must not be waited for again.
    let (status, rusage_cpu_ns) = wait4(pid)?;
    drop(child);
    let stderr = stderr_reader.join().expect("stderr reader panicked");
    if !status.success() {
        bail!("dualstack trace -- socket_loop failed ({status}):\n{text}{stderr}");
    }
    let context =
        || format!("dualstack trace -- socket_loop: unexpected output: {text:?}\nstderr: {stderr}");
    let cpu_at_start = cpu_at_start.with_context(|| format!("no start line; {}", context()))?;
    let ns = parse_result(&text).with_context(context)?;
    let loop_cpu_ns = 1000 * field_u64(&text, "cpu_us=").with_context(context)?;
    // rusage covers dualstack and its reaped child, the loop: take the loop's own CPU out.
    let cpu_ns = rusage_cpu_ns
        .saturating_sub(loop_cpu_ns)
        .saturating_sub(cpu_at_start);
    let (lost, undecodable) = tracer_complaints(&stderr)?;
    Ok((
        ns,
        TracerRun {
            cpu_ns,
            lost,
            undecodable,
        },
    ))
}
