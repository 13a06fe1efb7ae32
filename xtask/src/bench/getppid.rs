//! getppid loop: untraced vs under the floor vs under the floor with the entry tracepoints vs
//! under a system-wide trace.

use std::{
    fmt::Write as _,
    path::Path,
    process::{Child, ChildStdout, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _, Result};

use super::{
    floor::Floor,
    process::{read_all, run_loop, signal, tracer_complaints},
    stats::per,
    BenchArgs,
};

pub(super) struct GetppidResults {
    pub(super) untraced_ns: Vec<u64>,
    pub(super) floor_ns: Vec<u64>,
    /// Under the floor with empty programs on dualstack's syscall-entry tracepoints.
    pub(super) entries_ns: Vec<u64>,
    pub(super) traced_ns: Vec<u64>,
    pub(super) lost: u64,
    pub(super) undecodable: u64,
}

/// What runs beside the loop.
#[derive(Clone, Copy)]
enum Setting {
    Untraced,
    Floor,
    FloorWithEntries,
    SystemWide,
}

impl Setting {
    /// In the order of the first round (it rotates).
    const ALL: [Setting; 4] = [
        Setting::Untraced,
        Setting::Floor,
        Setting::FloorWithEntries,
        Setting::SystemWide,
    ];

    fn name(self) -> &'static str {
        match self {
            Setting::Untraced => "untraced",
            Setting::Floor => "floor",
            Setting::FloorWithEntries => "floor+entries",
            Setting::SystemWide => "system-wide",
        }
    }
}

pub(super) fn bench_getppid(
    args: &BenchArgs,
    dualstack: &Path,
    bpf_floor: &Path,
    getppid_loop: &Path,
) -> Result<GetppidResults> {
    let m = args.getppid_iterations.to_string();
    println!(
        "getppid loop: {} calls, {} rounds of untraced / under the floor / under the floor with \
         the entry tracepoints / under a system-wide `dualstack trace`",
        args.getppid_iterations, args.rounds
    );
    let mut results = GetppidResults {
        untraced_ns: Vec::new(),
        floor_ns: Vec::new(),
        entries_ns: Vec::new(),
        traced_ns: Vec::new(),
        lost: 0,
        undecodable: 0,
    };
    let run = || run_loop(Command::new(getppid_loop).arg(&m), "getppid_loop");
    for round in 0..args.rounds {
        let mut line = format!("  round {}/{}:", round + 1, args.rounds);
        for k in 0..Setting::ALL.len() {
            let setting = Setting::ALL[(round + k) % Setting::ALL.len()];
            let ns = match setting {
                Setting::Floor | Setting::FloorWithEntries => {
                    let with_entries = matches!(setting, Setting::FloorWithEntries);
                    let floor = if with_entries {
                        Floor::start_with_entries(bpf_floor)?
                    } else {
                        Floor::start(bpf_floor)?
                    };
                    let ns = run();
                    floor.stop()?;
                    let ns = ns?;
                    if with_entries {
                        results.entries_ns.push(ns);
                    } else {
                        results.floor_ns.push(ns);
                    }
                    ns
                }
                Setting::SystemWide => {
                    let tracer = SystemTracer::start(dualstack)?;
                    let ns = run();
                    let (lost, undecodable) = tracer.stop()?;
                    results.lost += lost;
                    results.undecodable += undecodable;
                    let ns = ns?;
                    results.traced_ns.push(ns);
                    ns
                }
                Setting::Untraced => {
                    let ns = run()?;
                    results.untraced_ns.push(ns);
                    ns
                }
            };
            let _ = write!(
                line,
                " {} {:.1} ns/call",
                setting.name(),
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
        signal(child.id(), libc::SIGINT)?;
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

/// Whether process `pid` holds /dev/null open for writing beyond its standard streams:
/// dualstack opens its -o file only once its kernel programs are loaded and attached. (A
/// /dev/null it inherited open for reading, as some shells and CI runners pass on, does not
/// count.)
fn output_open(pid: u32) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        let Some(n) = fd.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            return false;
        };
        n > 2
            && std::fs::read_link(fd.path()).is_ok_and(|target| target == Path::new("/dev/null"))
            && open_for_writing(pid, n)
    })
}

/// Whether descriptor `fd` of `pid` was opened write-only or read-write.
fn open_for_writing(pid: u32, fd: u32) -> bool {
    let Ok(info) = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")) else {
        return false;
    };
    // kernel ABI: fdinfo's "flags:" is the open flags in octal; O_ACCMODE is 0o3.
    info.lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|flags| u32::from_str_radix(flags.trim(), 8).ok())
        .is_some_and(|flags| flags & 0o3 != 0)
}
