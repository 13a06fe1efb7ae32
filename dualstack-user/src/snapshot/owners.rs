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
    os::unix::{ffi::OsStrExt as _, fs::MetadataExt as _},
};

use super::{netns, Netns, Owner};

/// What a scan found.
#[derive(Debug, Default)]
pub struct OwnerScan {
    /// Holders of each socket inode asked for, sorted by pid then fd.
    pub owners: HashMap<u64, Vec<Owner>>,
    /// Processes whose descriptors could not be read (permission denied), ascending.
    pub unreadable: Vec<u32>,
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

/// The sockets among `pid`'s descriptors: (fd, socket inode). The directory may be listed while
/// its links are refused (reading them needs the right to ptrace the process): that is an error
/// too.
fn sockets_of(pid: u32) -> io::Result<Vec<(i32, u64)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(format!("/proc/{pid}/fd"))?.flatten() {
        let target = match fs::read_link(entry.path()) {
            Ok(target) => target,
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => return Err(e),
            // Closed meanwhile.
            Err(_) => continue,
        };
        let Some(inode) = socket_inode(target.as_os_str()) else {
            continue;
        };
        if let Some(fd) = entry.file_name().to_str().and_then(|f| f.parse().ok()) {
            out.push((fd, inode));
        }
    }
    Ok(out)
}

/// The network namespaces of the sockets processes hold that are not in `known` (inodes): a
/// netns whose /run/netns name was deleted has no other trace while a process of another netns
/// holds a socket of it. Each socket is asked once (SIOCGSKNS on a copy of the descriptor).
pub fn socket_namespaces<S: BuildHasher>(known: &HashSet<u64, S>) -> Vec<Netns> {
    let mut seen_sockets = HashSet::new();
    let mut found: Vec<Netns> = Vec::new();
    for pid in netns::pids() {
        let Ok(sockets) = sockets_of(pid) else {
            continue;
        };
        for (fd, inode) in sockets {
            if !seen_sockets.insert(inode) {
                continue;
            }
            let Ok(ns) = netns::of_socket(pid, fd) else {
                continue;
            };
            let Ok(ns_inode) = ns.metadata().map(|m| m.ino()) else {
                continue;
            };
            if !known.contains(&ns_inode) && found.iter().all(|n| n.inode != ns_inode) {
                found.push(netns::through_socket(ns_inode, pid, fd));
            }
        }
    }
    found
}

/// Adds the holders among `pid`'s descriptors.
fn scan_pid<S: BuildHasher>(pid: u32, inodes: &HashSet<u64, S>, scan: &mut OwnerScan) {
    let mut name = None;
    let sockets = match sockets_of(pid) {
        Ok(sockets) => sockets,
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            scan.unreadable.push(pid);
            return;
        }
        Err(_) => return,
    };
    for (fd, inode) in sockets {
        if !inodes.contains(&inode) {
            continue;
        }
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
    scan.unreadable.sort_unstable();
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
