//! `dualstack trace` against real strace 6.1: every scenario script runs once under
//! `strace -f -qq -o FILE` and once under `dualstack trace -o FILE`, and the two outputs must
//! be the same once what legitimately varies between runs is normalised (pids, alignment that
//! depends on the pid width, user pointers, ports, nl_pad; see tests/STRACE_FORMAT.md).
//! Plus a byte-for-byte check of `dualstack trace` (stdout, no leader) against strace without -f.

use std::{fs, path::Path, process::Command, time::Duration};

use tests::{
    check_alignment, compare, dualstack, golden, normalise, port_base, program, python,
    require_root, run, TempDir, TRACE_SET,
};

const TIMEOUT: Duration = Duration::from_secs(40);

/// Port bases for this binary: 20000 + k * 200, k < 40 (the scenario tests use 28000 and up).
fn next_base() -> u16 {
    port_base(20000, 40)
}

fn run_strace(script: &Path, out: &Path, base: u16, cwd: &Path) -> i32 {
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-o"])
        .arg(out)
        .arg("-e")
        .arg(format!("trace={TRACE_SET}"))
        .arg(python())
        .arg(script)
        .env("DUALSTACK_TEST_PORT", base.to_string())
        .current_dir(cwd);
    let output = run(&mut cmd, TIMEOUT);
    let code = output
        .code()
        .unwrap_or_else(|| panic!("strace was killed: {output:?}"));
    assert_eq!(
        code,
        0,
        "{} failed under strace: {}",
        script.display(),
        output.stderr
    );
    code
}

fn run_dualstack(script: &Path, out: &Path, base: u16, cwd: &Path, extra: &[&str]) -> i32 {
    // strace -e trace=close shows every close: so does --every-close.
    let mut cmd = dualstack(&["trace", "--every-close"]);
    cmd.args(extra)
        .arg("-o")
        .arg(out)
        .arg("--")
        .arg(python())
        .arg(script)
        .env("DUALSTACK_TEST_PORT", base.to_string())
        .current_dir(cwd);
    let output = run(&mut cmd, TIMEOUT);
    assert!(
        !output.stderr.contains("lost") && !output.stderr.contains("could not be decoded"),
        "dualstack reported a problem: {}",
        output.stderr
    );
    output
        .code()
        .unwrap_or_else(|| panic!("dualstack was killed by a signal: {output:?}"))
}

/// Checks the raw `-o` output of dualstack: `%-5u ` leaders and the column-40 alignment.
fn check_raw_dualstack(text: &str) {
    let mut bad = Vec::new();
    for line in text.lines() {
        let Some((pid, _)) = line.split_once(' ') else {
            bad.push(format!("no pid leader: {line:?}"));
            continue;
        };
        match pid.parse::<u32>() {
            Ok(pid) if line.starts_with(&format!("{pid:<5} ")) => {}
            _ => bad.push(format!("leader is not `%-5u `: {line:?}")),
        }
        if let Err(e) = check_alignment(line) {
            bad.push(e);
        }
    }
    assert!(
        bad.is_empty(),
        "dualstack -o output breaks strace's layout:\n{}",
        bad.join("\n")
    );
}

fn compat(name: &str) {
    compat_with(name, &[]);
}

/// `compat` with more options for `dualstack trace`.
fn compat_with(name: &str, extra: &[&str]) {
    require_root();
    let script = program(&format!("{name}.py"));
    let dir = TempDir::new(name);
    let (strace_base, ds_base) = (next_base(), next_base());
    let strace_out = dir.join("strace.txt");
    let ds_out = dir.join("dualstack.txt");

    let strace_code = run_strace(&script, &strace_out, strace_base, dir.path());
    let ds_code = run_dualstack(&script, &ds_out, ds_base, dir.path(), extra);
    assert_eq!(
        ds_code, strace_code,
        "dualstack's exit status differs from the program's under strace"
    );

    let strace_text = fs::read_to_string(&strace_out).expect("strace output");
    let ds_text = fs::read_to_string(&ds_out).expect("dualstack output");
    check_raw_dualstack(&ds_text);
    let expected = normalise(&strace_text, strace_base);
    let actual = normalise(&ds_text, ds_base);
    assert!(
        expected.line_count() > 50,
        "strace traced almost nothing:\n{strace_text}"
    );
    if let Err(report) = compare("strace", &expected, "dualstack", &actual) {
        // Keep the raw outputs for a look after the test.
        let keep = std::env::temp_dir().join(format!("dualstack-e2e-failed-{name}"));
        let _ = fs::create_dir_all(&keep);
        let _ = fs::write(keep.join("strace.txt"), &strace_text);
        let _ = fs::write(keep.join("dualstack.txt"), &ds_text);
        panic!(
            "{name}.py: dualstack trace differs from strace (raw outputs kept in {}):\n{report}",
            keep.display()
        );
    }
}

#[test]
fn listeners_matches_strace() {
    compat("listeners");
}

#[test]
fn options_matches_strace() {
    compat("options");
}

#[test]
fn failures_matches_strace() {
    compat("failures");
}

#[test]
fn eacces_matches_strace() {
    compat("eacces");
}

#[test]
fn families_matches_strace() {
    compat("families");
}

#[test]
fn accept_matches_strace() {
    compat("accept");
}

#[test]
fn threads_matches_strace() {
    compat("threads");
}

#[test]
fn forking_matches_strace() {
    compat("forking");
}

/// The exit dispatcher attached as a raw tracepoint (kernels without BTF) reads the same
/// registers through a helper: the same lines.
#[test]
fn failures_match_strace_through_the_raw_tracepoint() {
    compat_with("failures", &["--exit-hook", "raw-tp"]);
}

#[test]
fn accept_matches_strace_through_the_raw_tracepoint() {
    compat_with("accept", &["--exit-hook", "raw-tp"]);
}

/// The per-socket state in an LRU map instead of the plain hash: the same lines.
#[test]
fn options_match_strace_with_the_lru_state_map() {
    compat_with("options", &["--state-map", "lru"]);
}

/// Without -f, strace prints one process's calls with no leader; `dualstack trace` without -o
/// on one process prints exactly that on stdout. Both run here, one after the other on the
/// same ports, so the comparison is byte for byte (fd numbers depend on the host's libc and
/// python, so a stored golden cannot be compared byte for byte on every machine).
#[test]
fn single_process_stdout_matches_strace_bytes() {
    require_root();
    let base = next_base();
    let dir = TempDir::new("nof");
    let strace_out = dir.join("strace.out");
    let mut cmd = Command::new("strace");
    cmd.arg("-o")
        .arg(&strace_out)
        .arg("-e")
        .arg(format!("trace={TRACE_SET}"))
        .arg(python())
        .arg(program("listeners.py"))
        .env("DUALSTACK_TEST_PORT", base.to_string())
        .current_dir(dir.path());
    let st = run(&mut cmd, TIMEOUT);
    assert_eq!(
        st.code(),
        Some(0),
        "listeners.py under strace: {}",
        st.stderr
    );
    let strace_text = std::fs::read_to_string(&strace_out).expect("strace output");

    let mut cmd = dualstack(&["trace", "--every-close", "--"]);
    cmd.arg(python())
        .arg(program("listeners.py"))
        .env("DUALSTACK_TEST_PORT", base.to_string())
        .current_dir(dir.path());
    let out = run(&mut cmd, TIMEOUT);
    assert_eq!(
        out.code(),
        Some(0),
        "dualstack trace failed: {}",
        out.stderr
    );

    let want: Vec<&str> = strace_text
        .lines()
        .filter(|l| !l.starts_with("+++ ") && !l.starts_with("--- "))
        .collect();
    let got: Vec<&str> = out.stdout.lines().collect();

    // The stored golden pins the shapes strace prints for these calls: each shape must be
    // in today's strace output and in dualstack's.
    let gold = golden("listeners.nof.strace");
    let shapes = [
        r#"sin6_port=htons(47006), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::ffff:127.0.0.1", &sin6_addr), sin6_scope_id=0}, 28) = 0"#,
        "setsockopt(3, SOL_IPV6, IPV6_V6ONLY, [0], 4) = 0",
        r#"sin_port=htons(47002), sin_addr=inet_addr("0.0.0.0")}, 16) = 0"#,
        "socket(AF_INET6, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_TCP) = ",
        "listen(3, 128)                          = 0",
    ];
    for shape in shapes {
        assert!(gold.contains(shape), "the golden itself lacks {shape:?}");
    }
    for shape in shapes.map(|s| rebase(s, base)) {
        assert!(
            strace_text.contains(&shape),
            "strace's output lacks {shape:?}:\n{strace_text}"
        );
        assert!(
            out.stdout.contains(&shape),
            "dualstack's stdout lacks {shape:?}:\n{}",
            out.stdout
        );
    }
    for line in &got {
        assert!(
            check_alignment(line).is_ok(),
            "{}",
            check_alignment(line).unwrap_err()
        );
    }
    if got != want {
        let a: Vec<String> = want.iter().map(|s| (*s).to_owned()).collect();
        let b: Vec<String> = got.iter().map(|s| (*s).to_owned()).collect();
        panic!(
            "dualstack's stdout differs from strace's:\n{}",
            tests::diff_lines(&a, &b, "strace", "dualstack")
        );
    }
    assert_eq!(
        out.stdout.as_bytes().last(),
        Some(&b'\n'),
        "the output must end with a newline"
    );
}

/// Moves the golden's port numbers (base 47000) to this run's base.
fn rebase(shape: &str, base: u16) -> String {
    let mut out = shape.to_owned();
    for offset in 0..20u16 {
        let from = format!("htons({})", 47000 + offset);
        if out.contains(&from) {
            out = out.replace(&from, &format!("htons({})", base + offset));
            break;
        }
    }
    out
}

/// Without -o, strace -f writes to stderr with `[pid N] ` leaders only while several tasks
/// are traced; `dualstack trace` without -o writes the same to stdout. forking.py's parent
/// only waits while a child runs, so every child line has a leader and no parent line does.
#[test]
fn forking_stdout_leaders_match_strace_stderr() {
    require_root();
    let script = program("forking.py");
    let dir = TempDir::new("forking-stderr");
    let (strace_base, ds_base) = (next_base(), next_base());

    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-e"])
        .arg(format!("trace={TRACE_SET}"))
        .arg(python())
        .arg(&script)
        .env("DUALSTACK_TEST_PORT", strace_base.to_string())
        .current_dir(dir.path());
    let st = run(&mut cmd, TIMEOUT);
    assert_eq!(st.code(), Some(0), "forking.py under strace: {}", st.stderr);

    let mut cmd = dualstack(&["trace", "--every-close", "--"]);
    cmd.arg(python())
        .arg(&script)
        .env("DUALSTACK_TEST_PORT", ds_base.to_string())
        .current_dir(dir.path());
    let ds = run(&mut cmd, TIMEOUT);
    assert_eq!(
        ds.code(),
        Some(0),
        "forking.py under dualstack: {}",
        ds.stderr
    );

    let bracket = regex::Regex::new(r"^\[pid [ \d]{5}\] ").expect("regex");
    for line in ds.stdout.lines() {
        assert!(
            check_alignment(line).is_ok(),
            "{}",
            check_alignment(line).unwrap_err()
        );
        assert!(
            !line.starts_with('[') || bracket.is_match(line),
            "leader is not `[pid %5u] `: {line:?}"
        );
    }
    let expected = normalise(&st.stderr, strace_base);
    let actual = normalise(&ds.stdout, ds_base);
    // Lines without a leader are task 0: the parent's, before and after the children.
    assert_eq!(
        expected.tasks[0].tid, 0,
        "strace printed a leader on its first line:\n{}",
        st.stderr
    );
    if let Err(report) = compare("strace (stderr)", &expected, "dualstack (stdout)", &actual) {
        panic!("forking.py: leaders or lines differ:\n{report}");
    }
}
