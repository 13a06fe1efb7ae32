//! A network namespace for one test: created under a unique name with `lo` up and
//! `net.ipv6.bindv6only` set, and deleted on drop after the processes started in it are killed.
//! Tests that open sockets do it in here, on its loopback, and nowhere else.

use std::{
    ffi::OsStr,
    fs,
    os::unix::fs::MetadataExt as _,
    process::{ChildStdin, ChildStdout, Command, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    time::Duration,
};

use crate::{run, Guard, Output};

const TIMEOUT: Duration = Duration::from_secs(20);

/// A process started inside a [`TestNetns`], with the pipes it was given.
pub struct Spawned {
    pub pid: u32,
    pub stdin: Option<ChildStdin>,
    pub stdout: Option<ChildStdout>,
}

/// A named network namespace, removed on drop.
pub struct TestNetns {
    name: String,
    children: Vec<Guard>,
    /// The /run/netns name was deleted (the netns lives on while something holds it).
    unnamed: bool,
}

impl TestNetns {
    /// Creates `ds-<pid>-<n>` with `lo` up and `net.ipv6.bindv6only` set as asked.
    pub fn new(bindv6only: bool) -> TestNetns {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "ds-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        // A namespace left by an earlier run that had our pid: start clean.
        let _ = run(Command::new("ip").args(["netns", "del", &name]), TIMEOUT);
        let netns = TestNetns {
            name,
            children: Vec::new(),
            unnamed: false,
        };
        netns.check(Command::new("ip").args(["netns", "add", &netns.name]));
        netns.check(&mut netns.command_args(&["ip", "link", "set", "lo", "up"]));
        let sysctl = format!("net.ipv6.bindv6only={}", u8::from(bindv6only));
        netns.check(&mut netns.command_args(&["sysctl", "-w", &sysctl]));
        netns
    }

    /// Runs `cmd` to completion and panics unless it succeeds.
    fn check(&self, cmd: &mut Command) -> Output {
        let out = run(cmd, TIMEOUT);
        assert!(
            out.status.success(),
            "netns {}: {cmd:?} failed: {out:?}",
            self.name
        );
        out
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The inode of the namespace, as dualstack reports it in `netns`.
    pub fn inode(&self) -> u64 {
        let path = format!("/run/netns/{}", self.name);
        fs::metadata(&path)
            .unwrap_or_else(|e| panic!("cannot stat {path}: {e}"))
            .ino()
    }

    /// `ip netns exec NAME PROGRAM` (add arguments to it).
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name]).arg(program);
        cmd
    }

    fn command_args(&self, args: &[&str]) -> Command {
        let mut cmd = self.command(args[0]);
        cmd.args(&args[1..]);
        cmd
    }

    /// Runs ARGS inside the namespace to completion; panics unless it succeeds.
    pub fn exec(&self, args: &[&str]) -> Output {
        self.check(&mut self.command_args(args))
    }

    /// Starts `program ARGS` inside the namespace with piped stdin and stdout. `ip netns exec`
    /// execs the program, so the pid is the program's own. Killed before the namespace goes.
    pub fn spawn(&mut self, program: impl AsRef<OsStr>, args: &[&str]) -> Spawned {
        let mut cmd = self.command(program);
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut guard = Guard::spawn(&mut cmd);
        let spawned = Spawned {
            pid: guard.id(),
            stdin: guard.child.stdin.take(),
            stdout: guard.child.stdout.take(),
        };
        self.children.push(guard);
        spawned
    }
}

impl TestNetns {
    /// `ip netns delete NAME`: the name goes, the netns lives on while a process or a socket
    /// holds it. Its processes are still killed on drop.
    pub fn delete_name(&mut self) {
        self.check(Command::new("ip").args(["netns", "delete", &self.name]));
        self.unnamed = true;
    }
}

impl Drop for TestNetns {
    fn drop(&mut self) {
        // Guards kill their process groups (only processes this test started).
        self.children.clear();
        if self.unnamed {
            return;
        }
        let out = run(
            Command::new("ip").args(["netns", "del", &self.name]),
            TIMEOUT,
        );
        if !out.status.success() {
            eprintln!("cannot delete netns {}: {}", self.name, out.stderr);
        }
    }
}
