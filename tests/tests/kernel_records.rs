//! What the kernel side records of calls it cannot see whole, checked on real programs: a call
//! on a descriptor that is not a socket, a bad user pointer, an accept already blocked when
//! tracing began on a listener opened before it. Each must show as strace would, keep no
//! false state, and be counted under its own reason in the `lost` records.

use std::{
    io::{BufRead as _, BufReader, Write as _},
    net::TcpStream,
    process::{Command, Stdio},
    time::Duration,
};

use serde_json::Value;
use tests::{dualstack, json_lines, python, require_root, run, Guard, TempDir};

const TIMEOUT: Duration = Duration::from_secs(40);

fn lost(events: &[Value], reason: &str) -> u64 {
    events
        .iter()
        .filter(|e| e["type"] == "lost" && e["reason"] == reason)
        .map(|e| e["count"].as_u64().expect("count"))
        .sum()
}

fn calls<'a>(events: &'a [Value], syscall: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["syscall"] == syscall).collect()
}

/// A setsockopt on a pipe fails with ENOTSOCK and gives the pipe no socket state; a bind whose
/// address pointer is bad fails with EFAULT, shows its address as strace does (the pointer),
/// and is counted as user memory the kernel could not read.
#[test]
fn a_call_on_a_pipe_keeps_no_state_and_a_bad_pointer_is_counted() {
    require_root();
    let script = "import ctypes, os, socket\n\
        libc = ctypes.CDLL(None, use_errno=True)\n\
        r, w = os.pipe()\n\
        one = ctypes.c_int(1)\n\
        libc.setsockopt(r, socket.SOL_SOCKET, socket.SO_REUSEADDR, ctypes.byref(one), 4)\n\
        libc.setsockopt(r, socket.SOL_SOCKET, socket.SO_REUSEADDR, ctypes.byref(one), 4)\n\
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n\
        libc.bind(s.fileno(), ctypes.c_void_p(16), 16)\n\
        s.close()\n";
    let out = run(
        dualstack(&["trace", "-f", "json", "--"])
            .arg(python())
            .args(["-c", script]),
        TIMEOUT,
    );
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    let events = json_lines(&out.stdout);

    let setsockopts = calls(&events, "setsockopt");
    assert_eq!(setsockopts.len(), 2, "{}", out.stdout);
    for call in &setsockopts {
        assert_eq!(call["errno"], "ENOTSOCK", "{call}");
        // The first failed call must not have given the pipe a socket state for the second.
        assert_eq!(call["socket"], Value::Null, "{call}");
    }

    let bind = calls(&events, "bind");
    assert_eq!(bind.len(), 1, "{}", out.stdout);
    assert_eq!(bind[0]["errno"], "EFAULT", "{}", bind[0]);
    assert_eq!(
        bind[0]["strace"]
            .as_str()
            .unwrap()
            .split(" = ")
            .next()
            .unwrap()
            .trim_end(),
        "bind(3, 0x10, 16)".replace('3', &bind[0]["fd"].to_string()),
        "{}",
        bind[0]
    );
    assert_eq!(lost(&events, "user memory unreadable"), 1, "{}", out.stdout);
    assert!(
        out.stderr.contains("1 user buffers could not be read"),
        "{}",
        out.stderr
    );
    assert_eq!(lost(&events, "kernel ring buffer full"), 0);
}

/// A server opened its listener and blocked in accept before tracing began. The accept is
/// still shown when a client comes (its entry time is its exit time, counted as an entry not
/// seen), and the accepted socket is not taken for one of family 0: the listener's family was
/// never seen, so only the kernel's is known.
#[test]
fn an_accept_under_way_when_tracing_begins_is_shown_and_counted() {
    require_root();
    let script = "import socket, sys\n\
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n\
        s.bind(('127.0.0.1', 0))\n\
        s.listen(4)\n\
        print(s.getsockname()[1], flush=True)\n\
        c, _ = s.accept()\n\
        c.recv(16)\n\
        c.close()\n\
        s.close()\n";
    let mut server = Command::new(python());
    server
        .args(["-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    let mut server = Guard::spawn(&mut server);
    let mut lines = BufReader::new(server.child.stdout.take().unwrap()).lines();
    let port: u16 = lines.next().unwrap().unwrap().parse().unwrap();

    let dir = TempDir::new("accept-under-way");
    let out = dir.join("trace.jsonl");
    let mut trace = dualstack(&["trace", "-f", "json", "-o"]);
    trace
        .arg(&out)
        .args(["-p", &server.id().to_string()])
        .stderr(Stdio::piped());
    let mut tracer = Guard::spawn(&mut trace);
    std::thread::sleep(Duration::from_secs(2)); // let the probes attach

    let mut client = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    client.write_all(b"hello").unwrap();
    drop(client);
    server.wait(TIMEOUT, "the server");
    let status = tracer.wait(TIMEOUT, "dualstack trace -p");
    assert!(status.success(), "dualstack trace -p failed: {status}");

    let events = json_lines(&std::fs::read_to_string(&out).unwrap());
    let accepts: Vec<_> = events
        .iter()
        .filter(|e| e["syscall"] == "accept4" || e["syscall"] == "accept")
        .collect();
    assert_eq!(accepts.len(), 1, "{events:?}");
    let accept = accepts[0];
    assert!(accept["ret"].as_i64().unwrap() >= 0, "{accept}");
    assert_eq!(accept["family"], "AF_INET", "{accept}");
    assert!(lost(&events, "call entry not seen") >= 1, "{events:?}");

    let accepted = accept["ret"].as_i64().unwrap();
    let close = events
        .iter()
        .find(|e| e["syscall"] == "close" && e["fd"].as_i64() == Some(accepted))
        .unwrap_or_else(|| panic!("no close of the accepted socket: {events:?}"));
    // The family comes from the kernel; what was never seen (the listener's creation: type and
    // protocol) is not claimed.
    assert_eq!(close["family"], "AF_INET", "{close}");
    assert_eq!(close["kernel"]["family"], "AF_INET", "{close}");
    assert_eq!(close["socket"]["protocol"], Value::Null, "{close}");
    assert_eq!(close["socket"]["type"], Value::Null, "{close}");
}
