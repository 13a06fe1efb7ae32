//! The Debian package end to end: `cargo xtask dist` builds it, `dpkg -i` installs it on this
//! machine, what it holds is checked where it landed (binary, unit, conffile, man pages,
//! completions), and `dpkg --purge` removes it again, on failure too. Needs root; where a
//! dualstack package is already installed it refuses to run rather than replace it.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use tests::{require_root, run, workspace_root, Output};

/// `cargo xtask dist` builds the release binary when it is not built yet.
const BUILD: Duration = Duration::from_mins(30);
const T: Duration = Duration::from_mins(1);

/// The workspace version, which the package and the binary carry.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Every page: the command's and one per command a user can type (not the hidden `man`).
const MAN_PAGES: &[&str] = &[
    "dualstack",
    "dualstack-trace",
    "dualstack-listeners",
    "dualstack-export",
    "dualstack-daemon",
    "dualstack-stream",
    "dualstack-completions",
];

const BASH_COMPLETION: &str = "/usr/share/bash-completion/completions/dualstack";
const COMPLETIONS: &[&str] = &[
    BASH_COMPLETION,
    "/usr/share/zsh/vendor-completions/_dualstack",
    "/usr/share/fish/vendor_completions.d/dualstack.fish",
];

const UNIT: &str = "/lib/systemd/system/dualstack.service";

fn succeed(cmd: &mut Command, what: &str) -> Output {
    let out = run(cmd, T);
    assert_eq!(out.code(), Some(0), "{what}: {out:?}");
    out
}

/// dpkg's state of the dualstack package, or None when dpkg knows of none.
fn dpkg_status() -> Option<String> {
    let out = run(
        Command::new("dpkg-query").args(["-W", "-f=${db:Status-Status}", "dualstack"]),
        T,
    );
    let status = out.stdout.trim();
    (out.code() == Some(0) && !status.is_empty() && status != "not-installed")
        .then(|| status.to_owned())
}

/// Purges the package when dropped, unless the test did.
struct Installed {
    purged: bool,
}

impl Drop for Installed {
    fn drop(&mut self) {
        if self.purged {
            return;
        }
        // Not tests::run: it panics on a timeout, and this may run while a panic unwinds.
        match Command::new("dpkg")
            .args(["--purge", "dualstack"])
            .stdin(Stdio::null())
            .status()
        {
            Ok(status) if status.success() => {}
            result => eprintln!("cleanup: dpkg --purge dualstack: {result:?}"),
        }
    }
}

/// Runs `cargo xtask dist` and returns the package it built.
fn build_package() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = run(
        Command::new(cargo)
            .args(["xtask", "dist"])
            .current_dir(workspace_root()),
        BUILD,
    );
    assert_eq!(out.code(), Some(0), "cargo xtask dist: {out:?}");
    let deb = PathBuf::from(
        out.stdout
            .lines()
            .last()
            .expect("cargo xtask dist printed a path"),
    );
    let arch = succeed(
        Command::new("dpkg").arg("--print-architecture"),
        "dpkg --print-architecture",
    )
    .stdout;
    assert_eq!(
        deb.file_name().and_then(|n| n.to_str()),
        Some(format!("dualstack_{VERSION}_{}.deb", arch.trim()).as_str()),
        "cargo xtask dist printed {}",
        deb.display()
    );
    assert!(
        deb.parent().is_some_and(|d| d.ends_with("dist")) && deb.is_file(),
        "no package at {}",
        deb.display()
    );
    deb
}

fn non_empty(path: &str) {
    let len = fs::metadata(path)
        .unwrap_or_else(|e| panic!("{path} is not installed: {e}"))
        .len();
    assert!(len > 0, "{path} is empty");
}

/// The unit verifies, its options (from the conffile) are valid, and it is not enabled.
fn check_unit_and_config() {
    // With the man page the unit names looked up: the package installed it.
    let verify = succeed(
        Command::new("systemd-analyze").args(["verify", UNIT]),
        "systemd-analyze verify",
    );
    assert!(
        !verify.stderr.contains("dualstack.service:"),
        "systemd-analyze verify warns: {}",
        verify.stderr
    );
    // The daemon's options, as the unit reads them from the conffile, are valid.
    let check = succeed(
        Command::new("sh").args([
            "-c",
            ". /etc/default/dualstack && exec /usr/bin/dualstack daemon $DUALSTACK_OPTS --check-config",
        ]),
        "the options of /etc/default/dualstack",
    );
    assert_eq!(check.stdout, "configuration ok\n");
    let conffiles = succeed(
        Command::new("dpkg-query").args(["-W", "-f=${Conffiles}", "dualstack"]),
        "dpkg-query ${Conffiles}",
    );
    assert!(
        conffiles
            .stdout
            .lines()
            .any(|l| l.split_whitespace().next() == Some("/etc/default/dualstack")),
        "/etc/default/dualstack is no conffile: {:?}",
        conffiles.stdout
    );
    // Installed, not enabled: the administrator decides.
    assert!(
        !Path::new("/etc/systemd/system/multi-user.target.wants/dualstack.service").exists(),
        "installing the package enabled the service"
    );
}

/// A page for the command and each command a user can type.
fn check_man_pages() {
    for page in MAN_PAGES {
        let path = format!("/usr/share/man/man1/{page}.1.gz");
        non_empty(&path);
        let text = succeed(Command::new("gzip").args(["-dc", &path]), &path).stdout;
        assert!(
            text.contains(&format!(".TH {page} 1")),
            "{path} is no man page of {page}: {text}"
        );
    }
    assert!(
        !Path::new("/usr/share/man/man1/dualstack-man.1.gz").exists(),
        "the hidden `man` command got a page"
    );
}

/// Three scripts; bash's parses, registers a completion and is what the binary prints.
fn check_completions() {
    for path in COMPLETIONS {
        non_empty(path);
    }
    succeed(
        Command::new("bash").args(["-n", BASH_COMPLETION]),
        "bash -n",
    );
    let registered = succeed(
        Command::new("bash").args([
            "-c",
            &format!(". {BASH_COMPLETION} && complete -p dualstack"),
        ]),
        "sourcing the bash completion",
    );
    assert!(
        registered.stdout.contains("dualstack"),
        "the bash completion registers nothing for dualstack: {registered:?}"
    );
    let printed = succeed(
        Command::new("/usr/bin/dualstack").args(["completions", "bash"]),
        "dualstack completions bash",
    );
    assert_eq!(
        fs::read_to_string(BASH_COMPLETION).expect("the bash completion"),
        printed.stdout,
        "the installed bash completion is not what `dualstack completions bash` prints"
    );
}

#[test]
fn the_package_installs_the_binary_unit_config_man_pages_and_completions_and_purges() {
    require_root();
    if let Some(status) = dpkg_status() {
        panic!(
            "a dualstack package is already on this machine (dpkg status: {status}): this test \
             installs and purges its own and will not touch that one; `dpkg --purge dualstack` \
             it first to run the test"
        );
    }
    let deb = build_package();
    let mut installed = Installed { purged: false };
    succeed(Command::new("dpkg").arg("-i").arg(&deb), "dpkg -i");

    let version = succeed(
        Command::new("/usr/bin/dualstack").arg("--version"),
        "dualstack --version",
    );
    assert_eq!(version.stdout, format!("dualstack {VERSION}\n"));

    check_unit_and_config();
    check_man_pages();
    check_completions();

    let copyright = fs::read_to_string("/usr/share/doc/dualstack/copyright")
        .expect("/usr/share/doc/dualstack/copyright");
    assert!(
        copyright.contains("License: MIT or Apache-2.0"),
        "{copyright}"
    );
    non_empty("/usr/share/doc/dualstack/README.md.gz");

    succeed(
        Command::new("dpkg").args(["--purge", "dualstack"]),
        "dpkg --purge",
    );
    installed.purged = true;
    for path in [
        "/usr/bin/dualstack",
        UNIT,
        "/etc/default/dualstack",
        BASH_COMPLETION,
    ] {
        assert!(!Path::new(path).exists(), "{path} outlived the purge");
    }
    assert_eq!(dpkg_status(), None, "dpkg still knows the package");
}
