//! A real `nats-server` with JetStream for the tests of the daemon's NATS publisher: on two
//! loopback ports of its own (clients, monitoring) and a temporary store that outlives a stop,
//! so that it can be stopped and started again as the same server; its stream counted through
//! the monitoring endpoint. And what the publisher must have sent: the record lines of an event
//! log directory, rotated and gzipped files included.
//!
//! The daemon under test logs (and publishes) every socket call on the host, the test's own
//! included: the monitoring endpoint is read on one kept-alive connection, so that polling the
//! stream makes no socket calls of its own, and a quiet log can be waited for.

use std::{
    cell::RefCell,
    collections::BTreeMap,
    fs,
    io::{self, BufRead as _, BufReader, Read, Write as _},
    net::{SocketAddr, TcpStream},
    path::Path,
    process::{Command, Stdio},
    time::Duration,
};

use dualstack::outputs::{
    event_log::naming::{Rotated, CURRENT},
    nats::tail::Place,
};
use flate2::read::MultiGzDecoder;
use serde_json::Value;

use crate::{
    daemon::{scrape_raw, wait_until},
    Guard, TempDir,
};

/// The stream the daemon publishes to.
pub const STREAM: &str = "DUALSTACK_EVENTS";

const T: Duration = Duration::from_mins(1);

/// A `nats-server -js` on 127.0.0.1, killed (by its pid) on drop.
pub struct NatsServer {
    /// The running server; declared before the store so that it dies before the store goes.
    server: Option<Guard>,
    /// The connection the monitoring endpoint is read on.
    monitor_conn: RefCell<Option<TcpStream>>,
    port: u16,
    monitor: SocketAddr,
    dir: TempDir,
    starts: u32,
}

impl NatsServer {
    /// A server for client port `port` and monitoring port `port + 1`, with an empty store;
    /// not started yet.
    pub fn new(port: u16) -> NatsServer {
        let version = Command::new("nats-server").arg("--version").output();
        assert!(
            version.as_ref().is_ok_and(|v| v.status.success()),
            "the NATS tests need nats-server (Debian package nats-server): run `cargo xtask \
             setup` ({version:?})"
        );
        NatsServer {
            server: None,
            monitor_conn: RefCell::new(None),
            port,
            monitor: SocketAddr::from(([127, 0, 0, 1], port + 1)),
            dir: TempDir::new("nats"),
            starts: 0,
        }
    }

    /// The URL clients connect to.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again, on the same ports and store) and waits until both its client
    /// port and its JetStream answer.
    pub fn start(&mut self) {
        assert!(self.server.is_none(), "nats-server is already running");
        self.starts += 1;
        let log = self.dir.join(&format!("nats-server-{}.log", self.starts));
        let out = fs::File::create(&log).expect("nats-server log file");
        let mut cmd = Command::new("nats-server");
        cmd.args(["-js", "-a", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .arg("-m")
            .arg(self.monitor.port().to_string())
            .arg("-sd")
            .arg(self.dir.join("store"))
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("dup the log file"))
            .stderr(out);
        let mut guard = Guard::spawn(&mut cmd);
        wait_until(T, "nats-server to answer", || {
            if let Some(status) = guard.child.try_wait().expect("try_wait") {
                panic!(
                    "nats-server exited at start ({status}): {}",
                    fs::read_to_string(&log).unwrap_or_default()
                );
            }
            let jetstream = scrape_raw(self.monitor, "/jsz").is_ok_and(|(status, body)| {
                status.contains(" 200 ") && body.contains("\"config\"")
            });
            jetstream
                && TcpStream::connect_timeout(
                    &SocketAddr::from(([127, 0, 0, 1], self.port)),
                    Duration::from_secs(2),
                )
                .is_ok()
        });
        self.server = Some(guard);
    }

    /// Stops the server with SIGTERM (its store stays) and waits until it has exited.
    pub fn stop(&mut self) {
        let mut guard = self.server.take().expect("nats-server is not running");
        self.monitor_conn.replace(None);
        // SAFETY: kill has no memory preconditions; the pid is our own child's.
        unsafe { libc::kill(guard.id() as libc::pid_t, libc::SIGTERM) };
        guard.wait(T, "nats-server after SIGTERM");
    }

    /// The messages the events stream holds (0 while there is no stream).
    pub fn stream_messages(&self) -> u64 {
        let body = self
            .get("/jsz?streams=true")
            .unwrap_or_else(|e| panic!("GET /jsz from nats-server: {e}"));
        let jsz: Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("/jsz is not JSON ({e}): {body}"));
        jsz["account_details"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|account| account["stream_detail"].as_array().into_iter().flatten())
            .filter(|stream| stream["name"] == STREAM)
            .filter_map(|stream| stream["state"]["messages"].as_u64())
            .sum()
    }

    /// `GET path` from the monitoring endpoint, on the kept-alive connection (made again once
    /// if the server closed it).
    fn get(&self, path: &str) -> io::Result<String> {
        let mut conn = self.monitor_conn.borrow_mut();
        for attempt in 0..2 {
            if conn.is_none() {
                let stream = TcpStream::connect_timeout(&self.monitor, Duration::from_secs(5))?;
                stream.set_read_timeout(Some(Duration::from_secs(10)))?;
                *conn = Some(stream);
            }
            let stream = conn.as_mut().expect("connected");
            match get_kept_alive(stream, self.monitor, path) {
                Ok(body) => return Ok(body),
                Err(e) if attempt == 1 => return Err(e),
                Err(_) => *conn = None,
            }
        }
        unreachable!("the second attempt returns")
    }
}

/// One request and its response on a kept-alive HTTP/1.1 connection (Content-Length or
/// chunked body).
fn get_kept_alive(stream: &mut TcpStream, host: SocketAddr, path: &str) -> io::Result<String> {
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n")?;
    // Borrowed, not cloned: a dup'd socket's close would be a socket call of its own.
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    if !line.starts_with("HTTP/1.1 200") {
        return Err(io::Error::other(format!("answered {line:?}")));
    }
    let (mut length, mut chunked) = (None, false);
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').unwrap_or((header, ""));
        if name.eq_ignore_ascii_case("content-length") {
            length = value.trim().parse::<usize>().ok();
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.trim().eq_ignore_ascii_case("chunked");
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim_end(), 16).map_err(io::Error::other)?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        let length = length.ok_or_else(|| io::Error::other("no Content-Length"))?;
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    }
    String::from_utf8(body).map_err(io::Error::other)
}

/// The place the publisher saved in `DIR/nats.cursor`, if any.
pub fn saved_place(log_dir: &Path) -> Option<Place> {
    let text = fs::read_to_string(log_dir.join("nats.cursor")).ok()?;
    Some(
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("nats.cursor is not a place ({e}): {text:?}")),
    )
}

/// Counts the record lines (`event` and `lost`: those the publisher sends) of an event log
/// directory: every rotated file, plain or gzipped (a file present both ways counts once),
/// then the whole lines of `events.jsonl`. A rotated file's count is kept, since it no longer
/// changes.
#[derive(Default)]
pub struct LogRecords {
    rotated: BTreeMap<u64, u64>,
}

/// Files the log has, as (sequence number, name), oldest first; `events.jsonl` last, with the
/// number it will have once rotated.
fn log_files(dir: &Path) -> io::Result<Vec<(u64, String)>> {
    let mut rotated: BTreeMap<u64, Rotated> = BTreeMap::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        if let Some(file) = name.to_str().and_then(Rotated::parse) {
            rotated.insert(file.seq, file);
        }
    }
    let current = rotated.keys().next_back().map_or(1, |seq| seq + 1);
    Ok(rotated
        .into_iter()
        .map(|(seq, file)| (seq, file.name()))
        .chain(std::iter::once((current, CURRENT.to_owned())))
        .collect())
}

impl LogRecords {
    /// Record lines in the whole log now.
    pub fn count(&mut self, dir: &Path) -> u64 {
        self.count_before(dir, None)
    }

    /// Record lines before `place` (the whole log for None).
    pub fn count_before(&mut self, dir: &Path, place: Option<Place>) -> u64 {
        // A file renamed (rotated, compressed) under our feet: read the directory again.
        for _ in 0..100 {
            match self.try_count(dir, place) {
                Ok(Some(count)) => return count,
                Ok(None) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => panic!("reading the event log in {}: {e}", dir.display()),
            }
        }
        panic!(
            "the event log in {} kept changing while it was read",
            dir.display()
        );
    }

    /// None when the log rotated while it was read.
    fn try_count(&mut self, dir: &Path, place: Option<Place>) -> io::Result<Option<u64>> {
        let files = log_files(dir)?;
        let mut total = 0;
        for (seq, name) in &files {
            let limit = match place {
                Some(p) if *seq > p.seq => break,
                Some(p) if *seq == p.seq => Some(p.offset),
                _ => None,
            };
            let current = name == CURRENT;
            if let (Some(count), None) = (self.rotated.get(seq), limit) {
                total += count;
                continue;
            }
            let file = match fs::File::open(dir.join(name)) {
                Err(e) if current && e.kind() == io::ErrorKind::NotFound => break,
                file => file?,
            };
            let count = if Path::new(name).extension().is_some_and(|e| e == "gz") {
                records_in(MultiGzDecoder::new(BufReader::new(file)), limit)?
            } else {
                records_in(file, limit)?
            };
            if !current && limit.is_none() {
                self.rotated.insert(*seq, count);
            }
            total += count;
        }
        // events.jsonl read whole only if it was not rotated meanwhile.
        Ok((log_files(dir)? == files).then_some(total))
    }
}

/// Whole record lines in `reader`, in its first `limit` bytes if given.
fn records_in(reader: impl Read, limit: Option<u64>) -> io::Result<u64> {
    let mut reader = BufReader::with_capacity(1 << 16, reader.take(limit.unwrap_or(u64::MAX)));
    let mut line = Vec::new();
    let mut count = 0;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(count);
        }
        let record =
            line.starts_with(br#"{"type":"event""#) || line.starts_with(br#"{"type":"lost""#);
        // A last line without its newline is still being written.
        if record && line.ends_with(b"\n") {
            count += 1;
        }
    }
}
