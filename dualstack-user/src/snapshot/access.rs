//! Why the /proc entries of some processes could not be read, in words a person can act on.
//!
//! The links of /proc/PID/fd and /proc/PID/ns need the right to ptrace the process
//! (ptrace_may_access with PTRACE_MODE_READ_FSCREDS). A user who is not root is refused other
//! users' processes. Root is refused too when the process holds capabilities this one lacks (a
//! container, a reduced capability bounding set) and it has no CAP_SYS_PTRACE to override that,
//! or when a security module forbids it; telling root to "run as root" helps nobody, so the
//! message names the processes and the capabilities that make the difference.

use std::{fmt::Write as _, fs};

/// kernel ABI: include/uapi/linux/capability.h, CAP_* bit numbers 0..=40.
const CAP_NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

const CAP_SYS_PTRACE: u32 = 19;

/// How many processes a message names before it only counts the rest.
const NAMED: usize = 3;

/// The names of the capabilities in `mask` (`cap_N` for bits without one).
pub fn cap_names(mask: u64) -> Vec<String> {
    (0..64)
        .filter(|bit| mask & (1 << bit) != 0)
        .map(|bit| {
            CAP_NAMES
                .get(bit as usize)
                .map_or_else(|| format!("cap_{bit}"), |&name| name.to_owned())
        })
        .collect()
}

/// A capability set of /proc/PID/status (`CapEff`, `CapPrm`), in hex there.
fn caps(status: &str, field: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let hex = line.strip_prefix(field)?.strip_prefix(':')?.trim();
        u64::from_str_radix(hex, 16).ok()
    })
}

fn status(pid: &str) -> String {
    fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default()
}

/// Who the reader is: root or not, and its effective capabilities.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reader {
    pub root: bool,
    pub effective: u64,
}

impl Reader {
    /// The calling process.
    pub fn this_process() -> Reader {
        Reader {
            // SAFETY: geteuid has no preconditions.
            root: unsafe { libc::geteuid() } == 0,
            effective: caps(&status("self"), "CapEff").unwrap_or(0),
        }
    }
}

/// How to speak of one process or several.
struct Words {
    they: &'static str,
    hold: &'static str,
    their: &'static str,
    are: &'static str,
}

fn words(count: usize) -> Words {
    if count == 1 {
        Words {
            they: "it",
            hold: "holds",
            their: "its",
            are: "is",
        }
    } else {
        Words {
            they: "they",
            hold: "hold",
            their: "their",
            are: "are",
        }
    }
}

/// Why the reader was refused `count` processes whose permitted capabilities together are
/// `held`.
pub fn reason(reader: Reader, held: u64, count: usize) -> String {
    let Words {
        they, hold, their, ..
    } = words(count);
    let what = format!("{their} /proc/PID/fd and /proc/PID/ns");
    if !reader.root {
        return format!(
            "reading {what} of other users' processes needs root: run dualstack as root"
        );
    }
    let lacking = held & !reader.effective;
    let ptrace = reader.effective & (1 << CAP_SYS_PTRACE) != 0;
    let names = cap_names(lacking).join(", ");
    match (lacking != 0, ptrace) {
        (true, false) => format!(
            "dualstack runs as root but without CAP_SYS_PTRACE, and {they} {hold} capabilities \
             dualstack lacks ({names}): the kernel then refuses {what}; give dualstack \
             CAP_SYS_PTRACE or every capability {they} {hold}"
        ),
        (true, true) => format!(
            "dualstack runs as root, but {they} {hold} capabilities dualstack lacks ({names}) \
             and the kernel refused {what} even with CAP_SYS_PTRACE; run dualstack with every \
             capability {they} {hold} (outside the container or capability bounding set that \
             removes them)"
        ),
        (false, _) => format!(
            "dualstack runs as root with every capability {they} {hold}, so a security policy \
             (a Linux security module such as Yama, AppArmor or SELinux) refused {what}"
        ),
    }
}

/// `pid 1/systemd`, or `pids 1/systemd, 2/x, 3/y and 12 more`.
pub fn name_processes(pids: &[u32], comm: impl Fn(u32) -> String) -> String {
    let named: Vec<String> = pids
        .iter()
        .take(NAMED)
        .map(|&pid| format!("{pid}/{}", comm(pid)))
        .collect();
    let mut text = format!(
        "{} {}",
        if pids.len() == 1 { "pid" } else { "pids" },
        named.join(", ")
    );
    if pids.len() > NAMED {
        let _ = write!(text, " and {} more", pids.len() - NAMED);
    }
    text
}

/// The whole warning about `pids` (not empty), whose /proc entries were refused.
/// `netns_unknown`: some of their network namespaces could not be found at all.
pub fn unreadable_message(pids: &[u32], netns_unknown: bool) -> String {
    let held = pids
        .iter()
        .filter_map(|pid| caps(&status(&pid.to_string()), "CapPrm"))
        .fold(0, |all, c| all | c);
    let comm = |pid: u32| {
        fs::read_to_string(format!("/proc/{pid}/comm"))
            .map_or_else(|_| "?".to_owned(), |c| c.trim_end().to_owned())
    };
    let Words {
        they,
        hold,
        their,
        are,
    } = words(pids.len());
    let count = match pids.len() {
        1 => "1 process".to_owned(),
        n => format!("{n} processes"),
    };
    let missing = if netns_unknown {
        format!(", and a network namespace only {they} {are} in may be missing")
    } else {
        String::new()
    };
    format!(
        "permission denied reading {count} ({}): sockets {they} {hold} may be listed without \
         {their} pid{missing}; {}",
        name_processes(pids, comm),
        reason(Reader::this_process(), held, pids.len())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: u64 = (1 << 41) - 1;
    const SYS_RESOURCE: u64 = 1 << 24;
    const SYS_PTRACE: u64 = 1 << 19;

    #[test]
    fn names_capabilities() {
        assert_eq!(
            cap_names(SYS_RESOURCE | 1),
            ["CAP_CHOWN", "CAP_SYS_RESOURCE"]
        );
        assert_eq!(cap_names(1 << 45), ["cap_45"]);
        assert_eq!(
            caps("Name:\tx\nCapPrm:\t000001fffeffffff\n", "CapPrm"),
            Some(ALL & !SYS_RESOURCE)
        );
    }

    #[test]
    fn names_a_few_processes_then_counts() {
        let comm = |pid: u32| format!("p{pid}");
        assert_eq!(name_processes(&[1], comm), "pid 1/p1");
        assert_eq!(
            name_processes(&[1, 5, 9, 12, 40], comm),
            "pids 1/p1, 5/p5, 9/p9 and 2 more"
        );
    }

    fn reason_for_several(reader: Reader, held: u64) -> String {
        reason(reader, held, 2)
    }

    #[test]
    fn root_is_not_told_to_run_as_root() {
        let root = |effective| Reader {
            root: true,
            effective,
        };
        // A container's root: no CAP_SYS_RESOURCE, no CAP_SYS_PTRACE.
        let text = reason_for_several(root(ALL & !SYS_RESOURCE & !SYS_PTRACE), ALL);
        assert!(text.contains("without CAP_SYS_PTRACE"), "{text}");
        assert!(
            text.contains("(CAP_SYS_PTRACE, CAP_SYS_RESOURCE)"),
            "{text}"
        );
        // With CAP_SYS_PTRACE the kernel still refused: say so, name what is lacking.
        let text = reason_for_several(root(ALL & !SYS_RESOURCE), ALL);
        assert!(text.contains("(CAP_SYS_RESOURCE)"), "{text}");
        assert!(text.contains("even with CAP_SYS_PTRACE"), "{text}");
        let text = reason_for_several(root(ALL), ALL);
        assert!(text.contains("security"), "{text}");
        for text in [
            reason_for_several(root(0), ALL),
            reason_for_several(root(ALL), ALL),
            reason_for_several(root(ALL & !SYS_RESOURCE), ALL),
        ] {
            assert!(!text.contains("run dualstack as root"), "{text}");
        }
        let user = reason_for_several(
            Reader {
                root: false,
                effective: 0,
            },
            0,
        );
        assert!(user.ends_with("run dualstack as root"), "{user}");
    }
}
