//! Helpers for the daemon tests: a daemon on a temporary socket, log directory and metrics
//! port; the paused workload; clients that collect what the daemon sends them; a metrics
//! scraper that speaks plain HTTP over TCP.

use std::{
    fs,
    io::{BufRead as _, BufReader, ErrorKind, Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    os::unix::net::UnixStream,
    path::PathBuf,
    process::{Child, ChildStdin, Command, ExitStatus, Stdio},
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc::Receiver,
        Arc, Mutex,
    },
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::{dualstack_bin, program, python, Guard, TempDir};

/// A loopback TCP port free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// Waits until `check` holds, polling every 20 ms; panics with `what` after `timeout`.
pub fn wait_until(timeout: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// A running `dualstack daemon`, killed (its process group) on drop.
pub struct Daemon {
    pub guard: Guard,
    pub socket: PathBuf,
    pub log_dir: PathBuf,
    pub metrics: SocketAddr,
    stderr: PathBuf,
}

impl Daemon {
    /// Starts a daemon whose socket, log directory and stderr file live in `dir`, with a free
    /// metrics port and `extra` options; waits until it serves.
    pub fn start(dir: &TempDir, extra: &[&str]) -> Daemon {
        let socket = dir.join("events.sock");
        let log_dir = dir.join("log");
        let stderr = dir.join(&format!("daemon-{}.stderr", free_port()));
        let metrics = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let mut cmd = Command::new(dualstack_bin());
        cmd.arg("daemon")
            .arg("--socket")
            .arg(&socket)
            .arg("--log-dir")
            .arg(&log_dir)
            .arg("--metrics")
            .arg(metrics.to_string())
            .args(extra)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&stderr).expect("stderr file"));
        let mut daemon = Daemon {
            guard: Guard::spawn(&mut cmd),
            socket,
            log_dir,
            metrics,
            stderr,
        };
        let deadline = Instant::now() + Duration::from_mins(1);
        loop {
            if let Some(status) = daemon.guard.child.try_wait().expect("try_wait") {
                panic!("the daemon exited at start ({status}): {}", daemon.stderr());
            }
            if daemon.socket.exists() && scrape_raw(daemon.metrics, "/metrics").is_ok() {
                return daemon;
            }
            assert!(
                Instant::now() < deadline,
                "the daemon did not start serving within 60 s: {}",
                daemon.stderr()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn pid(&self) -> i32 {
        self.guard.id() as i32
    }

    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Bytes the daemon has written to its stderr so far.
    pub fn stderr_bytes(&self) -> u64 {
        fs::metadata(&self.stderr).map_or(0, |m| m.len())
    }

    pub fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill has no memory preconditions; the pid is our own child.
        unsafe { libc::kill(self.pid(), signal) };
    }

    /// Waits for the daemon to exit (it must, within `timeout`).
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        self.guard.wait(timeout, "the daemon")
    }

    pub fn is_running(&mut self) -> bool {
        self.guard.child.try_wait().expect("try_wait").is_none()
    }

    /// The metrics text (panics unless the scrape answers 200).
    pub fn metrics(&self) -> String {
        scrape(self.metrics)
    }

    /// The value of one sample, e.g. `dualstack_events_total{syscall="bind"}`.
    pub fn metric(&self, sample: &str) -> u64 {
        sample_value(&self.metrics(), sample)
            .unwrap_or_else(|| panic!("no sample {sample} in the metrics"))
    }

    /// Waits until a sample has `value`.
    pub fn wait_metric(&self, sample: &str, value: u64, timeout: Duration) {
        wait_until(timeout, &format!("{sample} == {value}"), || {
            sample_value(&self.metrics(), sample) == Some(value)
        });
    }

    /// Connects a client that sends `request` and starts collecting what arrives.
    pub fn client(&self, request: &str) -> Client {
        let stream = UnixStream::connect(&self.socket).expect("connect to the daemon socket");
        stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("read timeout");
        Client::start(stream, request, true)
    }
}

/// A sample's value in a text exposition.
pub fn sample_value(text: &str, sample: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(sample)?.strip_prefix(' ')?;
        rest.trim().parse().ok()
    })
}

/// `GET path` over a plain TCP connection: (status line, body).
pub fn scrape_raw(addr: SocketAddr, path: &str) -> std::io::Result<(String, String)> {
    scrape_with(addr, path, &[]).map(|(status, _, body)| (status, body))
}

/// `GET path` with extra header lines (`Name: value`): (status line, head, body).
pub fn scrape_with(
    addr: SocketAddr,
    path: &str,
    headers: &[&str],
) -> std::io::Result<(String, String, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let extra = headers.join("\r\n") + if headers.is_empty() { "" } else { "\r\n" };
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Connection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other(format!("no header end in {response:?}")))?;
    let status = head.lines().next().unwrap_or_default().to_owned();
    Ok((status, head.to_owned(), body.to_owned()))
}

/// The body of a successful `GET /metrics`.
pub fn scrape(addr: SocketAddr) -> String {
    let (status, body) = scrape_raw(addr, "/metrics").expect("scrape /metrics");
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
    body
}

/// tests/programs/workload.py, paused until released.
pub struct Workload {
    pub pid: u32,
    guard: Guard,
    stdin: ChildStdin,
    /// Its stdout lines, read by a thread (so that waiting for one can time out).
    said: Receiver<String>,
}

impl Workload {
    pub fn start(loops: u32, base: u16) -> Workload {
        let mut cmd = Command::new(python());
        cmd.arg(program("workload.py"))
            .arg(loops.to_string())
            .arg(base.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        let mut guard = Guard::spawn(&mut cmd);
        let stdin = guard.child.stdin.take().expect("stdin");
        let stdout = BufReader::new(guard.child.stdout.take().expect("stdout"));
        let (tx, said) = std::sync::mpsc::channel();
        thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let line = said
            .recv_timeout(Duration::from_secs(30))
            .expect("the workload's ready line");
        let pid = line
            .strip_prefix("ready ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("the workload said {line:?}, not `ready PID`"));
        Workload {
            pid,
            guard,
            stdin,
            said,
        }
    }

    /// Lets it make its calls and waits until it has made them all.
    pub fn run(&mut self, timeout: Duration) {
        self.stdin.write_all(b"go\n").expect("release the workload");
        self.stdin.flush().expect("flush");
        let line = self
            .said
            .recv_timeout(timeout)
            .expect("the workload's done line");
        assert_eq!(line.trim(), "done", "the workload said {line:?}");
    }

    /// Lets it exit.
    pub fn finish(mut self) {
        let _ = self.stdin.write_all(b"exit\n");
        drop(self.stdin);
        self.guard.wait(Duration::from_secs(20), "the workload");
    }
}

/// A client collecting the lines the daemon sends it, on its own thread.
pub struct Client {
    lines: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// The connection, until reading starts.
    pending: Option<Box<dyn ReadStream>>,
    pub eof: Arc<AtomicBool>,
}

/// A connection the collector can read from (its read timeout already set).
pub trait ReadStream: Read + Send + 'static {}
impl<T: Read + Send + 'static> ReadStream for T {}

impl Client {
    /// Sends `request` (a line, without its newline; nothing when empty) on `stream`; starts
    /// reading now or only at [`Client::start_reading`] (a stalled client).
    pub fn start<S: Read + Write + Send + 'static>(
        mut stream: S,
        request: &str,
        read_now: bool,
    ) -> Client {
        if !request.is_empty() {
            stream
                .write_all(format!("{request}\n").as_bytes())
                .expect("send the request");
        }
        let mut client = Client {
            lines: Arc::default(),
            stop: Arc::default(),
            thread: None,
            pending: Some(Box::new(stream)),
            eof: Arc::default(),
        };
        if read_now {
            client.start_reading();
        }
        client
    }

    pub fn start_reading(&mut self) {
        let Some(stream) = self.pending.take() else {
            return;
        };
        let (lines, stop, eof) = (
            Arc::clone(&self.lines),
            Arc::clone(&self.stop),
            Arc::clone(&self.eof),
        );
        self.thread = Some(thread::spawn(move || collect(stream, &lines, &stop, &eof)));
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("lines").clone()
    }

    /// Parsed JSON records of type `kind`.
    pub fn records(&self, kind: &str) -> Vec<Value> {
        self.lines()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["type"] == kind)
            .collect()
    }

    /// Lines that are events (JSON event records, or strace lines).
    pub fn event_count(&self) -> usize {
        self.lines()
            .iter()
            .filter(|l| !l.starts_with('{') || l.contains("\"type\":\"event\""))
            .count()
    }

    /// Stops reading and closes the connection.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.pending = None;
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.stop();
    }
}

fn collect(
    mut stream: Box<dyn ReadStream>,
    lines: &Mutex<Vec<String>>,
    stop: &AtomicBool,
    eof: &AtomicBool,
) {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    while !stop.load(Ordering::Relaxed) {
        match stream.read(&mut chunk) {
            Ok(0) => {
                eof.store(true, Ordering::Relaxed);
                break;
            }
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                let Some(end) = buf.iter().rposition(|&b| b == b'\n') else {
                    continue;
                };
                let complete: Vec<u8> = buf.drain(..=end).collect();
                let text = String::from_utf8_lossy(&complete);
                lines
                    .lock()
                    .expect("lines")
                    .extend(text.lines().map(str::to_owned));
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(_) => {
                eof.store(true, Ordering::Relaxed);
                break;
            }
        }
    }
}

/// Takes a child's whole output once it exits (at most `timeout`).
pub fn finish(mut child: Child, timeout: Duration) -> (ExitStatus, String, String) {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            let mut out = String::new();
            let mut err = String::new();
            if let Some(mut s) = child.stdout.take() {
                let _ = s.read_to_string(&mut out);
            }
            if let Some(mut s) = child.stderr.take() {
                let _ = s.read_to_string(&mut err);
            }
            return (status, out, err);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{child:?} did not finish within {timeout:?}");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// A TCP connection to `to` (IPv4) from the address `from` (e.g. 127.0.0.2: another source
/// on the loopback), connected blocking.
pub fn connect_from(from: std::net::Ipv4Addr, to: SocketAddr) -> std::io::Result<TcpStream> {
    use std::os::fd::FromRawFd as _;
    let sockaddr = |ip: std::net::Ipv4Addr, port: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(ip).to_be(),
        },
        sin_zero: [0; 8],
    };
    let SocketAddr::V4(to) = to else {
        return Err(std::io::Error::other("connect_from: IPv4 only"));
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: plain socket calls on a descriptor owned here, with valid sockaddr_in values.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let stream = TcpStream::from_raw_fd(fd);
        let local = sockaddr(from, 0);
        if libc::bind(fd, (&raw const local).cast(), len) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let remote = sockaddr(*to.ip(), to.port());
        if libc::connect(fd, (&raw const remote).cast(), len) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(stream)
    }
}
