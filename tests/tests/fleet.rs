//! The fleet over a real NATS JetStream. `dualstack audit`: three simulated hosts, each a
//! network namespace with its own daemon (`--netns`, `--host-id`) and its own listeners, with
//! `net.ipv6.bindv6only` 0 in two and 1 in one. Their snapshots reach the key-value bucket;
//! `audit` lists each listener under its own host with the right verdict, judges them by a
//! policy with a rule of each kind, and refuses bad input with exit status 2.
//! `dualstack stream --nats`: the hosts' events, filtered, each led by its host.

use std::{
    collections::BTreeSet,
    net::TcpStream,
    process::Command,
    time::{Duration, Instant},
};

use dualstack::schema::AuditLine;
use tests::{
    daemon::{free_port, Daemon},
    dualstack,
    netns::{Spawned, TestNetns},
    require_root, run, Guard, Output, TempDir,
};

const TIMEOUT: Duration = Duration::from_secs(30);

/// A `nats-server -js` on a free loopback port with a store of its own, killed on drop.
struct Nats {
    _guard: Guard,
    url: String,
    _store: TempDir,
}

impl Nats {
    fn start(extra: &[&str]) -> Nats {
        let store = TempDir::new("nats-store");
        let port = free_port();
        let mut cmd = Command::new("nats-server");
        cmd.args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(store.path())
            .args(extra)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let guard = Guard::spawn(&mut cmd);
        let deadline = Instant::now() + TIMEOUT;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Nats {
            _guard: guard,
            url: format!("nats://127.0.0.1:{port}"),
            _store: store,
        }
    }
}

/// Opens the sockets `script` describes inside `netns` and keeps them until dropped.
fn listen(netns: &mut TestNetns, script: &str) -> Spawned {
    let program =
        format!("import socket, sys\n{script}\nprint('ready', flush=True)\nsys.stdin.read()\n");
    let mut spawned = netns.spawn("python3", &["-c", &program]);
    let mut ready = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(spawned.stdout.as_mut().expect("stdout")),
        &mut ready,
    )
    .expect("the listener starts");
    assert_eq!(ready.trim(), "ready");
    spawned
}

fn audit(args: &[&str]) -> Output {
    run(&mut dualstack(&[&["audit"], args].concat()), TIMEOUT)
}

fn rows(out: &Output) -> Vec<AuditLine<'static>> {
    out.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// (host, port, family, accepts) of every row.
fn shape(rows: &[AuditLine<'_>]) -> BTreeSet<(String, u16, String, String)> {
    rows.iter()
        .map(|r| {
            let accepts = match (r.accepts.ipv4, r.accepts.ipv6) {
                (true, true) => "IPv4+IPv6",
                (true, false) => "IPv4",
                (false, true) => "IPv6",
                (false, false) => "none",
            };
            (
                r.host.to_string(),
                r.port,
                r.family.to_string(),
                accepts.to_owned(),
            )
        })
        .collect()
}

/// Polls `audit -f json` until its rows have `want`'s shape.
fn wait_for_rows(
    nats: &Nats,
    glob: &str,
    want: &BTreeSet<(String, u16, String, String)>,
) -> Vec<AuditLine<'static>> {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let out = audit(&["--nats", &nats.url, "--host", glob, "-f", "json"]);
        if out.code() == Some(0) {
            let got = rows(&out);
            if shape(&got) == *want {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "audit rows {:?}, want {want:?}",
                shape(&got)
            );
        } else {
            assert!(
                Instant::now() < deadline,
                "audit failed: {} {}",
                out.stdout,
                out.stderr
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
#[allow(clippy::too_many_lines)] // one story: hosts, a late listener, a policy
fn three_hosts_their_verdicts_and_a_policy_of_every_rule_kind() {
    require_root();
    let nats = Nats::start(&[]);
    let tag = format!("t{}", std::process::id());
    let host = |n: u32| format!("{tag}-h{n}");
    let mut h1 = TestNetns::new(false);
    let mut h2 = TestNetns::new(true);
    let mut h3 = TestNetns::new(false);
    let dirs = [
        TempDir::new("audit-h1"),
        TempDir::new("audit-h2"),
        TempDir::new("audit-h3"),
    ];
    let mut daemons = Vec::new();
    for (i, ns) in [&h1, &h2, &h3].iter().enumerate() {
        let id = host(i as u32 + 1);
        daemons.push(Daemon::start(
            &dirs[i],
            &[
                "--nats",
                &nats.url,
                "--host-id",
                &id,
                "--netns",
                ns.name(),
                "--snapshot-interval",
                "5m",
            ],
        ));
    }

    // h1: one dual-stack socket; h2 (bindv6only=1): an sshd-style pair; h3: IPv4 only.
    let _l1 = listen(
        &mut h1,
        "s = socket.socket(socket.AF_INET6); s.bind(('::', 7001)); s.listen()",
    );
    let _l2 = listen(
        &mut h2,
        "a = socket.socket(socket.AF_INET); a.bind(('0.0.0.0', 22)); a.listen()\n\
         b = socket.socket(socket.AF_INET6); b.bind(('::', 22)); b.listen()",
    );
    let mut want: BTreeSet<(String, u16, String, String)> = [
        (host(1), 7001, "AF_INET6", "IPv4+IPv6"),
        (host(2), 22, "AF_INET", "IPv4"),
        (host(2), 22, "AF_INET6", "IPv6"),
    ]
    .into_iter()
    .map(|(h, p, f, a)| (h, p, f.to_owned(), a.to_owned()))
    .collect();
    let glob = format!("{tag}-*");
    let got = wait_for_rows(&nats, &glob, &want);
    let h2_v6 = got
        .iter()
        .find(|r| r.host == host(2) && r.family == "AF_INET6")
        .expect("h2's AF_INET6 row");
    assert_eq!(h2_v6.v6only, Some(true), "bindv6only=1 in h2's netns");
    assert_eq!(h2_v6.netns_name.as_deref(), Some(h2.name()));

    // A listener opened later shows up within seconds (a listen triggers a snapshot).
    let opened = Instant::now();
    let _l3 = listen(
        &mut h3,
        "s = socket.socket(socket.AF_INET); s.bind(('0.0.0.0', 8080)); s.listen()",
    );
    want.insert((host(3), 8080, "AF_INET".into(), "IPv4".into()));
    wait_for_rows(&nats, &glob, &want);
    let took = opened.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "h3's listener took {took:?}"
    );

    // A policy with a rule of each kind.
    let policy_dir = TempDir::new("audit-policy");
    let policy = policy_dir.join("policy.toml");
    std::fs::write(
        &policy,
        format!(
            "[[rule]]\nname = \"ssh-both\"\nport = 22\nrequire = \"ipv4+ipv6\"\n\n\
             [[rule]]\nname = \"web-both\"\nport = 8080\nrequire = \"ipv4+ipv6\"\n\n\
             [[rule]]\nname = \"no-dual\"\nforbid = \"dual-stack\"\n\n\
             [[rule]]\nname = \"h2-no-wildcard\"\nhost = \"{tag}-h2\"\ncomm = \"python3\"\nforbid = \"wildcard\"\n\n\
             [[rule]]\nname = \"h1-ports\"\nhost = \"{tag}-h1\"\nallow_ports = [22]\n"
        ),
    )
    .unwrap();
    let policy = policy.to_str().unwrap();
    let out = audit(&[
        "--nats", &nats.url, "--host", &glob, "--policy", policy, "-f", "json",
    ]);
    assert_eq!(out.code(), Some(1), "{}{}", out.stdout, out.stderr);
    let violations: BTreeSet<(String, u16, String, String)> = rows(&out)
        .iter()
        .flat_map(|r| {
            r.violations.iter().map(|v| {
                (
                    r.host.to_string(),
                    r.port,
                    r.family.to_string(),
                    v.rule.to_string(),
                )
            })
        })
        .collect();
    let expected: BTreeSet<(String, u16, String, String)> = [
        (host(1), 7001, "AF_INET6", "no-dual"),
        (host(1), 7001, "AF_INET6", "h1-ports"),
        (host(3), 8080, "AF_INET", "web-both"),
        (host(2), 22, "AF_INET", "h2-no-wildcard"),
        (host(2), 22, "AF_INET6", "h2-no-wildcard"),
    ]
    .into_iter()
    .map(|(h, p, f, r)| (h, p, f.to_owned(), r.to_owned()))
    .collect();
    assert_eq!(violations, expected);

    // The table says the same, and a policy kept gives status 0.
    let table = audit(&["--nats", &nats.url, "--host", &glob, "--policy", policy]);
    assert_eq!(table.code(), Some(1));
    assert!(table.stdout.contains("no-dual"), "{}", table.stdout);
    let kept = policy_dir.join("kept.toml");
    std::fs::write(
        &kept,
        "[[rule]]\nname = \"ssh-both\"\nport = 22\nrequire = \"ipv4+ipv6\"\n",
    )
    .unwrap();
    let out = audit(&[
        "--nats",
        &nats.url,
        "--host",
        &glob,
        "--policy",
        kept.to_str().unwrap(),
    ]);
    assert_eq!(out.code(), Some(0), "{}{}", out.stdout, out.stderr);
    drop(daemons);
}

#[test]
fn bad_policies_unreachable_nats_and_wrong_tokens_are_errors() {
    require_root();
    let dir = TempDir::new("audit-bad");
    let syntax = dir.join("syntax.toml");
    std::fs::write(&syntax, "[[rule]]\nname = \"a\"\nrequire = ipv4\n").unwrap();
    let unknown = dir.join("unknown.toml");
    std::fs::write(&unknown, "[[rule]]\nname = \"a\"\n\nrequir = \"ipv4\"\n").unwrap();
    let nats = Nats::start(&["--auth", "s3cret"]);
    for (file, line) in [(&syntax, ":3:"), (&unknown, ":4:")] {
        let out = audit(&["--nats", &nats.url, "--policy", file.to_str().unwrap()]);
        assert_eq!(out.code(), Some(2), "{}", out.stderr);
        assert!(out.stderr.contains(line), "{}", out.stderr);
    }
    assert!(
        audit(&["--nats", &nats.url, "--policy", unknown.to_str().unwrap()])
            .stderr
            .contains("requir")
    );

    let token = dir.join("token");
    std::fs::write(&token, "wrong\n").unwrap();
    let out = audit(&[
        "--nats",
        &nats.url,
        "--nats-token-file",
        token.to_str().unwrap(),
    ]);
    assert_eq!(out.code(), Some(2), "{}", out.stderr);
    assert!(
        out.stderr.to_lowercase().contains("authorization"),
        "{}",
        out.stderr
    );

    let closed = format!("nats://127.0.0.1:{}", free_port());
    let out = audit(&["--nats", &closed]);
    assert_eq!(out.code(), Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("cannot connect to NATS"),
        "{}",
        out.stderr
    );
}

#[test]
fn stream_reads_the_fleet_events_with_the_trace_filters() {
    let OneHost {
        nats,
        mut ns,
        dir: _dir,
        daemon: _daemon,
        id,
    } = OneHost::start("s");
    // Two processes: a parent that binds port 7101 and a child of it that binds 7102.
    let _l = listen(
        &mut ns,
        "import os\n\
         s = socket.socket(socket.AF_INET); s.bind(('127.0.0.1', 7101)); s.listen()\n\
         if os.fork() == 0:\n    c = socket.socket(socket.AF_INET); c.bind(('127.0.0.1', 7102)); c.listen(); os._exit(0)\n\
         os.wait()",
    );
    // From the start of the stream, binds only, as JSON: both binds, each with the host.
    let deadline = Instant::now() + TIMEOUT;
    let lines = loop {
        let mut cmd = dualstack(&[
            "stream",
            "--nats",
            &nats.url,
            "--since",
            "all",
            "--syscall",
            "bind",
            "-f",
            "json",
        ]);
        let out = run_for(&mut cmd, Duration::from_secs(3));
        let lines: Vec<serde_json::Value> = out
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        let ports: BTreeSet<u64> = lines.iter().filter_map(|l| l["port"].as_u64()).collect();
        if ports.is_superset(&BTreeSet::from([7101, 7102])) {
            break lines;
        }
        assert!(Instant::now() < deadline, "stream --nats gave {lines:?}");
    };
    assert!(lines
        .iter()
        .all(|l| l["syscall"] == "bind" && l["host"] == id.as_str()));
    let parent = lines.iter().find(|l| l["port"] == 7101).unwrap()["pid"]
        .as_u64()
        .unwrap();
    // --pid keeps the process and its child, as trace does; --host another glob keeps nothing.
    let mut cmd = dualstack(&[
        "stream",
        "--nats",
        &nats.url,
        "--since",
        "all",
        "--syscall",
        "bind",
        "--pid",
        &parent.to_string(),
    ]);
    let out = run_for(&mut cmd, Duration::from_secs(3));
    assert!(out.contains("7101") && out.contains("7102"), "{out}");
    assert!(
        out.lines().all(|l| l.starts_with(&format!("{id} [pid "))),
        "{out}"
    );
    let mut cmd = dualstack(&[
        "stream", "--nats", &nats.url, "--since", "all", "--host", "nobody-*",
    ]);
    assert_eq!(run_for(&mut cmd, Duration::from_secs(2)), "");
}

/// One simulated host: a netns with a daemon publishing to a NATS of its own.
struct OneHost {
    nats: Nats,
    ns: TestNetns,
    dir: TempDir,
    daemon: Daemon,
    id: String,
}

impl OneHost {
    fn start(tag: &str) -> OneHost {
        require_root();
        let nats = Nats::start(&[]);
        let ns = TestNetns::new(false);
        let dir = TempDir::new(&format!("fleet-{tag}"));
        let id = format!("{tag}{}-a", std::process::id());
        let daemon = Daemon::start(
            &dir,
            &["--nats", &nats.url, "--host-id", &id, "--netns", ns.name()],
        );
        OneHost {
            nats,
            ns,
            dir,
            daemon,
            id,
        }
    }
}

/// Runs `cmd` for `time`, then interrupts it; its standard output.
fn run_for(cmd: &mut Command, time: Duration) -> String {
    let out_file = TempDir::new("run-for");
    let path = out_file.join("stdout");
    cmd.stdout(std::fs::File::create(&path).unwrap());
    let mut guard = Guard::spawn(cmd);
    std::thread::sleep(time);
    // SAFETY: signalling the process this test started.
    unsafe { libc::kill(guard.id() as i32, libc::SIGINT) };
    guard.wait(TIMEOUT, "stream");
    std::fs::read_to_string(&path).unwrap()
}

#[test]
fn audit_follow_prints_a_new_violation_with_the_call_that_caused_it() {
    let OneHost {
        nats,
        mut ns,
        dir,
        daemon: _daemon,
        id,
    } = OneHost::start("f");
    let policy = dir.join("policy.toml");
    std::fs::write(
        &policy,
        "[[rule]]\nname = \"no-dual\"\nforbid = \"dual-stack\"\n",
    )
    .unwrap();
    // The host's first snapshot must be in the bucket before --follow starts.
    wait_for_rows(&nats, &id, &BTreeSet::new());
    let out_path = dir.join("follow.out");
    let mut cmd = dualstack(&[
        "audit",
        "--nats",
        &nats.url,
        "--policy",
        policy.to_str().unwrap(),
        "--follow",
        "-f",
        "json",
    ]);
    cmd.stdout(std::fs::File::create(&out_path).unwrap());
    let mut follow = Guard::spawn(&mut cmd);
    std::thread::sleep(Duration::from_secs(1));
    let _l = listen(
        &mut ns,
        "s = socket.socket(socket.AF_INET6); s.bind(('::', 7201)); s.listen()",
    );
    let deadline = Instant::now() + TIMEOUT;
    let line = loop {
        let text = std::fs::read_to_string(&out_path).unwrap();
        if let Some(line) = text.lines().find(|l| l.contains("\"violation\"")) {
            break serde_json::from_str::<dualstack::schema::NewViolationLine<'static>>(line)
                .unwrap_or_else(|e| panic!("{e}: {line}"));
        }
        assert!(Instant::now() < deadline, "no new violation: {text}");
        std::thread::sleep(Duration::from_millis(100));
    };
    // SAFETY: signalling the process this test started.
    unsafe { libc::kill(follow.id() as i32, libc::SIGINT) };
    follow.wait(TIMEOUT, "audit --follow");
    assert_eq!(
        (line.listener.host.as_ref(), line.listener.port),
        (id.as_str(), 7201)
    );
    assert_eq!(line.violation.rule, "no-dual");
    let event = line.event.expect("the call that caused it");
    assert!(
        event.strace.starts_with("listen(") || event.strace.starts_with("bind("),
        "{}",
        event.strace
    );
}
