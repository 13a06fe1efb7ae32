//! Helpers shared by the end-to-end tests: finding the binary and the interpreter, running
//! commands with a deadline, temporary directories, and normalising strace-format traces so
//! that two runs of the same program (one under strace, one under dualstack) can be compared.

use std::{
    collections::HashMap,
    fmt::Write as _,
    fs,
    os::unix::process::CommandExt as _,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{
        atomic::{AtomicU32, Ordering},
        OnceLock,
    },
    thread,
    time::{Duration, Instant},
};

use regex::Regex;

pub mod daemon;
pub mod nats;
pub mod netns;

/// The syscalls dualstack traces, as given to `strace -e trace=`.
pub const TRACE_SET: &str = "socket,socketpair,setsockopt,bind,listen,connect,accept,accept4,close";

/// Every scenario script uses ports BASE + 0..140 (see the scripts' docstrings).
pub const PORT_SPAN: u16 = 200;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The dualstack binary: $DUALSTACK_BIN, else target/release/dualstack.
pub fn dualstack_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("DUALSTACK_BIN") {
        let bin = PathBuf::from(bin);
        assert!(
            bin.is_file(),
            "DUALSTACK_BIN={} does not exist: run the tests with `cargo xtask test`",
            bin.display()
        );
        return bin;
    }
    let bin = workspace_root().join("target/release/dualstack");
    assert!(
        bin.is_file(),
        "DUALSTACK_BIN is not set and {} does not exist: build it with `cargo xtask build` \
         or run the tests with `cargo xtask test`",
        bin.display()
    );
    bin
}

/// Fails the test unless it runs as root (dualstack loads eBPF programs, strace needs ptrace).
pub fn require_root() {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "the end-to-end tests need root (they load eBPF programs): run `cargo xtask test` as root"
    );
}

/// The real python3 interpreter (not the pyenv shim, which forks bash helpers).
pub fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let out = Command::new("python3")
            .args(["-c", "import sys;print(sys.executable)"])
            .output()
            .expect("cannot run python3: the tests need a python3 on PATH");
        assert!(out.status.success(), "python3 -c failed: {out:?}");
        let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        assert!(
            path.is_file(),
            "python3 says its executable is {}, which does not exist",
            path.display()
        );
        path
    })
}

/// A scenario script in tests/programs.
pub fn program(name: &str) -> PathBuf {
    let path = workspace_root().join("tests/programs").join(name);
    assert!(path.is_file(), "missing scenario script {}", path.display());
    path
}

/// A golden file in tests/golden.
pub fn golden(name: &str) -> String {
    let path = workspace_root().join("tests/golden").join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A fresh port base for one run of a script: `first + k * PORT_SPAN` for the k-th call in
/// this test binary, rotated by the process id so that back-to-back runs of the suite do not
/// reuse ports still in TIME_WAIT. Every base stays below the ephemeral range (32768).
pub fn port_base(first: u16, slots: u16) -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let k = NEXT.fetch_add(1, Ordering::Relaxed);
    assert!(
        k < u32::from(slots),
        "more than {slots} port bases asked for"
    );
    let rotated = (k + std::process::id()) % u32::from(slots);
    let base = u32::from(first) + rotated * u32::from(PORT_SPAN);
    assert!(
        base + u32::from(PORT_SPAN) <= 32768,
        "port base {base} reaches the ephemeral range"
    );
    base as u16
}

/// A temporary directory, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "dualstack-e2e-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// What a finished command left behind.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

/// A child started in its own process group; the group is killed (by its id) on drop.
pub struct Guard {
    pub child: Child,
    done: bool,
}

impl Guard {
    /// Starts `cmd` in a new process group.
    pub fn spawn(cmd: &mut Command) -> Self {
        cmd.process_group(0);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        Guard { child, done: false }
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `timeout` for the child; on timeout kills its group and panics.
    pub fn wait(&mut self, timeout: Duration, what: &str) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                self.done = true;
                return status;
            }
            if Instant::now() > deadline {
                self.kill();
                panic!("{what} did not finish within {timeout:?}; killed it");
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGKILL to the child's process group (only processes this test started).
    pub fn kill(&mut self) {
        if !self.done {
            let pgid = self.child.id() as libc::pid_t;
            // SAFETY: kill has no memory preconditions; the group is the one we created.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
            let _ = self.child.wait();
            self.done = true;
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `cmd` to completion (at most `timeout`), capturing stdout and stderr through files.
pub fn run(cmd: &mut Command, timeout: Duration) -> Output {
    let dir = TempDir::new("run");
    let out_path = dir.join("stdout");
    let err_path = dir.join("stderr");
    cmd.stdin(Stdio::null())
        .stdout(fs::File::create(&out_path).expect("stdout file"))
        .stderr(fs::File::create(&err_path).expect("stderr file"));
    let what = format!("{cmd:?}");
    let mut guard = Guard::spawn(cmd);
    let status = guard.wait(timeout, &what);
    Output {
        status,
        stdout: String::from_utf8_lossy(&fs::read(&out_path).unwrap_or_default()).into_owned(),
        stderr: String::from_utf8_lossy(&fs::read(&err_path).unwrap_or_default()).into_owned(),
    }
}

/// `dualstack ARGS` as a Command.
pub fn dualstack(args: &[&str]) -> Command {
    let mut cmd = Command::new(dualstack_bin());
    cmd.args(args);
    cmd
}

/// `dualstack trace ARGS --` as a program and its arguments, to put before a command.
pub fn dualstack_trace_argv(args: &[&str]) -> Vec<String> {
    std::iter::once(dualstack_bin().display().to_string())
        .chain(std::iter::once("trace".to_owned()))
        .chain(args.iter().map(|&a| a.to_owned()))
        .chain(std::iter::once("--".to_owned()))
        .collect()
}

/// The JSON events of `syscall` that succeeded.
pub fn succeeded<'a>(events: &'a [serde_json::Value], syscall: &str) -> Vec<&'a serde_json::Value> {
    events
        .iter()
        .filter(|e| e["syscall"] == syscall && e["ret"].as_i64().is_some_and(|r| r >= 0))
        .collect()
}

/// A copy of the dualstack binary that any user may run, in a directory of its own (the
/// build's directory may be closed to other users).
pub fn world_runnable_copy(tag: &str) -> (TempDir, PathBuf) {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = TempDir::new(tag);
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod dir");
    let bin = dir.join("dualstack");
    fs::copy(dualstack_bin(), &bin).expect("copy the binary");
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).expect("chmod binary");
    (dir, bin)
}

/// Checks strace's `acolumn` rule on one complete line: with H the text up to and including
/// the `") "` before `"= "`, `max(0, 40 - len(H))` spaces follow: `=` sits at column 40
/// when H is shorter, else exactly one space separates `)` and `=`.
pub fn check_alignment(line: &str) -> Result<(), String> {
    static RESULT: OnceLock<Regex> = OnceLock::new();
    let re = RESULT.get_or_init(|| Regex::new(r"^(.*\)) ( *)(= .*)$").expect("regex"));
    let Some(c) = re.captures(line) else {
        return Err(format!("no ` = ` result in line {line:?}"));
    };
    let head = c[1].len() + 1;
    let pad = c[2].len();
    let want = 40usize.saturating_sub(head);
    if pad == want {
        Ok(())
    } else {
        Err(format!(
            "misaligned result: {head} characters before the padding, {pad} padding spaces, expected {want}: {line:?}"
        ))
    }
}

// ---------------------------------------------------------------------------------------
// Normalising strace-format text.

/// The lines of one task (thread), in order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Task {
    pub tid: u32,
    pub lines: Vec<String>,
}

/// A normalised trace: tasks in order of their first (complete) line.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    pub tasks: Vec<Task>,
}

impl Trace {
    /// Every line, in task order (for messages).
    pub fn line_count(&self) -> usize {
        self.tasks.iter().map(|t| t.lines.len()).sum()
    }
}

struct Patterns {
    leader: Regex,
    bracket: Regex,
    resumed: Regex,
    align: Regex,
    pointer: Regex,
    nl_pad: Regex,
    htons: Regex,
    sa_data: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| Patterns {
        leader: Regex::new(r"^(\d+) +(.*)$").expect("regex"),
        bracket: Regex::new(r"^\[pid +(\d+)\] (.*)$").expect("regex"),
        resumed: Regex::new(r"^<\.\.\. (\w+) resumed>(.*)$").expect("regex"),
        align: Regex::new(r"^(.*\)) +(= .*)$").expect("regex"),
        pointer: Regex::new(r"\b0x[0-9a-f]{9,}\b").expect("regex"),
        nl_pad: Regex::new(r"nl_pad=0x[0-9a-f]+, ").expect("regex"),
        htons: Regex::new(r"htons\((\d+)\)").expect("regex"),
        sa_data: Regex::new(r#"sa_family=(AF_INET6?), sa_data="((?:[^"\\]|\\.)*)""#)
            .expect("regex"),
    })
}

/// How a port number is written after normalisation: the offset from the run's base, `EPH`
/// for an ephemeral port (accept peers), else unchanged (80, 53, 0...).
fn port_label(port: u32, base: u16) -> String {
    let base = u32::from(base);
    if (base..base + u32::from(PORT_SPAN)).contains(&port) {
        format!("BASE+{}", port - base)
    } else if port >= 32768 {
        "EPH".to_owned()
    } else {
        port.to_string()
    }
}

/// Splits the inside of a strace-quoted string into one token per byte, returning the tokens
/// (their escaped text) and the byte values.
fn quoted_bytes(text: &str) -> Vec<(String, u8)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '\\' || i + 1 == chars.len() {
            out.push((chars[i].to_string(), chars[i] as u8));
            i += 1;
            continue;
        }
        let next = chars[i + 1];
        let simple = match next {
            't' => Some(b'\t'),
            'n' => Some(b'\n'),
            'v' => Some(0x0b),
            'f' => Some(0x0c),
            'r' => Some(b'\r'),
            '"' => Some(b'"'),
            '\\' => Some(b'\\'),
            _ => None,
        };
        if let Some(b) = simple {
            out.push((chars[i..i + 2].iter().collect(), b));
            i += 2;
            continue;
        }
        let mut j = i + 1;
        while j < chars.len() && j < i + 4 && ('0'..='7').contains(&chars[j]) {
            j += 1;
        }
        let digits: String = chars[i + 1..j].iter().collect();
        let value = u32::from_str_radix(&digits, 8).unwrap_or(0) as u8;
        out.push((chars[i..j].iter().collect(), value));
        i = j.max(i + 1);
    }
    out
}

/// Normalises one complete line (leader already removed).
pub fn normalise_line(line: &str, base: u16) -> String {
    let p = patterns();
    let line = match p.align.captures(line) {
        Some(c) => format!("{} {}", &c[1], &c[2]),
        None => line.to_owned(),
    };
    let line = p.pointer.replace_all(&line, "PTR");
    // CPython leaves nl_pad uninitialised: present or not, its value is garbage.
    let line = p.nl_pad.replace_all(&line, "");
    let line = p.htons.replace_all(&line, |c: &regex::Captures| {
        format!("htons({})", port_label(c[1].parse().unwrap_or(0), base))
    });
    // Raw AF_INET/AF_INET6 sa_data starts with the port (network order).
    let line = p.sa_data.replace_all(&line, |c: &regex::Captures| {
        let tokens = quoted_bytes(&c[2]);
        if tokens.len() < 2 {
            return c[0].to_owned();
        }
        let port = u32::from(tokens[0].1) << 8 | u32::from(tokens[1].1);
        let rest: String = tokens[2..].iter().map(|t| t.0.as_str()).collect();
        format!(
            "sa_family={}, sa_data=<port {}>\"{rest}\"",
            &c[1],
            port_label(port, base)
        )
    });
    line.into_owned()
}

/// Normalises strace-format text: leaders dropped (lines grouped per task), `+++`/`---`/`strace:`
/// lines dropped, `<unfinished ...>`/`<... resumed>` pairs merged, alignment collapsed, pointers,
/// nl_pad and ports (relative to `base`) replaced. Lines without a leader belong to task 0.
pub fn normalise(text: &str, base: u16) -> Trace {
    let p = patterns();
    let mut trace = Trace::default();
    let mut index: HashMap<u32, usize> = HashMap::new();
    let mut pending: HashMap<u32, String> = HashMap::new();
    for raw in text.lines() {
        if raw.is_empty() || raw.starts_with("strace: ") {
            continue;
        }
        let (tid, rest) = if let Some(c) = p.leader.captures(raw) {
            (
                c[1].parse::<u32>().expect("tid"),
                c.get(2).expect("rest").as_str(),
            )
        } else if let Some(c) = p.bracket.captures(raw) {
            (
                c[1].parse::<u32>().expect("tid"),
                c.get(2).expect("rest").as_str(),
            )
        } else {
            (0, raw)
        };
        if rest.starts_with("+++ ") || rest.starts_with("--- ") || rest.starts_with("strace: ") {
            continue;
        }
        if let Some(head) = rest.strip_suffix(" <unfinished ...>") {
            pending.insert(tid, head.to_owned());
            continue;
        }
        let line = if let Some(c) = p.resumed.captures(rest) {
            // On stderr strace drops the leader once one task is left: then the resumed line
            // has none, and it resumes the only pending call.
            let head = pending
                .remove(&tid)
                .or_else(|| {
                    let only =
                        (pending.len() == 1).then(|| *pending.keys().next().expect("one"))?;
                    pending.remove(&only)
                })
                .unwrap_or_else(|| {
                    panic!(
                        "`<... {} resumed>` of task {tid} without its <unfinished ...> line",
                        &c[1]
                    )
                });
            assert!(
                head.starts_with(&format!("{}(", &c[1])),
                "task {tid}: `<... {} resumed>` does not resume {head:?}",
                &c[1]
            );
            format!("{head}{}", &c[2])
        } else {
            rest.to_owned()
        };
        let i = *index.entry(tid).or_insert_with(|| {
            trace.tasks.push(Task {
                tid,
                lines: Vec::new(),
            });
            trace.tasks.len() - 1
        });
        trace.tasks[i].lines.push(normalise_line(&line, base));
    }
    trace
}

/// Compares two normalised traces: per task strictly in order; tasks matched by order of
/// first appearance, or else as a multiset (the order between tasks may differ between runs).
/// Returns a readable report of the first differences on mismatch.
pub fn compare(
    expected_name: &str,
    expected: &Trace,
    actual_name: &str,
    actual: &Trace,
) -> Result<(), String> {
    let by_order = expected.tasks.len() == actual.tasks.len()
        && expected
            .tasks
            .iter()
            .zip(&actual.tasks)
            .all(|(a, b)| a.lines == b.lines);
    if by_order {
        return Ok(());
    }
    let mut a: Vec<&Vec<String>> = expected.tasks.iter().map(|t| &t.lines).collect();
    let mut b: Vec<&Vec<String>> = actual.tasks.iter().map(|t| &t.lines).collect();
    a.sort();
    b.sort();
    if a == b {
        return Ok(());
    }
    let mut report = format!(
        "{expected_name}: {} tasks, {} lines; {actual_name}: {} tasks, {} lines\n",
        expected.tasks.len(),
        expected.line_count(),
        actual.tasks.len(),
        actual.line_count()
    );
    let empty = Task {
        tid: 0,
        lines: Vec::new(),
    };
    let mut shown = 0;
    for i in 0..expected.tasks.len().max(actual.tasks.len()) {
        let e = expected.tasks.get(i).unwrap_or(&empty);
        let g = actual.tasks.get(i).unwrap_or(&empty);
        if e.lines == g.lines {
            continue;
        }
        let _ = writeln!(
            report,
            "task #{i} ({expected_name} tid {}, {actual_name} tid {}):",
            e.tid, g.tid
        );
        report.push_str(&diff_lines(&e.lines, &g.lines, expected_name, actual_name));
        shown += 1;
        if shown == 3 {
            report.push_str("(more differing tasks not shown)\n");
            break;
        }
    }
    Err(report)
}

/// The first differing lines of two sequences, with a little context.
pub fn diff_lines(a: &[String], b: &[String], a_name: &str, b_name: &str) -> String {
    let first = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let mut out = String::new();
    let from = first.saturating_sub(2);
    for line in &a[from..first] {
        let _ = writeln!(out, "    {line}");
    }
    for k in first..(first + 6) {
        match (a.get(k), b.get(k)) {
            (None, None) => break,
            (x, y) if x == y => {
                let _ = writeln!(out, "    {}", x.expect("some"));
            }
            (x, y) => {
                if let Some(x) = x {
                    let _ = writeln!(out, "  - {x}    [{a_name} line {}]", k + 1);
                }
                if let Some(y) = y {
                    let _ = writeln!(out, "  + {y}    [{b_name} line {}]", k + 1);
                }
            }
        }
    }
    let _ = writeln!(
        out,
        "  ({a_name}: {} lines, {b_name}: {} lines)",
        a.len(),
        b.len()
    );
    out
}

/// Parses JSON Lines output into values (panics with the bad line on error).
pub fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// `program` run as nobody (uid and gid 65534) with no capabilities at all, in `groups`
/// (setpriv's comma-separated list) or none.
pub fn as_nobody(groups: Option<&str>, program: &Path) -> Command {
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534"]);
    match groups {
        Some(groups) => cmd.arg(format!("--groups={groups}")),
        None => cmd.arg("--clear-groups"),
    };
    cmd.args(["--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"])
        .arg(program);
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_and_normalises() {
        let text = "\
100   accept4(3,  <unfinished ...>
99    connect(5, {sa_family=AF_INET6, sin6_port=htons(20110)}, 28) = 0
100   <... accept4 resumed>{sa_family=AF_INET6, sin6_port=htons(43366)}, [28], SOCK_CLOEXEC) = 4
100   +++ exited with 0 +++
99    bind(3, {sa_family=AF_INET, sa_data=\"N\\\\\\177\\0\\0\\1\"}, 8) = -1 EINVAL (Invalid argument)
99    bind(3, 0x7fcee6761df0, 1)        = -1 EINVAL (Invalid argument)
";
        let t = normalise(text, 20000);
        assert_eq!(t.tasks.len(), 2);
        assert_eq!(t.tasks[0].tid, 99);
        assert_eq!(
            t.tasks[0].lines,
            [
                "connect(5, {sa_family=AF_INET6, sin6_port=htons(BASE+110)}, 28) = 0",
                "bind(3, {sa_family=AF_INET, sa_data=<port BASE+60>\"\\177\\0\\0\\1\"}, 8) = -1 EINVAL (Invalid argument)",
                "bind(3, PTR, 1) = -1 EINVAL (Invalid argument)",
            ]
        );
        assert_eq!(
            t.tasks[1].lines,
            ["accept4(3, {sa_family=AF_INET6, sin6_port=htons(EPH)}, [28], SOCK_CLOEXEC) = 4"]
        );
    }

    #[test]
    fn compare_orders_tasks_loosely_and_lines_strictly() {
        let a = normalise(
            "1 close(3) = 0\n1 close(4) = 0\n2 listen(3, 1) = 0\n",
            20000,
        );
        let swapped_tasks = normalise(
            "7 listen(3, 1) = 0\n5 close(3) = 0\n5 close(4) = 0\n",
            20000,
        );
        let swapped_lines = normalise(
            "5 close(4) = 0\n5 close(3) = 0\n7 listen(3, 1) = 0\n",
            20000,
        );
        assert!(compare("a", &a, "b", &swapped_tasks).is_ok());
        let report = compare("a", &a, "b", &swapped_lines).unwrap_err();
        assert!(
            report.contains("- close(3) = 0") && report.contains("+ close(4) = 0"),
            "{report}"
        );
    }

    #[test]
    fn alignment_rule() {
        assert!(check_alignment("listen(3, 128)                          = 0").is_ok());
        assert!(check_alignment("listen(3, 128)                         = 0").is_err());
        assert!(check_alignment(
            "13666 socket(AF_INET6, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = 4"
        )
        .is_ok());
    }
}
