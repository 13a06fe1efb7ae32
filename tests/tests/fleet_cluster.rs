//! The publisher against a three-node JetStream cluster on loopback, as root: a daemon given
//! all three URLs publishes a steady socket workload to a stream of three replicas; one node
//! is killed (-9) under load, either the one the daemon is connected to or the stream's
//! leader; publishing goes on, and once it settles the stream holds exactly as many messages
//! as the event log, plain and gzipped files together, has records: none lost, none twice.

use std::{
    collections::BTreeSet,
    fs,
    io::{BufRead as _, BufReader, Read as _, Write as _},
    net::{SocketAddr, TcpStream},
    path::Path,
    process::{Command, Stdio},
    sync::{mpsc, Mutex, MutexGuard, PoisonError},
    thread,
    time::{Duration, Instant},
};

use dualstack::outputs::nats::STREAM;
use serde_json::Value;
use tests::{
    daemon::{free_port, wait_until, Daemon},
    netns::TestNetns,
    python, require_root, Guard, TempDir,
};

const T: Duration = Duration::from_mins(2);

/// One test at a time: each runs three servers, a daemon and a workload on a small machine.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One `nats-server` of the cluster; its store and its log in a directory of its own.
struct Node {
    name: String,
    client: u16,
    monitor: u16,
    guard: Guard,
    dir: TempDir,
    alive: bool,
}

impl Node {
    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.client)
    }

    /// The end of its log, for messages.
    fn log_tail(&self) -> String {
        let text = fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

/// Three servers routed to each other in the cluster `dualstack-test`, JetStream on.
struct Cluster {
    nodes: Vec<Node>,
}

impl Cluster {
    fn start() -> Cluster {
        // Nine distinct free ports: client, cluster and monitor for each node.
        let mut ports = BTreeSet::new();
        while ports.len() < 9 {
            ports.insert(free_port());
        }
        let ports: Vec<u16> = ports.into_iter().collect();
        let route = |i: usize| format!("nats://127.0.0.1:{}", ports[3 * i + 1]);
        let nodes = (0..3)
            .map(|i| {
                let name = format!("n{}", i + 1);
                let dir = TempDir::new(&format!("nats-{name}"));
                let routes: Vec<String> = (0..3).filter(|&j| j != i).map(route).collect();
                let log = fs::File::create(dir.join("server.log")).expect("server log");
                let mut cmd = Command::new("nats-server");
                cmd.args(["-js", "--server_name", &name, "-a", "127.0.0.1"])
                    .args(["-p", &ports[3 * i].to_string()])
                    .args(["--cluster", &route(i), "--routes", &routes.join(",")])
                    .args(["--cluster_name", "dualstack-test"])
                    .args(["-m", &ports[3 * i + 2].to_string(), "-sd"])
                    .arg(dir.join("store"))
                    .stdin(Stdio::null())
                    .stdout(log.try_clone().expect("server log"))
                    .stderr(log);
                Node {
                    name,
                    client: ports[3 * i],
                    monitor: ports[3 * i + 2],
                    guard: Guard::spawn(&mut cmd),
                    dir,
                    alive: true,
                }
            })
            .collect();
        let cluster = Cluster { nodes };
        // JetStream answers once the nodes have elected a meta leader.
        let deadline = Instant::now() + T;
        while !cluster.nodes.iter().all(|n| meta_leader(n).is_some()) {
            assert!(
                Instant::now() < deadline,
                "the cluster elected no JetStream meta leader within {T:?}:\n{}",
                cluster.logs()
            );
            thread::sleep(Duration::from_millis(200));
        }
        cluster
    }

    fn urls(&self) -> String {
        let urls: Vec<String> = self.nodes.iter().map(Node::url).collect();
        urls.join(",")
    }

    fn alive(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| n.alive)
    }

    fn kill(&mut self, name: &str) {
        let node = self
            .nodes
            .iter_mut()
            .find(|n| n.name == name)
            .unwrap_or_else(|| panic!("no node {name}"));
        // SIGKILL to the server's own process group, by its pid.
        node.guard.kill();
        node.alive = false;
    }

    /// The name of the live node the daemon of `host` is connected to, if any.
    fn serving(&self, host: &str) -> Option<String> {
        let name = format!("dualstack daemon {host}");
        self.alive()
            .find(|n| {
                get_json(n.monitor, "/connz").is_some_and(|c| {
                    c["connections"]
                        .as_array()
                        .is_some_and(|cs| cs.iter().any(|c| c["name"] == name.as_str()))
                })
            })
            .map(|n| n.name.clone())
    }

    /// The events stream as `node` reports it (its own replica's state).
    fn stream(node: &Node) -> Option<Value> {
        let jsz = get_json(node.monitor, "/jsz?streams=true&config=true")?;
        jsz["account_details"]
            .as_array()?
            .iter()
            .filter_map(|a| a["stream_detail"].as_array())
            .flatten()
            .find(|s| s["name"] == STREAM)
            .cloned()
    }

    fn logs(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("--- {} ---\n{}", n.name, n.log_tail()))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn meta_leader(node: &Node) -> Option<String> {
    let jsz = get_json(node.monitor, "/jsz")?;
    let leader = jsz["meta_cluster"]["leader"].as_str()?;
    (!leader.is_empty()).then(|| leader.to_owned())
}

/// `GET path` on a monitor port, as HTTP/1.0 (so that the body is not chunked), as JSON.
fn get_json(port: u16, path: &str) -> Option<Value> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    if !head.lines().next()?.contains(" 200 ") {
        return None;
    }
    serde_json::from_str(body).ok()
}

/// A python3 loop of socket+bind+close in a netns, from `go` until `stop`, at a steady pace
/// (a 1 ms pause every 10 loops); it then says how many loops it made.
struct Workload {
    stdin: std::process::ChildStdin,
    said: mpsc::Receiver<String>,
}

const WORKLOAD: &str = "\
import socket, sys, threading, time
stop = threading.Event()
print('ready', flush=True)
sys.stdin.readline()
threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
n = 0
while not stop.is_set():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(('127.0.0.1', 0))
    s.close()
    n += 1
    if n % 10 == 0:
        time.sleep(0.001)
print(f'done {n}', flush=True)
sys.stdin.readline()
";

impl Workload {
    fn start(netns: &mut TestNetns) -> Workload {
        let spawned = netns.spawn(python(), &["-c", WORKLOAD]);
        let stdout = BufReader::new(spawned.stdout.expect("stdout"));
        let (tx, said) = mpsc::channel();
        thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let workload = Workload {
            stdin: spawned.stdin.expect("stdin"),
            said,
        };
        assert_eq!(workload.hear(), "ready");
        workload
    }

    fn hear(&self) -> String {
        self.said.recv_timeout(T).expect("a line from the workload")
    }

    fn tell(&mut self, line: &str) {
        self.stdin
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| self.stdin.flush())
            .expect("write to the workload");
    }

    fn still_running(&self) -> bool {
        matches!(self.said.try_recv(), Err(mpsc::TryRecvError::Empty))
    }

    /// Stops the loop; the number of loops it made.
    fn stop(&mut self) -> u64 {
        self.tell("stop");
        let line = self.hear();
        line.strip_prefix("done ")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("the workload said {line:?}"))
    }
}

/// Record lines (events and lost records) in every file of the event log, plain and gzipped.
/// A `.gz` whose plain file is still there is being written: the plain one counts.
#[expect(
    clippy::case_sensitive_file_extension_comparisons,
    reason = "the event log names its files in lower case"
)]
fn log_records(dir: &Path) -> (u64, usize) {
    let names: BTreeSet<String> = fs::read_dir(dir)
        .expect("the event log directory")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let (mut records, mut gzipped) = (0, 0);
    for name in &names {
        let text = if let Some(plain) = name.strip_suffix(".gz") {
            if !plain.ends_with(".jsonl") || names.contains(plain) {
                continue;
            }
            gzipped += 1;
            let mut text = Vec::new();
            flate2::read::MultiGzDecoder::new(fs::File::open(dir.join(name)).expect("open"))
                .read_to_end(&mut text)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            text
        } else if name.ends_with(".jsonl") {
            fs::read(dir.join(name)).expect("read a log file")
        } else {
            continue;
        };
        records += text
            .split(|&b| b == b'\n')
            .filter(|l| l.starts_with(br#"{"type":"event""#) || l.starts_with(br#"{"type":"lost""#))
            .count() as u64;
    }
    (records, gzipped)
}

/// The daemon's counters once they stop moving: nothing pending, `acked` the same for 2 s.
fn settled(daemon: &Daemon) -> u64 {
    let deadline = Instant::now() + T;
    let (mut last, mut since) = (u64::MAX, Instant::now());
    loop {
        let acked = daemon.metric("dualstack_nats_acked_total");
        let pending = daemon.metric("dualstack_nats_pending_bytes")
            + daemon.metric("dualstack_nats_pending_events");
        if acked != last || pending != 0 {
            (last, since) = (acked, Instant::now());
        } else if since.elapsed() >= Duration::from_secs(2) {
            return acked;
        }
        assert!(
            Instant::now() < deadline,
            "the publisher did not settle within {T:?} (acked {acked}, pending {pending}):\n{}",
            daemon.stderr()
        );
        thread::sleep(Duration::from_millis(250));
    }
}

/// The log's records (and gzipped files) and each live node's message count, once they agree
/// (replicas catch up, gzipping finishes) or after [`T`].
fn stored_against_log(
    cluster: &Cluster,
    log_dir: &Path,
) -> (u64, usize, Vec<(String, Option<u64>)>) {
    let deadline = Instant::now() + T;
    loop {
        let (records, gzipped) = log_records(log_dir);
        let stored: Vec<(String, Option<u64>)> = cluster
            .alive()
            .map(|n| {
                let messages = Cluster::stream(n).and_then(|s| s["state"]["messages"].as_u64());
                (n.name.clone(), messages)
            })
            .collect();
        if stored.iter().all(|(_, m)| *m == Some(records)) || Instant::now() > deadline {
            return (records, gzipped, stored);
        }
        thread::sleep(Duration::from_millis(500));
    }
}

/// The stream's replicas, as a live node reports its configuration.
fn replicas(cluster: &Cluster) -> Option<u64> {
    cluster
        .alive()
        .next()
        .and_then(Cluster::stream)
        .and_then(|s| s["config"]["num_replicas"].as_u64())
}

#[derive(Clone, Copy, Debug)]
enum Victim {
    /// The node the daemon is connected to: the client reconnects to another.
    DaemonsServer,
    /// The stream's leader: the other two elect a new one; the client stays connected.
    StreamLeader,
}

fn a_node_killed_under_load_loses_and_doubles_nothing(victim: Victim) {
    require_root();
    let _serial = serial();
    let mut cluster = Cluster::start();
    let mut netns = TestNetns::new(false);
    let dir = TempDir::new("cluster-daemon");
    let host = format!("cluster{}-{victim:?}", std::process::id());
    // 1 MiB log files: rotated and gzipped while the publisher reads them.
    let daemon = Daemon::start(
        &dir,
        &[
            "--nats",
            &cluster.urls(),
            "--nats-replicas",
            "3",
            "--host-id",
            &host,
            "--netns",
            netns.name(),
            "--log-max-mib",
            "1",
            "--log-keep",
            "100000",
            "--snapshot-interval",
            "5m",
        ],
    );
    let deadline = Instant::now() + T;
    while replicas(&cluster).is_none() {
        assert!(
            Instant::now() < deadline,
            "the daemon did not create {STREAM} within {T:?}:\n{}\n{}",
            daemon.stderr(),
            cluster.logs()
        );
        thread::sleep(Duration::from_millis(200));
    }

    let mut workload = Workload::start(&mut netns);
    workload.tell("go");
    wait_until(T, "20,000 events acknowledged", || {
        daemon.metric("dualstack_nats_acked_total") >= 20_000
    });
    let leader = Cluster::stream(cluster.alive().next().expect("a node"))
        .and_then(|s| s["cluster"]["leader"].as_str().map(str::to_owned))
        .expect("the stream has a leader");
    let serving = cluster
        .serving(&host)
        .expect("the daemon is connected to a node");
    let killed = match victim {
        Victim::DaemonsServer => serving.clone(),
        Victim::StreamLeader => leader.clone(),
    };
    assert!(
        workload.still_running(),
        "the workload ended before the kill"
    );
    let acked_at_kill = daemon.metric("dualstack_nats_acked_total");
    cluster.kill(&killed);
    println!("killed {killed} (daemon on {serving}, stream leader {leader}) at {acked_at_kill} acknowledged");

    // Publishing goes on while the workload runs.
    wait_until(T, "20,000 more events acknowledged after the kill", || {
        daemon.metric("dualstack_nats_acked_total") >= acked_at_kill + 20_000
    });
    assert!(workload.still_running(), "the workload ended too soon");
    let loops = workload.stop();
    let acked = settled(&daemon);
    if matches!(victim, Victim::DaemonsServer) {
        assert!(daemon.metric("dualstack_nats_reconnects_total") >= 1);
    }
    assert_eq!(daemon.metric("dualstack_nats_lost_files_total"), 0);

    // The surviving nodes' replicas hold every record of the log once.
    let (records, gzipped, stored) = stored_against_log(&cluster, &daemon.log_dir);
    println!(
        "{loops} loops; event log: {records} records ({gzipped} gzipped files); \
         acknowledged {acked}; stream on the survivors: {stored:?}"
    );
    assert!(
        records >= 40_000 && gzipped >= 5,
        "{records} records, {gzipped} gzipped files"
    );
    for (node, messages) in &stored {
        assert_eq!(
            *messages,
            Some(records),
            "{STREAM} on {node} against {records} log records:\n{}\n{}",
            daemon.stderr(),
            cluster.logs()
        );
    }
    assert_eq!(replicas(&cluster), Some(3));
    drop(workload);
    drop(daemon);
}

#[test]
fn the_daemons_server_killed_under_load_loses_and_doubles_nothing() {
    a_node_killed_under_load_loses_and_doubles_nothing(Victim::DaemonsServer);
}

#[test]
fn the_stream_leader_killed_under_load_loses_and_doubles_nothing() {
    a_node_killed_under_load_loses_and_doubles_nothing(Victim::StreamLeader);
}
