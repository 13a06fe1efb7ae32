//! `dualstack listeners` end to end: real sockets of every shape, opened by
//! tests/programs/hold_listeners.py inside network namespaces made for each test, listed with
//! the right verdict, the kernel's V6ONLY bit as `ss -e` prints it, proved by --verify
//! connections, and owned by the python process. Ports: 39000-39999.

use std::{
    collections::HashSet,
    fs,
    io::{BufRead as _, BufReader},
    os::unix::fs::{MetadataExt as _, PermissionsExt as _},
    process::{ChildStdin, Command, Stdio},
    sync::mpsc,
    thread,
    time::Duration,
};

use dualstack::snapshot::{self, sockets_in_netns, Protocol};
use serde_json::Value;
use tests::{
    as_nobody, dualstack, dualstack_bin, json_lines, netns::TestNetns, program, python,
    require_root, run, Guard, Output, TempDir,
};

const TIMEOUT: Duration = Duration::from_mins(1);

/// One socket the helper opened, as it reported it.
#[derive(Debug)]
struct Held {
    spec: String,
    fd: i64,
    family: String,
    address: String,
    port: u16,
    v6only: Option<bool>,
}

/// A running hold_listeners.py; it exits when its stdin closes (or its guard kills it).
struct Holder {
    pid: u32,
    sockets: Vec<Held>,
    _stdin: Option<ChildStdin>,
    _guard: Option<Guard>,
}

impl Holder {
    /// Runs the helper inside `netns`.
    fn start(netns: &mut TestNetns, specs: &[&str]) -> Holder {
        let script = program("hold_listeners.py");
        let mut args = vec![script.to_str().expect("utf-8 path")];
        args.extend_from_slice(specs);
        let spawned = netns.spawn(python(), &args);
        let stdout = spawned.stdout.expect("piped stdout");
        Holder::ready(spawned.pid, spawned.stdin, stdout, None)
    }

    /// Runs the helper in a netns of its own without a name (`unshare -n`).
    fn start_unnamed(specs: &[&str]) -> Holder {
        let mut cmd = Command::new("unshare");
        cmd.args(["-n", "sh", "-c", "ip link set lo up && exec \"$0\" \"$@\""])
            .arg(python())
            .arg(program("hold_listeners.py"))
            .args(specs)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        let mut guard = Guard::spawn(&mut cmd);
        let stdin = guard.child.stdin.take();
        let stdout = guard.child.stdout.take().expect("piped stdout");
        Holder::ready(guard.id(), stdin, stdout, Some(guard))
    }

    /// Reads the helper's JSON lines up to "ready".
    fn ready(
        pid: u32,
        stdin: Option<ChildStdin>,
        stdout: std::process::ChildStdout,
        guard: Option<Guard>,
    ) -> Holder {
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut sockets = Vec::new();
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(20))
                .expect("hold_listeners.py did not say ready");
            if line == "ready" {
                break;
            }
            let v: Value = serde_json::from_str(&line).expect("helper JSON");
            sockets.push(Held {
                spec: v["spec"].as_str().expect("spec").to_owned(),
                fd: v["fd"].as_i64().expect("fd"),
                family: v["family"].as_str().expect("family").to_owned(),
                address: v["address"].as_str().expect("address").to_owned(),
                port: v["port"].as_u64().expect("port") as u16,
                v6only: v["v6only"].as_i64().map(|b| b != 0),
            });
        }
        Holder {
            pid,
            sockets,
            _stdin: stdin,
            _guard: guard,
        }
    }

    fn held(&self, spec: &str) -> &Held {
        self.sockets
            .iter()
            .find(|h| h.spec == spec)
            .unwrap_or_else(|| panic!("the helper did not open {spec}: {:?}", self.sockets))
    }
}

/// `dualstack listeners ARGS --format json`, which must exit 0.
fn listeners(args: &[&str]) -> (Vec<Value>, Output) {
    require_root();
    let mut cmd = dualstack(&["listeners", "--format", "json"]);
    cmd.args(args);
    let out = run(&mut cmd, TIMEOUT);
    assert_eq!(
        out.code(),
        Some(0),
        "dualstack listeners {args:?} failed: {out:?}"
    );
    (json_lines(&out.stdout), out)
}

/// The record of a held socket in the netns with inode `netns`.
fn record<'a>(records: &'a [Value], netns: u64, protocol: &str, held: &Held) -> &'a Value {
    records
        .iter()
        .find(|r| {
            r["netns"] == netns
                && r["protocol"] == protocol
                && r["family"] == held.family.as_str()
                && r["address"] == held.address.as_str()
                && r["port"] == held.port
        })
        .unwrap_or_else(|| {
            panic!(
                "no {protocol} record for {held:?} in:\n{}",
                records
                    .iter()
                    .map(Value::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })
}

/// IPV6_V6ONLY of the socket with this inode as `ss -ltne` / `-lune` prints it: the
/// `v6only:1` / `v6only:0` token of AF_INET6 sockets (none for AF_INET: None).
fn ss_v6only(netns: &TestNetns, protocol: &str, inode: u64) -> Option<bool> {
    let flags = if protocol == "tcp" { "-ltne" } else { "-lune" };
    let out = netns.exec(&["ss", flags]);
    let ino = format!("ino:{inode}");
    let line = out
        .stdout
        .lines()
        .find(|l| l.split_whitespace().any(|t| t == ino))
        .unwrap_or_else(|| panic!("no socket {ino} in `ss {flags}`:\n{}", out.stdout));
    line.split_whitespace()
        .find_map(|t| t.strip_prefix("v6only:"))
        .map(|bit| match bit {
            "1" => true,
            "0" => false,
            other => panic!("ss printed v6only:{other}: {line}"),
        })
}

/// What one socket must be reported as.
struct Expect {
    spec: &'static str,
    ipv4: bool,
    ipv6: bool,
    /// The --verify connection results: ipv4, ipv6.
    probes: (&'static str, &'static str),
}

fn expect(
    spec: &'static str,
    ipv4: bool,
    ipv6: bool,
    probes: (&'static str, &'static str),
) -> Expect {
    Expect {
        spec,
        ipv4,
        ipv6,
        probes,
    }
}

/// Opens `shapes` in a fresh netns, lists it with --verify and checks every socket.
fn check_shapes(bindv6only: bool, shapes: &[Expect]) {
    require_root();
    let mut netns = TestNetns::new(bindv6only);
    let specs: Vec<&str> = shapes.iter().map(|e| e.spec).collect();
    let holder = Holder::start(&mut netns, &specs);
    let (records, _) = listeners(&["--netns", netns.name(), "--verify"]);
    let mut problems = Vec::new();
    for want in shapes {
        let held = holder.held(want.spec);
        let protocol = &want.spec[..3];
        let r = record(&records, netns.inode(), protocol, held);
        let inode = r["inode"].as_u64().expect("inode");
        let ss = ss_v6only(&netns, protocol, inode);
        let owner = &r["owners"][0];
        let checks = [
            ("netns", r["netns"] == netns.inode()),
            ("netns_name", r["netns_name"] == netns.name()),
            (
                "state",
                r["state"]
                    == if protocol == "tcp" {
                        "LISTEN"
                    } else {
                        "UNCONN"
                    },
            ),
            ("accepts.ipv4", r["accepts"]["ipv4"] == want.ipv4),
            ("accepts.ipv6", r["accepts"]["ipv6"] == want.ipv6),
            ("v6only = getsockopt", r["v6only"].as_bool() == held.v6only),
            ("v6only = ss -e", r["v6only"].as_bool() == ss),
            ("verify.result", r["verify"]["result"] == "ok"),
            ("verify.ipv4", r["verify"]["ipv4"] == want.probes.0),
            ("verify.ipv6", r["verify"]["ipv6"] == want.probes.1),
            ("owner pid", owner["pid"] == holder.pid),
            ("owner fd", owner["fd"] == held.fd),
            (
                "owner comm",
                owner["comm"]
                    .as_str()
                    .is_some_and(|c| c.starts_with("python")),
            ),
            ("one owner", r["owners"].as_array().map(Vec::len) == Some(1)),
        ];
        for (what, ok) in checks {
            if !ok {
                problems.push(format!(
                    "{}: wrong {what} (ss v6only {ss:?}) in {r}",
                    want.spec
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// bindv6only=0 (the Linux default): a plain [::] socket is dual stack.
#[test]
fn shapes_in_a_netns_with_bindv6only_0() {
    let both = ("accepted", "accepted");
    check_shapes(
        false,
        &[
            expect("tcp6:[::]:39001", true, true, both),
            // The sshd pair: each family's connection is taken by one of the two.
            expect("tcp4:0.0.0.0:39002", true, false, both),
            expect("tcp6:[::]:39002:v6only=1", false, true, both),
            expect(
                "tcp6:[::]:39003:v6only=1",
                false,
                true,
                ("refused", "accepted"),
            ),
            expect("tcp6:[::]:39004:v6only=0", true, true, both),
            expect("tcp6:[::1]:39005", false, true, ("not-tried", "accepted")),
            expect(
                "tcp6:[::ffff:127.0.0.1]:39006",
                true,
                false,
                ("accepted", "not-tried"),
            ),
            expect(
                "tcp4:127.0.0.1:39007",
                true,
                false,
                ("accepted", "not-tried"),
            ),
            expect("tcp6:[::]:0", true, true, both),
            expect("udp6:[::]:39008", true, true, both),
            expect(
                "udp6:[::]:39009:v6only=1",
                false,
                true,
                ("refused", "accepted"),
            ),
            expect("udp4:0.0.0.0:39010", true, false, ("accepted", "refused")),
            expect(
                "udp4:127.0.0.1:39011",
                true,
                false,
                ("accepted", "not-tried"),
            ),
        ],
    );
}

/// bindv6only=1: a plain [::] socket is IPv6 only, and an explicit V6ONLY=0 overrides it.
#[test]
fn shapes_in_a_netns_with_bindv6only_1() {
    let both = ("accepted", "accepted");
    check_shapes(
        true,
        &[
            expect("tcp6:[::]:39101", false, true, ("refused", "accepted")),
            expect("tcp6:[::]:39102:v6only=0", true, true, both),
            expect("tcp4:0.0.0.0:39103", true, false, both),
            expect("tcp6:[::]:39103:v6only=1", false, true, both),
            expect("tcp6:[::1]:39104", false, true, ("not-tried", "accepted")),
            expect(
                "tcp6:[::ffff:127.0.0.1]:39105:v6only=0",
                true,
                false,
                ("accepted", "not-tried"),
            ),
            expect("tcp6:[::]:0", false, true, ("refused", "accepted")),
            expect("udp6:[::]:39106", false, true, ("refused", "accepted")),
            expect("udp6:[::]:39107:v6only=0", true, true, both),
        ],
    );
}

/// Without --netns every namespace is read: a named one and one only a process holds.
#[test]
fn listeners_of_every_netns_are_found_without_netns() {
    require_root();
    let mut named = TestNetns::new(false);
    let in_named = Holder::start(&mut named, &["tcp6:[::]:39201"]);
    let unnamed = Holder::start_unnamed(&["tcp6:[::]:39202:v6only=1"]);
    let (records, _) = listeners(&[]);

    let r = record(
        &records,
        named.inode(),
        "tcp",
        in_named.held("tcp6:[::]:39201"),
    );
    assert_eq!(r["netns_name"], named.name(), "{r}");
    assert_eq!(r["owners"][0]["pid"], in_named.pid, "{r}");
    assert!(
        r.get("verify").is_none(),
        "no --verify, no verify field: {r}"
    );

    let netns_of_holder = fs::metadata(format!("/proc/{}/ns/net", unnamed.pid))
        .map(|m| m.ino())
        .expect("holder's netns");
    let r = record(
        &records,
        netns_of_holder,
        "tcp",
        unnamed.held("tcp6:[::]:39202:v6only=1"),
    );
    assert_eq!(r["netns_name"], Value::Null, "{r}");
    assert_eq!(r["netns_pid"], unnamed.pid, "the only process in it: {r}");
    assert_eq!(r["owners"][0]["pid"], unnamed.pid, "{r}");
    assert_eq!(
        (&r["accepts"]["ipv4"], &r["accepts"]["ipv6"]),
        (&Value::Bool(false), &Value::Bool(true))
    );

    // Inode numbers name a netns too.
    let inode = named.inode().to_string();
    let (records, _) = listeners(&["--netns", &inode]);
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["port"], 39201);
}

/// --port keeps one port, in every namespace.
#[test]
fn port_filter_keeps_only_that_port() {
    require_root();
    let mut netns = TestNetns::new(false);
    let _holder = Holder::start(
        &mut netns,
        &[
            "tcp4:0.0.0.0:39301",
            "tcp6:[::]:39301:v6only=1",
            "tcp6:[::]:39302",
            "udp6:[::]:39301",
        ],
    );
    let (records, _) = listeners(&["--port", "39301"]);
    let ours: Vec<&Value> = records
        .iter()
        .filter(|r| r["netns_name"] == netns.name())
        .collect();
    assert_eq!(ours.len(), 3, "{ours:?}");
    assert!(records.iter().all(|r| r["port"] == 39301), "{records:?}");
    let protocols: HashSet<&str> = ours.iter().filter_map(|r| r["protocol"].as_str()).collect();
    assert_eq!(protocols, HashSet::from(["tcp", "udp"]));
}

/// --pid keeps the sockets one process holds; --verify still judges them against the other
/// sockets of their port.
#[test]
fn pid_filter_keeps_only_that_process() {
    require_root();
    let mut netns = TestNetns::new(false);
    let first = Holder::start(&mut netns, &["tcp4:0.0.0.0:39401", "udp4:127.0.0.1:39402"]);
    let second = Holder::start(&mut netns, &["tcp6:[::]:39401:v6only=1"]);
    let pid = second.pid.to_string();
    let (records, _) = listeners(&["--pid", &pid, "--netns", netns.name(), "--verify"]);
    assert_eq!(records.len(), 1, "{records:?}");
    let r = &records[0];
    assert_eq!(r["port"], 39401);
    assert_eq!(r["owners"][0]["pid"], second.pid);
    // The IPv4 connection went to the first process's 0.0.0.0 socket: not a mismatch.
    assert_eq!(r["verify"]["ipv4"], "accepted", "{r}");
    assert_eq!(r["verify"]["result"], "ok", "{r}");
    let (records, _) = listeners(&["--pid", &first.pid.to_string()]);
    let ports: HashSet<u64> = records.iter().filter_map(|r| r["port"].as_u64()).collect();
    assert_eq!(ports, HashSet::from([39401, 39402]));
}

/// The table: a header, columns starting where their titles do, the reason last.
#[test]
fn table_has_a_header_and_aligned_columns() {
    require_root();
    let mut netns = TestNetns::new(false);
    let holder = Holder::start(
        &mut netns,
        &[
            "tcp6:[::]:39501",
            "tcp6:[::ffff:127.0.0.1]:39502",
            "udp4:127.0.0.1:39503",
        ],
    );
    let out = run(
        &mut dualstack(&["listeners", "--netns", netns.name(), "--verify"]),
        TIMEOUT,
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", out.stdout);
    let titles = [
        "NETNS", "PROTO", "LOCAL", "V6ONLY", "ACCEPTS", "PID/COMM", "VERIFY", "REASON",
    ];
    let starts: Vec<usize> = titles
        .iter()
        .map(|t| {
            lines[0]
                .find(t)
                .unwrap_or_else(|| panic!("no {t} in {:?}", lines[0]))
        })
        .collect();
    assert!(starts.windows(2).all(|w| w[0] < w[1]), "{:?}", lines[0]);
    assert_eq!(starts[0], 0);
    let mut rows = Vec::new();
    for line in &lines[1..] {
        let mut cells = Vec::new();
        for (c, &start) in starts.iter().enumerate() {
            assert!(
                start == 0 || line.as_bytes()[start - 1] == b' ',
                "column {} does not start at {start}:\n{}\n{line}",
                titles[c],
                lines[0]
            );
            assert_ne!(line.as_bytes()[start], b' ', "{line}");
            let end = starts.get(c + 1).map_or(line.len(), |&e| e);
            cells.push(line[start..end].trim_end().to_owned());
        }
        rows.push(cells);
    }
    let owner = format!("{}/python3", holder.pid);
    let want = [
        ["tcp", "[::]:39501", "0", "IPv4+IPv6"],
        ["tcp", "[::ffff:127.0.0.1]:39502", "0", "IPv4"],
        ["udp", "127.0.0.1:39503", "-", "IPv4"],
    ];
    for (row, want) in rows.iter().zip(want) {
        assert_eq!(row[0], netns.name());
        assert_eq!(&row[1..5], &want, "{row:?}");
        assert_eq!(row[5], owner);
        assert_eq!(row[6], "ok");
        assert!(row[7].contains("-> accepts"), "{row:?}");
    }
}

/// A netns that does not exist is an error that says how to name one.
#[test]
fn unknown_netns_is_an_error() {
    require_root();
    let out = run(
        &mut dualstack(&["listeners", "--netns", "ds-no-such-netns"]),
        TIMEOUT,
    );
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(out.stderr.contains("ip netns list"), "{}", out.stderr);
}

/// As nobody: other namespaces cannot be entered. The user is told root is needed, an explicit
/// --netns fails, and the own netns is still listed.
#[test]
fn unprivileged_user_is_told_root_is_needed() {
    require_root();
    let netns = TestNetns::new(false);
    let dir = TempDir::new("listeners-unpriv");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod dir");
    let bin = dir.join("dualstack");
    fs::copy(dualstack_bin(), &bin).expect("copy the binary");
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).expect("chmod binary");
    let nobody = |args: &[&str]| {
        let mut cmd = as_nobody(None, &bin);
        cmd.arg("listeners").args(args).current_dir(dir.path());
        run(&mut cmd, TIMEOUT)
    };
    let out = nobody(&["--netns", netns.name()]);
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(
        out.stderr.contains("permission denied") && out.stderr.contains("root"),
        "{}",
        out.stderr
    );
    let out = nobody(&["--format", "json"]);
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(
        out.stderr.contains("permission denied") && out.stderr.contains("sudo"),
        "{}",
        out.stderr
    );
    assert!(
        json_lines(&out.stdout)
            .iter()
            .all(|r| r["netns_name"] != netns.name()),
        "{}",
        out.stdout
    );
}

/// The library calls: `sockets_in_netns` (used to name what holds a port after EADDRINUSE)
/// finds listeners and sockets only bound, of one netns and port; `snapshot` finds them all.
#[test]
fn sockets_in_netns_names_what_holds_a_port() {
    require_root();
    let mut netns = TestNetns::new(false);
    let holder = Holder::start(
        &mut netns,
        &[
            "tcp6:[::]:39601",
            "tcp4:127.0.0.1:39602:listen=0",
            "udp4:0.0.0.0:39601",
            "tcp4:127.0.0.1:39603",
        ],
    );
    let inode = netns.inode();
    let one = |protocol, port| {
        let found = sockets_in_netns(inode, protocol, port).expect("sockets_in_netns");
        assert_eq!(found.len(), 1, "{protocol:?} port {port}: {found:#?}");
        found.into_iter().next().expect("one")
    };
    let listener = one(Protocol::Tcp, 39601);
    assert_eq!(listener.state_name(), "LISTEN");
    assert_eq!(listener.local, "[::]:39601".parse().unwrap());
    assert_eq!(listener.netns, inode);
    assert_eq!(listener.netns_name.as_deref(), Some(netns.name()));
    assert_eq!((listener.verdict.ipv4, listener.verdict.ipv6), (true, true));
    let bound = one(Protocol::Tcp, 39602);
    assert_eq!(bound.state_name(), "BOUND");
    assert_eq!(bound.local, "127.0.0.1:39602".parse().unwrap());
    let held = holder.held("tcp4:127.0.0.1:39602:listen=0");
    assert_eq!(bound.owners.len(), 1, "{bound:?}");
    assert_eq!(bound.owners[0].pid, holder.pid);
    assert_eq!(i64::from(bound.owners[0].fd), held.fd);
    assert_eq!(one(Protocol::Udp, 39601).state_name(), "UNCONN");
    let none = sockets_in_netns(inode, Protocol::Tcp, 39604).expect("sockets_in_netns");
    assert!(none.is_empty(), "{none:#?}");

    let all = snapshot::snapshot().expect("snapshot");
    let ours: Vec<u16> = all
        .iter()
        .filter(|l| l.netns == inode)
        .map(|l| l.local.port())
        .collect();
    // Listeners and bound UDP sockets; the socket that only is bound is not a listener.
    assert_eq!(ours, [39601, 39603, 39601], "{all:#?}");
}

/// A server with no error handling on its accepted connections, as many runtimes have: it
/// greets each client with a banner (as sshd does), reads until the client closes, and ends the
/// whole process on any socket error (ECONNRESET, EPIPE...) or exception.
const FRAGILE_SERVER: &str = r#"
import os, socket, sys
port = int(sys.argv[1])
def die(what, e):
    print(f"fragile server died in {what}: {e!r}", file=sys.stderr, flush=True)
    os._exit(3)
try:
    srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    srv.bind(("::", port))
    srv.listen(16)
    print("ready", flush=True)
    while True:
        conn, peer = srv.accept()
        try:
            conn.sendall(b"SSH-2.0-fragile\r\n")
            while conn.recv(4096):
                pass
            conn.close()
        except BaseException as e:
            die(f"a connection from {peer[0]}", e)
        print("served", peer[0], flush=True)
except BaseException as e:
    die("the server", e)
"#;

/// The state letter of a process in /proc/PID/stat (`Z` once it has died unreaped), or None
/// when it is gone.
fn process_state(pid: u32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.chars().next()
}

/// --verify closes its test connections gracefully: a server that dies on any error of an
/// accepted socket survives many runs, and serves every test connection to its end.
#[test]
fn verify_does_not_kill_a_server_that_dies_on_connection_errors() {
    const RUNS: usize = 5;
    require_root();
    let mut netns = TestNetns::new(false);
    let server = netns.spawn(python(), &["-c", FRAGILE_SERVER, "39701"]);
    let (tx, rx) = mpsc::channel();
    let stdout = server.stdout.expect("piped stdout");
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the fragile server did not start");
    assert_eq!(first, "ready");
    for run_no in 0..RUNS {
        let (records, out) = listeners(&["--netns", netns.name(), "--port", "39701", "--verify"]);
        assert_eq!(records.len(), 1, "run {run_no}: {records:?} {out:?}");
        let r = &records[0];
        assert_eq!(r["owners"][0]["pid"], server.pid, "{r}");
        assert_eq!(r["verify"]["ipv4"], "accepted", "run {run_no}: {r}");
        assert_eq!(r["verify"]["ipv6"], "accepted", "run {run_no}: {r}");
        assert_eq!(r["verify"]["result"], "ok", "run {run_no}: {r}");
        assert_eq!(r["verify"]["note"], Value::Null, "run {run_no}: {r}");
        let state = process_state(server.pid);
        assert!(
            state.is_some_and(|s| s != 'Z'),
            "run {run_no}: the server died (state {state:?}; its message is above)"
        );
    }
    // Every test connection reached the server and ended without an error: two per run.
    let mut lines = Vec::new();
    while lines.len() < 2 * RUNS {
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(line) => lines.push(line),
            Err(_) => break,
        }
    }
    let state = process_state(server.pid);
    assert!(
        state.is_some_and(|s| s != 'Z'),
        "the server died (state {state:?}); it said {lines:?}"
    );
    let from = |peer: &str| {
        lines
            .iter()
            .filter(|l| **l == format!("served {peer}"))
            .count()
    };
    assert_eq!(
        (from("::ffff:127.0.0.1"), from("::1")),
        (RUNS, RUNS),
        "{lines:?}"
    );
}

/// A netns with IPv6 disabled: a dual-stack [::] socket takes the IPv4 connection, the IPv6
/// one to ::1 cannot even be made. That is half a proof: `partial`, with a note naming the
/// family and the errno, and exit status 0.
#[test]
fn verify_with_one_family_unreachable_is_partial() {
    require_root();
    let mut netns = TestNetns::new(false);
    for key in ["all", "default", "lo"] {
        netns.exec(&[
            "sysctl",
            "-w",
            &format!("net.ipv6.conf.{key}.disable_ipv6=1"),
        ]);
    }
    let holder = Holder::start(&mut netns, &["tcp6:[::]:39702", "udp6:[::]:39703"]);
    let (records, _) = listeners(&["--netns", netns.name(), "--verify"]);
    let errno = regex::Regex::new(
        r"^IPv6 could not be tried: the connection to \[::1\]:3970[23] failed with E[A-Z]+ \(.+\)$",
    )
    .expect("regex");
    for (protocol, spec) in [("tcp", "tcp6:[::]:39702"), ("udp", "udp6:[::]:39703")] {
        let r = record(&records, netns.inode(), protocol, holder.held(spec));
        assert_eq!(
            (&r["accepts"]["ipv4"], &r["accepts"]["ipv6"]),
            (&Value::Bool(true), &Value::Bool(true)),
            "{r}"
        );
        let v = &r["verify"];
        assert_eq!(
            (&v["ipv4"], &v["ipv6"], &v["result"]),
            (
                &Value::from("accepted"),
                &Value::from("error"),
                &Value::from("partial")
            ),
            "{r}"
        );
        let note = v["note"].as_str().unwrap_or_default();
        assert!(errno.is_match(note), "{note:?}");
    }
    let out = run(
        &mut dualstack(&["listeners", "--netns", netns.name(), "--verify"]),
        TIMEOUT,
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(
        out.stdout
            .lines()
            .any(|l| l.contains("[::]:39702") && l.contains(" partial ")),
        "{}",
        out.stdout
    );
}
