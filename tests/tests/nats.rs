//! The daemon publishing its event log to a real `nats-server` (JetStream), as root: every
//! record line of the log (events and lost records), through rotation and compression, is in
//! the stream exactly once, after a NATS outage, after a kill -9 of the daemon mid-publish, and
//! when NATS is not there yet as the daemon starts.
//!
//! "Exactly once" is counted: at a quiet moment the stream holds as many messages as the log
//! directory holds record lines, and the daemon has acknowledged that many and has nothing
//! pending. The daemon logs every socket call on the host (the test's own scrapes included),
//! so the tests wait for that moment rather than for a fixed time; a duplicate or a missing line
//! keeps the counts apart for good and fails the wait.

use std::{
    os::unix::process::ExitStatusExt as _,
    process::{Command, Stdio},
    sync::{Mutex, MutexGuard},
    thread,
    time::{Duration, Instant},
};

use serde_json::json;
use tests::{
    daemon::{sample_value, wait_until, Daemon, Workload},
    nats::{saved_place, LogRecords, NatsServer},
    port_base, python, require_root, Guard, TempDir,
};

const T: Duration = Duration::from_mins(1);
/// How long the log may take to be published whole, on a slow shared machine.
const SETTLE: Duration = Duration::from_mins(5);
const HOST: &str = "e2e.host";

fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Port bases for this binary: 10000 + k * 200, k < 20 (NATS takes base + 100 and + 101).
fn next_base() -> u16 {
    port_base(10000, 20)
}

/// Every event of workload.py with `loops` loops (see its docstring).
fn workload_events(loops: u32) -> usize {
    3 * loops as usize + 41
}

/// A daemon publishing to `nats`, with 1 MiB log files, none pruned.
fn start_daemon(dir: &TempDir, nats: &NatsServer) -> Daemon {
    Daemon::start(
        dir,
        &[
            "--nats",
            &nats.url(),
            "--host-id",
            HOST,
            "--log-max-mib",
            "1",
            "--log-keep",
            "10000",
        ],
    )
}

/// The NATS metrics of one scrape.
#[derive(Debug)]
struct Publishing {
    published: u64,
    acked: u64,
    reconnects: u64,
    pending_bytes: u64,
    pending_events: u64,
}

fn publishing(daemon: &Daemon) -> Publishing {
    let text = daemon.metrics();
    let get = |sample: &str| {
        sample_value(&text, sample).unwrap_or_else(|| panic!("no {sample} in the metrics:\n{text}"))
    };
    Publishing {
        published: get("dualstack_nats_published_total"),
        acked: get("dualstack_nats_acked_total"),
        reconnects: get("dualstack_nats_reconnects_total"),
        pending_bytes: get("dualstack_nats_pending_bytes"),
        pending_events: get("dualstack_nats_pending_events"),
    }
}

/// The log, the stream and the daemon once everything is published.
#[derive(Debug)]
struct Settled {
    /// Record lines in the log.
    records: u64,
    /// Messages in the stream.
    stream: u64,
    metrics: Publishing,
}

/// Waits for a moment at which the stream holds as many messages as the log has record lines,
/// for a few polls in a row, and the daemon then says it has acknowledged every line after
/// `resumed_at` and has nothing pending. Panics with the last counts after [`SETTLE`].
fn settle(
    daemon: &Daemon,
    nats: &NatsServer,
    records: &mut LogRecords,
    resumed_at: u64,
) -> Settled {
    let start = Instant::now();
    let mut last = None;
    while start.elapsed() < SETTLE {
        // Polls that make no socket calls (the log's files, the kept-alive monitor), until two
        // in a row find the stream level with the log: other processes' calls keep coming.
        let mut previous = None;
        let (records, stream) = loop {
            let counts = (records.count(&daemon.log_dir), nats.stream_messages());
            if (counts.0 == counts.1 && previous == Some(counts)) || start.elapsed() > SETTLE {
                break counts;
            }
            previous = Some(counts);
            thread::sleep(Duration::from_millis(100));
        };
        // The scrape's own socket calls reach the log after its answer.
        let metrics = publishing(daemon);
        let done = records == stream
            && metrics.acked + resumed_at == records
            && metrics.pending_events == 0
            && metrics.pending_bytes == 0;
        let settled = Settled {
            records,
            stream,
            metrics,
        };
        if done {
            println!(
                "settled after {:.1} s: {settled:?}",
                start.elapsed().as_secs_f64()
            );
            return settled;
        }
        last = Some(settled);
    }
    panic!(
        "the log was not published exactly once within {SETTLE:?} (acknowledged lines are \
         counted from line {resumed_at}): {last:?}\ndaemon stderr:\n{}",
        daemon.stderr()
    );
}

/// Stops the daemon as an administrator would; it must exit cleanly.
fn stop(mut daemon: Daemon) {
    daemon.signal(libc::SIGTERM);
    let status = daemon.wait(T);
    assert_eq!(status.code(), Some(0), "{}", daemon.stderr());
}

/// The names of the files in the log directory, sorted.
fn log_file_names(daemon: &Daemon) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(&daemon.log_dir)
        .expect("the log directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Rotated files in the log directory: (all, gzipped).
fn rotated_files(daemon: &Daemon) -> (usize, usize) {
    let names: Vec<String> = log_file_names(daemon)
        .into_iter()
        .filter(|n| n.starts_with("events-"))
        .collect();
    let gz = names.iter().filter(|n| n.ends_with(".jsonl.gz")).count();
    (names.len(), gz)
}

#[test]
fn every_log_line_is_in_the_stream_exactly_once() {
    require_root();
    let _serial = serial();
    let dir = TempDir::new("nats-once");
    let mut nats = NatsServer::new(next_base() + 100);
    nats.start();
    let daemon = start_daemon(&dir, &nats);
    let mut records = LogRecords::default();

    // About 4.5 MiB of log: four 1 MiB files rotated, gzipped in the background.
    let loops = 2000;
    let mut workload = Workload::start(loops, next_base());
    workload.run(T);
    workload.finish();
    wait_until(T, "a rotated file to be gzipped", || {
        rotated_files(&daemon).1 >= 1
    });
    let settled = settle(&daemon, &nats, &mut records, 0);
    let (rotated, gz) = rotated_files(&daemon);
    println!("{rotated} rotated files, {gz} gzipped");
    assert!(rotated >= 3, "{rotated} rotated files");
    assert!(
        settled.records >= workload_events(loops) as u64,
        "{settled:?}"
    );
    assert_eq!(settled.stream, settled.records, "{settled:?}");
    assert_eq!(settled.metrics.acked, settled.records, "{settled:?}");
    assert!(
        settled.metrics.published >= settled.metrics.acked,
        "{settled:?}"
    );
    assert_eq!(settled.metrics.reconnects, 0, "{settled:?}");
    stop(daemon);
}

/// Socket, bind, listen and close for `seconds`, about 90 times a second.
fn paced_workload(seconds: u32) -> Guard {
    let script = format!(
        "import socket, time\n\
         end = time.monotonic() + {seconds}\n\
         while time.monotonic() < end:\n\
         \x20   s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n\
         \x20   s.bind(('127.0.0.1', 0))\n\
         \x20   s.listen(1)\n\
         \x20   s.close()\n\
         \x20   time.sleep(0.01)\n"
    );
    Guard::spawn(
        Command::new(python())
            .args(["-c", &script])
            .stdin(Stdio::null()),
    )
}

#[test]
fn a_nats_outage_loses_and_repeats_nothing() {
    require_root();
    let _serial = serial();
    let dir = TempDir::new("nats-outage");
    let mut nats = NatsServer::new(next_base() + 100);
    nats.start();
    let daemon = start_daemon(&dir, &nats);
    let mut records = LogRecords::default();

    let mut workload = paced_workload(30);
    wait_until(T, "the first lines acknowledged", || {
        publishing(&daemon).acked > 0
    });
    nats.stop();
    let outage = Instant::now();
    // What waits for NATS is told while it waits.
    wait_until(
        Duration::from_secs(10),
        "pending bytes in the outage",
        || publishing(&daemon).pending_bytes > 0,
    );
    let during = publishing(&daemon);
    println!("in the outage: {during:?}");
    thread::sleep(Duration::from_secs(10).saturating_sub(outage.elapsed()));
    nats.start();
    workload.wait(Duration::from_mins(2), "the paced workload");

    let settled = settle(&daemon, &nats, &mut records, 0);
    assert_eq!(settled.stream, settled.records, "{settled:?}");
    assert_eq!(settled.metrics.acked, settled.records, "{settled:?}");
    assert!(
        settled.metrics.published >= settled.metrics.acked,
        "{settled:?}"
    );
    assert!(settled.metrics.reconnects >= 1, "{settled:?}");
    assert!(rotated_files(&daemon).0 >= 1, "no rotation");
    let stderr = daemon.stderr();
    assert!(stderr.contains("NATS: disconnected"), "{stderr}");
    stop(daemon);
}

#[test]
fn a_daemon_killed_mid_publish_resumes_from_its_cursor() {
    require_root();
    let _serial = serial();
    let dir = TempDir::new("nats-kill");
    let mut nats = NatsServer::new(next_base() + 100);
    let mut records = LogRecords::default();

    // A first part of the log published, and its end saved as the place to go on from.
    nats.start();
    let mut daemon = start_daemon(&dir, &nats);
    let mut workload = Workload::start(500, next_base());
    workload.run(T);
    workload.finish();
    let first = settle(&daemon, &nats, &mut records, 0);

    // A backlog of some 18 MiB of lines while NATS is away (the file the saved place is in is
    // rotated and gzipped behind it).
    nats.stop();
    let loops = 8000;
    let mut workload = Workload::start(loops, next_base());
    workload.run(Duration::from_mins(3));
    workload.finish();
    wait_until(T, "the workload in the log", || {
        records.count(&daemon.log_dir) >= first.records + workload_events(loops) as u64
    });
    let backlog = records.count(&daemon.log_dir);

    // NATS comes back; the daemon is killed a moment later, in the middle of the backlog.
    nats.start();
    wait_until(T, "2000 lines of the backlog acknowledged", || {
        publishing(&daemon).acked >= first.metrics.acked + 2000
    });
    daemon.signal(libc::SIGKILL);
    let status = daemon.wait(T);
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    let stored = nats.stream_messages();
    let cursor = saved_place(&daemon.log_dir).expect("nats.cursor saved before the kill");
    let before_cursor = records.count_before(&daemon.log_dir, Some(cursor));
    println!(
        "killed: {backlog} lines in the log, {stored} stored, {before_cursor} before the saved \
         place {cursor:?}; the log: {:?}",
        log_file_names(&daemon)
    );
    assert!(
        stored < backlog,
        "the kill came after the whole backlog was sent"
    );
    assert!(
        (first.records..=stored).contains(&before_cursor),
        "the saved place is not between the first part's end and what is stored"
    );
    let gz = format!("-{}.jsonl.gz", cursor.seq);
    assert!(
        log_file_names(&daemon).iter().any(|n| n.ends_with(&gz)),
        "the saved place is not in a gzipped file, which the restart must read into"
    );

    // Started again on the same log and host: it sends from the cursor; what was stored after
    // it is sent again and dropped by JetStream as a duplicate.
    let daemon = start_daemon(&dir, &nats);
    let settled = settle(&daemon, &nats, &mut records, before_cursor);
    println!(
        "{} lines sent again and dropped as duplicates",
        stored - before_cursor
    );
    assert_eq!(settled.stream, settled.records, "{settled:?}");
    assert!(
        settled.metrics.published >= settled.metrics.acked,
        "{settled:?}"
    );
    assert!(
        daemon.stderr().contains("NATS: connected"),
        "{}",
        daemon.stderr()
    );
    stop(daemon);
}

#[test]
fn nats_unreachable_at_start_then_the_log_is_published() {
    require_root();
    let _serial = serial();
    let dir = TempDir::new("nats-late");
    let mut nats = NatsServer::new(next_base() + 100);
    let mut records = LogRecords::default();

    // Without NATS the daemon serves its clients and logs.
    let daemon = start_daemon(&dir, &nats);
    let loops = 300;
    let mut workload = Workload::start(loops, next_base());
    let client = daemon
        .client(&json!({ "filter": { "pid": [workload.pid] }, "format": "json" }).to_string());
    daemon.wait_metric("dualstack_clients_connected", 1, T);
    workload.run(T);
    let want = workload_events(loops);
    wait_until(T, "the workload's events at the client", || {
        client.event_count() >= want
    });
    workload.finish();
    assert!(records.count(&daemon.log_dir) >= want as u64);

    // It says that NATS cannot be reached and that it keeps trying, and what waits.
    wait_until(T, "the daemon to say NATS is unreachable", || {
        let stderr = daemon.stderr();
        stderr.contains(&format!("cannot reach {}", nats.url())) && stderr.contains("retrying")
    });
    wait_until(T, "the log to be counted as pending", || {
        publishing(&daemon).pending_bytes > 0
    });
    let waiting = publishing(&daemon);
    assert_eq!(waiting.acked, 0, "{waiting:?}");

    // NATS starts: the log is published.
    nats.start();
    let settled = settle(&daemon, &nats, &mut records, 0);
    assert_eq!(settled.stream, settled.records, "{settled:?}");
    assert_eq!(settled.metrics.acked, settled.records, "{settled:?}");
    assert!(
        settled.metrics.published >= settled.metrics.acked,
        "{settled:?}"
    );
    // A first connection, late, is no reconnection.
    assert_eq!(settled.metrics.reconnects, 0, "{settled:?}");
    stop(daemon);
}
