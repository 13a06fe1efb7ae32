//! The fleet: a local `nats-server -js` (free ports, a store of its own) and a daemon publishing
//! to it, scoped (`--netns`) to a network namespace of the bench's own, so that its log holds
//! the workload's events and nothing else of the machine's.
//!
//! * Publisher throughput: `socket_loop` makes some 200,000 events in the netns while the
//!   daemon's `dualstack_nats_acked_total` is polled: events per second from the first to the
//!   last acknowledgement, and the daemon's CPU time (utime+stime, /proc/PID/stat) from the
//!   loop's start to the last acknowledgement per acknowledged event (capture, log and
//!   publishing), and its publisher thread's alone.
//! * listen() to audit row: a listener opened in the netns, then `dualstack audit --nats URL
//!   -f json` run until it shows it; the median of 5.

use std::{
    io::{BufRead as _, BufReader, Read as _, Write as _},
    net::{SocketAddr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use anyhow::{bail, ensure, Context as _, Result};

use super::{
    process::{read_all, signal},
    socket_loop::EVENTS_PER_ITERATION,
    stats::{median_f64, rounded},
};

/// Listeners opened for the latency figure.
const LATENCY_ROUNDS: usize = 5;
/// How long the counters must stay still to count as settled.
const SETTLED: Duration = Duration::from_secs(2);
const POLL: Duration = Duration::from_millis(20);
const TIMEOUT: Duration = Duration::from_mins(5);

pub(super) struct FleetResults {
    /// Events acknowledged during the run.
    events: u64,
    /// From the first acknowledgement seen to the last.
    ack_seconds: f64,
    daemon_cpu_ns: u64,
    publisher_cpu_ns: u64,
    /// listen() to the first `audit` output that shows the listener, per round.
    listen_to_audit_s: Vec<f64>,
}

impl FleetResults {
    fn events_per_second(&self) -> f64 {
        self.events as f64 / self.ack_seconds
    }

    fn us_per_event(&self, ns: u64) -> f64 {
        ns as f64 / self.events as f64 / 1e3
    }

    fn latency_median(&self) -> f64 {
        median_f64(&mut self.listen_to_audit_s.clone())
    }

    pub(super) fn print(&self) {
        println!(
            "fleet: publisher {} events/s acknowledged, {:.1} µs daemon CPU per published event \
             ({:.1} µs in its publisher thread); listen() to audit row: median {:.2} s",
            thousands(self.events_per_second()),
            self.us_per_event(self.daemon_cpu_ns),
            self.us_per_event(self.publisher_cpu_ns),
            self.latency_median()
        );
    }

    /// The figures as a JSON object.
    pub(super) fn json(&self) -> serde_json::Value {
        let round3 = |s: f64| rounded(s, 3);
        let latencies: Vec<f64> = self.listen_to_audit_s.iter().copied().map(round3).collect();
        serde_json::json!({
            "events": self.events,
            "first_to_last_ack_s": round3(self.ack_seconds),
            "events_per_second": self.events_per_second().round(),
            "daemon_cpu_us_per_event": rounded(self.us_per_event(self.daemon_cpu_ns), 2),
            "publisher_thread_cpu_us_per_event": rounded(self.us_per_event(self.publisher_cpu_ns), 2),
            "listen_to_audit_s": latencies,
            "listen_to_audit_median_s": round3(self.latency_median()),
        })
    }
}

pub(super) fn bench_fleet(
    dualstack: &Path,
    socket_loop: &Path,
    iterations: u64,
) -> Result<FleetResults> {
    let scratch = Scratch::new()?;
    let netns = Netns::new()?;
    let nats = Nats::start(&scratch.0)?;
    let host = format!("bench-{}", std::process::id());
    let daemon = Daemon::start(dualstack, &scratch.0, &nats, &host, &netns.0)?;
    println!(
        "fleet: nats-server at {}, a daemon scoped to netns {}; socket_loop {iterations} \
         iterations ({} events), then {LATENCY_ROUNDS} listeners",
        nats.url,
        netns.0,
        iterations * EVENTS_PER_ITERATION
    );
    let mut results = publish(&daemon, &netns, socket_loop, iterations)?;
    for round in 0..LATENCY_ROUNDS {
        let port = 7300 + round as u16;
        let seconds = listen_to_audit(dualstack, &nats, &host, &netns, port)?;
        println!("  listener {}: in audit after {seconds:.2} s", round + 1);
        results.listen_to_audit_s.push(seconds);
        // The close's snapshot goes out before the next listener, which opens at another
        // moment of the daemon's once-a-second look for changes.
        thread::sleep(Duration::from_millis(1500 + 230 * round as u64));
    }
    drop(daemon);
    Ok(results)
}

/// Runs `socket_loop` in the netns and follows the acknowledgements to their end.
fn publish(
    daemon: &Daemon,
    netns: &Netns,
    socket_loop: &Path,
    iterations: u64,
) -> Result<FleetResults> {
    let baseline = daemon.metric("dualstack_nats_acked_total")?;
    let cpu_before = daemon.cpu_ns()?;
    let mut workload = Command::new("ip")
        .args(["netns", "exec", &netns.0])
        .arg(socket_loop)
        .arg(iterations.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start socket_loop in the netns")?;
    let mut first = None;
    // The last change: when, the count, the daemon's CPU then.
    let mut last = (Instant::now(), baseline, cpu_before);
    let mut finished = false;
    let deadline = Instant::now() + TIMEOUT;
    loop {
        thread::sleep(POLL);
        let now = Instant::now();
        let acked = daemon.metric("dualstack_nats_acked_total")?;
        if acked > last.1 {
            first.get_or_insert(now);
            last = (now, acked, daemon.cpu_ns()?);
        }
        if !finished {
            if let Some(status) = workload.try_wait()? {
                let stderr = workload.stderr.take().map(read_all).unwrap_or_default();
                ensure!(status.success(), "socket_loop failed ({status}): {stderr}");
                finished = true;
            }
        }
        if finished
            && last.0.elapsed() >= SETTLED
            && daemon.metric("dualstack_nats_pending_bytes")? == 0
        {
            break;
        }
        ensure!(
            now < deadline,
            "the publisher did not settle within {TIMEOUT:?} ({} of {} events acknowledged)",
            last.1 - baseline,
            iterations * EVENTS_PER_ITERATION
        );
    }
    let first = first.context("no event was acknowledged")?;
    let events = last.1 - baseline;
    if events < iterations * EVENTS_PER_ITERATION {
        println!(
            "  (only {events} of {} events acknowledged: the kernel ring dropped some?)",
            iterations * EVENTS_PER_ITERATION
        );
    }
    Ok(FleetResults {
        events,
        ack_seconds: (last.0 - first).as_secs_f64(),
        daemon_cpu_ns: last.2 .0 - cpu_before.0,
        publisher_cpu_ns: last.2 .1 - cpu_before.1,
        listen_to_audit_s: Vec::new(),
    })
}

/// Opens a listener on `port` in the netns; seconds until `audit` shows it.
fn listen_to_audit(
    dualstack: &Path,
    nats: &Nats,
    host: &str,
    netns: &Netns,
    port: u16,
) -> Result<f64> {
    let script = "import socket, sys\n\
                  s = socket.socket(socket.AF_INET6); s.bind(('::', int(sys.argv[1]))); s.listen()\n\
                  print('ready', flush=True)\n\
                  sys.stdin.read()\n";
    let mut listener = Running::spawn(
        Command::new("ip")
            .args(["netns", "exec", &netns.0, "python3", "-c", script])
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
        "a python3 listener",
    )?;
    let mut ready = String::new();
    BufReader::new(listener.0.stdout.as_mut().context("stdout")?).read_line(&mut ready)?;
    ensure!(ready.trim() == "ready", "the listener said {ready:?}");
    let opened = Instant::now();
    loop {
        let out = Command::new(dualstack)
            .args(["audit", "--nats", &nats.url, "-f", "json", "--host", host])
            .stdin(Stdio::null())
            .output()
            .context("cannot run dualstack audit")?;
        ensure!(
            out.status.code() == Some(0),
            "dualstack audit failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let shown = String::from_utf8_lossy(&out.stdout).lines().any(|line| {
            serde_json::from_str::<serde_json::Value>(line)
                .is_ok_and(|row| row["port"] == u64::from(port))
        });
        if shown {
            return Ok(opened.elapsed().as_secs_f64());
        }
        ensure!(
            opened.elapsed() < Duration::from_mins(1),
            "the listener on port {port} was not in audit after 60 s"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// A temporary directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Scratch> {
        let dir =
            std::env::temp_dir().join(format!("dualstack-bench-fleet-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A network namespace with `lo` up, deleted on drop.
struct Netns(String);

impl Netns {
    fn new() -> Result<Netns> {
        let name = format!("ds-bench-{}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        crate::run(Command::new("ip").args(["netns", "add", &name]))?;
        let netns = Netns(name);
        crate::run(Command::new("ip").args(["-n", &netns.0, "link", "set", "lo", "up"]))?;
        Ok(netns)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

/// A child process, ended on drop: SIGTERM, then SIGKILL after 10 s.
struct Running(Child);

impl Running {
    fn spawn(cmd: &mut Command, what: &str) -> Result<Running> {
        cmd.spawn()
            .map(Running)
            .with_context(|| format!("cannot start {what}"))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = signal(self.0.id(), libc::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(10);
            while matches!(self.0.try_wait(), Ok(None)) && Instant::now() < deadline {
                thread::sleep(POLL);
            }
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// `nats-server -js` on free loopback ports with a store in `dir`.
struct Nats {
    _server: Running,
    url: String,
    monitor: u16,
}

impl Nats {
    fn start(dir: &Path) -> Result<Nats> {
        let (port, monitor) = (free_port()?, free_port()?);
        let log = std::fs::File::create(dir.join("nats-server.log"))?;
        let server = Running::spawn(
            Command::new("nats-server")
                .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string()])
                .args(["-m", &monitor.to_string(), "-sd"])
                .arg(dir.join("nats-store"))
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log),
            "nats-server (cargo xtask setup installs it)",
        )?;
        let nats = Nats {
            _server: server,
            url: format!("nats://127.0.0.1:{port}"),
            monitor,
        };
        wait_for("nats-server to serve", || {
            Ok(http_get(nats.monitor, "/jsz").is_ok())
        })?;
        Ok(nats)
    }
}

/// `dualstack daemon` publishing to `nats`, its files in `dir`.
struct Daemon {
    process: Running,
    metrics: u16,
}

impl Daemon {
    fn start(dualstack: &Path, dir: &Path, nats: &Nats, host: &str, netns: &str) -> Result<Daemon> {
        let metrics = free_port()?;
        let stderr = dir.join("daemon.stderr");
        let process = Running::spawn(
            Command::new(dualstack)
                .arg("daemon")
                .arg("--socket")
                .arg(dir.join("daemon.sock"))
                .arg("--log-dir")
                .arg(dir.join("log"))
                .args(["--metrics", &format!("127.0.0.1:{metrics}")])
                .args(["--nats", &nats.url, "--host-id", host, "--netns", netns])
                .args(["--snapshot-interval", "5m"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&stderr)?),
            "dualstack daemon",
        )?;
        let daemon = Daemon { process, metrics };
        let said = || std::fs::read_to_string(&stderr).unwrap_or_default();
        wait_for("the daemon to serve its metrics", || {
            Ok(http_get(daemon.metrics, "/metrics").is_ok())
        })
        .with_context(said)?;
        // Connected, and the stream made: the publisher is ready.
        wait_for("the daemon to create its stream", || {
            Ok(http_get(nats.monitor, "/jsz?streams=true")?.contains("DUALSTACK_EVENTS"))
        })
        .with_context(said)?;
        Ok(daemon)
    }

    fn metric(&self, name: &str) -> Result<u64> {
        let text = http_get(self.metrics, "/metrics")?;
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
            .with_context(|| format!("no {name} in the daemon's metrics"))
    }

    /// CPU time (ns) of the whole daemon and of its publisher thread, from /proc stat files
    /// (a process's counts include its threads that have ended).
    fn cpu_ns(&self) -> Result<(u64, u64)> {
        let pid = self.process.0.id();
        let publisher = std::fs::read_dir(format!("/proc/{pid}/task"))?
            .flatten()
            .find(|t| {
                std::fs::read_to_string(t.path().join("comm"))
                    .is_ok_and(|c| c.trim() == "dualstack-nats")
            })
            .context("the daemon has no dualstack-nats thread")?;
        Ok((
            stat_cpu_ns(&PathBuf::from(format!("/proc/{pid}/stat")))?,
            stat_cpu_ns(&publisher.path().join("stat"))?,
        ))
    }
}

/// utime + stime of a /proc stat file, in ns.
fn stat_cpu_ns(path: &Path) -> Result<u64> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    // kernel ABI: proc_pid_stat(5): fields 14 and 15, counted after the `(comm)` field 2.
    let fields: Vec<&str> = text
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| -> Result<u64> {
        fields
            .get(i)
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("unexpected {}: {text:?}", path.display()))
    };
    // SAFETY: sysconf has no preconditions.
    let hz = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).unwrap_or(100);
    Ok((ticks(11)? + ticks(12)?) * 1_000_000_000 / hz)
}

/// `GET path` on a loopback port as HTTP/1.0 (a body that is not chunked): the body of a 200.
fn http_get(port: u16, path: &str) -> Result<String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .with_context(|| format!("GET {addr}{path}: no header end"))?;
    let status = head.lines().next().unwrap_or_default();
    ensure!(status.contains(" 200 "), "GET {addr}{path}: {status}");
    Ok(body.to_owned())
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Polls `check` until it holds, for at most a minute.
fn wait_for(what: &str, mut check: impl FnMut() -> Result<bool>) -> Result<()> {
    let deadline = Instant::now() + Duration::from_mins(1);
    loop {
        if matches!(check(), Ok(true)) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("timed out waiting for {what}");
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// 41234.5 as "41,235".
fn thousands(value: f64) -> String {
    let digits = format!("{value:.0}");
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
