//! `cargo xtask bench`: the tracer's overhead, measured side by side in one run.
//!
//! Two workloads, compiled from bench/*.c into target/bench/ at bench time:
//!
//! * `socket_loop N`: N × `socket(AF_INET6)+setsockopt+bind([::]:0)+listen+close`, run
//!   untraced, under `dualstack trace -o /dev/null --` and under `strace -f`, in interleaved
//!   rounds (the order rotates each round). Each run reports its own loop time; medians of the
//!   time per iteration are compared (strace runs fewer iterations: it is far slower). The tracer's own CPU time (from the loop's start to its exit) per event and the
//!   events the kernel ring buffer dropped are reported too.
//! * `getppid_loop M`: M `getppid()` calls, untraced vs while `dualstack trace -o /dev/null`
//!   traces the whole system in the background: the system-wide tax on unrelated syscalls.
//!
//! The machines are shared and noisy, so only ratios measured in the same run mean much.

#![allow(clippy::cast_precision_loss)] // nanosecond counts far below 2^52

use std::{
    fmt::Write as _,
    io::{BufRead as _, BufReader, Read as _},
    path::{Path, PathBuf},
    process::{Child, ChildStdout, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use anyhow::{bail, ensure, Context as _, Result};
use clap::Args;

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
}

/// Traced syscalls per socket-loop iteration.
const EVENTS_PER_ITERATION: u64 = 5;
/// The overhead target for `dualstack trace -- CMD`.
const TARGET_RATIO: f64 = 1.20;
const STRACE_SYSCALLS: &str =
    "trace=socket,socketpair,setsockopt,bind,listen,connect,accept,accept4,close";

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
    ensure!(dualstack.is_file(), "{} is not built", dualstack.display());
    let root = crate::workspace_root();
    let out_dir = root.join("target/bench");
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let socket_loop = compile(&root.join("bench/socket_loop.c"), &out_dir)?;
    let getppid_loop = compile(&root.join("bench/getppid_loop.c"), &out_dir)?;
    let started = Instant::now();

    let socket = bench_socket_loop(args, dualstack, &socket_loop)?;
    let getppid = bench_getppid(args, dualstack, &getppid_loop)?;

    let report = Report {
        args,
        socket,
        getppid,
        seconds: started.elapsed().as_secs_f64(),
    };
    report.print();
    let json_path = out_dir.join("results.json");
    std::fs::write(&json_path, report.json())
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

// ---------------------------------------------------------------------------------------------
// Socket loop: untraced vs dualstack vs strace.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    Untraced,
    Dualstack,
    Strace,
    /// dualstack attached but keeping nothing (a --comm that matches no task): the cost of the
    /// syscall tracepoints and program runs alone, the floor under any tracer of this design.
    ProbesOnly,
}

impl Variant {
    const ALL: [Variant; 4] = [
        Variant::Untraced,
        Variant::Dualstack,
        Variant::Strace,
        Variant::ProbesOnly,
    ];

    fn name(self) -> &'static str {
        match self {
            Variant::Untraced => "untraced",
            Variant::Dualstack => "dualstack",
            Variant::Strace => "strace",
            Variant::ProbesOnly => "probes-only",
        }
    }
}

/// One traced run: what the tracer cost beyond the loop's own time.
struct TracerRun {
    /// The tracer's CPU time (all its threads, user + system) from the loop's start to its exit.
    cpu_ns: u64,
    /// Events the kernel ring buffer dropped, as the tracer reported on stderr.
    lost: u64,
    undecodable: u64,
}

struct SocketResults {
    /// Iterations per run, per variant.
    iterations: [u64; 4],
    /// Loop times (ns) per variant, in round order.
    loop_ns: [Vec<u64>; 4],
    tracer: Vec<TracerRun>,
}

fn bench_socket_loop(
    args: &BenchArgs,
    dualstack: &Path,
    socket_loop: &Path,
) -> Result<SocketResults> {
    let strace_iterations = args
        .strace_iterations
        .unwrap_or((args.iterations / 5).max(1));
    let n = args.iterations.to_string();
    let strace_n = strace_iterations.to_string();
    println!(
        "socket loop: {} iterations ({strace_iterations} under strace) × {EVENTS_PER_ITERATION} syscalls, \
         {} rounds of untraced / dualstack / strace / probes-only",
        args.iterations, args.rounds
    );
    let mut results = SocketResults {
        iterations: [
            args.iterations,
            args.iterations,
            strace_iterations,
            args.iterations,
        ],
        loop_ns: [Vec::new(), Vec::new(), Vec::new(), Vec::new()],
        tracer: Vec::new(),
    };
    for round in 0..args.rounds {
        let mut line = format!("  round {}/{}:", round + 1, args.rounds);
        for k in 0..Variant::ALL.len() {
            let variant = Variant::ALL[(round + k) % Variant::ALL.len()];
            let ns = match variant {
                Variant::Untraced => run_loop(Command::new(socket_loop).arg(&n), "socket_loop")?,
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

/// Runs a workload (possibly under a tracer) to completion; returns the loop time it printed.
fn run_loop(cmd: &mut Command, what: &str) -> Result<u64> {
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot start {what}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "{what} failed ({}):\n{stdout}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    parse_result(&stdout).with_context(|| format!("{what}: unexpected output: {stdout:?}"))
}

/// The `elapsed_ns=` value of the last result line a workload printed.
fn parse_result(stdout: &str) -> Result<u64> {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("elapsed_ns="))
        .context("no elapsed_ns= line")?;
    let value = line
        .split_whitespace()
        .find_map(|field| field.strip_prefix("elapsed_ns="))
        .context("no elapsed_ns= field")?;
    let ns: u64 = value
        .parse()
        .with_context(|| format!("bad elapsed_ns value {value:?}"))?;
    ensure!(ns > 0, "elapsed_ns is 0");
    Ok(ns)
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
        bail!(
            "dualstack trace -- socket_loop failed ({}):\n{text}{stderr}",
            status.describe()
        );
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

fn read_all(mut from: impl std::io::Read) -> String {
    let mut bytes = Vec::new();
    let _ = from.read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The value of the last `name<u64>` field in `text`.
fn field_u64(text: &str, name: &str) -> Result<u64> {
    let value = text
        .split_whitespace()
        .rev()
        .find_map(|f| f.strip_prefix(name))
        .with_context(|| format!("no {name} field"))?;
    value
        .parse()
        .with_context(|| format!("bad {name} value {value:?}"))
}

/// Events lost and records undecodable, as dualstack reports them on stderr; other lines are
/// shown as they are.
fn tracer_complaints(stderr: &str) -> Result<(u64, u64)> {
    let (mut lost, mut undecodable) = (0, 0);
    for line in stderr.lines().filter(|l| !l.trim().is_empty()) {
        let count = |suffix: &str| -> Option<Result<u64>> {
            let rest = line.strip_prefix("dualstack: ")?;
            let (number, tail) = rest.split_once(' ')?;
            tail.starts_with(suffix).then(|| {
                number
                    .parse::<u64>()
                    .with_context(|| format!("bad count in {line:?}"))
            })
        };
        if let Some(n) = count("events lost") {
            lost += n?;
        } else if let Some(n) = count("records could not be decoded") {
            undecodable += n?;
        } else {
            eprintln!("    dualstack stderr: {line}");
        }
    }
    Ok((lost, undecodable))
}

/// CPU time (ns) of all the threads of a live process, from their scheduler statistics.
fn process_cpu_ns(pid: u32) -> Result<u64> {
    let dir = format!("/proc/{pid}/task");
    let mut total = 0;
    for task in std::fs::read_dir(&dir)
        .with_context(|| format!("cannot list {dir}"))?
        .flatten()
    {
        let path = task.path().join("schedstat");
        // A thread may end between the listing and the read.
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let ns: u64 = text
            .split_whitespace()
            .next()
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("unexpected {}: {text:?}", path.display()))?;
        total += ns;
    }
    Ok(total)
}

// ---------------------------------------------------------------------------------------------
// getppid loop: untraced vs under a system-wide trace.

struct GetppidResults {
    untraced_ns: Vec<u64>,
    traced_ns: Vec<u64>,
    lost: u64,
    undecodable: u64,
}

fn bench_getppid(
    args: &BenchArgs,
    dualstack: &Path,
    getppid_loop: &Path,
) -> Result<GetppidResults> {
    let m = args.getppid_iterations.to_string();
    println!(
        "getppid loop: {} calls, {} rounds of untraced / under a system-wide `dualstack trace`",
        args.getppid_iterations, args.rounds
    );
    let mut results = GetppidResults {
        untraced_ns: Vec::new(),
        traced_ns: Vec::new(),
        lost: 0,
        undecodable: 0,
    };
    for round in 0..args.rounds {
        let mut line = format!("  round {}/{}:", round + 1, args.rounds);
        for traced in [round % 2 == 1, round % 2 == 0] {
            let ns = if traced {
                let tracer = SystemTracer::start(dualstack)?;
                let ns = run_loop(Command::new(getppid_loop).arg(&m), "getppid_loop");
                let (lost, undecodable) = tracer.stop()?;
                results.lost += lost;
                results.undecodable += undecodable;
                let ns = ns?;
                results.traced_ns.push(ns);
                ns
            } else {
                let ns = run_loop(Command::new(getppid_loop).arg(&m), "getppid_loop")?;
                results.untraced_ns.push(ns);
                ns
            };
            let label = if traced { "system-wide" } else { "untraced" };
            let _ = write!(
                line,
                " {label} {:.1} ns/call",
                per(ns, args.getppid_iterations)
            );
        }
        println!("{line}");
    }
    Ok(results)
}

/// `dualstack trace -o /dev/null` over the whole system, in the background. Killed if dropped
/// before `stop`.
struct SystemTracer {
    child: Option<Child>,
    stderr: Option<thread::JoinHandle<String>>,
    _stdout: Option<ChildStdout>,
}

impl SystemTracer {
    fn start(dualstack: &Path) -> Result<SystemTracer> {
        let mut child = Command::new(dualstack)
            .args(["trace", "-o", "/dev/null"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot start dualstack trace (system-wide)")?;
        let stderr = child.stderr.take().expect("piped");
        let stdout = child.stdout.take();
        let mut tracer = SystemTracer {
            child: Some(child),
            stderr: Some(thread::spawn(move || read_all(stderr))),
            _stdout: stdout,
        };
        tracer.wait_ready()?;
        Ok(tracer)
    }

    /// Waits until the tracer has attached its programs and opened its output, which it does
    /// after loading; then a short pause for it to settle into its reading loop.
    fn wait_ready(&mut self) -> Result<()> {
        let child = self.child.as_mut().expect("running");
        let pid = child.id();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait()? {
                let stderr = self
                    .stderr
                    .take()
                    .map(|h| h.join().unwrap_or_default())
                    .unwrap_or_default();
                self.child = None;
                bail!("system-wide dualstack trace exited early ({status}):\n{stderr}");
            }
            if output_open(pid) {
                break;
            }
            if Instant::now() > deadline {
                bail!("system-wide dualstack trace did not become ready within 30 s");
            }
            thread::sleep(Duration::from_millis(20));
        }
        thread::sleep(Duration::from_millis(300));
        Ok(())
    }

    /// Stops the tracer with SIGINT; returns (events lost, records undecodable).
    fn stop(mut self) -> Result<(u64, u64)> {
        // On any error below, Drop kills and reaps the child.
        let child = self.child.as_mut().expect("running");
        signal(child.id(), SIGINT)?;
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if Instant::now() > deadline {
                bail!("system-wide dualstack trace did not stop within 10 s of SIGINT");
            }
            thread::sleep(Duration::from_millis(10));
        };
        self.child = None;
        let stderr = self
            .stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        // SIGINT ends it with 130, as a shell would report.
        if !(status.success() || status.code() == Some(130)) {
            bail!("system-wide dualstack trace failed ({status}):\n{stderr}");
        }
        tracer_complaints(&stderr)
    }
}

impl Drop for SystemTracer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Whether process `pid` holds /dev/null open beyond its standard streams: dualstack opens its
/// -o file only once its kernel programs are loaded and attached.
fn output_open(pid: u32) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        fd.file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| n > 2)
            && std::fs::read_link(fd.path()).is_ok_and(|target| target == Path::new("/dev/null"))
    })
}

// ---------------------------------------------------------------------------------------------
// The few system calls std does not offer: wait4 with resource usage, and kill.

#[repr(C)]
struct Timeval {
    tv_sec: i64,
    tv_usec: i64,
}

/// struct rusage on 64-bit Linux: two timevals, then 14 longs.
#[repr(C)]
struct Rusage {
    ru_utime: Timeval,
    ru_stime: Timeval,
    _rest: [i64; 14],
}

mod sys {
    extern "C" {
        pub fn wait4(pid: i32, status: *mut i32, options: i32, rusage: *mut super::Rusage) -> i32;
        pub fn kill(pid: i32, sig: i32) -> i32;
    }
}

const SIGINT: i32 = 2;

struct WaitStatus(i32);

impl WaitStatus {
    #[allow(clippy::verbose_bit_mask)] // exited (low 7 bits 0) with code 0 (next 8 bits)
    fn success(&self) -> bool {
        self.0 & 0xffff == 0
    }

    fn describe(&self) -> String {
        if self.signal() == 0 {
            format!("exit status {}", (self.0 >> 8) & 0xff)
        } else {
            format!("signal {}", self.signal())
        }
    }

    fn signal(&self) -> i32 {
        self.0 & 0x7f
    }
}

/// Reaps child `pid`; returns its status and its CPU time (user + system, ns), which includes
/// the children it reaped.
fn wait4(pid: u32) -> Result<(WaitStatus, u64)> {
    const _: () =
        assert!(std::mem::size_of::<Rusage>() == 144 && cfg!(target_pointer_width = "64"));
    let mut status = 0;
    let mut usage = Rusage {
        ru_utime: Timeval {
            tv_sec: 0,
            tv_usec: 0,
        },
        ru_stime: Timeval {
            tv_sec: 0,
            tv_usec: 0,
        },
        _rest: [0; 14],
    };
    loop {
        // SAFETY: status and usage are valid for writes; pid is our own unreaped child.
        let ret = unsafe { sys::wait4(pid as i32, &raw mut status, 0, &raw mut usage) };
        if ret == pid as i32 {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err).with_context(|| format!("wait4({pid})"));
        }
    }
    let ns = |t: &Timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1000;
    Ok((
        WaitStatus(status),
        ns(&usage.ru_utime) + ns(&usage.ru_stime),
    ))
}

/// Sends `sig` to `pid`, a child this program started and has not reaped.
fn signal(pid: u32, sig: i32) -> Result<()> {
    // SAFETY: kill has no memory effects.
    if unsafe { sys::kill(pid as i32, sig) } != 0 {
        return Err(std::io::Error::last_os_error()).with_context(|| format!("kill({pid}, {sig})"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Statistics and the report.

fn per(ns: u64, count: u64) -> f64 {
    ns as f64 / count as f64
}

fn median(values: &[u64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid] as f64
    } else {
        f64::midpoint(sorted[mid - 1] as f64, sorted[mid] as f64)
    }
}

fn median_f64(values: &mut [f64]) -> f64 {
    values.sort_unstable_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        f64::midpoint(values[mid - 1], values[mid])
    }
}

/// The median over rounds of (time per call of `values`) / (time per call of `base`), each
/// pair measured in the same round: less sensitive to load that drifts between rounds.
fn paired_ratio(values: &[u64], count: u64, base: &[u64], base_count: u64) -> f64 {
    let mut ratios: Vec<f64> = values
        .iter()
        .zip(base)
        .map(|(&v, &b)| per(v, count) / per(b, base_count))
        .collect();
    median_f64(&mut ratios)
}

fn min_max(values: &[u64]) -> (u64, u64) {
    (
        values.iter().copied().min().unwrap_or(0),
        values.iter().copied().max().unwrap_or(0),
    )
}

struct Report<'a> {
    args: &'a BenchArgs,
    socket: SocketResults,
    getppid: GetppidResults,
    seconds: f64,
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

    fn print(&self) {
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

    fn json(&self) -> String {
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
        let _ = writeln!(s, "  \"seconds\": {:.1}", self.seconds);
        let _ = writeln!(s, "}}");
        s
    }
}
