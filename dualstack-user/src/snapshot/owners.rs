//! Which processes hold a socket: the /proc/PID/fd links that read `socket:[INODE]`.
//!
//! The kernel's socket list (sock_diag) names a socket by its inode only; the processes behind
//! it are found the way `ss -p` and `lsof` find them. A socket may be open in several processes
//! (a forking server, an inherited descriptor): every holder is kept, lowest pid first.
//! Processes come and go during the scan; those that vanish are skipped quietly.

use std::{
    collections::{HashMap, HashSet},
    ffi::OsStr,
    fs,
    hash::BuildHasher,
    io,
    os::unix::ffi::OsStrExt as _,
};

use super::{netns, Owner};

/// What a scan found.
#[derive(Debug, Default)]
pub struct OwnerScan {
    /// Holders of each socket inode asked for, sorted by pid then fd.
    pub owners: HashMap<u64, Vec<Owner>>,
    /// Processes whose descriptors could not be read (permission denied: not root).
    pub unreadable: usize,
}

/// The inode in a `socket:[INODE]` link target.
pub fn socket_inode(target: &OsStr) -> Option<u64> {
    target
        .as_bytes()
        .strip_prefix(b"socket:[")?
        .strip_suffix(b"]")
        .and_then(|digits| std::str::from_utf8(digits).ok())
        .and_then(|digits| digits.parse().ok())
}

/// The command name of a process ("?" once it is gone).
fn comm(pid: u32) -> String {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .map_or_else(|_| "?".to_owned(), |c| c.trim_end_matches('\n').to_owned())
}

/// Adds the holders among `pid`'s descriptors.
fn scan_pid<S: BuildHasher>(pid: u32, inodes: &HashSet<u64, S>, scan: &mut OwnerScan) {
    let dir = match fs::read_dir(format!("/proc/{pid}/fd")) {
        Ok(dir) => dir,
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            scan.unreadable += 1;
            return;
        }
        Err(_) => return,
    };
    let mut name = None;
    for entry in dir.flatten() {
        let Ok(target) = fs::read_link(entry.path()) else {
            continue;
        };
        let Some(inode) = socket_inode(target.as_os_str()).filter(|i| inodes.contains(i)) else {
            continue;
        };
        let Some(fd) = entry.file_name().to_str().and_then(|f| f.parse().ok()) else {
            continue;
        };
        let comm = name.get_or_insert_with(|| comm(pid)).clone();
        scan.owners
            .entry(inode)
            .or_default()
            .push(Owner { pid, comm, fd });
    }
}

/// Finds the holders of `inodes`. With `netns`, the processes in that netns are scanned first
/// and the scan stops there if every socket has a holder: cheap, at the price of missing a
/// holder in another netns of a socket also held in its own.
pub fn scan<S: BuildHasher>(inodes: &HashSet<u64, S>, netns: Option<u64>) -> OwnerScan {
    let mut scan = OwnerScan::default();
    if inodes.is_empty() {
        return scan;
    }
    let mut rest = Vec::new();
    match netns {
        Some(wanted) => {
            for pid in netns::pids() {
                if netns::netns_of(pid).is_ok_and(|n| n == wanted) {
                    scan_pid(pid, inodes, &mut scan);
                } else {
                    rest.push(pid);
                }
            }
            if scan.owners.len() < inodes.len() {
                for pid in rest {
                    scan_pid(pid, inodes, &mut scan);
                }
            }
        }
        None => {
            for pid in netns::pids() {
                scan_pid(pid, inodes, &mut scan);
            }
        }
    }
    for owners in scan.owners.values_mut() {
        owners.sort_by_key(|o| (o.pid, o.fd));
    }
    scan
}

#[cfg(test)]
mod tests {
    use std::os::{
        fd::{AsRawFd as _, FromRawFd as _, OwnedFd},
        unix::fs::MetadataExt as _,
    };

    use super::*;

    #[test]
    fn parses_socket_links() {
        assert_eq!(
            socket_inode(OsStr::new("socket:[4185007]")),
            Some(4_185_007)
        );
        for bad in [
            "socket:[]",
            "socket:[12",
            "pipe:[12]",
            "socket:[-1]",
            "/dev/null",
            "",
        ] {
            assert_eq!(socket_inode(OsStr::new(bad)), None, "{bad}");
        }
    }

    #[test]
    fn finds_its_own_socket() {
        // An unbound socket: it has an inode and touches no network.
        // SAFETY: socket has no memory preconditions.
        let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
        assert!(raw >= 0, "socket: {}", io::Error::last_os_error());
        // SAFETY: raw was just returned by socket and is owned by nobody else.
        let socket = unsafe { OwnedFd::from_raw_fd(raw) };
        let fd = socket.as_raw_fd();
        let inode = fs::metadata(format!("/proc/self/fd/{fd}"))
            .expect("fd")
            .ino();
        let me = std::process::id();
        for netns in [None, netns::current_inode().ok()] {
            let scan = scan(&HashSet::from([inode]), netns);
            let owners = &scan.owners[&inode];
            assert!(
                owners.iter().any(|o| o.pid == me && o.fd == fd),
                "{owners:?}"
            );
        }
    }
}
