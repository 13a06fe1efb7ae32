//! `dualstack daemon` and `dualstack stream` end to end, as root: a real daemon on a temporary
//! socket, log directory and metrics port, real clients, and a python workload whose calls are
//! known in advance (tests/programs/workload.py). Clients filter on the workload's pid, since
//! the daemon sees every process on the host.
//!
//! The tests run one at a time: each daemon traces the whole host, and parallel daemons and
//! workloads would only make the timing noisier.

use std::{
    fs,
    io::{BufRead as _, BufReader, Read as _, Write as _},
    net::{SocketAddr, TcpStream},
    os::unix::{
        fs::FileTypeExt as _, fs::MetadataExt as _, fs::PermissionsExt as _, net::UnixStream,
    },
    process::{Command, Stdio},
    sync::{Mutex, MutexGuard},
    thread,
    time::{Duration, Instant},
};

use serde_json::{json, Value};
use tests::{
    as_nobody,
    daemon::{
        connect_from, finish, free_port, sample_value, scrape_raw, scrape_with, wait_until, Client,
        Daemon, Workload,
    },
    dualstack, dualstack_bin, port_base, require_root, run, Guard, TempDir,
};

const T: Duration = Duration::from_secs(30);

fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Port bases for this binary: 14000 + k * 200, k < 20.
fn next_base() -> u16 {
    port_base(14000, 20)
}

/// Every event of the workload with `loops` loops (see workload.py's docstring).
fn all_events(loops: usize) -> usize {
    3 * loops + 41
}

fn request(pid: u32, filter: &Value, format: &str) -> String {
    let mut filter = filter.clone();
    filter["pid"] = json!([pid]);
    json!({ "filter": filter, "format": format }).to_string()
}

/// Waits until every client has at least its expected number of events, then a little more
/// (so that extra events would show), and returns what each got.
fn settle(clients: &[(&str, usize, &Client)]) {
    let deadline = Instant::now() + T;
    for (name, want, client) in clients {
        while client.event_count() < *want && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        assert!(
            client.event_count() >= *want,
            "client {name}: {} events after {T:?}, expected {want}",
            client.event_count()
        );
    }
    thread::sleep(Duration::from_millis(500));
}

/// A client of the fan-out test: its filter, format and how many events it must get.
struct Case {
    name: &'static str,
    filter: Value,
    format: &'static str,
    want: usize,
}

/// Ten filters over the workload, with their counts from workload.py's docstring.
fn fanout_cases(base: u16, loops: usize) -> Vec<Case> {
    let case = |name, filter, format, want| Case {
        name,
        filter,
        format,
        want,
    };
    let all = all_events(loops);
    vec![
        case("everything", json!({}), "json", all),
        case(
            "bind+listen",
            json!({"syscall": ["bind", "listen"]}),
            "json",
            loops + 9 + 7,
        ),
        case("socket", json!({"syscall": "socket"}), "json", loops + 9),
        case("inet6", json!({"family": "inet6"}), "json", 15),
        case("inet", json!({"family": "inet"}), "json", all - 15),
        case("failed", json!({"failed": true}), "json", 2),
        // bind and listen of the first listener, its close, and the failing bind.
        case("port", json!({"port": base}), "json", 4),
        case(
            "inet6 listens",
            json!({"syscall": ["listen"], "family": "inet6"}),
            "json",
            3,
        ),
        case(
            "strace listens",
            json!({"syscall": ["listen"]}),
            "strace",
            7,
        ),
        case(
            "inet setsockopt+close",
            json!({"syscall": ["setsockopt", "close"], "family": 2}),
            "json",
            4 + loops + 6,
        ),
    ]
}

/// Ten clients with different filters each get exactly the events they asked for; an eleventh
/// that never reads loses events for itself only, and is told how many once it reads.
#[test]
fn clients_get_exactly_their_events_and_a_stalled_one_loses_only_its_own() {
    require_root();
    let _serial = serial();
    let dir = TempDir::new("daemon-fanout");
    let daemon = Daemon::start(&dir, &["--client-queue", "512"]);
    let base = next_base();
    let loops = 3000;
    let mut workload = Workload::start(loops as u32, base);
    let pid = workload.pid;
    // Calls the interpreter made while starting must be read and gone before clients connect.
    thread::sleep(Duration::from_millis(200));

    let cases = fanout_cases(base, loops);
    let clients: Vec<Client> = cases
        .iter()
        .map(|c| daemon.client(&request(pid, &c.filter, c.format)))
        .collect();
    let stream = UnixStream::connect(&daemon.socket).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let mut stalled = Client::start(stream, &request(pid, &json!({}), "json"), false);
    daemon.wait_metric("dualstack_clients_connected", 11, T);

    workload.run(T);
    let expected: Vec<(&str, usize, &Client)> = cases
        .iter()
        .zip(&clients)
        .map(|(case, client)| (case.name, case.want, client))
        .collect();
    settle(&expected);
    for (name, want, client) in &expected {
        let lost = client.records("lost");
        assert!(lost.is_empty(), "client {name} lost events: {lost:?}");
        assert_eq!(
            client.event_count(),
            *want,
            "client {name}: wrong number of events"
        );
    }
    check_contents(pid, &clients);

    // The stalled client: what it got plus what it was told it lost is everything.
    assert!(
        daemon.metric("dualstack_client_drops_total") > 0,
        "the stalled client lost nothing"
    );
    stalled.start_reading();
    let lost_count = |c: &Client| -> usize {
        let lost = c.records("lost");
        assert!(
            lost.iter().all(|r| r["reason"] == "client too slow"),
            "{lost:?}"
        );
        lost.iter().filter_map(|r| r["count"].as_u64()).sum::<u64>() as usize
    };
    wait_until(T, "the stalled client's lost record", || {
        stalled.event_count() + lost_count(&stalled) >= all_events(loops)
    });
    thread::sleep(Duration::from_millis(300));
    assert!(
        lost_count(&stalled) > 0,
        "the stalled client was told of no loss"
    );
    assert_eq!(
        stalled.event_count() + lost_count(&stalled),
        all_events(loops)
    );
    assert_eq!(daemon.metric("dualstack_kernel_drops_total"), 0);
    workload.finish();
}

/// What the fan-out clients got is what they asked for (clients in [`fanout_cases`] order).
fn check_contents(pid: u32, clients: &[Client]) {
    let everything = clients[0].records("event");
    assert!(
        everything.iter().all(|e| e["pid"] == pid),
        "another pid got through"
    );
    let failed = clients[5].records("event");
    assert!(
        failed
            .iter()
            .all(|e| e["syscall"] == "bind" && e["errno"] == "EADDRINUSE"),
        "{failed:?}"
    );
    let inet6 = clients[3].records("event");
    assert!(inet6.iter().all(|e| e["family"] == "AF_INET6"), "{inet6:?}");
    let v6_listens = clients[7].records("event");
    assert!(
        v6_listens
            .iter()
            .all(|e| e["verdict"]["accepts"] == "IPv6" && e["v6only"] == true),
        "{v6_listens:?}"
    );
    let strace = clients[8].lines();
    for line in &strace {
        assert!(
            line.starts_with(&format!("[pid {pid:>5}] listen(")) && line.ends_with("= 0"),
            "strace line {line:?}"
        );
    }
    // The same calls in both formats: the JSON `strace` field is the line without its leader
    // (whose width moves the column of `=`).
    let normal = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let json_listens: Vec<String> = clients[1]
        .records("event")
        .iter()
        .filter(|e| e["syscall"] == "listen")
        .map(|e| normal(e["strace"].as_str().unwrap_or_default()))
        .collect();
    let strace_bodies: Vec<String> = strace
        .iter()
        .map(|l| normal(l.split_once("] ").map_or("", |(_, b)| b)))
        .collect();
    assert_eq!(json_listens, strace_bodies);
}

/// A client that goes away mid-stream is dropped; the others keep getting everything.
#[test]
fn a_client_that_disconnects_is_dropped_and_the_daemon_keeps_serving() {
    require_root();
    let _serial = serial();
    let dir = TempDir::new("daemon-dead");
    let daemon = Daemon::start(&dir, &[]);
    let loops = 1000;
    let mut workload = Workload::start(loops, next_base());
    thread::sleep(Duration::from_millis(200));
    let all = request(workload.pid, &json!({}), "json");

    let quitter = UnixStream::connect(&daemon.socket).expect("connect");
    (&quitter)
        .write_all(format!("{all}\n").as_bytes())
        .expect("request");
    let idle = UnixStream::connect(&daemon.socket).expect("connect");
    (&idle)
        .write_all(b"{\"filter\":{\"pid\":[4000000000]}}\n")
        .expect("request");
    let keeper = daemon.client(&all);
    daemon.wait_metric("dualstack_clients_connected", 3, T);

    // An idle client that closes is noticed without any write to it.
    drop(idle);
    daemon.wait_metric("dualstack_clients_connected", 2, T);

    workload.run(T);
    let mut reader = BufReader::new(&quitter);
    for _ in 0..10 {
        let mut line = String::new();
        reader.read_line(&mut line).expect("a line");
        assert!(line.contains("\"type\":\"event\""), "{line}");
    }
    drop(reader);
    drop(quitter);
    daemon.wait_metric("dualstack_clients_connected", 1, T);
    assert!(daemon.metric("dualstack_clients_disconnected_total") >= 2);

    let all = all_events(loops as usize);
    settle(&[("keeper", all, &keeper)]);
    assert_eq!(keeper.event_count(), all);
    assert!(keeper.records("lost").is_empty());
    workload.finish();
}

/// Mode 0600: nobody cannot connect. With --socket-group, 0660: a member can, others cannot.
#[test]
fn the_socket_is_for_root_or_the_socket_group() {
    require_root();
    let _serial = serial();
    let socat = |groups: Option<&str>, socket: &std::path::Path, line: &str| {
        let mut cmd = as_nobody(groups, std::path::Path::new("/usr/bin/socat"));
        cmd.args([
            "-t",
            "5",
            "-",
            &format!("UNIX-CONNECT:{}", socket.display()),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("setpriv socat");
        let mut stdin = child.stdin.take().expect("stdin");
        let _ = stdin.write_all(format!("{line}\n").as_bytes());
        drop(stdin);
        child
    };
    let dir = TempDir::new("daemon-perm");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    {
        let daemon = Daemon::start(&dir, &[]);
        let meta = fs::metadata(&daemon.socket).expect("socket");
        assert!(meta.file_type().is_socket());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let (status, _, err) = finish(socat(None, &daemon.socket, "{}"), T);
        assert!(!status.success(), "nobody connected to a 0600 socket");
        assert!(err.contains("Permission denied"), "{err}");
    }

    let dir = TempDir::new("daemon-group");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    let daemon = Daemon::start(&dir, &["--socket-group", "users"]);
    let meta = fs::metadata(&daemon.socket).expect("socket");
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    assert_eq!(meta.gid(), 100, "the socket's group should be users");
    let (status, _, err) = finish(socat(None, &daemon.socket, "{}"), T);
    assert!(
        !status.success() && err.contains("Permission denied"),
        "{err}"
    );

    let me = std::process::id();
    let member = socat(
        Some("100"),
        &daemon.socket,
        &json!({"filter": {"pid": [me], "syscall": ["listen"]}}).to_string(),
    );
    daemon.wait_metric("dualstack_clients_connected", 1, T);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    let (status, out, err) = finish(member, T);
    drop(listener);
    assert!(
        status.success(),
        "a member of the group could not connect: {err}"
    );
    let events: Vec<Value> = out
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(events.len(), 1, "{out}");
    assert_eq!(events[0]["syscall"], "listen");
    assert_eq!(events[0]["pid"], me);
    assert!(
        daemon.stderr().contains(" uid=65534 gid=65534)"),
        "the peer's credentials are not logged: {}",
        daemon.stderr()
    );
}

/// A daemon on TCP at a free loopback port, with the token `s3cret-token` in a 0600 file, and
/// EXTRA options.
fn tcp_daemon(dir: &TempDir, extra: &[&str]) -> (Daemon, u16) {
    let token = dir.join("token");
    fs::write(&token, "s3cret-token\n").expect("token");
    fs::set_permissions(&token, fs::Permissions::from_mode(0o600)).expect("chmod");
    let port = free_port();
    let port_text = port.to_string();
    let mut args = vec![
        "--listen",
        &port_text,
        "--token-file",
        token.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    (Daemon::start(dir, &args), port)
}

/// TCP: loopback by default, token required (compared whole), refusals counted.
#[test]
fn tcp_clients_need_the_token_and_the_listener_defaults_to_loopback() {
    require_root();
    let _serial = serial();
    let dir = TempDir::new("daemon-tcp");
    let (daemon, port) = tcp_daemon(&dir, &[]);
    let tcp_listens = fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    let local = format!("0100007F:{port:04X}");
    assert!(
        tcp_listens
            .lines()
            .any(|l| l.split_whitespace().nth(1) == Some(&local)
                && l.split_whitespace().nth(3) == Some("0A")),
        "no listener on 127.0.0.1:{port}"
    );
    assert!(
        !tcp_listens.contains(&format!("00000000:{port:04X}")),
        "listening on every address"
    );

    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    for first in [
        json!({"token": "s3cret-tokeX"}).to_string(),
        json!({"token": "s3cret"}).to_string(),
        json!({"filter": {}}).to_string(),
    ] {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(T)).expect("timeout");
        writeln!(stream, "{first}").expect("send");
        let mut answer = String::new();
        stream
            .read_to_string(&mut answer)
            .expect("read until closed");
        let v: Value = serde_json::from_str(answer.trim()).expect("one JSON line");
        assert_eq!(v["type"], "error", "{answer}");
        assert!(
            v["message"]
                .as_str()
                .unwrap_or_default()
                .contains("authentication failed"),
            "{answer}"
        );
    }
    assert_eq!(daemon.metric("dualstack_auth_failures_total"), 3);
    assert!(daemon.metric("dualstack_clients_refused_total") >= 3);

    let mut workload = Workload::start(20, next_base());
    thread::sleep(Duration::from_millis(200));
    let stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let line = json!({"token": "s3cret-token", "filter": {"pid": [workload.pid], "syscall": ["listen"]}, "format": "strace"});
    let client = Client::start(stream, &line.to_string(), true);
    daemon.wait_metric("dualstack_clients_connected", 1, T);
    workload.run(T);
    settle(&[("tcp", 7, &client)]);
    assert_eq!(client.event_count(), 7, "{:?}", client.lines());
    workload.finish();
}

/// TCP connections that have not sent their token have places of their own, for a second:
/// however many strangers connect, root's Unix client gets in. Only clients past their token
/// count against --max-clients, and one that closes is noticed at once.
#[test]
fn strangers_on_tcp_cannot_lock_out_unix_clients_and_closed_tcp_clients_go() {
    require_root();
    let _serial = serial();
    let dir = TempDir::new("daemon-tcp-crowd");
    let (daemon, port) = tcp_daemon(&dir, &["--max-clients", "2"]);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let silent: Vec<TcpStream> = (0..12)
        .map(|_| TcpStream::connect(addr).expect("connect"))
        .collect();
    // The connections past the strangers' places are refused at once.
    wait_until(T, "the extra strangers to be refused", || {
        daemon.metric("dualstack_clients_refused_total") >= 4
    });
    let root = daemon.client("");
    daemon.wait_metric("dualstack_clients_connected", 1, T);
    // The strangers are cut off after their second.
    let started = Instant::now();
    for mut stranger in silent {
        stranger.set_read_timeout(Some(T)).expect("timeout");
        let mut answer = String::new();
        let _ = stranger.read_to_string(&mut answer);
        assert!(
            answer.is_empty() || answer.contains("\"type\":\"error\""),
            "{answer}"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(root
        .lines()
        .iter()
        .all(|l| !l.contains("\"type\":\"error\"")));

    let hello = json!({"token": "s3cret-token"}).to_string();
    let tcp = TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let mut tcp = Client::start(tcp, &hello, true);
    daemon.wait_metric("dualstack_clients_connected", 2, T);
    // Past its token, a TCP client takes one of the --max-clients places.
    let mut third = TcpStream::connect(addr).expect("connect");
    third.set_read_timeout(Some(T)).expect("timeout");
    writeln!(third, "{hello}").expect("send");
    let mut answer = String::new();
    third
        .read_to_string(&mut answer)
        .expect("read until closed");
    assert!(answer.contains("too many clients"), "{answer}");

    // A TCP client that closes leaves at once, without waiting for a write to fail.
    let gone = daemon.metric("dualstack_clients_disconnected_total");
    tcp.stop();
    daemon.wait_metric("dualstack_clients_connected", 1, T);
    assert_eq!(
        daemon.metric("dualstack_clients_disconnected_total"),
        gone + 1
    );
    drop(root);
}

/// A local user floods the TCP port with silent connections that reconnect as soon as they are
/// dropped; a token holder connecting meanwhile is served every time within a second, and the
/// daemon's log stays short (refusals are counted, not logged one by one).
#[test]
fn a_flood_of_silent_tcp_connections_from_a_local_user_cannot_lock_out_a_token_holder() {
    require_root();
    let _serial = serial();
    let dir = TempDir::new("daemon-tcp-flood");
    let (daemon, port) = tcp_daemon(&dir, &[]);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let log_before = daemon.stderr_bytes();
    let accepted_before = daemon.metric("dualstack_clients_accepted_total");

    let mut cmd = as_nobody(None, tests::python());
    cmd.arg(tests::program("tcp_flood.py"))
        .args(["127.0.0.1", &port.to_string(), "32", "120"])
        .stdout(Stdio::piped());
    let mut flood = Guard::spawn(&mut cmd);
    let mut said = BufReader::new(flood.child.stdout.take().expect("stdout")).lines();
    let ready = said.next().expect("the flood's ready line").expect("read");
    assert_eq!(ready, "ready");
    // Long enough for every waiting place to be taken, and the flood to churn.
    thread::sleep(Duration::from_secs(2));

    let me = std::process::id();
    let hello = json!({"token": "s3cret-token", "filter": {"pid": [me], "syscall": ["listen"]}});
    let mut latencies = Vec::new();
    let mut failures = Vec::new();
    for attempt in 0..30 {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1));
        match served_within(stream, &hello.to_string(), Duration::ZERO) {
            Ok(latency) => latencies.push(latency),
            Err(why) => failures.push(format!("attempt {attempt}: {why}")),
        }
    }
    // The waiting places are shared between sources: a client from another address keeps its
    // place while the flood's connections wait, even one slow to send its token.
    let other = std::net::Ipv4Addr::new(127, 0, 0, 2);
    for attempt in 0..5 {
        let slow = Duration::from_millis(300);
        match served_within(connect_from(other, addr), &hello.to_string(), slow) {
            Ok(latency) => latencies.push(latency),
            Err(why) => failures.push(format!("from {other}, attempt {attempt}: {why}")),
        }
    }
    let flood_made = daemon.metric("dualstack_clients_accepted_total") - accepted_before;
    let slowest = |from: usize, to: usize| {
        latencies
            .get(from..to.min(latencies.len()))
            .and_then(|l| l.iter().max().copied())
    };
    eprintln!(
        "served {} of 35, slowest {:?} (of 30 at once), {:?} (of 5 from 127.0.0.2, 300 ms before \
         the token); {flood_made} connections accepted, {:?} evicted",
        latencies.len(),
        slowest(0, 30),
        slowest(30, 35),
        sample_value(&daemon.metrics(), "dualstack_tcp_evictions_total"),
    );
    assert!(
        flood_made > 2000,
        "the flood made only {flood_made} connections: not a flood"
    );
    assert!(
        failures.is_empty(),
        "served {} of 35: {failures:#?}",
        latencies.len()
    );
    drop(flood);
    // The refusals of the flood are told as one count when their interval ends.
    wait_until(T, "a count of the refusals in the daemon's log", || {
        daemon.stderr().contains("more connections refused in ")
    });
    let log_grew = daemon.stderr_bytes() - log_before;
    let log = daemon.stderr();
    eprintln!(
        "stderr grew {log_grew} bytes; {}",
        log.lines()
            .find(|l| l.contains("more connections refused"))
            .unwrap_or_default()
    );
    assert!(
        log_grew < 32 * 1024,
        "the daemon wrote {log_grew} bytes to stderr during the flood: {}",
        &log[..4096.min(log.len())]
    );
}

/// Sends `hello` on a new connection after `delay`, and makes listen calls until the daemon
/// sends their event: the time it took from connecting, or why it failed (an error line,
/// nothing within a second).
fn served_within(
    stream: std::io::Result<TcpStream>,
    hello: &str,
    delay: Duration,
) -> Result<Duration, String> {
    let within = Duration::from_secs(1);
    let started = Instant::now();
    let mut stream = stream.map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_millis(20)))
        .map_err(|e| e.to_string())?;
    thread::sleep(delay);
    writeln!(stream, "{hello}").map_err(|e| e.to_string())?;
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    while started.elapsed() < within {
        // The client is registered a moment after its line is read: call until one is seen.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        drop(listener);
        match stream.read(&mut chunk) {
            Ok(0) => {
                return Err(format!(
                    "closed: {:?}",
                    String::from_utf8_lossy(&got).trim()
                ))
            }
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(_) => {}
        }
        let text = String::from_utf8_lossy(&got);
        if text.contains("\"type\":\"error\"") {
            return Err(text.trim().to_owned());
        }
        if text.contains("\"syscall\":\"listen\"") {
            return Ok(started.elapsed());
        }
    }
    Err(format!(
        "no event within {within:?} (got {:?})",
        String::from_utf8_lossy(&got)
    ))
}

/// With --metrics-token-file every scrape needs `Authorization: Bearer TOKEN` (else 401);
/// clients are not named in the metrics unless --metrics-client-labels is given.
#[test]
fn metrics_need_the_bearer_token_and_client_labels_are_opt_in() {
    require_root();
    let _serial = serial();
    let dir = TempDir::new("daemon-metrics-token");
    let token = dir.join("metrics-token");
    fs::write(&token, "m3trics-token\n").expect("token");
    fs::set_permissions(&token, fs::Permissions::from_mode(0o600)).expect("chmod");
    let daemon = Daemon::start(
        &dir,
        &["--metrics-token-file", token.to_str().expect("utf-8")],
    );
    let get = |headers: &[&str]| scrape_with(daemon.metrics, "/metrics", headers).expect("scrape");
    let (status, head, body) = get(&[]);
    assert_eq!(status, "HTTP/1.1 401 Unauthorized", "{body}");
    assert!(
        head.to_ascii_lowercase()
            .contains("\r\nwww-authenticate: bearer"),
        "no challenge: {head}"
    );
    assert!(!body.contains("dualstack_events_total"), "{body}");
    for wrong in [
        "Authorization: Bearer m3trics-tokeX",
        "Authorization: Bearer m3trics",
        "Authorization: Basic bTN0cmljcy10b2tlbg==",
    ] {
        let (status, _, _) = get(&[wrong]);
        assert_eq!(status, "HTTP/1.1 401 Unauthorized", "{wrong}");
    }
    let client = daemon.client("");
    let scrape = || {
        let (status, _, body) = get(&["Authorization: Bearer m3trics-token"]);
        assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
        body
    };
    wait_until(T, "the client to be connected", || {
        sample_value(&scrape(), "dualstack_clients_connected") == Some(1)
    });
    let body = scrape();
    assert!(body.contains("dualstack_events_total{syscall="), "{body}");
    // The start-up probe of the test harness, and the four above.
    assert_eq!(
        sample_value(&body, "dualstack_metrics_auth_failures_total"),
        Some(5)
    );
    assert!(
        !body.contains("client=") && !body.contains("uid="),
        "clients are named without --metrics-client-labels: {body}"
    );
    drop(client);
    drop(daemon);

    let dir = TempDir::new("daemon-metrics-labels");
    let daemon = Daemon::start(&dir, &["--metrics-client-labels"]);
    let client = daemon.client("");
    daemon.wait_metric("dualstack_clients_connected", 1, T);
    let body = daemon.metrics();
    assert!(
        body.lines()
            .any(|l| l.starts_with("dualstack_client_queue_drops{client=\"")
                && l.contains("transport=\"unix\"")
                && l.contains(" uid=0 ")),
        "no per-client series with --metrics-client-labels: {body}"
    );
    drop(client);
}

/// A token file its group or others can read stops the daemon (and --check-config) unless
/// --allow-open-token is given; metrics open to other hosts without a token are warned about.
#[test]
fn an_open_token_file_is_refused_and_open_metrics_are_warned_about() {
    let dir = TempDir::new("daemon-open-token");
    let open = dir.join("token");
    fs::write(&open, "t0ken\n").expect("token");
    fs::set_permissions(&open, fs::Permissions::from_mode(0o644)).expect("chmod");
    let closed = dir.join("closed-token");
    fs::write(&closed, "t0ken\n").expect("token");
    fs::set_permissions(&closed, fs::Permissions::from_mode(0o600)).expect("chmod");
    let s = |p: &std::path::Path| p.to_str().expect("utf-8").to_owned();
    let (open, closed) = (s(&open), s(&closed));
    let socket = s(&dir.join("events.sock"));
    let log_dir = s(&dir.join("log"));
    let daemon = |check: bool, args: &[&str]| {
        let mut cmd = dualstack(&["daemon", "--socket", &socket, "--log-dir", &log_dir]);
        if check {
            cmd.arg("--check-config");
        }
        run(cmd.args(args), T)
    };
    for check in [true, false] {
        for args in [
            vec!["--listen", "9555", "--token-file", &open],
            vec!["--metrics", "9556", "--metrics-token-file", &open],
        ] {
            let out = daemon(check, &args);
            assert_eq!(out.code(), Some(1), "{args:?} should fail: {out:?}");
            assert!(
                out.stderr
                    .contains(&format!("{open}: its group or other users can read"))
                    && out.stderr.contains("--allow-open-token"),
                "{args:?}: {}",
                out.stderr
            );
            assert!(!std::path::Path::new(&socket).exists());
        }
    }
    let allowed = daemon(
        true,
        &[
            "--listen",
            "9555",
            "--token-file",
            &open,
            "--allow-open-token",
        ],
    );
    assert_eq!(allowed.code(), Some(0), "{allowed:?}");
    assert!(
        allowed.stderr.contains("allowed by --allow-open-token"),
        "{allowed:?}"
    );

    let wide = daemon(true, &["--metrics", "0.0.0.0:9556"]);
    assert_eq!(wide.code(), Some(0), "{wide:?}");
    assert!(
        wide.stderr
            .contains("warning: --metrics 0.0.0.0:9556: other hosts can read"),
        "{wide:?}"
    );
    for quiet in [
        vec!["--metrics", "0.0.0.0:9556", "--metrics-token-file", &closed],
        vec!["--metrics", "[::1]:9556"],
    ] {
        let out = daemon(true, &quiet);
        assert_eq!(out.code(), Some(0), "{out:?}");
        assert!(!out.stderr.contains("warning"), "{quiet:?}: {out:?}");
    }
    let stray = daemon(true, &["--metrics-client-labels"]);
    assert!(
        stray.code() == Some(1) && stray.stderr.contains("only used with --metrics"),
        "{stray:?}"
    );
}

/// The Prometheus endpoint: HELP and TYPE for every metric, counters that move.
#[test]
fn metrics_count_events_clients_refusals_and_the_log() {
    require_root();
    let _serial = serial();
    let dir = TempDir::new("daemon-metrics");
    let daemon = Daemon::start(&dir, &["--metrics-client-labels"]);
    let before = daemon.metrics();
    // OpenMetrics names a counter's family without the `_total` of its samples.
    for (family, kind) in [
        ("dualstack_events", "counter"),
        ("dualstack_kernel_drops", "counter"),
        ("dualstack_client_drops", "counter"),
        ("dualstack_client_queue_drops", "gauge"),
        ("dualstack_clients_connected", "gauge"),
        ("dualstack_clients_refused", "counter"),
        ("dualstack_decode_errors", "counter"),
        ("dualstack_log_bytes", "counter"),
        ("dualstack_log_rotations", "counter"),
        ("dualstack_log_write_errors", "counter"),
        ("dualstack_log_lines_dropped", "counter"),
    ] {
        assert!(
            before.contains(&format!("# HELP {family} ")),
            "no HELP for {family}"
        );
        assert!(
            before.contains(&format!("# TYPE {family} {kind}\n")),
            "no TYPE {kind} for {family}"
        );
    }
    assert!(before.ends_with("# EOF\n"), "{before}");
    let (status, _) = scrape_raw(daemon.metrics, "/other").expect("scrape");
    assert!(status.contains("404"), "{status}");

    let loops = 200;
    let mut workload = Workload::start(loops, next_base());
    workload.run(T);
    let bind = "dualstack_events_total{syscall=\"bind\"}";
    let listen = "dualstack_events_total{syscall=\"listen\"}";
    let grew = |sample: &str, by: u64| {
        let was = sample_value(&before, sample).expect("sample");
        wait_until(T, &format!("{sample} to grow by {by}"), || {
            daemon.metric(sample) - was >= by
        });
    };
    grew(bind, u64::from(loops + 9));
    grew(listen, 7);
    grew("dualstack_log_bytes_total", 1000);
    assert_eq!(daemon.metric("dualstack_decode_errors_total"), 0);
    assert_eq!(daemon.metric("dualstack_kernel_drops_total"), 0);
    assert_eq!(daemon.metric("dualstack_log_write_errors_total"), 0);

    // A bad first line: an error line, then the connection closes; counted as refused.
    let mut bad = UnixStream::connect(&daemon.socket).expect("connect");
    bad.write_all(b"{\"filter\":{\"syscall\":[\"read\"]}}\n")
        .expect("send");
    let mut answer = String::new();
    bad.set_read_timeout(Some(T)).expect("timeout");
    bad.read_to_string(&mut answer).expect("read until closed");
    assert!(
        answer.contains("\"type\":\"error\"") && answer.contains("unknown syscall"),
        "{answer}"
    );
    assert_eq!(daemon.metric("dualstack_clients_refused_total"), 1);

    // A half line is cut off after a while, a too long one at once.
    let mut long = UnixStream::connect(&daemon.socket).expect("connect");
    let _ = long.write_all(&vec![b' '; 70 * 1024]);
    let mut answer = String::new();
    long.set_read_timeout(Some(T)).expect("timeout");
    let _ = long.read_to_string(&mut answer);
    assert!(answer.contains("longer than"), "{answer}");
    let mut half = UnixStream::connect(&daemon.socket).expect("connect");
    half.write_all(b"{\"filter\":").expect("send");
    let mut answer = String::new();
    half.set_read_timeout(Some(T)).expect("timeout");
    half.read_to_string(&mut answer).expect("read until closed");
    assert!(answer.contains("incomplete first line"), "{answer}");
    assert_eq!(daemon.metric("dualstack_clients_refused_total"), 3);

    let a = daemon.client(&request(workload.pid, &json!({}), "json"));
    let b = daemon.client("");
    daemon.wait_metric("dualstack_clients_connected", 2, T);
    let text = daemon.metrics();
    let per_client = text
        .lines()
        .filter(|l| l.starts_with("dualstack_client_queue_drops{client="))
        .count();
    assert_eq!(per_client, 2, "{text}");
    drop((a, b));
    daemon.wait_metric("dualstack_clients_connected", 0, T);
    workload.finish();

    idle_scrapers_are_cut_and_past_32_refused(daemon.metrics);
    assert_eq!(
        daemon.metric("dualstack_clients_connected"),
        0,
        "a scrape gets through after"
    );
}

/// Scrapers that send nothing hold a place for the request deadline (1 s) only; past 32 at once,
/// the next is told 503 at once.
fn idle_scrapers_are_cut_and_past_32_refused(addr: SocketAddr) {
    let start = Instant::now();
    let mut idle: Vec<TcpStream> = (0..32)
        .map(|_| TcpStream::connect(addr).expect("connect"))
        .collect();
    let mut extra = TcpStream::connect(addr).expect("connect");
    extra.set_read_timeout(Some(T)).expect("timeout");
    let mut busy = String::new();
    let _ = extra.read_to_string(&mut busy);
    assert!(busy.starts_with("HTTP/1.1 503 "), "{busy:?}");
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    for stream in &mut idle {
        stream.set_read_timeout(Some(T)).expect("timeout");
        let mut got = Vec::new();
        let _ = stream.read_to_end(&mut got);
        assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    }
    let took = start.elapsed();
    assert!(
        (Duration::from_secs(1)..Duration::from_secs(3)).contains(&took),
        "idle scrapers cut after {took:?}"
    );
}

/// A client that sends nothing gets every event as JSON after the grace period.
#[test]
fn a_silent_client_gets_everything_as_json() {
    require_root();
    let _serial = serial();
    let dir = TempDir::new("daemon-silent");
    let daemon = Daemon::start(&dir, &[]);
    let mut workload = Workload::start(10, next_base());
    thread::sleep(Duration::from_millis(200));
    let silent = daemon.client("");
    daemon.wait_metric("dualstack_clients_connected", 1, T);
    thread::sleep(Duration::from_millis(400));
    workload.run(T);
    let pid = workload.pid;
    wait_until(T, "the workload's listens", || {
        silent
            .records("event")
            .iter()
            .filter(|e| e["pid"] == pid && e["syscall"] == "listen")
            .count()
            == 7
    });
    workload.finish();
}

/// SIGHUP reopens the log and the daemon goes on; SIGTERM: exit 0, socket removed, clients closed.
#[test]
fn sighup_reopens_the_log_and_sigterm_exits_0_and_removes_the_socket() {
    require_root();
    let _serial = serial();
    let dir = TempDir::new("daemon-signals");
    let mut daemon = Daemon::start(&dir, &[]);
    let log = daemon.log_dir.join("events.jsonl");
    wait_until(T, "the event log", || log.exists());
    let moved = daemon.log_dir.join("events.jsonl.old");
    fs::rename(&log, &moved).expect("move the log away");
    daemon.signal(libc::SIGHUP);
    wait_until(T, "the reopened log", || log.exists());
    thread::sleep(Duration::from_millis(300));
    assert!(
        daemon.is_running(),
        "SIGHUP killed the daemon: {}",
        daemon.stderr()
    );

    let mut workload = Workload::start(5, next_base());
    let pid = workload.pid;
    thread::sleep(Duration::from_millis(200));
    let client = daemon.client(&request(pid, &json!({"syscall": "listen"}), "json"));
    daemon.wait_metric("dualstack_clients_connected", 1, T);
    workload.run(T);
    settle(&[("after SIGHUP", 7, &client)]);
    let marker = format!("\"pid\":{pid},");
    wait_until(T, "the workload in the reopened log", || {
        fs::read_to_string(&log).is_ok_and(|t| {
            t.lines()
                .filter(|l| l.contains(&marker) && l.contains("\"syscall\":\"listen\""))
                .count()
                == 7
        })
    });

    daemon.signal(libc::SIGTERM);
    let status = daemon.wait(T);
    assert_eq!(status.code(), Some(0), "{}", daemon.stderr());
    assert!(!daemon.socket.exists(), "the socket file is still there");
    wait_until(T, "the client to see the end", || {
        client.eof.load(std::sync::atomic::Ordering::Relaxed)
    });
    assert!(
        daemon.stderr().contains("SIGTERM: stopping"),
        "{}",
        daemon.stderr()
    );
    workload.finish();
}

/// kill -9 while the log is written, then a restart on the same log directory and socket path:
/// every line of the log is whole, and the new daemon serves.
#[test]
fn after_kill_9_the_log_has_no_torn_line_and_a_restart_serves_again() {
    require_root();
    let _serial = serial();
    let dir = TempDir::new("daemon-kill");
    let mut daemon = Daemon::start(&dir, &[]);
    let log = daemon.log_dir.join("events.jsonl");
    let mut workload = Workload::start(20_000, next_base());
    let pid = workload.pid;
    let client = daemon.client(&request(pid, &json!({}), "json"));
    daemon.wait_metric("dualstack_clients_connected", 1, T);
    let marker = format!("\"pid\":{pid},");
    let released = thread::spawn(move || {
        workload.run(Duration::from_mins(2));
        workload
    });
    wait_until(T, "the workload's events in the log", || {
        fs::read_to_string(&log).is_ok_and(|t| t.matches(&marker).count() > 2000)
    });
    daemon.guard.kill();
    drop(client);
    let workload = released.join().expect("workload thread");
    assert!(
        daemon.socket.exists(),
        "kill -9 leaves the socket file behind"
    );

    let mut again = Daemon::start(&dir, &[]);
    let mut probe = Workload::start(5, next_base());
    thread::sleep(Duration::from_millis(200));
    let client = again.client(&request(probe.pid, &json!({"syscall": "listen"}), "json"));
    again.wait_metric("dualstack_clients_connected", 1, T);
    probe.run(T);
    settle(&[("after restart", 7, &client)]);
    again.signal(libc::SIGTERM);
    assert_eq!(again.wait(T).code(), Some(0));

    let text = fs::read(&log).expect("the log");
    assert_eq!(text.last(), Some(&b'\n'), "the log ends in a torn line");
    for (i, line) in text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        let v: Value = serde_json::from_slice(line).unwrap_or_else(|e| {
            panic!(
                "log line {} is not whole JSON ({e}): {}",
                i + 1,
                String::from_utf8_lossy(line)
            )
        });
        assert!(v["type"] == "event" || v["type"] == "lost", "{v}");
    }
    let probe_marker = format!("\"pid\":{},", probe.pid);
    assert!(
        String::from_utf8_lossy(&text).contains(&probe_marker),
        "the restarted daemon logged nothing"
    );
    // `dualstack export` reads every line written, before and after the crash, and skips none.
    let exported = run(
        dualstack(&["export", "--format", "json"]).arg(&daemon.log_dir),
        T,
    );
    assert_eq!(exported.code(), Some(0), "export: {}", exported.stderr);
    let written: usize = fs::read_dir(&daemon.log_dir)
        .expect("log dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .map(|p| fs::read_to_string(p).expect("log file").lines().count())
        .sum();
    assert_eq!(
        exported.stdout.lines().count(),
        written,
        "export vs lines in the files"
    );
    probe.finish();
    workload.finish();
}

/// `dualstack stream` prints strace lines, JSON and a table; Ctrl-C ends it with 0.
#[test]
fn stream_prints_strace_json_and_table_and_ctrl_c_exits_0() {
    require_root();
    let _serial = serial();
    let dir = TempDir::new("daemon-stream");
    let daemon = Daemon::start(&dir, &[]);
    let mut workload = Workload::start(10, next_base());
    let pid = workload.pid.to_string();
    thread::sleep(Duration::from_millis(200));
    let socket = daemon.socket.to_str().expect("utf-8").to_owned();
    let streams: Vec<(String, Guard, std::path::PathBuf)> = ["strace", "json", "table"]
        .iter()
        .map(|format| {
            let out = dir.join(&format!("stream.{format}"));
            let mut cmd = dualstack(&[
                "stream",
                "--socket",
                &socket,
                "-p",
                &pid,
                "--syscall",
                "listen",
                "-f",
                format,
            ]);
            cmd.stdout(fs::File::create(&out).expect("out"))
                .stderr(Stdio::null());
            ((*format).to_owned(), Guard::spawn(&mut cmd), out)
        })
        .collect();
    daemon.wait_metric("dualstack_clients_connected", 3, T);
    workload.run(T);
    let lines = |path: &std::path::Path| {
        fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    for (format, _, out) in &streams {
        let want = if format == "table" { 8 } else { 7 };
        wait_until(T, &format!("{format} output"), || lines(out).len() >= want);
    }
    for (format, mut guard, out) in streams {
        // SAFETY: kill has no memory preconditions; the pid is our own child.
        unsafe { libc::kill(guard.id() as i32, libc::SIGINT) };
        let status = guard.wait(T, "dualstack stream");
        assert_eq!(status.code(), Some(0), "{format}: Ctrl-C should exit 0");
        let lines = lines(&out);
        match format.as_str() {
            "strace" => {
                let ok = |l: &String| l.starts_with("[pid ") && l.contains("] listen(");
                assert!(lines.iter().all(ok), "{lines:?}");
            }
            "json" => {
                let ok = |l: &String| {
                    serde_json::from_str::<Value>(l).is_ok_and(|v| v["syscall"] == "listen")
                };
                assert!(lines.iter().all(ok), "{lines:?}");
            }
            _ => {
                assert!(
                    lines[0].starts_with("TIME ") && lines[0].ends_with(" ACCEPTS"),
                    "{lines:?}"
                );
                let v6 = lines
                    .iter()
                    .filter(|l| l.contains(" AF_INET6 ") && l.ends_with(" yes    IPv6"))
                    .count();
                let v4 = lines
                    .iter()
                    .filter(|l| l.contains(" AF_INET ") && l.ends_with(" -      IPv4"))
                    .count();
                assert_eq!((v4, v6), (4, 3), "{lines:#?}");
            }
        }
        assert_eq!(
            lines.len(),
            if format == "table" { 8 } else { 7 },
            "{format}: {lines:?}"
        );
    }
    workload.finish();
}

/// --check-config: the good configuration is ok; each bad option is named, with exit 1, and
/// nothing is created.
#[test]
fn check_config_names_the_bad_option_and_creates_nothing() {
    let dir = TempDir::new("daemon-check");
    let token = dir.join("token");
    fs::write(&token, "t0ken\n").expect("token");
    fs::set_permissions(&token, fs::Permissions::from_mode(0o600)).expect("chmod");
    let empty = dir.join("empty");
    fs::write(&empty, "\n").expect("empty");
    let file = dir.join("file");
    fs::write(&file, "x").expect("file");
    let s = |p: &std::path::Path| p.to_str().expect("utf-8").to_owned();
    let socket = s(&dir.join("run/sub/events.sock"));
    let log_dir = s(&dir.join("log/sub"));
    let base = [
        "daemon",
        "--check-config",
        "--socket",
        &socket,
        "--log-dir",
        &log_dir,
    ];

    let good = run(
        dualstack(&base).args([
            "--socket-group",
            "users",
            "--listen",
            "9555",
            "--token-file",
            &s(&token),
            "--metrics",
            "127.0.0.1:9556",
        ]),
        T,
    );
    assert_eq!(good.code(), Some(0), "{good:?}");
    assert_eq!(good.stdout, "configuration ok\n");
    assert!(
        !dir.join("run").exists() && !dir.join("log").exists(),
        "--check-config created directories"
    );

    let (token, empty, file) = (s(&token), s(&empty), s(&file));
    let long_socket = format!("/tmp/{}/events.sock", "x".repeat(110));
    let under_file = format!("{file}/log");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--socket-group", "no-such-group-here"],
            "no such group",
        ),
        (vec!["--listen", "9555"], "--listen needs --token-file"),
        (vec!["--token-file", &token], "only used with --listen"),
        (
            vec!["--listen", "1.2.3.4.5:9", "--token-file", &token],
            "--listen",
        ),
        (
            vec!["--listen", "localhost:9", "--token-file", &token],
            "IP address",
        ),
        (vec!["--listen", "9555", "--token-file", &empty], "is empty"),
        (
            vec!["--listen", "9555", "--token-file", "/nonexistent/token"],
            "--token-file /nonexistent/token",
        ),
        (vec!["--metrics", "nowhere"], "--metrics"),
        (vec!["--log-max-mib", "0"], "--log-max-mib"),
        (vec!["--log-max-age", "3w"], "--log-max-age"),
        (vec!["--log-keep", "1000000"], "--log-keep"),
        (vec!["--client-queue", "0"], "--client-queue"),
        (vec!["--ring-mib", "3"], "--ring-mib"),
        (vec!["--socket", &long_socket], "longer than 107 bytes"),
        (vec!["--socket", &file], "is not a socket"),
        (vec!["--log-dir", &under_file], "--log-dir"),
    ];
    for (args, want) in cases {
        // The case's own --socket or --log-dir replaces the temporary one.
        let mut cmd = dualstack(&["daemon", "--check-config"]);
        for (option, value) in [("--socket", &socket), ("--log-dir", &log_dir)] {
            if !args.contains(&option) {
                cmd.args([option, value.as_str()]);
            }
        }
        let out = run(cmd.args(&args), T);
        assert_eq!(out.code(), Some(1), "{args:?} should fail: {out:?}");
        assert!(
            out.stderr.contains(want),
            "{args:?}: expected {want:?} in {:?}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "{args:?}: {out:?}");
    }
    let no_log = run(
        dualstack(&["daemon", "--check-config", "--socket", &socket]).args([
            "--no-log",
            "--log-dir",
            &under_file,
        ]),
        T,
    );
    assert_eq!(
        no_log.code(),
        Some(0),
        "--no-log ignores the log options: {no_log:?}"
    );
}

/// The options in dist/dualstack.default, as systemd reads `DUALSTACK_OPTS="..."` from it.
fn default_options() -> Vec<String> {
    let path = tests::workspace_root().join("dist/dualstack.default");
    let text = fs::read_to_string(&path).expect("dist/dualstack.default");
    let value = text
        .lines()
        .find_map(|l| l.strip_prefix("DUALSTACK_OPTS="))
        .expect("a DUALSTACK_OPTS= line");
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    value.split_whitespace().map(str::to_owned).collect()
}

/// dist/dualstack.service: systemd-analyze verify accepts it, and the options it reads from
/// /etc/default/dualstack (dist/dualstack.default) pass --check-config.
#[test]
fn the_systemd_unit_verifies_and_its_options_pass_check_config() {
    let unit = fs::read_to_string(tests::workspace_root().join("dist/dualstack.service"))
        .expect("the unit");
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("an ExecStart line");
    assert_eq!(exec, "/usr/bin/dualstack daemon $DUALSTACK_OPTS");
    let options = default_options();
    assert!(!options.is_empty(), "dist/dualstack.default sets no option");
    let out = run(
        Command::new(dualstack_bin())
            .arg("daemon")
            .args(&options)
            .arg("--check-config"),
        T,
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert_eq!(out.stdout, "configuration ok\n");
    for line in [
        "EnvironmentFile=-/etc/default/dualstack",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "RuntimeDirectory=dualstack",
        "LogsDirectory=dualstack",
    ] {
        assert!(unit.lines().any(|l| l == line), "the unit lacks {line}");
    }

    assert!(
        Command::new("systemd-analyze")
            .arg("--version")
            .output()
            .is_ok(),
        "systemd-analyze is not installed (Debian package systemd; `cargo xtask setup` \
         installs it): the unit cannot be verified"
    );
    let dir = TempDir::new("daemon-unit");
    let copy = dir.join("dualstack.service");
    let bin = dualstack_bin();
    fs::write(
        &copy,
        unit.replace("/usr/bin/dualstack", bin.to_str().expect("utf-8")),
    )
    .expect("copy");
    // The man page the unit names is installed by the package only (tests/tests/package.rs).
    let out = run(
        Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(&copy),
        T,
    );
    assert_eq!(out.code(), Some(0), "systemd-analyze verify: {out:?}");
    assert!(
        !out.stderr.contains("dualstack.service:"),
        "systemd-analyze verify warns: {}",
        out.stderr
    );
}
