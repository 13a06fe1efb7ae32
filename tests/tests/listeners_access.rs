//! `dualstack listeners` where /proc and /run/netns do not tell everything: processes root may
//! not read (a capability it lacks), the host netns's label when pid 1 is one of them, and a
//! netns whose /run/netns name was deleted while a socket of it lives on. Ports: 39800-39899.

use std::{
    fs,
    io::{BufRead as _, BufReader},
    os::unix::fs::MetadataExt as _,
    process::Command,
    time::Duration,
};

use dualstack::snapshot::netns;
use serde_json::Value;
use tests::{
    dualstack, dualstack_bin, json_lines,
    netns::{Spawned, TestNetns},
    python, require_root, run, Output,
};

const TIMEOUT: Duration = Duration::from_mins(1);

/// Listens on [::]:PORT (in the netns of the file given as the second argument, when one is:
/// it enters it, opens the socket and goes back, so the socket's netns is not its own), says
/// "ready" and waits for stdin to close.
const LISTEN: &str = r#"
import ctypes, os, socket, sys
CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)
home = os.open("/proc/self/ns/net", os.O_RDONLY)
if len(sys.argv) > 2:
    other = os.open(sys.argv[2], os.O_RDONLY)
    assert libc.setns(other, CLONE_NEWNET) == 0, ctypes.get_errno()
    os.close(other)
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", int(sys.argv[1])))
s.listen()
assert libc.setns(home, CLONE_NEWNET) == 0, ctypes.get_errno()
print("ready", flush=True)
sys.stdin.read()
"#;

/// Starts LISTEN in `netns` and waits for its "ready".
fn listen(netns: &mut TestNetns, args: &[&str]) -> Spawned {
    let mut all = vec!["-c", LISTEN];
    all.extend_from_slice(args);
    let mut spawned = netns.spawn(python(), &all);
    let mut line = String::new();
    BufReader::new(spawned.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .expect("read the listener's ready line");
    assert_eq!(line.trim(), "ready", "the listener did not start");
    spawned
}

fn json(out: &Output) -> Vec<Value> {
    assert_eq!(out.code(), Some(0), "{out:?}");
    json_lines(&out.stdout)
}

fn ino(path: &str) -> u64 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("cannot stat {path}: {e}"))
        .ino()
}

/// A netns whose name was deleted is still listed through the sockets of it processes hold:
/// with `--pid` of a holder inside it, and of a holder that opened the socket there and went
/// back to its own netns (the netns then has no process, no name: only the socket).
#[test]
fn a_netns_whose_name_was_deleted_is_found_through_its_sockets() {
    require_root();
    let mut inside = TestNetns::new(false);
    let mut elsewhere = TestNetns::new(false);
    let mut only_socket = TestNetns::new(false);
    let in_it = listen(&mut inside, &["39801"]);
    let path = format!("/run/netns/{}", only_socket.name());
    let from_outside = listen(&mut elsewhere, &["39802", &path]);
    let (inside_ino, socket_ino) = (inside.inode(), only_socket.inode());
    inside.delete_name();
    only_socket.delete_name();
    assert!(!fs::exists(&path).unwrap_or(true), "{path} is still there");

    for (holder, netns, port) in [
        (&in_it, inside_ino, 39801),
        (&from_outside, socket_ino, 39802),
    ] {
        let pid = holder.pid.to_string();
        let out = run(
            &mut dualstack(&["listeners", "-f", "json", "--pid", &pid, "--verify"]),
            TIMEOUT,
        );
        let records = json(&out);
        assert_eq!(records.len(), 1, "--pid {pid}: {out:?}");
        let r = &records[0];
        assert_eq!(
            (&r["netns"], &r["port"]),
            (&netns.into(), &port.into()),
            "{r}"
        );
        assert_eq!(r["netns_name"], Value::Null, "{r}");
        assert_eq!(r["owners"][0]["pid"], holder.pid, "{r}");
        // Entered through the socket: the test connections work there too.
        assert_eq!(r["verify"]["result"], "ok", "{r}");
    }
    // The netns only a socket holds: no process in it, so no pid to name it by.
    let records = json(&run(
        &mut dualstack(&["listeners", "-f", "json", "--port", "39802"]),
        TIMEOUT,
    ));
    let r = records
        .iter()
        .find(|r| r["netns"] == socket_ino)
        .unwrap_or_else(|| panic!("no socket of netns {socket_ino}: {records:?}"));
    assert_eq!(r["netns_pid"], Value::Null, "{r}");
}

/// The key `listeners` uses to place a process it may not read: /proc/PID/net/stat, which is
/// per netns and needs no ptrace access.
fn shares_netns_with_me(pid: u32) -> bool {
    ino(&format!("/proc/{pid}/net/stat")) == ino("/proc/self/net/stat")
}

/// Root without CAP_SYS_PTRACE (as in a container) may not read processes holding capabilities
/// it lacks, pid 1 among them. The warning names them and the reason, and does not tell root to
/// run as root; the host netns is still `pid 1` (never the next pid that could be read).
#[test]
fn root_without_ptrace_is_told_which_processes_and_why() {
    require_root();
    let mut netns = TestNetns::new(false);
    let holder = listen(&mut netns, &["39803"]);
    let mut cmd = Command::new("setpriv");
    cmd.args(["--inh-caps=-all", "--bounding-set=-sys_ptrace"])
        .arg(dualstack_bin())
        .args(["listeners", "-f", "json"]);
    let out = run(&mut cmd, TIMEOUT);
    let records = json(&out);
    let warning = out
        .stderr
        .lines()
        .find(|l| l.contains("permission denied reading"))
        .unwrap_or_else(|| panic!("no warning: {out:?}"));
    assert!(
        warning.contains("processes (pids 1/") && warning.contains(" more)"),
        "{warning}"
    );
    assert!(warning.contains("without CAP_SYS_PTRACE"), "{warning}");
    assert!(warning.contains("CAP_SYS_PTRACE"), "{warning}");
    assert!(!warning.contains("run dualstack as root"), "{warning}");
    assert!(!out.stderr.contains("sudo"), "{}", out.stderr);

    // The holder could not be read: its socket is listed (its netns has a name), without owner.
    let r = records
        .iter()
        .find(|r| r["netns"] == netns.inode() && r["port"] == 39803)
        .unwrap_or_else(|| panic!("no socket on 39803: {records:?}"));
    assert_eq!(r["owners"], Value::Array(Vec::new()), "{r}");
    assert_ne!(r["netns_pid"], holder.pid, "{r}");

    // The host netns (this test's, when it shares pid 1's) is labelled by pid 1, or by nothing.
    let host = ino("/proc/self/ns/net");
    for r in records.iter().filter(|r| r["netns"] == host) {
        if shares_netns_with_me(1) {
            assert_eq!(r["netns_pid"], 1, "{r}");
        } else {
            assert!(r["netns_pid"] != 2, "{r}");
        }
    }
}

/// The library call: the netns this test runs in is labelled `pid 1` when pid 1 shares it,
/// whether or not /proc/1/ns/net can be read (it cannot as root lacking a capability pid 1 has).
#[test]
fn the_netns_of_pid_1_is_labelled_pid_1() {
    require_root();
    let me = std::process::id();
    let all = netns::all();
    let own = all
        .list
        .iter()
        .find(|n| n.pids.contains(&me))
        .expect("own netns");
    if shares_netns_with_me(1) {
        assert_eq!(own.lowest_pid, Some(1), "{own:?}");
        assert_eq!(own.label(), "pid 1");
    } else {
        assert!(own.lowest_pid != Some(2), "{own:?}");
    }
    // Whatever could not be placed keeps every higher "lowest pid" unsure.
    if let Some(&first) = all.unplaced.first() {
        assert!(
            all.list
                .iter()
                .all(|n| n.lowest_pid.is_none_or(|p| p < first)),
            "{all:?}"
        );
    }
}
