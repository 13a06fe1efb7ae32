//! Idempotent setup of a fresh machine of this kind (Debian 12, rustup stable + nightly).

use std::{
    fs,
    os::unix::fs::PermissionsExt as _,
    path::Path,
    process::{Command, Stdio},
};

use anyhow::{bail, Context as _, Result};

use crate::run as run_command;

/// What the caller is about to do.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Build the kernel programs: rust-src and bpf-linker.
    Build,
    /// Also build the Debian package: dpkg-shlibdeps.
    Dist,
    /// Also run the tests and benchmarks: strace, iproute2, ncat, socat, sshd, pahole, nginx,
    /// redis-server, systemd-analyze, bpftool...
    All,
}

/// Debian packages whose commands `cargo xtask dist` runs beyond dpkg-deb: (command, package).
const DIST_COMMANDS: &[(&str, &str)] = &[("dpkg-shlibdeps", "dpkg-dev")];

/// Debian packages whose commands the tests and benchmarks run: (command, package).
const TEST_COMMANDS: &[(&str, &str)] = &[
    ("strace", "strace"),
    ("ip", "iproute2"),
    ("ss", "iproute2"),
    ("setpriv", "util-linux"),
    ("ncat", "ncat"),
    ("socat", "socat"),
    ("sshd", "openssh-server"),
    ("pahole", "dwarves"),
    ("nginx", "nginx-light"),
    ("redis-server", "redis-server"),
    ("node", "nodejs"),
    ("mkfs.ext4", "e2fsprogs"),
    ("losetup", "mount"),
    // The package test: the installed unit is verified, its man page looked up.
    ("systemd-analyze", "systemd"),
    ("man", "man-db"),
    // The fleet tests: a real JetStream server on loopback.
    ("nats-server", "nats-server"),
    // The bench names the programs whose bpf_stats counters it reads.
    ("bpftool", "bpftool"),
];

pub fn run(needs: Needs) -> Result<()> {
    ensure_rust_src()?;
    ensure_bpf_linker()?;
    match needs {
        Needs::Build => Ok(()),
        Needs::Dist => ensure_commands(DIST_COMMANDS),
        Needs::All => ensure_commands(&[DIST_COMMANDS, TEST_COMMANDS].concat()),
    }
}

fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The eBPF crate is built with -Z build-std=core, which needs nightly's rust-src.
fn ensure_rust_src() -> Result<()> {
    let installed = output(Command::new("rustup").args([
        "component",
        "list",
        "--installed",
        "--toolchain",
        "nightly",
    ]))
    .context("the nightly toolchain is required (rustup toolchain list)")?;
    if installed.lines().any(|l| l.starts_with("rust-src")) {
        return Ok(());
    }
    eprintln!("xtask: installing rust-src for the nightly toolchain");
    run_command(Command::new("rustup").args([
        "component",
        "add",
        "rust-src",
        "--toolchain",
        "nightly",
    ]))
}

/// bpf-linker must use the LLVM of the nightly that emits the bitcode: build it against the
/// nightly's own libLLVM (no LLVM dev package of that version exists for Debian 12).
fn ensure_bpf_linker() -> Result<()> {
    if succeeds(Command::new("bpf-linker").arg("--version")) {
        return Ok(());
    }
    let sysroot = output(Command::new("rustc").args(["+nightly", "--print", "sysroot"]))?;
    let lib_dir = std::path::Path::new(sysroot.trim()).join("lib");
    let lib = std::fs::read_dir(&lib_dir)?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libLLVM.so."))
        })
        .with_context(|| format!("no libLLVM.so.* in {}", lib_dir.display()))?;
    let version = output(Command::new("rustc").args(["+nightly", "-vV"]))?;
    let major = version
        .lines()
        .find_map(|l| l.strip_prefix("LLVM version: "))
        .and_then(|v| v.split('.').next())
        .context("rustc +nightly -vV names no LLVM version")?
        .to_owned();
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    // The prefix must outlive the build: bpf-linker keeps it as its rpath.
    let prefix = std::path::Path::new(&home).join(format!(".cache/dualstack/llvm-{major}"));
    let prefix_lib = prefix.join("lib");
    std::fs::create_dir_all(&prefix_lib)?;
    for name in [
        std::ffi::OsString::from("libLLVM.so"),
        lib.file_name().unwrap_or_default().to_owned(),
    ] {
        let link = prefix_lib.join(name);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&lib, &link)?;
    }
    eprintln!(
        "xtask: building bpf-linker 0.13.0 against {} (LLVM {major})",
        lib.display()
    );
    run_command(
        Command::new("cargo")
            .args([
                "install",
                "bpf-linker@0.13.0",
                "--no-default-features",
                "--features",
            ])
            .arg(format!("llvm-{major}"))
            .env("LLVM_PREFIX", &prefix),
    )?;
    if !succeeds(Command::new("bpf-linker").arg("--version")) {
        bail!("bpf-linker was installed but does not run; is ~/.cargo/bin on PATH?");
    }
    Ok(())
}

fn ensure_commands(commands: &[(&str, &str)]) -> Result<()> {
    let mut missing: Vec<&str> = commands
        .iter()
        .filter(|(cmd, _)| !succeeds(Command::new("sh").args(["-c", &format!("command -v {cmd}")])))
        .map(|(_, pkg)| *pkg)
        .collect();
    missing.dedup();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("xtask: installing {}", missing.join(" "));
    run_command(Command::new("apt-get").arg("update").arg("-q"))?;
    // Packages with a service (openssh-server, nginx, redis, nats-server) must not start it: the
    // tests start their own daemons on loopback ports. Debian's invoke-rc.d (and
    // deb-systemd-invoke) asks policy-rc.d; 101 means "don't".
    let policy = Path::new("/usr/sbin/policy-rc.d");
    let own_policy = !policy.exists();
    if own_policy {
        fs::write(policy, "#!/bin/sh\nexit 101\n")?;
        fs::set_permissions(policy, fs::Permissions::from_mode(0o755))?;
    }
    let installed = run_command(
        Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    );
    if own_policy {
        fs::remove_file(policy)?;
    }
    installed
}
