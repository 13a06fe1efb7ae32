//! `cargo xtask dist`: the Debian package of dualstack, laid out in a staging tree under
//! target/dist/ and built by `dpkg-deb --build --root-owner-group`, with nothing to install
//! beyond dpkg-dev (for dpkg-shlibdeps). The man pages and shell completions come from the
//! release binary itself (`dualstack man DIR`, `dualstack completions SHELL`), so that they
//! match its command line.

use std::{
    fs,
    io::{self, Write as _},
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, ensure, Context as _, Result};
use flate2::{write::GzEncoder, Compression};

/// Files of dist/ the package holds as they are: (path under dist/, path in the package, mode).
const FILES: &[(&str, &str, u32)] = &[
    (
        "dualstack.service",
        "lib/systemd/system/dualstack.service",
        0o644,
    ),
    ("dualstack.default", "etc/default/dualstack", 0o644),
    ("deb/copyright", "usr/share/doc/dualstack/copyright", 0o644),
];

/// Files whose local changes dpkg keeps across upgrades (and removes only on purge).
const CONFFILES: &[&str] = &["/etc/default/dualstack"];

/// Maintainer scripts, from dist/deb/.
const SCRIPTS: &[&str] = &["postinst", "prerm", "postrm"];

/// `dualstack completions SHELL` and where each shell looks for it.
const COMPLETIONS: &[(&str, &str)] = &[
    ("bash", "usr/share/bash-completion/completions/dualstack"),
    ("zsh", "usr/share/zsh/vendor-completions/_dualstack"),
    ("fish", "usr/share/fish/vendor_completions.d/dualstack.fish"),
];

/// The Maintainer field unless DEBFULLNAME and DEBEMAIL (as for dch) name another.
const DEFAULT_MAINTAINER: &str = "dualstack maintainers <dualstack@localhost>";

const DESCRIPTION: &str = "\
socket lifecycle tracer: which listeners accept IPv4, IPv6 or both
 dualstack traces socket, setsockopt, bind, listen, connect, accept and close
 in every process with eBPF (no ptrace) and prints the calls as strace does,
 telling for each listening socket whether it accepts IPv4, IPv6 or both
 (IPV6_V6ONLY, the bound address, net.ipv6.bindv6only). `dualstack listeners`
 lists the sockets of every network namespace with the same verdicts.
 .
 The daemon serves the events to local and TCP clients, exports Prometheus
 metrics and keeps a rotated event log. Its systemd unit is installed but
 neither enabled nor started; its options are in /etc/default/dualstack.";

/// Builds the package from the release binary `bin` into `target`/dist/ and returns its path.
pub fn run(bin: &Path, target: &Path) -> Result<PathBuf> {
    // xtask shares the workspace version with dualstack-user.
    let version = env!("CARGO_PKG_VERSION");
    let said = stdout_of(Command::new(bin).arg("--version"))?;
    ensure!(
        said.trim() == format!("dualstack {version}"),
        "{} says {:?} but the workspace is at {version}: rebuild it (cargo xtask build)",
        bin.display(),
        said.trim()
    );
    let arch = stdout_of(Command::new("dpkg").arg("--print-architecture"))?
        .trim()
        .to_owned();
    let dist = target.join("dist");
    let name = format!("dualstack_{version}_{arch}");
    let root = dist.join(&name);
    remove_dir(&root)?;
    let sources = crate::workspace_root().join("dist");

    put(&root, "usr/bin/dualstack", &read(bin)?, 0o755)?;
    for &(source, dest, mode) in FILES {
        put(&root, dest, &read(&sources.join(source))?, mode)?;
    }
    let readme = read(&crate::workspace_root().join("README.md"))?;
    put(
        &root,
        "usr/share/doc/dualstack/README.md.gz",
        &gzip(&readme)?,
        0o644,
    )?;
    man_pages(bin, &dist.join("man"), &root)?;
    for &(shell, dest) in COMPLETIONS {
        let script = stdout_of(Command::new(bin).args(["completions", shell]))?;
        ensure!(
            !script.is_empty(),
            "`dualstack completions {shell}` printed nothing"
        );
        put(&root, dest, script.as_bytes(), 0o644)?;
    }

    for script in SCRIPTS {
        let text = read(&sources.join("deb").join(script))?;
        put(&root, &format!("DEBIAN/{script}"), &text, 0o755)?;
    }
    let conffiles = CONFFILES.join("\n") + "\n";
    put(&root, "DEBIAN/conffiles", conffiles.as_bytes(), 0o644)?;
    let depends = depends(&dist.join("shlibdeps"), &root.join("usr/bin/dualstack"))?;
    let control = format!(
        "Package: dualstack\nVersion: {version}\nArchitecture: {arch}\nMaintainer: {}\n\
         Installed-Size: {}\nDepends: {depends}\nSection: net\nPriority: optional\n\
         Description: {DESCRIPTION}\n",
        maintainer(),
        installed_size_kib(&root)?,
    );
    put(&root, "DEBIAN/control", control.as_bytes(), 0o644)?;
    // Whatever the umask: dpkg-deb wants DEBIAN/ at 0755, and so should every directory be.
    directories_0755(&root)?;

    let deb = dist.join(format!("{name}.deb"));
    crate::run(
        Command::new("dpkg-deb")
            .args(["--build", "--root-owner-group"])
            .arg(&root)
            .arg(&deb),
    )?;
    Ok(deb)
}

/// `dualstack man` into `scratch`, each page gzipped into usr/share/man/man1/.
fn man_pages(bin: &Path, scratch: &Path, root: &Path) -> Result<()> {
    remove_dir(scratch)?;
    stdout_of(Command::new(bin).arg("man").arg(scratch))?;
    let mut pages: Vec<PathBuf> = fs::read_dir(scratch)
        .with_context(|| format!("cannot list {}", scratch.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<io::Result<_>>()?;
    pages.sort();
    ensure!(
        pages.iter().any(|p| p.ends_with("dualstack.1")),
        "`dualstack man` wrote no dualstack.1 into {}",
        scratch.display()
    );
    for page in &pages {
        let file = page
            .file_name()
            .and_then(|n| n.to_str())
            .context("a man page name that is not UTF-8")?;
        put(
            root,
            &format!("usr/share/man/man1/{file}.gz"),
            &gzip(&read(page)?)?,
            0o644,
        )?;
    }
    remove_dir(scratch)
}

/// The Depends field, from the shared libraries the binary links (dpkg-shlibdeps wants a
/// debian/control of some source package in its working directory: `scratch` holds one).
fn depends(scratch: &Path, bin: &Path) -> Result<String> {
    remove_dir(scratch)?;
    put(
        scratch,
        "debian/control",
        b"Source: dualstack\n\nPackage: dualstack\nArchitecture: any\n",
        0o644,
    )?;
    let out = stdout_of(
        Command::new("dpkg-shlibdeps")
            .arg("-O")
            .arg(bin)
            .current_dir(scratch),
    )?;
    remove_dir(scratch)?;
    let depends = out
        .lines()
        .find_map(|l| l.strip_prefix("shlibs:Depends="))
        .with_context(|| format!("dpkg-shlibdeps printed no shlibs:Depends: {out:?}"))?;
    ensure!(
        depends.contains("libc6"),
        "dpkg-shlibdeps found no libc6 dependency in {depends:?}"
    );
    Ok(depends.to_owned())
}

fn maintainer() -> String {
    match (std::env::var("DEBFULLNAME"), std::env::var("DEBEMAIL")) {
        (Ok(name), Ok(email)) if !name.trim().is_empty() && !email.trim().is_empty() => {
            format!("{} <{}>", name.trim(), email.trim())
        }
        _ => DEFAULT_MAINTAINER.to_owned(),
    }
}

/// As dpkg-gencontrol counts it: each regular file rounded up to a KiB, 1 KiB for anything
/// else; DEBIAN/ is not installed.
fn installed_size_kib(root: &Path) -> Result<u64> {
    fn kib(path: &Path) -> io::Result<u64> {
        let meta = fs::symlink_metadata(path)?;
        if meta.is_file() {
            return Ok(meta.len().div_ceil(1024));
        }
        let mut total = 1;
        if meta.is_dir() {
            for entry in fs::read_dir(path)? {
                total += kib(&entry?.path())?;
            }
        }
        Ok(total)
    }
    let mut total = 0;
    for entry in fs::read_dir(root).with_context(|| format!("cannot list {}", root.display()))? {
        let path = entry?.path();
        if !path.ends_with("DEBIAN") {
            total += kib(&path).with_context(|| format!("cannot measure {}", path.display()))?;
        }
    }
    Ok(total)
}

fn directories_0755(dir: &Path) -> Result<()> {
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot chmod {}", dir.display()))?;
    for entry in fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            directories_0755(&entry.path())?;
        }
    }
    Ok(())
}

/// Writes `root/rel` with `mode`, creating its directories.
fn put(root: &Path, rel: &str, data: &[u8], mode: u32) -> Result<()> {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    fs::write(&path, data).with_context(|| format!("cannot write {}", path.display()))?;
    fs::set_permissions(&path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot chmod {}", path.display()))
}

fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn remove_dir(dir: &Path) -> Result<()> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot remove {}", dir.display()))
        }
        _ => Ok(()),
    }
}

/// Gzip at the best level, with no name and no time in the header (as `gzip -9n`), so that
/// the same input makes the same package.
fn gzip(data: &[u8]) -> Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(data)?;
    Ok(encoder.finish()?)
}

/// Runs `cmd` and returns its stdout; its stderr is shown only when it fails.
fn stdout_of(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    String::from_utf8(out.stdout).with_context(|| format!("{cmd:?} printed no UTF-8"))
}
