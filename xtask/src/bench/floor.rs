//! The floor: dualstack-user's example `bpf_floor`, an empty program on the exit dispatcher's
//! hook (`tp_btf/sys_exit`), kept attached in the background while a workload runs untraced.
//! What any tracer of this design costs before its programs do anything.

use std::{
    io::{BufRead as _, BufReader},
    path::PathBuf,
    process::{Child, ChildStdin, Command, Stdio},
};

use anyhow::{bail, Context as _, Result};

use super::process::read_all;

/// Builds the example (release) and returns its path.
pub(super) fn build_floor() -> Result<PathBuf> {
    crate::run(
        crate::cargo()
            .args([
                "build",
                "--release",
                "--quiet",
                "-p",
                "dualstack-user",
                "--example",
                "bpf_floor",
            ])
            .current_dir(crate::workspace_root()),
    )?;
    let path = crate::target_dir().join("release/examples/bpf_floor");
    if !path.is_file() {
        bail!("{} was not built", path.display());
    }
    Ok(path)
}

/// A running `bpf_floor`, its program attached. Detached when dropped: closing its standard
/// input ends it.
pub(super) struct Floor {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Floor {
    /// Starts the floor and waits until it says `ready` (attached).
    pub(super) fn start(bpf_floor: &std::path::Path) -> Result<Floor> {
        Floor::start_with(bpf_floor, &[])
    }

    /// The floor that writes a record per traced call and nothing else.
    pub(super) fn start_record(bpf_floor: &std::path::Path) -> Result<Floor> {
        Floor::start_with(bpf_floor, &["record"])
    }

    /// The empty program, and empty ones on the syscall-entry tracepoints dualstack uses.
    pub(super) fn start_with_entries(bpf_floor: &std::path::Path) -> Result<Floor> {
        Floor::start_with(bpf_floor, &["entries"])
    }

    fn start_with(bpf_floor: &std::path::Path, args: &[&str]) -> Result<Floor> {
        let mut child = Command::new(bpf_floor)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", bpf_floor.display()))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped");
        let mut floor = Floor { child, stdin };
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .context("cannot read bpf_floor's output")?;
        if line.trim_end() != "ready" {
            // Drop closes its stdin and reaps it.
            let stderr = floor.child.stderr.take().map(read_all).unwrap_or_default();
            bail!("bpf_floor did not attach (said {line:?}):\n{stderr}");
        }
        Ok(floor)
    }

    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Detaches the floor and checks that it ended well.
    pub(super) fn stop(mut self) -> Result<()> {
        self.stdin = None;
        let status = self.child.wait().context("cannot wait for bpf_floor")?;
        if !status.success() {
            let stderr = self.child.stderr.take().map(read_all).unwrap_or_default();
            bail!("bpf_floor failed ({status}):\n{stderr}");
        }
        Ok(())
    }
}

impl Drop for Floor {
    fn drop(&mut self) {
        // End of its input: it detaches and exits (std keeps the status if `stop` waited).
        self.stdin = None;
        let _ = self.child.wait();
    }
}
