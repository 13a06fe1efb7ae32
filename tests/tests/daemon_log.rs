//! The daemon's event log under load and on a bad disk, as root: 200,000 traced calls are all
//! in the rotated, compressed log (or reported lost), `dualstack export` gives them back exactly
//! as the daemon streamed them, and a read-only log directory stops the log but not the stream.

use std::{
    fs,
    io::{BufRead as _, BufReader},
    path::Path,
    process::Command,
    process::Stdio,
    sync::{Mutex, MutexGuard},
    time::Duration,
};

use serde_json::{json, Value};
use tests::{
    daemon::{Client, Daemon, Workload},
    dualstack, port_base, program, python, require_root, run, Guard, TempDir,
};

const T: Duration = Duration::from_mins(1);

fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Port bases for this binary: 16000 + k * 200, k < 10.
fn next_base() -> u16 {
    port_base(16000, 10)
}

/// Every call of workload.py with `loops` loops (see its docstring).
fn workload_calls(loops: u32) -> usize {
    3 * loops as usize + 41
}

fn pid_client(daemon: &Daemon, pid: u32) -> Client {
    daemon.client(&json!({ "filter": { "pid": [pid] }, "format": "json" }).to_string())
}

/// The numbers of the daemon's last log line: "stopped: N events read, K lost in the kernel
/// ring, ...; event log: L lines written, D lines dropped, R rotations; ...".
struct Summary {
    events: u64,
    kernel_lost: u64,
    log_written: u64,
    log_dropped: u64,
    rotations: u64,
}

fn summary(stderr: &str) -> Summary {
    let line = stderr
        .lines()
        .rev()
        .find_map(|l| l.split_once("stopped: ").map(|(_, s)| s.to_owned()))
        .unwrap_or_else(|| panic!("no summary line in the daemon's stderr:\n{stderr}"));
    let number_before = |what: &str| -> u64 {
        let head = &line[..line
            .find(what)
            .unwrap_or_else(|| panic!("{what:?} in {line}"))];
        head.split_whitespace().last().unwrap().parse().unwrap()
    };
    Summary {
        events: number_before(" events read"),
        kernel_lost: number_before(" lost in the kernel ring"),
        log_written: number_before(" lines written"),
        log_dropped: number_before(" lines dropped"),
        rotations: number_before(" rotations"),
    }
}

/// An event line of a socket call: python's own file closes (family null) are left out.
fn socket_event(line: &str) -> bool {
    line.contains("\"type\":\"event\"") && !line.contains("\"family\":null")
}

fn socket_events(client: &Client) -> usize {
    client.lines().iter().filter(|l| socket_event(l)).count()
}

fn export(dir: &Path, extra: &[&str]) -> String {
    let out = run(dualstack(&["export"]).arg(dir).args(extra), T);
    assert_eq!(out.code(), Some(0), "dualstack export: {}", out.stderr);
    out.stdout
}

#[test]
fn two_hundred_thousand_calls_are_logged_rotated_and_exported_exactly() {
    require_root();
    let _serial = serial();
    let dir = TempDir::new("daemon-200k");
    // 1 MiB files: a few hundred rotations, most of them gzipped in the background.
    let mut daemon = Daemon::start(
        &dir,
        &[
            "--log-max-mib",
            "1",
            "--log-keep",
            "100000",
            "--client-queue",
            "1048576",
        ],
    );
    let loops = 66_653;
    assert_eq!(workload_calls(loops), 200_000);
    let mut workload = Workload::start(loops, next_base());
    let pid = workload.pid;
    let client = pid_client(&daemon, pid);
    daemon.wait_metric("dualstack_clients_connected", 1, T);
    workload.run(Duration::from_mins(5));
    tests::daemon::wait_until(T, "the client to receive the workload", || {
        socket_events(&client) >= 200_000 || !daemon.is_running()
    });
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait(T).code(), Some(0), "{}", daemon.stderr());
    workload.finish();
    let s = summary(&daemon.stderr());
    println!(
        "200k workload: {} events read, {} kernel drops, {} log lines, {} log drops, {} rotations",
        s.events, s.kernel_lost, s.log_written, s.log_dropped, s.rotations
    );

    // The log holds every event the daemon read, but for lines it reports dropped.
    let exported = export(&daemon.log_dir, &["--format", "json"]);
    let lines: Vec<&str> = exported.lines().collect();
    let events = lines
        .iter()
        .filter(|l| l.contains("\"type\":\"event\""))
        .count() as u64;
    assert_eq!(
        events,
        s.events - s.log_dropped,
        "log event lines = events read - log drops (summary: {} read, {} dropped)",
        s.events,
        s.log_dropped
    );
    assert_eq!(
        s.log_written,
        lines.len() as u64,
        "every written line exports"
    );
    let kernel_lost: u64 = lines
        .iter()
        .filter(|l| l.contains("\"type\":\"lost\""))
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["count"]
                .as_u64()
                .unwrap()
        })
        .sum();
    assert_eq!(
        kernel_lost, s.kernel_lost,
        "kernel drops are in the log as lost records"
    );

    // The workload's socket calls after its release, as the client asking for its pid got them:
    // all 200,000 (less what was reported lost; python's own file closes are left out), and
    // byte for byte the last socket lines of that pid in the log (before its release, python's
    // start-up calls were logged too).
    let streamed: Vec<String> = client
        .lines()
        .into_iter()
        .filter(|l| socket_event(l))
        .collect();
    let lost = s.kernel_lost + s.log_dropped;
    assert!(
        streamed.len() as u64 <= 200_000 && streamed.len() as u64 + lost >= 200_000,
        "{} workload events streamed, {lost} reported lost",
        streamed.len()
    );
    if lost == 0 {
        assert_eq!(streamed.len(), 200_000);
    }
    let marker = format!("\"pid\":{pid},\"ppid\"");
    let mine: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.contains(&marker))
        .collect();
    assert!(mine.len() >= streamed.len(), "{} logged", mine.len());
    let tail = &mine[mine.len() - streamed.len()..];
    assert!(
        streamed.iter().zip(tail).all(|(a, b)| a == b),
        "the exported lines differ from the streamed ones"
    );

    // Rotation happened, and rotated files are compressed.
    let names: Vec<String> = fs::read_dir(&daemon.log_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let gz = names.iter().filter(|n| n.ends_with(".jsonl.gz")).count();
    assert!(s.rotations >= 10, "{} rotations", s.rotations);
    assert!(gz >= 10, "{gz} compressed files among {names:?}");
}

/// A read-only filesystem under the log directory (a bind mount, since root ignores
/// permission bits); unmounted on drop.
struct ReadOnly<'a>(&'a Path);

impl<'a> ReadOnly<'a> {
    fn mount(dir: &'a Path) -> ReadOnly<'a> {
        fs::create_dir_all(dir).unwrap();
        for args in [
            vec!["--bind", dir.to_str().unwrap(), dir.to_str().unwrap()],
            vec!["-o", "remount,bind,ro", dir.to_str().unwrap()],
        ] {
            let out = run(Command::new("mount").args(&args), T);
            assert!(out.status.success(), "mount {args:?}: {}", out.stderr);
        }
        ReadOnly(dir)
    }
}

impl Drop for ReadOnly<'_> {
    fn drop(&mut self) {
        let _ = run(Command::new("umount").arg(self.0), T);
    }
}

#[test]
fn a_read_only_log_dir_is_reported_and_streaming_goes_on() {
    require_root();
    let _serial = serial();
    let dir = TempDir::new("daemon-ro");
    let log_dir = dir.join("log");
    let _ro = ReadOnly::mount(&log_dir);

    // --check-config refuses it, with the reason.
    let out = run(
        dualstack(&["daemon", "--check-config", "--socket"])
            .arg(dir.join("check.sock"))
            .arg("--log-dir")
            .arg(&log_dir),
        T,
    );
    assert_eq!(out.code(), Some(1), "{}", out.stdout);
    assert!(out.stderr.contains("--log-dir"), "{}", out.stderr);

    // The daemon runs anyway, says why nothing is logged, and streams.
    let mut daemon = Daemon::start(&dir, &[]);
    let mut workload = Workload::start(100, next_base());
    let client = pid_client(&daemon, workload.pid);
    daemon.wait_metric("dualstack_clients_connected", 1, T);
    workload.run(T);
    let want = workload_calls(100);
    tests::daemon::wait_until(T, "the workload's events", || {
        socket_events(&client) >= want
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(socket_events(&client), want, "every event streamed");
    assert!(daemon.metric("dualstack_log_lines_dropped_total") >= want as u64);
    assert_eq!(daemon.metric("dualstack_log_lines_total"), 0);
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait(T).code(), Some(0));
    workload.finish();
    let stderr = daemon.stderr();
    assert!(
        stderr.contains("Read-only file system") && stderr.contains("streamed but not logged"),
        "the reason must be clear:\n{stderr}"
    );
    assert!(
        fs::read_dir(&log_dir).unwrap().next().is_none(),
        "nothing was written"
    );
}

/// The daemon names the holder of a refused port in its JSON, as `trace -f json` does.
#[test]
fn a_refused_bind_names_the_holder_in_the_stream() {
    require_root();
    let _serial = serial();
    let dir = TempDir::new("daemon-holder");
    let mut daemon = Daemon::start(&dir, &["--no-log"]);
    let port = next_base();
    let mut holder = Guard::spawn(
        Command::new(python())
            .arg(program("hold_listeners.py"))
            .arg(format!("tcp6:[::]:{port}:v6only=0"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
    );
    let mut said = BufReader::new(holder.child.stdout.take().unwrap()).lines();
    let held: Value = serde_json::from_str(&said.next().unwrap().unwrap()).unwrap();
    assert_eq!(said.next().unwrap().unwrap(), "ready");

    let client = daemon.client(
        &json!({ "filter": { "failed": true, "port": port }, "format": "json" }).to_string(),
    );
    daemon.wait_metric("dualstack_clients_connected", 1, T);
    let script = format!(
        "import socket\ns=socket.socket(socket.AF_INET)\ntry:\n    s.bind(('0.0.0.0',{port}))\nexcept OSError as e:\n    print(e.errno)\n"
    );
    let out = run(Command::new(python()).args(["-c", &script]), T);
    assert_eq!(
        out.stdout.trim(),
        "98",
        "the bind must fail with EADDRINUSE"
    );
    tests::daemon::wait_until(T, "the refused bind", || client.event_count() >= 1);
    let event: Value = serde_json::from_str(&client.lines()[0]).unwrap();
    let h = &event["holder"];
    assert_eq!(h["pid"].as_u64(), Some(u64::from(holder.id())), "{event}");
    assert_eq!(h["fd"], held["fd"], "{event}");
    assert_eq!(h["accepts"], "IPv4+IPv6", "{event}");
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait(T).code(), Some(0));
    drop(holder.child.stdin.take());
}
