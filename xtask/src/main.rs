//! `cargo xtask setup|build|run|test|bench|dist`: toolchain bootstrap and workflows.

mod bench;
mod dist;
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
    /// Measure the tracer's overhead against untraced runs, the floor (an empty program on
    /// its hook) and strace; its BPF run time per traced syscall (bpf_stats).
    Bench(bench::BenchArgs),
    /// Build the Debian package target/dist/dualstack_VERSION_ARCH.deb (release binary,
    /// systemd unit, /etc/default/dualstack, man pages, shell completions) and print its path.
    Dist,
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
        Task::Dist => {
            setup::run(setup::Needs::Dist)?;
            build()?;
            let deb = dist::run(&dualstack_bin(), &target_dir())?;
            println!("{}", deb.display());
            Ok(())
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

/// Cargo's target directory: $CARGO_TARGET_DIR when set (relative to the current directory,
/// as cargo reads it), else target/ in the workspace.
fn target_dir() -> std::path::PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => std::env::current_dir().unwrap_or_default().join(dir),
        _ => workspace_root().join("target"),
    }
}

fn dualstack_bin() -> std::path::PathBuf {
    target_dir().join("release/dualstack")
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
