//! The seed scenario (tests/programs/seed.py) end to end: what each listener accepts, as the
//! JSON output tells it, and every filter of `dualstack trace`, attaching with -p, the exit
//! status and -t stamps.

use std::{
    fs,
    io::{BufRead as _, BufReader},
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use serde_json::Value;
use tests::{
    check_alignment, dualstack, json_lines, port_base, program, python, require_root, run, Guard,
    Output, TempDir,
};

const TIMEOUT: Duration = Duration::from_secs(40);

/// Port bases for this binary: 28000 + k * 200, k < 20 (below the ephemeral range).
fn next_base() -> u16 {
    port_base(28000, 20)
}

/// Runs `dualstack trace ARGS -- python3 seed.py` with a fresh port base.
fn trace_seed(args: &[&str]) -> (u16, Output) {
    require_root();
    let base = next_base();
    let dir = TempDir::new("seed");
    let mut cmd = dualstack(&["trace"]);
    cmd.args(args)
        .arg("--")
        .arg(python())
        .arg(program("seed.py"))
        .env("DUALSTACK_TEST_PORT", base.to_string())
        .current_dir(dir.path());
    let out = run(&mut cmd, TIMEOUT);
    assert_eq!(
        out.code(),
        Some(0),
        "dualstack trace {args:?} failed: {}",
        out.stderr
    );
    (base, out)
}

/// A strace line without its `[pid N] ` leader.
fn body(line: &str) -> &str {
    if line.starts_with("[pid ") {
        line.split_once("] ").map_or(line, |(_, rest)| rest)
    } else {
        line
    }
}

/// What one listen event must say.
struct Want {
    fd: i64,
    family: &'static str,
    address: &'static str,
    port_offset: u16,
    backlog: i64,
    v6only: Value,
    source: Value,
}

fn seed_listeners() -> Vec<Want> {
    let w = |fd, family, address, port_offset, v6only: Value, source: Value| Want {
        fd,
        family,
        address,
        port_offset,
        backlog: if fd == 9 { 4 } else { 16 },
        v6only,
        source,
    };
    let set = || Value::from("setsockopt");
    // Without setsockopt, the kernel's bit is the netns default it was created with.
    let default = || Value::Bool(host_bindv6only());
    let netns = || Value::from("netns-default");
    vec![
        // 1. dual-stack: one AF_INET6 socket on ::, IPV6_V6ONLY never set
        w(3, "AF_INET6", "::", 0, default(), netns()),
        // 2. the sshd pair
        w(4, "AF_INET", "0.0.0.0", 1, Value::Null, Value::Null),
        w(5, "AF_INET6", "::", 1, Value::Bool(true), set()),
        // 3. v6-only
        w(6, "AF_INET6", "::", 2, Value::Bool(true), set()),
        // 4. v4-only
        w(7, "AF_INET", "127.0.0.1", 3, Value::Null, Value::Null),
        // 5. dual-stack, IPV6_V6ONLY=0 set explicitly
        w(8, "AF_INET6", "::", 4, Value::Bool(false), set()),
        // 7. the renamed child's listener on ::1
        // A bind to a specific IPv6 address sets V6ONLY in the kernel.
        w(
            9,
            "AF_INET6",
            "::1",
            5,
            Value::Bool(true),
            Value::from("bind-address"),
        ),
    ]
}

fn host_bindv6only() -> bool {
    std::fs::read_to_string("/proc/sys/net/ipv6/bindv6only")
        .expect("bindv6only")
        .trim()
        != "0"
}

/// What a listener of this shape accepts.
fn accepts(w: &Want) -> &'static str {
    match (w.family, w.address, &w.v6only) {
        ("AF_INET", ..) => "IPv4",
        (_, "::", Value::Bool(false)) => "IPv4+IPv6",
        _ => "IPv6",
    }
}

fn check_listen_events(args: &[&str]) {
    let (base, out) = trace_seed(args);
    let events = json_lines(&out.stdout);
    let listens: Vec<&Value> = events.iter().filter(|e| e["syscall"] == "listen").collect();
    let want = seed_listeners();
    assert_eq!(
        listens.len(),
        want.len(),
        "expected {} listen events with {args:?}, got:\n{}",
        want.len(),
        out.stdout
    );
    let mut problems = Vec::new();
    for (e, w) in listens.iter().zip(&want) {
        let port = base + w.port_offset;
        let checks = [
            ("type", e["type"] == "event"),
            ("fd", e["fd"] == w.fd),
            ("ret", e["ret"] == 0),
            ("family", e["family"] == w.family),
            ("address", e["address"] == w.address),
            ("port", e["port"] == port),
            ("v6only", e["v6only"] == w.v6only),
            ("v6only_source", e["v6only_source"] == w.source),
            ("verdict.accepts", e["verdict"]["accepts"] == accepts(w)),
            ("kernel.port", e["kernel"]["port"] == port),
            ("socket.bound_port", e["socket"]["bound_port"] == port),
            (
                "strace",
                e["strace"]
                    .as_str()
                    .is_some_and(|s| s.starts_with(&format!("listen({}, {})", w.fd, w.backlog))),
            ),
        ];
        for (field, ok) in checks {
            if !ok {
                problems.push(format!(
                    "listen on fd {} (want {} [{}]:{port}, v6only {}): wrong {field} in {e}",
                    w.fd, w.family, w.address, w.v6only
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "with {args:?}:\n{}",
        problems.join("\n")
    );
}

/// The seed scenario exactly as asked: `--format json --syscall listen`.
#[test]
fn seed_listen_events_json_with_syscall_filter() {
    check_listen_events(&["--format", "json", "--syscall", "listen"]);
}

/// The same, without a syscall filter (the other calls are traced too).
#[test]
fn seed_listen_events_json_unfiltered() {
    check_listen_events(&["--format", "json"]);
}

#[test]
fn json_events_are_complete() {
    let (_, out) = trace_seed(&["--format", "json"]);
    let events = json_lines(&out.stdout);
    assert!(events.len() > 20, "too few events:\n{}", out.stdout);
    for e in &events {
        for key in [
            "type",
            "time",
            "pid",
            "tid",
            "comm",
            "syscall",
            "fd",
            "ret",
            "errno",
            "error",
            "family",
            "address",
            "port",
            "v6only",
            "v6only_source",
            "kernel_status",
            "kernel",
            "verdict",
            "holder",
            "socket",
            "strace",
        ] {
            assert!(e.get(key).is_some(), "event lacks {key:?}: {e}");
        }
    }
    let failed: Vec<&Value> = events
        .iter()
        .filter(|e| e["errno"] == "EADDRINUSE")
        .collect();
    assert_eq!(
        failed.len(),
        1,
        "expected one EADDRINUSE event:\n{}",
        out.stdout
    );
    assert_eq!(failed[0]["ret"], -1);
    assert_eq!(failed[0]["error"], "Address already in use");
    assert_eq!(failed[0]["syscall"], "bind");
}

#[test]
fn port_filter_keeps_only_that_port() {
    require_root();
    let base = next_base();
    let port = base + 2;
    let dir = TempDir::new("port");
    let mut cmd = dualstack(&["trace", "--port", &port.to_string(), "--"]);
    cmd.arg(python())
        .arg(program("seed.py"))
        .env("DUALSTACK_TEST_PORT", base.to_string())
        .current_dir(dir.path());
    let out = run(&mut cmd, TIMEOUT);
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().map(body).collect();
    // The v6-only listener on BASE+2 is fd 6: its bind, listen and close carry that port.
    let want_bind = format!(
        "bind(6, {{sa_family=AF_INET6, sin6_port=htons({port}), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, \"::\", &sin6_addr), sin6_scope_id=0}}, 28) = 0"
    );
    assert!(
        lines.contains(&want_bind.as_str()),
        "--port {port}: no {want_bind:?} in:\n{}",
        out.stdout
    );
    assert!(
        lines.contains(&"listen(6, 16)                           = 0"),
        "--port {port}: no listen(6, 16) in:\n{}",
        out.stdout
    );
    for line in &lines {
        let on_fd6 = ["bind(6, ", "listen(6, ", "close(6)", "setsockopt(6, "]
            .iter()
            .any(|p| line.starts_with(p));
        assert!(
            on_fd6,
            "--port {port} let through a call on another socket: {line:?}\n{}",
            out.stdout
        );
    }
    assert!(
        !out.stdout.contains(&format!("htons({})", base + 3)),
        "{}",
        out.stdout
    );
}

#[test]
fn family_filter_inet6() {
    let (base, out) = trace_seed(&["--family", "inet6", "--format", "json"]);
    let events = json_lines(&out.stdout);
    for e in &events {
        assert_eq!(e["family"], "AF_INET6", "--family inet6 let through {e}");
    }
    let listens: Vec<&Value> = events.iter().filter(|e| e["syscall"] == "listen").collect();
    let ports: Vec<i64> = listens
        .iter()
        .map(|e| e["port"].as_i64().unwrap_or(-1))
        .collect();
    let want: Vec<i64> = [0, 1, 2, 4, 5]
        .iter()
        .map(|o| i64::from(base) + o)
        .collect();
    assert_eq!(
        ports, want,
        "listen events with --family inet6:\n{}",
        out.stdout
    );
    let sockets = events.iter().filter(|e| e["syscall"] == "socket").count();
    assert_eq!(sockets, 5, "AF_INET6 socket() calls:\n{}", out.stdout);
}

#[test]
fn failed_filter_keeps_the_eaddrinuse_bind() {
    let (base, out) = trace_seed(&["--failed"]);
    let want = format!(
        "bind(9, {{sa_family=AF_INET, sin_port=htons({}), sin_addr=inet_addr(\"127.0.0.1\")}}, 16) = -1 EADDRINUSE (Address already in use)",
        base + 3
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines.contains(&want.as_str()),
        "--failed: no {want:?} in:\n{}",
        out.stdout
    );
    for line in &lines {
        assert!(
            line.contains(") = -1 ") || line.contains(") = ? ") || line.contains(" = -1 E"),
            "--failed let through a successful call: {line:?}"
        );
    }
}

#[test]
fn syscall_filter_bind_listen() {
    let (base, out) = trace_seed(&["--syscall", "bind,listen"]);
    for line in out.stdout.lines() {
        assert!(
            check_alignment(line).is_ok(),
            "{}",
            check_alignment(line).unwrap_err()
        );
    }
    let lines: Vec<&str> = out.stdout.lines().map(body).collect();
    for line in &lines {
        assert!(
            line.starts_with("bind(") || line.starts_with("listen("),
            "--syscall bind,listen let through {line:?}"
        );
    }
    let binds = lines.iter().filter(|l| l.starts_with("bind(")).count();
    let listens = lines.iter().filter(|l| l.starts_with("listen(")).count();
    assert_eq!(
        (binds, listens),
        (8, 7),
        "bind/listen counts:\n{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!("htons({})", base + 5)),
        "the child's bind is missing:\n{}",
        out.stdout
    );
}

#[test]
fn comm_filter_keeps_only_the_renamed_child() {
    let (base, out) = trace_seed(&["--comm", "dsseedchild", "--format", "json"]);
    let events = json_lines(&out.stdout);
    let calls: Vec<&str> = events
        .iter()
        .map(|e| e["syscall"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        calls,
        ["socket", "bind", "listen", "close"],
        "--comm dsseedchild:\n{}",
        out.stdout
    );
    let pid = &events[0]["pid"];
    for e in &events {
        assert_eq!(e["comm"], "dsseedchild", "{e}");
        assert_eq!(&e["pid"], pid, "{e}");
    }
    assert_eq!(events[1]["port"], base + 5);
    assert_eq!(events[1]["address"], "::1");
}

/// `-p PID` on a python that is already running, then binds and forks a child that binds.
#[test]
fn attach_to_running_process_and_its_new_child() {
    require_root();
    let base = next_base();
    let dir = TempDir::new("attach");
    let go = dir.join("go");
    let trace_file = dir.join("trace.txt");

    let mut target_cmd = Command::new(python());
    target_cmd
        .arg(program("pid_target.py"))
        .arg(&go)
        .env("DUALSTACK_TEST_PORT", base.to_string())
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    let mut target = Guard::spawn(&mut target_cmd);
    let mut ready = String::new();
    BufReader::new(target.child.stdout.take().expect("stdout"))
        .read_line(&mut ready)
        .expect("read the target's ready line");
    assert_eq!(ready.trim(), "ready", "pid_target.py did not start");
    let pid = target.id();

    // The heartbeat is the close of a descriptor that is no socket: --every-close shows it.
    let mut tracer_cmd = dualstack(&["trace", "--every-close", "-p", &pid.to_string(), "-o"]);
    tracer_cmd.arg(&trace_file).stdin(Stdio::null());
    let mut tracer = Guard::spawn(&mut tracer_cmd);

    // Wait until the tracer sees the heartbeat close(9999): then it is attached.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = fs::read_to_string(&trace_file).unwrap_or_default();
        if text.contains("close(9999)") {
            break;
        }
        if let Some(status) = tracer.child.try_wait().expect("try_wait") {
            panic!("dualstack trace -p {pid} exited early ({status}):\n{text}");
        }
        assert!(
            Instant::now() < deadline,
            "dualstack trace -p {pid} never showed the heartbeat:\n{text}"
        );
        thread::sleep(Duration::from_millis(50));
    }
    fs::write(&go, b"").expect("go file");
    let status = target.wait(Duration::from_secs(20), "pid_target.py");
    assert!(status.success(), "pid_target.py failed: {status}");
    // The tracer stops by itself once the traced process is gone.
    let status = tracer.wait(Duration::from_secs(10), "dualstack trace -p");
    assert_eq!(status.code(), Some(0), "dualstack trace -p exit status");

    let text = fs::read_to_string(&trace_file).expect("trace file");
    let mut parent_bind = false;
    let mut parent_listen = false;
    let mut child = None;
    for line in text.lines() {
        let (tid, rest) = line
            .split_once(' ')
            .expect("every -o line has a pid leader");
        let tid: u32 = tid.parse().expect("pid leader");
        let rest = rest.trim_start();
        if tid == pid {
            parent_bind |= rest.starts_with("bind(")
                && rest.contains(&format!(
                    "sin_port=htons({base}), sin_addr=inet_addr(\"127.0.0.1\")"
                ))
                && rest.ends_with("= 0");
            parent_listen |= rest.starts_with("listen(") && rest.ends_with("= 0");
        } else if rest.starts_with("bind(")
            && rest.contains(&format!("sin6_port=htons({})", base + 1))
        {
            assert!(rest.ends_with("= 0"), "{line}");
            child = Some(tid);
        }
    }
    assert!(
        parent_bind && parent_listen,
        "-p {pid}: the target's bind/listen are missing:\n{text}"
    );
    let child = child.unwrap_or_else(|| {
        panic!("-p {pid}: the child forked after attaching is not traced:\n{text}")
    });
    assert!(
        text.lines()
            .any(|l| l.starts_with(&format!("{child} ")) && l.contains("listen(")),
        "-p {pid}: the child's listen is missing:\n{text}"
    );
}

#[test]
fn exit_status_is_the_commands() {
    require_root();
    let out = run(
        &mut dualstack(&["trace", "--", "sh", "-c", "exit 7"]),
        TIMEOUT,
    );
    assert_eq!(
        out.code(),
        Some(7),
        "dualstack trace -- sh -c 'exit 7': {out:?}"
    );
    let out = run(
        &mut dualstack(&["trace", "--", "sh", "-c", "exit 0"]),
        TIMEOUT,
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    // A signal death is reported as a shell would: 128 + signal.
    let out = run(
        &mut dualstack(&["trace", "--", "sh", "-c", "kill -9 $$"]),
        TIMEOUT,
    );
    assert_eq!(
        out.code(),
        Some(137),
        "dualstack trace -- sh -c 'kill -9 $$': {out:?}"
    );
}

/// `-t`: strace -tt stamps `HH:MM:SS.uuuuuu ` (local time) before each call; they count
/// toward the column-40 alignment.
#[test]
fn timestamps_like_strace_tt() {
    let now = || {
        let out = Command::new("date")
            .arg("+%H:%M:%S")
            .output()
            .expect("date");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let before = now();
    let (_, out) = trace_seed(&["-t", "--syscall", "bind,listen"]);
    let after = now();
    let re = regex::Regex::new(r"^(\d\d:\d\d:\d\d)\.\d{6} (bind|listen)\(").expect("regex");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 15, "{}", out.stdout);
    let mut last = String::new();
    for full in &lines {
        assert!(
            check_alignment(full).is_ok(),
            "{}",
            check_alignment(full).unwrap_err()
        );
        let line = body(full);
        let c = re
            .captures(line)
            .unwrap_or_else(|| panic!("-t line does not start with `HH:MM:SS.uuuuuu `: {line:?}"));
        let hms = &c[1];
        if before <= after {
            // (not across midnight)
            assert!(
                before.as_str() <= hms && hms <= after.as_str(),
                "stamp {hms} outside {before}..{after}: {line}"
            );
        }
        let stamp = &line[..15];
        assert!(
            stamp >= last.as_str(),
            "stamps go backwards: {last} then {stamp}"
        );
        last = stamp.to_owned();
    }
    assert!(
        lines
            .iter()
            .any(|l| l.len() > 16 && &l[15..] == " listen(3, 16)           = 0"),
        "no `HH:MM:SS.uuuuuu listen(3, 16)           = 0` line:\n{}",
        out.stdout
    );
}
