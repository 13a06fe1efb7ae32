//! Verdicts from the kernel's own state. In network namespaces with net.ipv6.bindv6only=0 and
//! =1, every listener shape is opened under `dualstack trace`; the traced verdict, the
//! `dualstack listeners` verdict, the kernel's V6ONLY (getsockopt and `ss -e`) and real connects
//! (`--verify`) must all agree with what Linux is known to do.

use std::{
    collections::BTreeMap,
    io::{BufRead as _, BufReader, Write as _},
    process::{ChildStdin, Command, Stdio},
    time::Duration,
};

use serde_json::Value;
use tests::{
    dualstack, json_lines, netns::TestNetns, program, python, require_root, run, Guard, TempDir,
};

const TIMEOUT: Duration = Duration::from_secs(40);

/// What a listener shape accepts, for a netns default `d` (net.ipv6.bindv6only).
struct Shape {
    spec: &'static str,
    /// Accepts IPv4: true, false, or `None` for "unless the netns default makes it v6-only".
    ipv4: Option<bool>,
    ipv6: bool,
    /// Expected `v6only_source` of the traced event (AF_INET6 only).
    source: Option<&'static str>,
}

impl Shape {
    fn ipv4(&self, default_v6only: bool) -> bool {
        self.ipv4.unwrap_or(!default_v6only)
    }
}

/// Each spec is hold_listeners.py's PROTO:ADDRESS:PORT[:OPTION]; PORT 0 asks the kernel.
const SHAPES: &[Shape] = &[
    // A dual-stack listener relying on the netns default.
    Shape {
        spec: "tcp6:[::]:38001",
        ipv4: None,
        ipv6: true,
        source: Some("netns-default"),
    },
    // sshd's pair: AF_INET 0.0.0.0 and AF_INET6 :: with IPV6_V6ONLY=1.
    Shape {
        spec: "tcp4:0.0.0.0:38002",
        ipv4: Some(true),
        ipv6: false,
        source: None,
    },
    Shape {
        spec: "tcp6:[::]:38002:v6only=1",
        ipv4: Some(false),
        ipv6: true,
        source: Some("setsockopt"),
    },
    // Explicit values override the default either way.
    Shape {
        spec: "tcp6:[::]:38003:v6only=1",
        ipv4: Some(false),
        ipv6: true,
        source: Some("setsockopt"),
    },
    Shape {
        spec: "tcp6:[::]:38004:v6only=0",
        ipv4: Some(true),
        ipv6: true,
        source: Some("setsockopt"),
    },
    // A specific IPv6 address, and a v4-mapped one (which needs V6ONLY=0 to bind).
    Shape {
        spec: "tcp6:[::1]:38005",
        ipv4: Some(false),
        ipv6: true,
        source: Some("bind-address"),
    },
    Shape {
        spec: "tcp6:[::ffff:127.0.0.1]:38006:v6only=0",
        ipv4: Some(true),
        ipv6: false,
        source: Some("setsockopt"),
    },
    // Port 0: the kernel picks the port; the verdict must name the real one.
    Shape {
        spec: "tcp6:[::]:0",
        ipv4: None,
        ipv6: true,
        source: Some("netns-default"),
    },
    // UDP sockets accept from their bind on.
    Shape {
        spec: "udp6:[::]:38007",
        ipv4: None,
        ipv6: true,
        source: Some("netns-default"),
    },
    Shape {
        spec: "udp4:127.0.0.1:38008",
        ipv4: Some(true),
        ipv6: false,
        source: None,
    },
];

/// A socket as hold_listeners.py reports it (getsockname, getsockopt).
#[derive(Debug)]
struct Held {
    #[allow(dead_code, reason = "shown in failure messages")]
    spec: String,
    family: String,
    port: u64,
    v6only: Option<bool>,
}

/// `dualstack trace -f json -o FILE -- ip netns exec NS python3 hold_listeners.py SPECS`,
/// stopped when the sockets are held.
struct TracedHolder {
    guard: Guard,
    stdin: Option<ChildStdin>,
    held: Vec<Held>,
    out: std::path::PathBuf,
}

impl TracedHolder {
    fn start(ns: &TestNetns, dir: &TempDir, specs: &[&str], extra: &[&str]) -> TracedHolder {
        let out = dir.join(&format!("trace-{}.jsonl", ns.name()));
        let mut cmd = dualstack(&["trace", "--format", "json", "-o"]);
        cmd.arg(&out)
            .args(extra)
            .args(["--", "ip", "netns", "exec", ns.name()]);
        cmd.arg(python())
            .arg(program("hold_listeners.py"))
            .args(specs);
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
        let mut guard = Guard::spawn(&mut cmd);
        let stdin = guard.child.stdin.take();
        let stdout = guard.child.stdout.take().expect("stdout");
        let mut held = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("hold_listeners.py output");
            if line == "ready" {
                break;
            }
            let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
            held.push(Held {
                spec: v["spec"].as_str().unwrap().to_owned(),
                family: v["family"].as_str().unwrap().to_owned(),
                port: v["port"].as_u64().unwrap(),
                v6only: v["v6only"].as_u64().map(|b| b != 0),
            });
        }
        assert_eq!(held.len(), specs.len(), "hold_listeners.py stopped early");
        TracedHolder {
            guard,
            stdin,
            held,
            out,
        }
    }

    /// Lets the holder exit and returns the traced events.
    fn finish(mut self) -> Vec<Value> {
        drop(self.stdin.take());
        let status = self.guard.wait(TIMEOUT, "dualstack trace");
        assert!(status.success(), "dualstack trace: {status}");
        json_lines(&std::fs::read_to_string(&self.out).expect("trace output"))
    }
}

/// The traced event that gave `held` its verdict: a listen (TCP) or a bind (UDP) whose kernel
/// view names that port and family.
fn traced_verdict<'a>(events: &'a [Value], held: &Held) -> &'a Value {
    events
        .iter()
        .find(|e| {
            !e["verdict"].is_null()
                && e["kernel"]["port"].as_u64() == Some(held.port)
                && e["kernel"]["family"] == held.family.as_str()
        })
        .unwrap_or_else(|| panic!("no traced verdict for {held:?} in {events:#?}"))
}

/// `ss -e` in the netns: port -> the v6only values of its AF_INET6 sockets.
fn ss_v6only(ns: &TestNetns) -> BTreeMap<u64, Vec<bool>> {
    let mut map: BTreeMap<u64, Vec<bool>> = BTreeMap::new();
    for flags in ["-ltneH", "-luneH"] {
        let out = ns.exec(&["ss", flags]);
        for line in out.stdout.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let Some(local) = fields.get(3) else { continue };
            let Some(port) = local.rsplit(':').next().and_then(|p| p.parse().ok()) else {
                continue;
            };
            let v6only = fields.iter().find_map(|f| f.strip_prefix("v6only:"));
            if let Some(v) = v6only {
                map.entry(port).or_default().push(v == "1");
            }
        }
    }
    map
}

fn listeners_json(ns: &TestNetns) -> Vec<Value> {
    let out = run(
        &mut dualstack(&[
            "listeners",
            "--netns",
            ns.name(),
            "--format",
            "json",
            "--verify",
        ]),
        TIMEOUT,
    );
    assert_eq!(
        out.code(),
        Some(0),
        "dualstack listeners --verify: {}\n{}",
        out.stdout,
        out.stderr
    );
    json_lines(&out.stdout)
}

fn check_netns_default(default_v6only: bool) {
    require_root();
    let ns = TestNetns::new(default_v6only);
    let dir = TempDir::new("verdicts");
    let specs: Vec<&str> = SHAPES.iter().map(|s| s.spec).collect();
    let mut holder = TracedHolder::start(&ns, &dir, &specs, &[]);
    let listed = listeners_json(&ns);
    let ss = ss_v6only(&ns);
    let held = std::mem::take(&mut holder.held);
    let events = holder.finish();

    for (shape, held) in SHAPES.iter().zip(&held) {
        let what = format!(
            "{} with bindv6only={}",
            shape.spec,
            u8::from(default_v6only)
        );
        let want = (shape.ipv4(default_v6only), shape.ipv6);

        let event = traced_verdict(&events, held);
        let verdict = &event["verdict"];
        assert_eq!(
            (verdict["ipv4"].as_bool(), verdict["ipv6"].as_bool()),
            (Some(want.0), Some(want.1)),
            "{what}: traced verdict {verdict}"
        );
        assert_eq!(verdict["certain"], true, "{what}: {verdict}");
        assert!(
            verdict["reason"]
                .as_str()
                .unwrap()
                .contains(&format!(":{}", held.port)),
            "{what}: the reason names the real port: {verdict}"
        );
        if held.family == "AF_INET6" {
            assert_eq!(
                event["kernel"]["v6only"].as_bool(),
                held.v6only,
                "{what}: kernel bit vs getsockopt"
            );
            assert_eq!(
                event["v6only"].as_bool(),
                held.v6only,
                "{what}: event v6only"
            );
            assert_eq!(
                event["v6only_source"].as_str(),
                shape.source,
                "{what}: source"
            );
            assert_eq!(
                event["kernel"]["netns_bindv6only"], default_v6only,
                "{what}"
            );
        }
        assert_eq!(
            event["kernel"]["netns"].as_u64(),
            Some(ns.inode()),
            "{what}: netns inode"
        );

        let listener = listed
            .iter()
            .find(|l| l["port"].as_u64() == Some(held.port) && l["family"] == held.family.as_str())
            .unwrap_or_else(|| panic!("{what}: not listed by `dualstack listeners`: {listed:#?}"));
        assert_eq!(
            (
                listener["accepts"]["ipv4"].as_bool(),
                listener["accepts"]["ipv6"].as_bool()
            ),
            (Some(want.0), Some(want.1)),
            "{what}: listeners {listener}"
        );
        assert_eq!(
            listener["v6only"].as_bool(),
            held.v6only,
            "{what}: listeners v6only"
        );
        assert_eq!(
            listener["verify"]["result"], "ok",
            "{what}: connects: {listener}"
        );
        assert_eq!(
            listener["inode"], event["kernel"]["inode"],
            "{what}: the same socket"
        );

        if let Some(v6only) = held.v6only {
            let seen = ss
                .get(&held.port)
                .unwrap_or_else(|| panic!("{what}: not in ss: {ss:?}"));
            assert!(seen.contains(&v6only), "{what}: ss says v6only {seen:?}");
        }
    }
}

#[test]
fn verdicts_agree_in_a_netns_with_bindv6only_0() {
    check_netns_default(false);
}

#[test]
fn verdicts_agree_in_a_netns_with_bindv6only_1() {
    check_netns_default(true);
}

/// A socket created and bound before tracing started: only the kernel's bit is known, and the
/// verdict says so.
#[test]
fn socket_from_before_tracing_is_judged_by_the_kernel_bit() {
    require_root();
    let mut ns = TestNetns::new(true);
    let script = "import socket,sys\n\
        s=socket.socket(socket.AF_INET6)\n\
        s.bind(('::',38101))\n\
        print('bound',flush=True)\n\
        sys.stdin.readline()\n\
        s.listen(4)\n\
        print('listening',flush=True)\n\
        sys.stdin.readline()\n";
    let mut holder = ns.spawn(python(), &["-c", script]);
    let mut lines = BufReader::new(holder.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "bound");

    let dir = TempDir::new("preexisting");
    let out = dir.join("trace.jsonl");
    let mut trace = dualstack(&["trace", "--format", "json", "--syscall", "listen", "-o"]);
    trace.arg(&out).args(["-p", &holder.pid.to_string()]);
    let mut tracer = Guard::spawn(&mut trace);
    std::thread::sleep(Duration::from_secs(2)); // let the probes attach
    let mut stdin = holder.stdin.take().unwrap();
    writeln!(stdin).unwrap();
    assert_eq!(lines.next().unwrap().unwrap(), "listening");
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: kill has no memory preconditions; the pid is the tracer this test started.
    unsafe { libc::kill(tracer.id() as libc::pid_t, libc::SIGINT) };
    tracer.wait(TIMEOUT, "dualstack trace");
    drop(stdin);

    let events = json_lines(&std::fs::read_to_string(&out).unwrap());
    let listen = events
        .iter()
        .find(|e| e["syscall"] == "listen")
        .expect("listen event");
    assert_eq!(listen["v6only_source"], "pre-existing", "{listen}");
    assert_eq!(
        listen["v6only"], true,
        "the netns default 1, read from the kernel: {listen}"
    );
    assert_eq!(listen["verdict"]["accepts"], "IPv6", "{listen}");
    let reason = listen["verdict"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("created before tracing started"),
        "{reason}"
    );
    assert!(
        listen["socket"]["type"].is_null(),
        "the tracer did not see socket(): {listen}"
    );
}

/// Without BTF the tracer still runs, and says its verdicts are inferred.
#[test]
fn without_btf_verdicts_are_marked_inferred() {
    require_root();
    let ns = TestNetns::new(false);
    let dir = TempDir::new("nobtf");
    let holder = TracedHolder::start(
        &ns,
        &dir,
        &["tcp6:[::]:38201", "tcp6:[::]:38202:v6only=1"],
        &["--btf", "none"],
    );
    let events = holder.finish();
    let listens: Vec<&Value> = events.iter().filter(|e| e["syscall"] == "listen").collect();
    assert_eq!(listens.len(), 2, "{events:#?}");
    for e in &listens {
        assert_eq!(e["kernel_status"], "no-btf", "{e}");
        assert!(e["kernel"].is_null(), "{e}");
    }
    // Default: nothing seen, so V6ONLY is a guess from the host default.
    assert_eq!(listens[0]["verdict"]["certain"], false, "{}", listens[0]);
    assert_eq!(listens[0]["v6only"], Value::Null, "{}", listens[0]);
    // An explicit setsockopt is still known for sure.
    assert_eq!(listens[1]["v6only_source"], "setsockopt", "{}", listens[1]);
    assert_eq!(listens[1]["verdict"]["accepts"], "IPv6", "{}", listens[1]);
}

/// A bind refused with EADDRINUSE names the socket that holds the port: here a dual-stack
/// `::` listener blocks a `0.0.0.0` bind.
#[test]
fn eaddrinuse_names_the_holder() {
    require_root();
    let mut ns = TestNetns::new(false);
    let mut holder = ns.spawn(
        python(),
        &[
            program("hold_listeners.py").to_str().unwrap(),
            "tcp6:[::]:38301",
        ],
    );
    let mut lines = BufReader::new(holder.stdout.take().unwrap()).lines();
    let held: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");

    let dir = TempDir::new("eaddrinuse");
    let script = "import socket\n\
        s=socket.socket(socket.AF_INET)\n\
        try:\n    s.bind(('0.0.0.0',38301))\n\
        except OSError as e:\n    print(e.errno)\n";
    for format in ["json", "strace"] {
        let out = dir.join(&format!("trace.{format}"));
        let mut cmd = dualstack(&[
            "trace",
            "--verdicts",
            "--syscall",
            "bind",
            "--format",
            format,
            "-o",
        ]);
        cmd.arg(&out)
            .args(["--", "ip", "netns", "exec", ns.name()])
            .arg(python())
            .args(["-c", script]);
        let ran = run(&mut cmd, TIMEOUT);
        assert_eq!(ran.code(), Some(0), "{}", ran.stderr);
        assert_eq!(
            ran.stdout.trim(),
            "98",
            "the bind must fail with EADDRINUSE"
        );
        let text = std::fs::read_to_string(&out).unwrap();
        if format == "json" {
            let events = json_lines(&text);
            let bind = events
                .iter()
                .find(|e| e["errno"] == "EADDRINUSE")
                .expect("failed bind");
            let h = &bind["holder"];
            assert_eq!(h["pid"].as_u64(), Some(u64::from(holder.pid)), "{bind}");
            assert_eq!(h["fd"], held["fd"], "{bind}");
            assert_eq!(h["family"], "AF_INET6", "{bind}");
            assert_eq!(h["v6only"], false, "{bind}");
            assert_eq!(h["accepts"], "IPv4+IPv6", "{bind}");
        } else {
            let line = text
                .lines()
                .find(|l| l.contains("EADDRINUSE"))
                .expect("failed bind line");
            assert!(
                line.contains(&format!("held by pid {} (python3)", holder.pid)),
                "{line}"
            );
            assert!(line.contains("accepts IPv4 and IPv6"), "{line}");
        }
    }
}

fn wait_listening(ns: &TestNetns, port: u16, count: usize) {
    for _ in 0..100 {
        let out = ns.exec(&["ss", "-ltnH", &format!("sport = :{port}")]);
        if out.stdout.lines().count() >= count {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("nothing listening on port {port} in {}", ns.name());
}

/// Real daemons from Debian on loopback ports in a test netns: sshd's pair (0.0.0.0 and ::
/// with V6ONLY=1), ncat's pair, and socat's single TCP6 socket that follows the netns default.
#[test]
fn debian_daemons_get_the_right_verdicts() {
    require_root();
    let mut ns = TestNetns::new(true);
    let dir = TempDir::new("daemons");
    let key = dir.join("host_key");
    let keygen = run(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&key),
        TIMEOUT,
    );
    assert!(keygen.status.success(), "ssh-keygen: {}", keygen.stderr);
    let config = dir.join("sshd_config");
    std::fs::write(
        &config,
        format!(
            "Port 38401\nListenAddress 0.0.0.0\nListenAddress ::\nHostKey {}\nPidFile none\n\
             UsePAM no\n",
            key.display()
        ),
    )
    .unwrap();
    // sshd refuses to start without its privilege separation directory.
    std::fs::create_dir_all("/run/sshd").unwrap();

    let out = dir.join("trace.jsonl");
    let mut trace = dualstack(&["trace", "--format", "json", "--syscall", "listen", "-o"]);
    trace.arg(&out);
    let mut tracer = Guard::spawn(&mut trace);
    std::thread::sleep(Duration::from_secs(2)); // let the probes attach

    let sshd = ns.spawn(
        "/usr/sbin/sshd",
        &["-D", "-e", "-f", config.to_str().unwrap()],
    );
    let ncat = ns.spawn("ncat", &["-l", "-k", "38402"]);
    let socat = ns.spawn("socat", &["TCP6-LISTEN:38403,fork", "EXEC:/bin/true"]);
    wait_listening(&ns, 38401, 2);
    wait_listening(&ns, 38402, 2);
    wait_listening(&ns, 38403, 1);
    let listed = listeners_json(&ns);
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: kill has no memory preconditions; the pid is the tracer this test started.
    unsafe { libc::kill(tracer.id() as libc::pid_t, libc::SIGINT) };
    tracer.wait(TIMEOUT, "dualstack trace");

    let events = json_lines(&std::fs::read_to_string(&out).unwrap());
    let expect = [
        (sshd.pid, 38401, "AF_INET", "IPv4"),
        (sshd.pid, 38401, "AF_INET6", "IPv6"),
        (ncat.pid, 38402, "AF_INET", "IPv4"),
        (ncat.pid, 38402, "AF_INET6", "IPv6"),
        // socat sets no IPV6_V6ONLY: the netns default (1) makes it IPv6 only.
        (socat.pid, 38403, "AF_INET6", "IPv6"),
    ];
    for (pid, port, family, accepts) in expect {
        let what = format!("{family} port {port} of pid {pid}");
        let event = events
            .iter()
            .find(|e| {
                e["pid"].as_u64() == Some(u64::from(pid))
                    && e["kernel"]["port"] == port
                    && e["kernel"]["family"] == family
            })
            .unwrap_or_else(|| panic!("{what}: no listen traced: {events:#?}"));
        assert_eq!(event["verdict"]["accepts"], accepts, "{what}: {event}");
        let listener = listed
            .iter()
            .find(|l| l["port"] == port && l["family"] == family)
            .unwrap_or_else(|| panic!("{what}: not listed"));
        assert_eq!(label(&listener["accepts"]), accepts, "{what}: {listener}");
        assert_eq!(listener["verify"]["result"], "ok", "{what}: {listener}");
        assert_eq!(
            listener["owners"][0]["pid"].as_u64(),
            Some(u64::from(pid)),
            "{what}: {listener}"
        );
    }
    let socat_event = events
        .iter()
        .find(|e| e["kernel"]["port"] == 38403)
        .unwrap();
    assert_eq!(
        socat_event["v6only_source"], "netns-default",
        "{socat_event}"
    );
}

fn label(accepts: &Value) -> String {
    match (accepts["ipv4"].as_bool(), accepts["ipv6"].as_bool()) {
        (Some(true), Some(true)) => "IPv4+IPv6",
        (Some(true), _) => "IPv4",
        (_, Some(true)) => "IPv6",
        _ => "none",
    }
    .to_owned()
}

/// `--verdicts` appends the verdict to listen lines and leaves every other line as strace
/// prints it.
#[test]
fn verdicts_annotate_listen_lines_only() {
    require_root();
    let ns = TestNetns::new(false);
    let dir = TempDir::new("annotate");
    let out = dir.join("trace.strace");
    let script = "import socket\n\
        s=socket.socket(socket.AF_INET6)\n\
        s.bind(('::',38501))\n\
        s.listen(3)\n";
    let mut cmd = dualstack(&["trace", "--verdicts", "-o"]);
    cmd.arg(&out)
        .args(["--", "ip", "netns", "exec", ns.name()])
        .arg(python())
        .args(["-c", script]);
    let ran = run(&mut cmd, TIMEOUT);
    assert_eq!(ran.code(), Some(0), "{}", ran.stderr);
    let text = std::fs::read_to_string(&out).unwrap();
    let annotated: Vec<&str> = text.lines().filter(|l| l.contains(" # ")).collect();
    assert_eq!(
        annotated.len(),
        1,
        "only the listen line is annotated:\n{text}"
    );
    let (call, note) = annotated[0].split_once(" # ").unwrap();
    assert!(
        call.contains("listen(3, 3)") && call.ends_with("= 0"),
        "{}",
        annotated[0]
    );
    assert_eq!(
        note,
        "AF_INET6 socket on [::]:38501, IPV6_V6ONLY=0 (netns default net.ipv6.bindv6only=0) \
         -> accepts IPv4 and IPv6"
    );
}
