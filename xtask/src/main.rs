//! `cargo xtask setup|build|run|test|bench`: toolchain bootstrap and workflows.

mod bench;
mod setup;

use std::process::Command;

use anyhow::{bail, Context as _, Result};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "xtask")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Make this machine ready: nightly rust-src, bpf-linker, the programs the tests run.
    Setup,
    /// Build dualstack (release).
    Build,
    /// Build, then run dualstack with ARGS (as root).
    Run {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Build, then run every test (unit and end to end; needs root).
    Test {
        /// Extra arguments for `cargo test`, e.g. a test name.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Measure the tracer's overhead against untraced and strace runs.
    Bench(bench::BenchArgs),
}

fn main() -> Result<()> {
    match Cli::parse().task {
        Task::Setup => setup::run(setup::Needs::All),
        Task::Build => build(),
        Task::Run { args } => {
            build()?;
            let status = Command::new(dualstack_bin())
                .args(&args)
                .status()
                .context("cannot start dualstack")?;
            std::process::exit(status.code().unwrap_or(1));
        }
        Task::Test { args } => {
            setup::run(setup::Needs::All)?;
            build()?;
            let mut test = cargo();
            test.args(["test", "--release"])
                .args(&args)
                .env("DUALSTACK_BIN", dualstack_bin());
            run(&mut test)
        }
        Task::Bench(args) => {
            setup::run(setup::Needs::All)?;
            build()?;
            bench::run(&args, &dualstack_bin())
        }
    }
}

fn build() -> Result<()> {
    setup::run(setup::Needs::Build)?;
    run(cargo().args(["build", "--release", "--package", "dualstack-user"]))
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// The workspace root (xtask lives one level below it).
fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask has a parent")
        .to_path_buf()
}

fn dualstack_bin() -> std::path::PathBuf {
    workspace_root().join("target/release/dualstack")
}

/// Runs a command to completion, failing on a non-zero exit.
fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed: {status}");
    }
    Ok(())
}
