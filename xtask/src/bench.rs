//! `cargo xtask bench`: the tracer's overhead, measured side by side in one run.

use std::path::Path;

use anyhow::Result;
use clap::Args;

#[derive(Args)]
pub struct BenchArgs {}

pub fn run(_args: &BenchArgs, _dualstack: &Path) -> Result<()> {
    anyhow::bail!("not written yet")
}
