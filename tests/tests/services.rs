//! How real services start and share their sockets (tests/programs/services.py), traced from
//! their start command: a double-forking daemon, a pre-fork server, a listener passed over
//! SCM_RIGHTS, dup2 over a socket, 100,000 live sockets, and thread-id reuse. Each runs in a
//! network namespace of its own; every strace line of dualstack is compared with real strace -f
//! on the same program, and the JSON says what each socket is.

use std::{
    collections::BTreeSet,
    fs,
    io::{BufRead as _, BufReader},
    process::{Command, ExitStatus, Stdio},
    thread,
    time::{Duration, Instant},
};

use serde_json::Value;
use tests::{
    compare, dualstack, dualstack_trace_argv, json_lines, netns::TestNetns, normalise, program,
    python, require_root, succeeded, Guard, TempDir, TRACE_SET,
};

const TIMEOUT: Duration = Duration::from_mins(1);

/// What one traced run left.
struct Run {
    status: ExitStatus,
    /// The trace (standard output, or the -o file).
    trace: String,
    /// Standard error: the program's own lines, then dualstack's messages.
    stderr: String,
}

/// `python3 services.py ARGS`.
fn services_py(args: &[&str]) -> Vec<String> {
    [
        python().display().to_string(),
        program("services.py").display().to_string(),
    ]
    .into_iter()
    .chain(args.iter().map(|&a| a.to_owned()))
    .collect()
}

/// The native server (tests/src/bin/forking_server.rs) with ARGS.
fn native(args: &[&str]) -> Vec<String> {
    std::iter::once(env!("CARGO_BIN_EXE_forking_server").to_owned())
        .chain(args.iter().map(|&a| a.to_owned()))
        .collect()
}

/// Runs `tracer... ip netns exec NS PROGRAM...`, and after each `ready` line the program
/// writes connects once to each of `connects` (addresses in the namespace) on `port`.
fn traced(tracer: &[String], ns: &TestNetns, args: &[String], connects: &[&str], port: u16) -> Run {
    let dir = TempDir::new("services");
    let stdout_path = dir.join("stdout");
    let mut cmd = Command::new(&tracer[0]);
    cmd.args(&tracer[1..])
        .args(["ip", "netns", "exec", ns.name()])
        .args(args)
        .stdin(Stdio::null())
        .stdout(fs::File::create(&stdout_path).expect("stdout file"))
        .stderr(Stdio::piped());
    let mut guard = Guard::spawn(&mut cmd);
    let stderr = guard.child.stderr.take().expect("stderr");
    let name = ns.name().to_owned();
    let connects: Vec<String> = connects.iter().map(|&a| a.to_owned()).collect();
    let reader = thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.starts_with("ready") {
                for addr in &connects {
                    connect(&name, addr, port);
                }
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let status = guard.wait(TIMEOUT, "the traced service");
    let stderr = reader.join().expect("stderr reader");
    let mut trace = fs::read_to_string(&stdout_path).unwrap_or_default();
    if let Some(i) = tracer.iter().position(|a| a == "-o") {
        trace = fs::read_to_string(&tracer[i + 1]).expect("trace file");
    }
    Run {
        status,
        trace,
        stderr,
    }
}

/// One TCP connection to `addr`:`port` inside the namespace, closed at once.
fn connect(netns: &str, addr: &str, port: u16) {
    let out = Command::new("ip")
        .args(["netns", "exec", netns])
        .args(["ncat", "-z", "-w", "2", addr, &port.to_string()])
        .output()
        .expect("ncat");
    assert!(
        out.status.success(),
        "cannot connect to {addr} port {port}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn strace_o(file: &std::path::Path) -> Vec<String> {
    [
        "strace",
        "-f",
        "-qq",
        "-o",
        file.to_str().expect("path"),
        "-e",
        &format!("trace={TRACE_SET}"),
    ]
    .iter()
    .map(|&s| s.to_owned())
    .collect()
}

/// The same run under strace -f and under `dualstack trace -o --every-close`: every line the
/// same once pids and pointers are normalised.
fn same_as_strace(args: &[String], connects: &[&str], port: u16) {
    let dir = TempDir::new("services-compare");
    let strace_file = dir.join("strace.txt");
    let ds_file = dir.join("dualstack.txt");
    let ns = TestNetns::new(false);
    let strace = traced(&strace_o(&strace_file), &ns, args, connects, port);
    assert!(strace.status.success(), "under strace: {}", strace.stderr);
    let ns = TestNetns::new(false);
    let ds_file_arg = ds_file.to_str().expect("path");
    let ds = traced(
        &dualstack_trace_argv(&["-o", ds_file_arg, "--every-close"]),
        &ns,
        args,
        connects,
        port,
    );
    assert!(ds.status.success(), "under dualstack: {}", ds.stderr);
    let expected = normalise(&strace.trace, port);
    let actual = normalise(&ds.trace, port);
    assert!(expected.line_count() > 5, "strace saw almost nothing");
    if let Err(report) = compare("strace", &expected, "dualstack", &actual) {
        panic!(
            "{args:?}: dualstack differs from strace -f:\n{report}\n--- strace:\n{}\n--- dualstack:\n{}",
            strace.trace, ds.trace
        );
    }
}

/// `dualstack trace -f json --verdicts EXTRA -- ...` in a fresh namespace.
fn json_run(extra: &[&str], args: &[String], connects: &[&str], port: u16) -> (Run, Vec<Value>) {
    let ns = TestNetns::new(false);
    let mut tracer = vec!["-f", "json", "--verdicts"];
    tracer.extend_from_slice(extra);
    let run = traced(&dualstack_trace_argv(&tracer), &ns, args, connects, port);
    assert!(
        run.status.success(),
        "dualstack trace failed ({}): {}",
        run.status,
        run.stderr
    );
    assert!(
        !run.stderr.contains("lost") && !run.stderr.contains("not tracked"),
        "dualstack lost something: {}",
        run.stderr
    );
    let events = json_lines(&run.trace);
    (run, events)
}

fn pid(e: &Value) -> u64 {
    e["pid"].as_u64().expect("pid")
}

#[test]
fn a_double_forking_daemon_is_followed_to_its_bind_and_accept() {
    require_root();
    let port = 7001;
    let args = services_py(&["double-fork", "7001"]);
    let (run, events) = json_run(&[], &args, &["::1"], port);
    let first = events.first().map(pid).expect("events");
    let listens = succeeded(&events, "listen");
    assert_eq!(listens.len(), 1, "{}", run.trace);
    let listen = listens[0];
    assert_ne!(pid(listen), first, "the listen is the grandchild's");
    assert_eq!(listen["verdict"]["accepts"], "IPv6");
    assert_eq!(listen["v6only_source"], "setsockopt");
    let accepts = succeeded(&events, "accept4");
    assert_eq!(
        accepts.len(),
        1,
        "the daemon's accept was traced: {}",
        run.trace
    );
    assert_eq!(pid(accepts[0]), pid(listen));
    assert!(
        // 1 or 2: the middle process may not have exited yet.
        run.stderr
            .contains("exited with status 0; still following ")
            && run.stderr.contains("it started, until the last exits"),
        "no word about the daemon left behind: {}",
        run.stderr
    );
    same_as_strace(&args, &["::1"], port);
}

#[test]
fn pre_fork_workers_accept_on_the_masters_socket_with_its_state() {
    require_root();
    let port = 7002;
    let args = services_py(&["prefork", "7002", "3"]);
    let connects = ["127.0.0.1", "::1", "127.0.0.1"];
    let (run, events) = json_run(&[], &args, &connects, port);
    let listen = succeeded(&events, "listen")[0];
    let master = pid(listen);
    assert_eq!(listen["verdict"]["accepts"], "IPv4+IPv6");
    let accepts = succeeded(&events, "accept4");
    let workers: BTreeSet<u64> = accepts.iter().map(|e| pid(e)).collect();
    assert_eq!(accepts.len(), 3, "{}", run.trace);
    assert_eq!(workers.len(), 3, "three workers accepted");
    assert!(!workers.contains(&master));
    for a in &accepts {
        assert_eq!(a["socket"]["type"], "SOCK_STREAM|SOCK_CLOEXEC", "{a}");
        assert_eq!(a["socket"]["reuseaddr"], true, "{a}");
        assert_eq!(a["v6only"], false, "{a}");
        assert_eq!(a["v6only_source"], "setsockopt", "{a}");
        assert_eq!(a["family"], "AF_INET6", "{a}");
        assert_eq!(a["tracking"], "socket", "{a}");
    }
    // Kernel filters see the inherited socket too.
    let (_, by_port) = json_run(
        &["--port", "7002", "--syscall", "accept4"],
        &args,
        &connects,
        port,
    );
    assert_eq!(succeeded(&by_port, "accept4").len(), 3);
    let (_, six) = json_run(
        &["--family", "inet6", "--syscall", "listen,accept4"],
        &args,
        &connects,
        port,
    );
    assert_eq!(succeeded(&six, "listen").len(), 1);
    assert_eq!(succeeded(&six, "accept4").len(), 3);
    let (_, four) = json_run(
        &["--family", "inet", "--syscall", "listen,accept4"],
        &args,
        &connects,
        port,
    );
    assert!(
        four.is_empty(),
        "an AF_INET6 listener shown as AF_INET: {four:?}"
    );
    same_as_strace(&args, &connects, port);
}

#[test]
fn a_listener_passed_over_scm_rights_keeps_its_state_in_the_receiver() {
    require_root();
    let port = 7003;
    let args = services_py(&["pass", "7003"]);
    let (run, events) = json_run(&[], &args, &["::1"], port);
    let listen = succeeded(&events, "listen")[0];
    let accept = succeeded(&events, "accept4")[0];
    assert_ne!(pid(accept), pid(listen), "the receiver is another process");
    assert_eq!(
        accept["socket"]["type"], "SOCK_STREAM|SOCK_CLOEXEC",
        "{}",
        run.trace
    );
    assert_eq!(accept["v6only"], true);
    assert_eq!(accept["v6only_source"], "setsockopt");
    assert!(
        accept["kernel"]["inode"].as_u64().is_some(),
        "the accepted socket's kernel view: {accept}"
    );
    same_as_strace(&args, &["::1"], port);
}

#[test]
fn dup2_over_a_socket_reports_the_new_socket() {
    require_root();
    let port = 7004;
    let args = services_py(&["dup2", "7004"]);
    let (run, events) = json_run(&[], &args, &["127.0.0.1"], port);
    let listen = succeeded(&events, "listen")[0];
    assert_eq!(listen["family"], "AF_INET", "{}", run.trace);
    assert_eq!(listen["verdict"]["accepts"], "IPv4");
    assert_eq!(listen["socket"]["type"], "SOCK_STREAM|SOCK_CLOEXEC");
    assert_eq!(listen["v6only"], Value::Null);
    let reason = listen["verdict"]["reason"].as_str().expect("reason");
    assert!(
        reason.starts_with("AF_INET socket on 127.0.0.1:7004"),
        "{reason}"
    );
    same_as_strace(&args, &["127.0.0.1"], port);
}

/// 100,000 sockets live at once, each with its own V6ONLY. One process holds them all where its
/// descriptor limit allows; on machines whose hard RLIMIT_NOFILE is lower and that lack
/// CAP_SYS_RESOURCE to raise it (20,000 here), services.py spreads them over forked processes:
/// the kernel's state map holds 100,000 live sockets either way.
#[test]
fn one_hundred_thousand_live_sockets_all_get_their_verdicts() {
    require_root();
    let count = 100_000;
    let (run, events) = json_run(
        &["--syscall", "listen", "--ring-mib", "128"],
        &services_py(&["many", &count.to_string(), "7100"]),
        &[],
        7100,
    );
    let listens = succeeded(&events, "listen");
    assert_eq!(listens.len(), count, "{}", run.stderr);
    let mut wrong = Vec::new();
    for l in &listens {
        let dual = l["port"].as_u64().is_some_and(|p| (p - 7100) % 2 == 0);
        let want = if dual { "IPv4+IPv6" } else { "IPv6" };
        if l["verdict"]["accepts"] != want
            || l["v6only"] != !dual
            || l["v6only_source"] != "setsockopt"
            || l["verdict"]["certain"] != true
        {
            wrong.push(l.to_string());
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {count} listeners have a wrong verdict, e.g. {}",
        wrong.len(),
        wrong[0]
    );
}

#[test]
fn a_full_state_map_is_counted_and_marked_never_silent() {
    require_root();
    let ns = TestNetns::new(false);
    let run = traced(
        &dualstack_trace_argv(&["-f", "json", "--syscall", "listen", "--max-sockets", "1000"]),
        &ns,
        &services_py(&["many", "3000", "7100"]),
        &[],
        7100,
    );
    assert!(run.status.success(), "{}", run.stderr);
    let events = json_lines(&run.trace);
    let untracked: Vec<&Value> = events
        .iter()
        .filter(|e| e["tracking"] == "map-full")
        .collect();
    assert!(
        untracked.len() >= 1900,
        "{} of 3000 listens marked map-full",
        untracked.len()
    );
    assert!(untracked.iter().all(|e| e["socket"].is_null()));
    assert!(
        run.stderr
            .contains("sockets not tracked: the socket state map (1000 entries) was full"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_process_that_reuses_a_dead_threads_id_is_not_traced() {
    require_root();
    let dir = TempDir::new("tid-reuse");
    let dir_arg = dir.path().to_str().expect("path").to_owned();
    let mut trace = dualstack(&["trace", "-f", "json", "--"]);
    trace
        .arg(python())
        .arg(program("services.py"))
        .args(["thread-then-wait", &dir_arg])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut guard = Guard::spawn(&mut trace);
    let tid_file = dir.join("tid");
    let start = Instant::now();
    while !tid_file.exists() {
        assert!(start.elapsed() < TIMEOUT, "no thread id written");
        thread::sleep(Duration::from_millis(20));
    }
    let tid: u32 = fs::read_to_string(&tid_file)
        .expect("tid")
        .trim()
        .parse()
        .expect("a number");
    // Make the kernel hand the dead thread's id to a new, unrelated process: the next pid is
    // ns_last_pid + 1. Others may fork meanwhile, so try a few times.
    let marker_port = 7200;
    let mut reused = false;
    for _ in 0..20 {
        fs::write("/proc/sys/kernel/ns_last_pid", (tid - 1).to_string()).expect("ns_last_pid");
        let mut child = Command::new(python())
            .args([
                "-c",
                &format!(
                    "import socket,os; s=socket.socket(); s.bind(('127.0.0.1', {marker_port})); print(os.getpid())"
                ),
            ])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python");
        let pid = child.id();
        let _ = child.wait();
        if pid == tid {
            reused = true;
            break;
        }
    }
    assert!(reused, "could not make a process reuse thread id {tid}");
    fs::write(dir.join("go"), "").expect("go");
    let out = guard.child.stdout.take().expect("stdout");
    let text: String = BufReader::new(out)
        .lines()
        .map_while(Result::ok)
        .collect::<Vec<_>>()
        .join("\n");
    guard.wait(TIMEOUT, "dualstack trace");
    let events = json_lines(&text);
    let leaked: Vec<&Value> = events.iter().filter(|e| e["pid"] == tid).collect();
    assert!(
        leaked.is_empty(),
        "the process that reused thread id {tid} was traced: {leaked:?}"
    );
}

/// The same shapes from a native program (raw libc calls, no interpreter): a double-forking
/// daemon with a dual-stack socket, and a pre-fork server with an IPv6-only one.
#[test]
fn a_native_double_forking_daemon_and_pre_fork_server() {
    require_root();
    let daemon = native(&["double-fork", "7010"]);
    let (run, events) = json_run(&[], &daemon, &["127.0.0.1"], 7010);
    let first = events.first().map(pid).expect("events");
    let listen = succeeded(&events, "listen")[0];
    assert_ne!(
        pid(listen),
        first,
        "the daemon is the grandchild: {}",
        run.trace
    );
    assert_eq!(listen["verdict"]["accepts"], "IPv4+IPv6");
    assert_eq!(listen["v6only_source"], "setsockopt");
    assert_eq!(succeeded(&events, "accept4").len(), 1);
    same_as_strace(&daemon, &["127.0.0.1"], 7010);

    let prefork = native(&["prefork", "7011", "2"]);
    let (run, events) = json_run(&[], &prefork, &["::1", "::1"], 7011);
    let listen = succeeded(&events, "listen")[0];
    assert_eq!(listen["verdict"]["accepts"], "IPv6");
    let accepts = succeeded(&events, "accept4");
    assert_eq!(accepts.len(), 2, "{}", run.trace);
    for a in accepts {
        assert_ne!(pid(a), pid(listen), "a worker accepts");
        assert_eq!(a["v6only"], true, "{a}");
        assert_eq!(a["v6only_source"], "setsockopt", "{a}");
        assert_eq!(a["socket"]["reuseaddr"], true, "{a}");
    }
    same_as_strace(&prefork, &["::1", "::1"], 7011);
}

/// A Node.js cluster (tests/programs/cluster.js): the primary listens and accepts, and hands
/// each connection to a worker over SCM_RIGHTS. The workers' closes of those connections
/// carry the state the primary's accept made: the socket, not the descriptor, is followed.
#[test]
fn a_node_cluster_passes_connections_to_workers_with_their_state() {
    require_root();
    let node = [
        "node".to_owned(),
        program("cluster.js").display().to_string(),
        "7020".to_owned(),
        "2".to_owned(),
        "4".to_owned(),
    ];
    let connects = ["127.0.0.1", "::1", "127.0.0.1", "::1"];
    let (run, events) = json_run(&[], &node, &connects, 7020);
    let listen = succeeded(&events, "listen")
        .into_iter()
        .find(|l| l["port"] == 7020)
        .unwrap_or_else(|| panic!("no listen on 7020: {}", run.trace));
    assert_eq!(listen["verdict"]["accepts"], "IPv4+IPv6", "{listen}");
    let primary = pid(listen);
    let accepted: BTreeSet<u64> = succeeded(&events, "accept4")
        .iter()
        .filter(|a| pid(a) == primary)
        .filter_map(|a| a["kernel"]["inode"].as_u64())
        .collect();
    assert_eq!(
        accepted.len(),
        4,
        "the primary accepts each connection: {}",
        run.trace
    );
    let worker_closes: Vec<&Value> = succeeded(&events, "close")
        .into_iter()
        .filter(|c| pid(c) != primary && c["family"] == "AF_INET6")
        .collect();
    assert_eq!(
        worker_closes.len(),
        4,
        "each worker closes what it was given: {}",
        run.trace
    );
    for c in &worker_closes {
        assert_eq!(c["tracking"], "socket", "{c}");
        assert_eq!(c["socket"]["type"], "SOCK_STREAM", "{c}");
        let inode = c["kernel"]["inode"]
            .as_u64()
            .expect("the closed socket's inode");
        assert!(
            accepted.contains(&inode),
            "a worker closed a socket the primary accepted: {c}"
        );
    }
}
