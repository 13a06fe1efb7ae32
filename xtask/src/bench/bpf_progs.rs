//! The kernel's own accounting of BPF programs (bpf_stats): switching it on for the bench, and
//! reading the run counters of the programs one process holds.

use std::{
    collections::BTreeMap,
    os::fd::{FromRawFd as _, OwnedFd},
    path::Path,
    process::Command,
};

use anyhow::{bail, Context as _, Result};

const STATS_SYSCTL: &str = "/proc/sys/kernel/bpf_stats_enabled";

/// Run time and run count of one program, as its fdinfo shows them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Counters {
    pub(super) run_time_ns: u64,
    pub(super) run_cnt: u64,
}

impl Counters {
    pub(super) fn since(self, before: Counters) -> Counters {
        Counters {
            run_time_ns: self.run_time_ns.saturating_sub(before.run_time_ns),
            run_cnt: self.run_cnt.saturating_sub(before.run_cnt),
        }
    }
}

/// bpf_stats switched on while this lives: `kernel.bpf_stats_enabled=1`, its previous value
/// written back on drop (on errors too), and a BPF_ENABLE_STATS descriptor held beside it.
/// The descriptor keeps the counters running even if another bench on this machine writes
/// the sysctl back to 0 while this one measures (the kernel counts the two separately).
pub(super) struct StatsEnabled {
    previous: String,
    _descriptor: OwnedFd,
}

impl StatsEnabled {
    pub(super) fn enable() -> Result<StatsEnabled> {
        let previous = std::fs::read_to_string(STATS_SYSCTL)
            .with_context(|| format!("cannot read {STATS_SYSCTL} (is this Linux >= 5.1?)"))?;
        let descriptor = enable_stats_descriptor()?;
        std::fs::write(STATS_SYSCTL, "1")
            .with_context(|| format!("cannot write {STATS_SYSCTL} (needs root)"))?;
        Ok(StatsEnabled {
            previous: previous.trim().to_owned(),
            _descriptor: descriptor,
        })
    }

    /// The sysctl's value before the bench.
    pub(super) fn previous(&self) -> &str {
        &self.previous
    }
}

impl Drop for StatsEnabled {
    fn drop(&mut self) {
        if let Err(err) = std::fs::write(STATS_SYSCTL, &self.previous) {
            eprintln!(
                "xtask: cannot restore {STATS_SYSCTL} to {}: {err}",
                self.previous
            );
        }
    }
}

/// bpf(BPF_ENABLE_STATS, { type: BPF_STATS_RUN_TIME }): run time is counted while the returned
/// descriptor is open.
fn enable_stats_descriptor() -> Result<OwnedFd> {
    // kernel ABI: include/uapi/linux/bpf.h, enum bpf_cmd BPF_ENABLE_STATS = 32; union bpf_attr
    // member enable_stats { __u32 type; }, enum bpf_stats_type BPF_STATS_RUN_TIME = 0.
    const BPF_ENABLE_STATS: libc::c_long = 32;
    let attr: u32 = 0;
    // SAFETY: attr is a valid 4-byte bpf_attr prefix for this command; the kernel reads it only.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_ENABLE_STATS,
            &raw const attr,
            size_of::<u32>(),
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error())
            .context("bpf(BPF_ENABLE_STATS) failed (needs root and Linux >= 5.8)");
    }
    // SAFETY: the kernel just returned this descriptor, which nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// The counters of every BPF program process `pid` holds a descriptor of, by program id. Only
/// this process's programs: other tracers may be running on the machine.
pub(super) fn program_counters(pid: u32) -> Result<BTreeMap<u32, Counters>> {
    let fd_dir = format!("/proc/{pid}/fd");
    let mut programs = BTreeMap::new();
    for fd in std::fs::read_dir(&fd_dir)
        .with_context(|| format!("cannot list {fd_dir}"))?
        .flatten()
    {
        // Links and maps have fdinfo too (a link's names its prog_id): programs only.
        let is_program = std::fs::read_link(fd.path())
            .is_ok_and(|target| target == Path::new("anon_inode:bpf-prog"));
        if !is_program {
            continue;
        }
        let info_path = format!("/proc/{pid}/fdinfo/{}", fd.file_name().to_string_lossy());
        // A descriptor may be closed between the listing and the read.
        let Ok(info) = std::fs::read_to_string(&info_path) else {
            continue;
        };
        let field = |name: &str| -> Result<u64> {
            let value = info
                .lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .with_context(|| format!("no {name} in {info_path}"))?;
            value
                .trim()
                .parse()
                .with_context(|| format!("bad {name} in {info_path}: {value:?}"))
        };
        let counters = Counters {
            run_time_ns: field("run_time_ns")?,
            run_cnt: field("run_cnt")?,
        };
        programs.insert(field("prog_id")? as u32, counters);
    }
    Ok(programs)
}

/// Program names by id, from `bpftool prog show -j` (fdinfo does not name programs).
pub(super) fn program_names() -> Result<BTreeMap<u32, String>> {
    let output = Command::new("bpftool")
        .args(["prog", "show", "-j"])
        .output()
        .context("cannot run bpftool (`cargo xtask setup` installs it)")?;
    if !output.status.success() {
        bail!(
            "bpftool prog show failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let list: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("bpftool printed no JSON")?;
    let mut names = BTreeMap::new();
    for prog in list.as_array().context("bpftool printed no list")? {
        let (Some(id), Some(name)) = (prog["id"].as_u64(), prog["name"].as_str()) else {
            continue;
        };
        names.insert(id as u32, name.to_owned());
    }
    Ok(names)
}
