//! Real Debian daemons started the way their packages start them, traced from their start
//! command: nginx (`nginx -g 'daemon on; master_process on;'`, as nginx.service runs it: the
//! start command exits, a master listens, workers accept) and redis-server (`daemonize yes`, as
//! its init script runs it: it forks into the background). Each runs in a network namespace of
//! its own; the workers' accepts, the listeners' verdicts and the start-up calls are checked,
//! the start-up lines against real strace -f on the same start.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use serde_json::Value;
use tests::{
    compare, dualstack_trace_argv, json_lines, netns::TestNetns, normalise, python, require_root,
    succeeded, Guard, TempDir,
};

const TIMEOUT: Duration = Duration::from_mins(1);
/// The calls that set a listener up: deterministic, unlike the workers' share of accepts.
const STARTUP: &str = "socket,setsockopt,bind,listen";

/// A daemon under test: how to start it, reach it and stop it.
trait Daemon {
    /// The start command (program and arguments), as the package runs it.
    fn start(&self) -> Vec<String>;
    /// The pid file the daemon writes once it is up.
    fn pid_file(&self) -> PathBuf;
    /// Talks to it once over `addr` (inside `netns`).
    fn talk(&self, netns: &TestNetns, addr: &str);
    /// Stops it (the master process) gracefully.
    fn stop(&self, netns: &TestNetns, master: u32);
}

fn wait_for(path: &Path, what: &str) -> String {
    let start = Instant::now();
    loop {
        if let Ok(text) = fs::read_to_string(path) {
            if !text.trim().is_empty() {
                return text;
            }
        }
        assert!(
            start.elapsed() < TIMEOUT,
            "{what}: {} never appeared",
            path.display()
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// One request from python3 inside the namespace: sends `request`, reads until the server
/// closes or a second passes, and says what came back.
fn request(netns: &TestNetns, addr: &str, port: u16, request: &str) -> String {
    let script = format!(
        "import socket\n\
         s = socket.create_connection(({addr:?}, {port}), timeout=5)\n\
         s.sendall({request:?}.encode())\n\
         s.settimeout(1)\n\
         data = b''\n\
         try:\n    \
             while True:\n        \
                 chunk = s.recv(4096)\n        \
                 if not chunk: break\n        \
                 data += chunk\n\
         except socket.timeout:\n    \
             pass\n\
         print(data.decode(errors='replace'))\n"
    );
    let out = netns
        .command(python())
        .args(["-c", &script])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "request to {addr} port {port} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Nginx {
    dir: TempDir,
}

impl Nginx {
    const PORT: u16 = 8080;

    fn new() -> Nginx {
        let dir = TempDir::new("nginx");
        let d = dir.path().display();
        fs::create_dir_all(dir.join("tmp")).expect("tmp");
        fs::write(
            dir.join("nginx.conf"),
            format!(
                "worker_processes 2;\n\
                 pid {d}/nginx.pid;\n\
                 error_log {d}/error.log;\n\
                 events {{ worker_connections 64; }}\n\
                 http {{\n\
                 access_log off;\n\
                 client_body_temp_path {d}/tmp; proxy_temp_path {d}/tmp; fastcgi_temp_path {d}/tmp;\n\
                 uwsgi_temp_path {d}/tmp; scgi_temp_path {d}/tmp;\n\
                 server {{\n\
                 listen 127.0.0.1:{port};\n\
                 listen [::]:{port} ipv6only=on;\n\
                 location / {{ return 200 dualstack; }}\n\
                 }}\n\
                 }}\n",
                port = Self::PORT
            ),
        )
        .expect("nginx.conf");
        Nginx { dir }
    }
}

impl Daemon for Nginx {
    fn start(&self) -> Vec<String> {
        // nginx.service: ExecStart=/usr/sbin/nginx -g 'daemon on; master_process on;'
        vec![
            "/usr/sbin/nginx".into(),
            "-c".into(),
            self.dir.join("nginx.conf").display().to_string(),
            "-g".into(),
            "daemon on; master_process on;".into(),
        ]
    }

    fn pid_file(&self) -> PathBuf {
        self.dir.join("nginx.pid")
    }

    fn talk(&self, netns: &TestNetns, addr: &str) {
        let reply = request(netns, addr, Self::PORT, "GET / HTTP/1.0\r\n\r\n");
        assert!(reply.contains("dualstack"), "nginx said {reply:?}");
    }

    fn stop(&self, _netns: &TestNetns, master: u32) {
        // ExecStop: start-stop-daemon --stop --retry QUIT/5: a graceful stop.
        // SAFETY: signalling the daemon this test started.
        unsafe { libc::kill(master as libc::pid_t, libc::SIGQUIT) };
    }
}

struct Redis {
    dir: TempDir,
}

impl Redis {
    const PORT: u16 = 6380;

    fn new() -> Redis {
        let dir = TempDir::new("redis");
        let d = dir.path().display();
        fs::write(
            dir.join("redis.conf"),
            format!(
                "daemonize yes\n\
                 bind 127.0.0.1 -::1\n\
                 port {port}\n\
                 pidfile {d}/redis.pid\n\
                 logfile {d}/redis.log\n\
                 dir {d}\n\
                 save \"\"\n\
                 appendonly no\n",
                port = Self::PORT
            ),
        )
        .expect("redis.conf");
        Redis { dir }
    }
}

impl Daemon for Redis {
    fn start(&self) -> Vec<String> {
        // The init script: start-stop-daemon --exec /usr/bin/redis-server -- /etc/redis/redis.conf
        // (daemonize yes).
        vec![
            "/usr/bin/redis-server".into(),
            self.dir.join("redis.conf").display().to_string(),
        ]
    }

    fn pid_file(&self) -> PathBuf {
        self.dir.join("redis.pid")
    }

    fn talk(&self, netns: &TestNetns, addr: &str) {
        let reply = request(netns, addr, Self::PORT, "PING\r\nQUIT\r\n");
        assert!(reply.contains("+PONG"), "redis said {reply:?}");
    }

    fn stop(&self, netns: &TestNetns, _master: u32) {
        let _ = request(netns, "127.0.0.1", Self::PORT, "SHUTDOWN NOSAVE\r\n");
    }
}

/// Starts the daemon under `tracer` (which ends when the daemon's last process exits), talks
/// to it over IPv4 and IPv6, stops it; returns the tracer's standard output and error.
fn traced(daemon: &dyn Daemon, tracer: &[String]) -> (String, String, u32) {
    let ns = TestNetns::new(false);
    let dir = TempDir::new("daemon-trace");
    let (out_path, err_path) = (dir.join("stdout"), dir.join("stderr"));
    let mut cmd = Command::new(&tracer[0]);
    cmd.args(&tracer[1..])
        .args(["ip", "netns", "exec", ns.name()])
        .args(daemon.start())
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out_path).expect("stdout"))
        .stderr(fs::File::create(&err_path).expect("stderr"));
    let mut guard = Guard::spawn(&mut cmd);
    let master: u32 = wait_for(&daemon.pid_file(), "the daemon's pid file")
        .trim()
        .parse()
        .expect("a pid");
    for addr in ["127.0.0.1", "::1", "127.0.0.1", "::1"] {
        daemon.talk(&ns, addr);
    }
    daemon.stop(&ns, master);
    let status = guard.wait(TIMEOUT, "the tracer of the daemon");
    let stdout = fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = fs::read_to_string(&err_path).unwrap_or_default();
    assert!(status.success(), "tracer failed ({status}): {stderr}");
    (stdout, stderr, master)
}

/// The listeners' verdicts and the accepts of the processes that serve, from JSON; then the
/// start-up lines against strace -f.
fn check(daemon: &dyn Daemon, port: u16, want: &[(&str, &str)]) -> Vec<Value> {
    require_root();
    let (json, stderr, master) =
        traced(daemon, &dualstack_trace_argv(&["-f", "json", "--verdicts"]));
    let events = json_lines(&json);
    let mut listens: Vec<(String, String)> = succeeded(&events, "listen")
        .iter()
        .filter(|l| l["port"] == port)
        .map(|l| {
            (
                l["address"].as_str().unwrap_or("?").to_owned(),
                l["verdict"]["accepts"].as_str().unwrap_or("?").to_owned(),
            )
        })
        .collect();
    // nginx calls listen twice on each socket (it sets the backlog again once configured).
    listens.sort();
    listens.dedup();
    let mut want: Vec<(String, String)> = want
        .iter()
        .map(|(a, v)| ((*a).to_owned(), (*v).to_owned()))
        .collect();
    want.sort();
    assert_eq!(listens, want, "listeners and verdicts; stderr: {stderr}");
    let accepts: Vec<&Value> = succeeded(&events, "accept4")
        .into_iter()
        .chain(succeeded(&events, "accept"))
        .filter(|a| a["kernel"]["port"] == port)
        .collect();
    // One per request, and redis takes one more: its SHUTDOWN.
    assert!(accepts.len() >= 4, "an accept per request:\n{json}");
    for a in &accepts {
        assert!(
            !a["socket"].is_null(),
            "an accept without its listener's state: {a}"
        );
        assert_eq!(a["tracking"], "socket");
    }
    let first = events
        .first()
        .and_then(|e| e["pid"].as_u64())
        .expect("events");
    assert_ne!(
        u64::from(master),
        first,
        "the daemon is not its start command"
    );

    // The start-up calls, line for line, against strace -f on the same start.
    let dir = TempDir::new("daemon-compare");
    let strace_file = dir.join("strace.txt");
    let strace = [
        "strace",
        "-f",
        "-qq",
        "-o",
        strace_file.to_str().expect("path"),
        "-e",
        &format!("trace={STARTUP}"),
    ]
    .map(str::to_owned);
    traced(daemon, &strace);
    let ds_file = dir.join("dualstack.txt");
    traced(
        daemon,
        &dualstack_trace_argv(&["-o", ds_file.to_str().expect("path"), "--syscall", STARTUP]),
    );
    let expected = normalise(&fs::read_to_string(&strace_file).expect("strace"), port);
    let actual = normalise(&fs::read_to_string(&ds_file).expect("dualstack"), port);
    assert!(expected.line_count() >= 4, "strace saw almost nothing");
    if let Err(report) = compare("strace", &expected, "dualstack", &actual) {
        panic!("start-up calls differ from strace -f:\n{report}");
    }
    events
}

#[test]
fn nginx_master_and_workers_started_as_its_package_starts_it() {
    let nginx = Nginx::new();
    let events = check(
        &nginx,
        Nginx::PORT,
        &[("127.0.0.1", "IPv4"), ("::", "IPv6")],
    );
    // The workers accept, not the master that listened.
    let listen_pid = succeeded(&events, "listen")[0]["pid"].clone();
    let workers: Vec<&Value> = succeeded(&events, "accept4")
        .into_iter()
        .filter(|a| a["kernel"]["port"] == Nginx::PORT)
        .collect();
    assert!(workers.iter().all(|a| a["pid"] != listen_pid));
    let six = workers
        .iter()
        .find(|a| a["family"] == "AF_INET6")
        .expect("an accept on the IPv6 listener");
    assert_eq!(six["v6only"], true);
    assert_eq!(six["v6only_source"], "setsockopt");
}

#[test]
fn redis_daemonizing_as_its_init_script_starts_it() {
    let redis = Redis::new();
    check(
        &redis,
        Redis::PORT,
        &[("127.0.0.1", "IPv4"), ("::1", "IPv6")],
    );
}
