//! Running the workloads and their tracers: a loop's printed time, dualstack's complaints on
//! stderr, a live process's CPU time, and the two system calls std does not offer (wait4 with
//! resource usage, and kill).

use std::{
    os::unix::process::ExitStatusExt as _,
    process::{Child, Command, ExitStatus, Stdio},
};

use anyhow::{bail, ensure, Context as _, Result};

/// Runs a workload (possibly under a tracer) to completion; returns the loop time it printed.
pub(super) fn run_loop(cmd: &mut Command, what: &str) -> Result<u64> {
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot start {what}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "{what} failed ({}):\n{stdout}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    parse_result(&stdout).with_context(|| format!("{what}: unexpected output: {stdout:?}"))
}

/// The `elapsed_ns=` value of the last result line a workload printed.
pub(super) fn parse_result(stdout: &str) -> Result<u64> {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("elapsed_ns="))
        .context("no elapsed_ns= line")?;
    let value = line
        .split_whitespace()
        .find_map(|field| field.strip_prefix("elapsed_ns="))
        .context("no elapsed_ns= field")?;
    let ns: u64 = value
        .parse()
        .with_context(|| format!("bad elapsed_ns value {value:?}"))?;
    ensure!(ns > 0, "elapsed_ns is 0");
    Ok(ns)
}

/// All a pipe gives until its end, as text.
pub(super) fn read_all(mut from: impl std::io::Read) -> String {
    let mut bytes = Vec::new();
    let _ = from.read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The value of the last `name<u64>` field in `text`.
pub(super) fn field_u64(text: &str, name: &str) -> Result<u64> {
    let value = text
        .split_whitespace()
        .rev()
        .find_map(|f| f.strip_prefix(name))
        .with_context(|| format!("no {name} field"))?;
    value
        .parse()
        .with_context(|| format!("bad {name} value {value:?}"))
}

/// Events lost and records undecodable, as dualstack reports them on stderr; other lines are
/// shown as they are.
pub(super) fn tracer_complaints(stderr: &str) -> Result<(u64, u64)> {
    let (mut lost, mut undecodable) = (0, 0);
    for line in stderr.lines().filter(|l| !l.trim().is_empty()) {
        let count = |suffix: &str| -> Option<Result<u64>> {
            let rest = line.strip_prefix("dualstack: ")?;
            let (number, tail) = rest.split_once(' ')?;
            tail.starts_with(suffix).then(|| {
                number
                    .parse::<u64>()
                    .with_context(|| format!("bad count in {line:?}"))
            })
        };
        if let Some(n) = count("events lost") {
            lost += n?;
        } else if let Some(n) = count("records could not be decoded") {
            undecodable += n?;
        } else {
            eprintln!("    dualstack stderr: {line}");
        }
    }
    Ok((lost, undecodable))
}

/// CPU time (ns) of all the threads of a live process, from their scheduler statistics.
pub(super) fn process_cpu_ns(pid: u32) -> Result<u64> {
    let dir = format!("/proc/{pid}/task");
    let mut total = 0;
    for task in std::fs::read_dir(&dir)
        .with_context(|| format!("cannot list {dir}"))?
        .flatten()
    {
        let path = task.path().join("schedstat");
        // A thread may end between the listing and the read.
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let ns: u64 = text
            .split_whitespace()
            .next()
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("unexpected {}: {text:?}", path.display()))?;
        total += ns;
    }
    Ok(total)
}

/// Reaps child `pid`; returns its status and its CPU time (user + system, ns), which includes
/// the children it reaped. std's `Child::wait` does not give the resource usage.
pub(super) fn wait4(pid: u32) -> Result<(ExitStatus, u64)> {
    let mut status = 0;
    // SAFETY: rusage is plain integers, for which all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: status and usage are valid for writes; pid is our own unreaped child.
        let ret = unsafe { libc::wait4(pid as libc::pid_t, &raw mut status, 0, &raw mut usage) };
        if ret == pid as libc::pid_t {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err).with_context(|| format!("wait4({pid})"));
        }
    }
    let ns = |t: &libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1000;
    Ok((
        ExitStatus::from_raw(status),
        ns(&usage.ru_utime) + ns(&usage.ru_stime),
    ))
}

/// Sends `sig` to `pid`, a child this program started and has not reaped.
pub(super) fn signal(pid: u32, sig: libc::c_int) -> Result<()> {
    // SAFETY: kill has no memory effects.
    if unsafe { libc::kill(pid as libc::pid_t, sig) } != 0 {
        return Err(std::io::Error::last_os_error()).with_context(|| format!("kill({pid}, {sig})"));
    }
    Ok(())
}

/// A child killed and reaped if an error leaves it behind.
pub(super) struct KillOnDrop(pub(super) Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}
