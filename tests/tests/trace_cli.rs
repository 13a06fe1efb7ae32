//! How `dualstack trace` behaves around the traced command: its output stream, signals, entry
//! times, and which closes it shows.

use std::{
    process::Stdio,
    thread,
    time::{Duration, Instant},
};

use tests::{dualstack, json_lines, python, require_root, run, Guard, TempDir};

const TIMEOUT: Duration = Duration::from_secs(30);

/// The trace alone is on stdout: the command's own output goes to stderr, so `| jq` works.
#[test]
fn json_on_stdout_is_not_mixed_with_the_commands_output() {
    require_root();
    let out = run(
        &mut dualstack(&[
            "trace",
            "-f",
            "json",
            "--",
            "sh",
            "-c",
            "echo hello from the command; exec 3<>/dev/null",
        ]),
        TIMEOUT,
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    for line in out.stdout.lines() {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "a line on stdout is not JSON: {line:?}"
        );
    }
    assert!(out.stderr.contains("hello from the command"), "{out:?}");
}

/// By default only closes of sockets are shown; --every-close shows them all, as strace does.
#[test]
fn closes_of_files_are_shown_only_with_every_close() {
    require_root();
    let script = "import os, socket\n\
                  r, w = os.pipe(); os.close(r); os.close(w)\n\
                  f = os.open('/dev/null', os.O_RDONLY); os.close(f)\n\
                  s = socket.socket(); n = s.fileno(); s.close()\n\
                  print(n)\n";
    let quiet = run(
        dualstack(&["trace", "--syscall", "close", "--"]).args([
            python().to_str().expect("path"),
            "-c",
            script,
        ]),
        TIMEOUT,
    );
    assert_eq!(quiet.code(), Some(0), "{quiet:?}");
    let socket_fd = quiet.stderr.lines().last().expect("the socket's fd").trim();
    let lines: Vec<&str> = quiet.stdout.lines().collect();
    assert!(
        lines.len() == 1
            && lines[0].starts_with(&format!("close({socket_fd}) "))
            && lines[0].ends_with(" = 0"),
        "only the socket's close: {quiet:?}"
    );
    let all = run(
        dualstack(&["trace", "--every-close", "--syscall", "close", "--"]).args([
            python().to_str().expect("path"),
            "-c",
            script,
        ]),
        TIMEOUT,
    );
    assert!(
        all.stdout.lines().count() >= 4,
        "every close, the pipe's and the file's too: {all:?}"
    );
}

/// SIGINT to `trace -- CMD`: CMD gets it too (strace kills what it started), and dualstack
/// says so and ends.
#[test]
fn sigint_reaches_the_command_dualstack_started() {
    require_root();
    let dir = TempDir::new("sigint");
    let err = dir.join("stderr");
    let mut cmd = dualstack(&["trace", "--", "sleep", "30"]);
    cmd.stdout(Stdio::null())
        .stderr(std::fs::File::create(&err).expect("stderr"));
    let mut tracer = Guard::spawn(&mut cmd);
    // Wait until the command runs under the tracer.
    let start = Instant::now();
    let sleeper = loop {
        let children = std::fs::read_to_string(format!(
            "/proc/{pid}/task/{pid}/children",
            pid = tracer.id()
        ))
        .unwrap_or_default();
        if let Some(pid) = children.split_whitespace().next() {
            let pid: u32 = pid.parse().expect("pid");
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if comm.trim() == "sleep" {
                break pid;
            }
        }
        assert!(start.elapsed() < TIMEOUT, "sleep never started");
        thread::sleep(Duration::from_millis(50));
    };
    // SAFETY: signalling the tracer this test started.
    unsafe { libc::kill(tracer.id() as libc::pid_t, libc::SIGINT) };
    let status = tracer.wait(Duration::from_secs(5), "dualstack after SIGINT");
    let stderr = std::fs::read_to_string(&err).expect("stderr");
    assert!(
        stderr.contains(&format!("sent SIGINT to sleep (pid {sleeper})")),
        "{stderr:?}"
    );
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        !std::path::Path::new(&format!("/proc/{sleeper}")).exists(),
        "the command outlived dualstack"
    );
}

/// -t stamps a call at its entry, as strace -tt: an accept that waits shows when it began.
#[test]
fn timestamps_are_taken_at_the_calls_entry() {
    require_root();
    let script = "import socket, os, time\n\
                  s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1)\n\
                  port = s.getsockname()[1]\n\
                  if os.fork() == 0:\n    \
                      time.sleep(1.5)\n    \
                      c = socket.socket(); c.connect(('127.0.0.1', port)); c.close(); os._exit(0)\n\
                  a, _ = s.accept(); a.close(); os.wait()\n";
    let out = run(
        dualstack(&["trace", "-t", "--syscall", "accept4,accept,connect", "--"]).args([
            python().to_str().expect("path"),
            "-c",
            script,
        ]),
        TIMEOUT,
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    let stamp = |call: &str| -> f64 {
        let line = out
            .stdout
            .lines()
            .find(|l| l.contains(call))
            .unwrap_or_else(|| panic!("no {call} line: {}", out.stdout));
        let body = line.split_once("] ").map_or(line, |(_, b)| b);
        let time = body.split_whitespace().next().expect("a stamp");
        let parts: Vec<f64> = time
            .split(':')
            .map(|p| p.parse().expect("hh:mm:ss.us"))
            .collect();
        parts[0] * 3600.0 + parts[1] * 60.0 + parts[2]
    };
    let (accept, connect) = (stamp("accept"), stamp("connect("));
    assert!(
        connect - accept > 1.0,
        "accept stamped at {accept}, the connect it waited for at {connect}: {}",
        out.stdout
    );
}

/// The JSON of a run has only the events asked for, and the run ends with the command.
#[test]
fn a_short_command_ends_the_trace_with_its_status() {
    require_root();
    let out = run(
        &mut dualstack(&["trace", "-f", "json", "--", "sh", "-c", "exit 3"]),
        TIMEOUT,
    );
    assert_eq!(out.code(), Some(3), "{out:?}");
    assert!(json_lines(&out.stdout).iter().all(|e| e["type"] == "event"));
}

/// Without BTF the netns default a socket took is read from its process's netns, not the
/// tracer's: a `[::]` listener in a netns with bindv6only=1 accepts IPv6 only (uncertain).
/// The process must still be there when its event is read: it stays a moment.
#[test]
fn without_btf_the_default_is_the_sockets_netns() {
    require_root();
    let ns = tests::netns::TestNetns::new(true);
    let script = "import socket\n\
                  s = socket.socket(socket.AF_INET6); s.bind(('::', 7300)); s.listen(1)\n\
                  import time; time.sleep(2)\n";
    let out = run(
        dualstack(&[
            "trace",
            "--btf",
            "none",
            "-f",
            "json",
            "--verdicts",
            "--syscall",
            "listen",
            "--",
        ])
        .args(["ip", "netns", "exec", ns.name()])
        .args([python().to_str().expect("path"), "-c", script]),
        TIMEOUT,
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    let events = json_lines(&out.stdout);
    assert_eq!(events.len(), 1, "{}", out.stdout);
    let verdict = &events[0]["verdict"];
    assert_eq!(verdict["accepts"], "IPv6", "{verdict}");
    assert_eq!(verdict["certain"], false, "{verdict}");
    assert_eq!(
        events[0]["tracking"], "descriptor",
        "state kept per descriptor, and said so"
    );
}

/// strace's `[pid N]` rule is about the tasks alive when a call is made: a parent's calls
/// get the leader while a child lives that has made no traced call at all, and lose it once
/// the child is gone. Compared with strace -f on stderr, line for line. (strace learns of a
/// new child a moment after the fork: the parent waits that moment.)
#[test]
fn the_leader_follows_the_tasks_alive_at_each_call() {
    require_root();
    let script = "import os, socket, time\n\
                  s = socket.socket(); s.close()\n\
                  pid = os.fork()\n\
                  if pid == 0:\n    \
                      time.sleep(1); os._exit(0)\n\
                  time.sleep(0.3)\n\
                  s = socket.socket(); s.close()\n\
                  os.waitpid(pid, 0)\n\
                  s = socket.socket(); s.close()\n";
    let py = python();
    let strace = run(
        std::process::Command::new("strace")
            .args(["-f", "-qq", "-e", "trace=socket,close", "--"])
            .arg(py)
            .args(["-c", script]),
        TIMEOUT,
    );
    assert_eq!(strace.code(), Some(0), "{strace:?}");
    let ds = run(
        dualstack(&["trace", "--every-close", "--syscall", "socket,close", "--"]).args([
            py.to_str().expect("path"),
            "-c",
            script,
        ]),
        TIMEOUT,
    );
    assert_eq!(ds.code(), Some(0), "{ds:?}");
    let pid = regex::Regex::new(r"^\[pid +\d+\] ").expect("regex");
    let shape = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.contains("+++ ") && !l.contains("--- "))
            .map(|l| pid.replace(l, "[pid N] ").into_owned())
            .collect()
    };
    let (want, got) = (shape(&strace.stderr), shape(&ds.stdout));
    assert_eq!(
        got, want,
        "strace:\n{}\ndualstack:\n{}",
        strace.stderr, ds.stdout
    );
    let sockets: Vec<&String> = got.iter().filter(|l| l.contains("socket(")).collect();
    assert_eq!(sockets.len(), 3, "{got:?}");
    assert!(sockets[0].starts_with("socket("), "one task: no leader");
    assert!(
        sockets[1].starts_with("[pid N] socket("),
        "the parent's call while the child lives"
    );
    assert!(
        sockets[2].starts_with("socket("),
        "no leader once the child is gone"
    );
}
