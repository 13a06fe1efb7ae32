//! The user-side pipeline alone: recorded kernel records replayed through decode -> record ->
//! strace text and -> JSON on one core (dualstack-user's example `pipeline_bench`).

use std::process::Command;

use anyhow::{bail, Context as _, Result};

/// Builds and runs the replay; returns what it printed.
pub(super) fn bench_pipeline() -> Result<String> {
    let root = crate::workspace_root();
    let output = Command::new(env!("CARGO"))
        .args([
            "run",
            "--release",
            "--quiet",
            "-p",
            "dualstack-user",
            "--example",
            "pipeline_bench",
            "--",
            "1000000",
        ])
        .current_dir(&root)
        .output()
        .context("cannot run cargo")?;
    if !output.status.success() {
        bail!(
            "the pipeline replay failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
