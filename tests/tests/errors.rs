//! Failures a user can run into: no privileges, a command that does not exist, bad options.

use std::{fs, os::unix::fs::PermissionsExt as _, time::Duration};

use tests::{as_nobody, dualstack, dualstack_bin, require_root, run, TempDir};

const TIMEOUT: Duration = Duration::from_secs(30);

/// As nobody, with no capabilities at all: exit 1 and a message naming root, CAP_BPF and
/// CAP_PERFMON.
#[test]
fn unprivileged_user_is_told_what_is_needed() {
    require_root();
    // The binary may live under a directory nobody cannot enter: use a world-readable copy.
    let dir = TempDir::new("unpriv");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod dir");
    let bin = dir.join("dualstack");
    fs::copy(dualstack_bin(), &bin).expect("copy the binary");
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).expect("chmod binary");

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
