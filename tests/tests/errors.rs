//! Failures a user can run into: no privileges, a command that does not exist, bad options.

use std::time::Duration;

use tests::{as_nobody, dualstack, require_root, run, world_runnable_copy};

const TIMEOUT: Duration = Duration::from_secs(30);

/// As nobody, with no capabilities at all: exit 1 and a message naming root, CAP_BPF and
/// CAP_PERFMON.
#[test]
fn unprivileged_user_is_told_what_is_needed() {
    require_root();
    // The binary may live under a directory nobody cannot enter: use a world-runnable copy.
    let (dir, bin) = world_runnable_copy("unpriv");

    for args in [
        &["trace", "--", "true"][..],
        &["trace", "--syscall", "listen"][..],
    ] {
        let mut cmd = as_nobody(None, &bin);
        cmd.args(args).current_dir(dir.path());
        let out = run(&mut cmd, TIMEOUT);
        assert_eq!(
            out.code(),
            Some(1),
            "unprivileged dualstack {args:?} must exit 1: {out:?}"
        );
        for word in ["root", "CAP_BPF", "CAP_PERFMON"] {
            assert!(
                out.stderr.contains(word),
                "unprivileged dualstack {args:?}: the message should mention {word}: {:?}",
                out.stderr
            );
        }
        assert!(
            out.stdout.is_empty(),
            "nothing on stdout expected: {:?}",
            out.stdout
        );
    }
}

#[test]
fn missing_command_fails_clearly() {
    require_root();
    let out = run(&mut dualstack(&["trace", "--", "/nonexistent"]), TIMEOUT);
    assert_ne!(out.code(), Some(0), "{out:?}");
    assert_eq!(
        out.code(),
        Some(1),
        "dualstack trace -- /nonexistent: {out:?}"
    );
    assert!(
        out.stderr.contains("/nonexistent") && out.stderr.contains("No such file or directory"),
        "the message should name the command and the reason: {:?}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "{out:?}");
}

#[test]
fn unknown_syscall_fails_clearly() {
    require_root();
    let out = run(
        &mut dualstack(&["trace", "--syscall", "bogus", "--", "true"]),
        TIMEOUT,
    );
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(
        out.stderr.contains("bogus"),
        "the message should name the bad syscall: {:?}",
        out.stderr
    );
    assert!(
        out.stderr.contains("bind") && out.stderr.contains("listen"),
        "the message should list the valid syscalls: {:?}",
        out.stderr
    );
    // One bad name in a list is enough.
    let out = run(
        &mut dualstack(&["trace", "--syscall", "bind,lisen", "--", "true"]),
        TIMEOUT,
    );
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(out.stderr.contains("lisen"), "{:?}", out.stderr);
}

#[test]
fn bad_options_fail_clearly() {
    require_root();
    let out = run(
        &mut dualstack(&["trace", "--family", "ipx", "--", "true"]),
        TIMEOUT,
    );
    assert_ne!(out.code(), Some(0), "{out:?}");
    assert!(out.stderr.contains("ipx"), "{:?}", out.stderr);
    let out = run(
        &mut dualstack(&["trace", "--pid", "1", "--", "true"]),
        TIMEOUT,
    );
    assert_eq!(out.code(), Some(1), "--pid with a command: {out:?}");
    assert!(out.stderr.contains("not both"), "{:?}", out.stderr);
}

/// With exactly CAP_BPF and CAP_PERFMON and no root uid, tracefs (root's only) cannot be read:
/// the message says so and what to add, not that tracefs is missing.
#[test]
fn bpf_and_perfmon_alone_are_told_about_tracefs() {
    require_root();
    let (dir, bin) = world_runnable_copy("caps");
    let mut cmd = std::process::Command::new("setpriv");
    cmd.args([
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all,+bpf,+perfmon",
        "--ambient-caps=+bpf,+perfmon",
    ])
    .arg(&bin)
    .args(["trace", "--", "true"])
    .current_dir(dir.path());
    let out = run(&mut cmd, TIMEOUT);
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(
        out.stderr
            .contains("mounted at /sys/kernel/tracing but this process may not read it")
            && out.stderr.contains("CAP_DAC_READ_SEARCH"),
        "the message should say tracefs is unreadable and what to add: {:?}",
        out.stderr
    );
    assert!(!out.stderr.contains("is not available"), "{:?}", out.stderr);
}

/// Without any capability the message names the missing ones.
#[test]
fn missing_capabilities_are_named() {
    require_root();
    let (dir, bin) = world_runnable_copy("nocaps");
    let mut cmd = as_nobody(None, &bin);
    cmd.args(["trace", "--", "true"]).current_dir(dir.path());
    let out = run(&mut cmd, TIMEOUT);
    assert!(
        out.stderr.contains("lacks CAP_BPF and CAP_PERFMON"),
        "{:?}",
        out.stderr
    );
}

/// `trace --` with nothing after it is refused, not taken as "trace the whole host".
#[test]
fn a_double_dash_without_a_command_is_refused() {
    require_root();
    let out = run(&mut dualstack(&["trace", "--"]), TIMEOUT);
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(
        out.stderr.contains("nothing to run after `--`"),
        "{:?}",
        out.stderr
    );
}

/// `-p` with a thread id follows the thread's process, as strace attaches to a thread.
#[test]
fn a_thread_id_given_to_pid_follows_its_process() {
    require_root();
    let script = "import threading, time, socket, sys\n\
                  ids = []\n\
                  ready = threading.Event()\n\
                  def run():\n    \
                      ids.append(threading.get_native_id()); ready.set(); time.sleep(6)\n\
                  t = threading.Thread(target=run); t.start(); ready.wait()\n\
                  print(ids[0], flush=True)\n\
                  time.sleep(4)\n\
                  s = socket.socket(); s.bind(('127.0.0.1', 0)); s.close()\n\
                  t.join()\n";
    let mut target = std::process::Command::new(tests::python());
    target
        .args(["-c", script])
        .stdout(std::process::Stdio::piped());
    let mut target = tests::Guard::spawn(&mut target);
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(target.child.stdout.take().expect("stdout")),
        &mut line,
    )
    .expect("thread id");
    let tid = line.trim().to_owned();
    let out = run(
        &mut dualstack(&["trace", "-p", &tid, "--syscall", "bind"]),
        TIMEOUT,
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(
        out.stderr
            .contains(&format!("{tid} is a thread of process {}", target.id())),
        "{:?}",
        out.stderr
    );
    assert!(out.stdout.contains("bind("), "the process's bind: {out:?}");
}
