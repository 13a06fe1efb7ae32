//! The network namespaces of the host, and running code inside one of them.
//!
//! A netns is found through the processes in it (/proc/PID/ns/net), through the bind mounts
//! `ip netns add` leaves in /run/netns (a named netns may have no process at all), and through
//! the sockets processes hold (SIOCGSKNS: a netns whose name was deleted lives on while a socket
//! of it is open, possibly in a process of another netns). Code runs in
//! a netns on a thread of its own that calls setns(2) and then ends, so the calling thread never
//! changes namespace: sockets that thread creates, and the /proc/sys/net it reads, are the
//! target netns's.

use std::{
    collections::{BTreeMap, HashMap},
    ffi::CString,
    fs::{self, File},
    io,
    os::{
        fd::{AsRawFd as _, FromRawFd as _, OwnedFd},
        unix::{ffi::OsStrExt as _, fs::MetadataExt as _},
    },
    path::{Path, PathBuf},
};

use super::error::{Error, Result};

/// Where `ip netns add` bind-mounts named namespaces.
const NETNS_DIR: &str = "/run/netns";
/// kernel ABI: include/uapi/linux/magic.h, NSFS_MAGIC: the filesystem of namespace files.
const NSFS_MAGIC: i64 = 0x6e73_6673;

/// One network namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Netns {
    /// The inode of its nsfs file: what `ls -L -i /proc/PID/ns/net` prints, unique on the host.
    pub inode: u64,
    /// Its name in /run/netns, when it has one.
    pub name: Option<String>,
    /// Processes in it, lowest first (empty for a named netns no process uses).
    pub pids: Vec<u32>,
    /// The lowest pid in it, when that is known: None when a process whose netns could not be
    /// read has a lower pid (it may be in this one: pid 1 of the host, say).
    pub lowest_pid: Option<u32>,
    /// A socket of this netns, as (pid, fd) of a process holding it: the way in when neither a
    /// name nor a process leads there.
    pub socket: Option<(u32, i32)>,
}

impl Netns {
    /// How a person names it: its /run/netns name, else `pid N` with N its lowest pid (as in
    /// `nsenter -t N -n`), else its inode.
    pub fn label(&self) -> String {
        match (&self.name, self.lowest_pid) {
            (Some(name), _) => name.clone(),
            (None, Some(pid)) => format!("pid {pid}"),
            (None, None) => format!("netns {}", self.inode),
        }
    }
}

/// Every network namespace that could be seen.
#[derive(Debug, Default)]
pub struct Namespaces {
    /// Sorted: namespaces with processes by their lowest pid (the host's first), then named ones.
    pub list: Vec<Netns>,
    /// Processes whose netns link could not be read (permission denied), ascending.
    pub unreadable: Vec<u32>,
    /// Those of them whose netns could not be found otherwise either.
    pub unplaced: Vec<u32>,
}

/// The inode of a namespace file (following the /proc magic link).
fn ns_inode(path: &Path) -> io::Result<u64> {
    fs::metadata(path).map(|m| m.ino())
}

/// The netns of the calling thread.
pub fn current_inode() -> io::Result<u64> {
    ns_inode(Path::new("/proc/thread-self/ns/net"))
}

/// Whether `path` is a namespace file (a stale /run/netns entry is a plain empty file).
fn is_nsfs(path: &Path) -> bool {
    let Ok(c_path) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: statfs is plain old data; zeroed is a valid value.
    let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: c_path is NUL-terminated and stat is a valid out pointer.
    let rc = unsafe { libc::statfs(c_path.as_ptr(), &raw mut stat) };
    #[expect(
        clippy::useless_conversion,
        reason = "f_type is i64 or i32 depending on the target"
    )]
    let f_type = i64::from(stat.f_type);
    rc == 0 && f_type == NSFS_MAGIC
}

/// The named namespaces in /run/netns: (name, inode), sorted by name.
fn named() -> Vec<(String, u64)> {
    let Ok(dir) = fs::read_dir(NETNS_DIR) else {
        return Vec::new();
    };
    let mut out: Vec<(String, u64)> = dir
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_str()?.to_owned();
            let path = entry.path();
            if !is_nsfs(&path) {
                return None;
            }
            Some((name, ns_inode(&path).ok()?))
        })
        .collect();
    out.sort();
    out
}

/// A key of a process's netns that needs no ptrace access, unlike /proc/PID/ns/net: the inode
/// of /proc/PID/net/stat, a directory each netns has its own of (fs/proc/proc_net.c,
/// proc_net_ns_init). Two processes with the same key share a netns.
fn proc_net_key(pid: u32) -> io::Result<u64> {
    fs::metadata(format!("/proc/{pid}/net/stat")).map(|m| m.ino())
}

/// Adds each process of `unreadable` (its ns/net link refused) to the netns of `list` it shares
/// /proc/PID/net with, and sets every netns's lowest pid where no unplaced process could be
/// lower. Returns the processes it could not place.
fn place(list: &mut [Netns], unreadable: &[u32]) -> Vec<u32> {
    let keys: HashMap<u64, usize> = list
        .iter()
        .enumerate()
        .filter_map(|(i, n)| Some((proc_net_key(*n.pids.first()?).ok()?, i)))
        .collect();
    let mut unplaced = Vec::new();
    for &pid in unreadable {
        match proc_net_key(pid).ok().and_then(|k| keys.get(&k)) {
            Some(&i) => list[i].pids.push(pid),
            None => unplaced.push(pid),
        }
    }
    let first_unplaced = unplaced.iter().min().copied().unwrap_or(u32::MAX);
    for netns in list {
        netns.pids.sort_unstable();
        netns.pids.dedup();
        netns.lowest_pid = netns.pids.first().copied().filter(|&p| p < first_unplaced);
    }
    unplaced
}

/// Process ids in /proc, in the order /proc lists them (ascending).
pub(crate) fn pids() -> impl Iterator<Item = u32> {
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
}

/// The netns inode of a process; `Err` with the io error kind when it cannot be read.
pub(crate) fn netns_of(pid: u32) -> io::Result<u64> {
    ns_inode(Path::new(&format!("/proc/{pid}/ns/net")))
}

/// Every network namespace: those of all processes plus the named ones.
pub fn all() -> Namespaces {
    let mut by_inode: BTreeMap<u64, Netns> = BTreeMap::new();
    let mut unreadable = Vec::new();
    for pid in pids() {
        match netns_of(pid) {
            Ok(inode) => by_inode
                .entry(inode)
                .or_insert_with(|| Netns::unnamed(inode))
                .pids
                .push(pid),
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => unreadable.push(pid),
            // The process exited meanwhile: normal.
            Err(_) => {}
        }
    }
    for (name, inode) in named() {
        let netns = by_inode
            .entry(inode)
            .or_insert_with(|| Netns::unnamed(inode));
        // Several names for one netns: keep the first in name order.
        netns.name.get_or_insert(name);
    }
    let mut list: Vec<Netns> = by_inode.into_values().collect();
    let unplaced = place(&mut list, &unreadable);
    list.sort_by(|a, b| {
        let key = |n: &Netns| (n.pids.first().copied().unwrap_or(u32::MAX), n.name.clone());
        key(a).cmp(&key(b))
    });
    Namespaces {
        list,
        unreadable,
        unplaced,
    }
}

/// The first process in netns `inode` (and the lowest pid, when that is sure), looking past
/// processes whose netns link is refused.
fn first_process(inode: u64) -> (Vec<u32>, Option<u32>) {
    let mut denied = Vec::new();
    for pid in pids() {
        match netns_of(pid) {
            Ok(i) if i == inode => {
                let mut found = [Netns {
                    pids: vec![pid],
                    ..Netns::unnamed(inode)
                }];
                place(&mut found, &denied);
                let [found] = found;
                return (found.pids, found.lowest_pid);
            }
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => denied.push(pid),
            Ok(_) | Err(_) => {}
        }
    }
    (Vec::new(), None)
}

impl Netns {
    fn unnamed(inode: u64) -> Netns {
        Netns {
            inode,
            name: None,
            pids: Vec::new(),
            lowest_pid: None,
            socket: None,
        }
    }
}

/// kernel ABI: include/uapi/linux/sockios.h, SIOCGSKNS: an fd of a socket's network namespace.
const SIOCGSKNS: libc::c_ulong = 0x894C;

/// Takes a copy of an fd of another process (pidfd_getfd(2): needs the right to ptrace it).
fn fd_of(pid: u32, fd: i32) -> io::Result<OwnedFd> {
    let owned = |rc: libc::c_long| {
        let fd = i32::try_from(rc).map_err(|_| io::Error::last_os_error())?;
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the kernel just returned this new descriptor; nobody else owns it.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    };
    // SAFETY: pidfd_open takes a pid and flags; no memory is passed.
    let pidfd = owned(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })?;
    // SAFETY: pidfd_getfd takes an open pidfd, an fd number and flags; no memory is passed.
    owned(unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0) })
}

/// The netns of socket `fd` of process `pid`, open.
pub(crate) fn of_socket(pid: u32, fd: i32) -> io::Result<File> {
    let socket = fd_of(pid, fd)?;
    // SAFETY: SIOCGSKNS takes no argument and returns a new descriptor or -1.
    let ns = unsafe { libc::ioctl(socket.as_raw_fd(), SIOCGSKNS as _) };
    if ns < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this new descriptor; nobody else owns it.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(ns) }))
}

/// A netns known only through a socket of it.
pub(crate) fn through_socket(inode: u64, pid: u32, fd: i32) -> Netns {
    Netns {
        socket: Some((pid, fd)),
        ..Netns::unnamed(inode)
    }
}

/// The netns with this inode, found as cheaply as possible: the caller's own, a named one, or
/// the first process in it.
pub fn by_inode(inode: u64) -> Result<Netns> {
    let name = named()
        .into_iter()
        .find_map(|(name, i)| (i == inode).then_some(name));
    let (pids, lowest_pid) = first_process(inode);
    if name.is_none() && pids.is_empty() && current_inode().ok() != Some(inode) {
        return Err(Error::NoSuchNetns(inode.to_string()));
    }
    Ok(Netns {
        name,
        pids,
        lowest_pid,
        ..Netns::unnamed(inode)
    })
}

/// The netns a user named: an inode number or a /run/netns name.
pub fn find(spec: &str) -> Result<Netns> {
    if let Ok(inode) = spec.parse::<u64>() {
        return by_inode(inode);
    }
    let path = Path::new(NETNS_DIR).join(spec);
    if spec.contains('/') || !is_nsfs(&path) {
        return Err(Error::NoSuchNetns(spec.to_owned()));
    }
    let inode = ns_inode(&path).map_err(|source| Error::Read { path, source })?;
    let (pids, lowest_pid) = first_process(inode);
    Ok(Netns {
        name: Some(spec.to_owned()),
        pids,
        lowest_pid,
        ..Netns::unnamed(inode)
    })
}

/// Opens a file of the netns, checking it still is that netns (a pid may have been reused).
fn open(netns: &Netns) -> Result<OwnedFd> {
    let named = netns.name.iter().map(|n| Path::new(NETNS_DIR).join(n));
    let of_pids = netns
        .pids
        .iter()
        .map(|pid| PathBuf::from(format!("/proc/{pid}/ns/net")));
    let through_socket = netns.socket.iter().map(|&(pid, fd)| of_socket(pid, fd));
    let mut denied = false;
    for opened in named.chain(of_pids).map(File::open).chain(through_socket) {
        match opened {
            Ok(file) if file.metadata().is_ok_and(|m| m.ino() == netns.inode) => {
                return Ok(file.into())
            }
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => denied = true,
            // Another netns now (the pid was reused) or gone: try the next handle.
            Ok(_) | Err(_) => {}
        }
    }
    if denied {
        Err(Error::Permission {
            netns: netns.label(),
        })
    } else {
        Err(Error::NetnsGone {
            netns: netns.label(),
        })
    }
}

/// Runs `f` on a new thread inside `netns` and returns its result. The calling thread's
/// namespace never changes; the thread that entered `netns` ends with `f`.
pub fn run_in<T: Send>(netns: &Netns, f: impl FnOnce() -> T + Send) -> Result<T> {
    // A thread starts in its creator's netns: no setns (and no privilege) needed for our own.
    let fd = if current_inode().ok() == Some(netns.inode) {
        None
    } else {
        Some(open(netns)?)
    };
    let label = netns.label();
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name("dualstack-netns".to_owned())
            .spawn_scoped(scope, move || {
                if let Some(fd) = fd {
                    // SAFETY: fd is an open namespace file; setns affects this thread only
                    // (CLONE_NEWNET does not require a single-threaded process).
                    if unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                        return Err(io::Error::last_os_error());
                    }
                }
                Ok(f())
            })
            .map_err(|source| Error::Thread {
                netns: label.clone(),
                source,
            })?;
        match thread.join() {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) if e.kind() == io::ErrorKind::PermissionDenied => {
                Err(Error::Permission { netns: label })
            }
            Ok(Err(source)) => Err(Error::Setns {
                netns: label,
                source,
            }),
            Err(_) => Err(Error::ThreadPanic(label)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        let mut n = Netns {
            pids: vec![1, 7],
            lowest_pid: Some(1),
            ..Netns::unnamed(4_026_531_840)
        };
        assert_eq!(n.label(), "pid 1");
        n.name = Some("blue".to_owned());
        assert_eq!(n.label(), "blue");
        n.name = None;
        // pid 1 could not be read and might be in it: 7 is not known to be its lowest pid.
        n.pids = vec![7];
        n.lowest_pid = None;
        assert_eq!(n.label(), "netns 4026531840");
    }

    #[test]
    fn own_netns_is_listed_and_entered_without_setns() {
        let own = current_inode().expect("own netns");
        let all = all();
        let me = std::process::id();
        let found = all.list.iter().find(|n| n.inode == own).expect("own netns");
        assert!(found.pids.contains(&me), "{found:?}");
        let inside = run_in(found, current_inode)
            .expect("run_in")
            .expect("inode");
        assert_eq!(inside, own);
        assert_eq!(current_inode().expect("still own"), own);
    }

    #[test]
    fn unreadable_processes_are_placed_or_make_the_lowest_pid_unknown() {
        let me = std::process::id();
        let own = Netns {
            pids: vec![me],
            ..Netns::unnamed(current_inode().expect("own netns"))
        };
        // Our own /proc/PID/net/stat is the netns's: placed, the lowest pid is sure.
        let mut list = [own.clone()];
        assert!(place(&mut list, &[me]).is_empty());
        assert_eq!(
            (list[0].pids.clone(), list[0].lowest_pid),
            (vec![me], Some(me))
        );
        // A lower process that cannot be placed (pid 0 has no /proc entry) might be in it.
        let mut list = [own];
        assert_eq!(place(&mut list, &[0]), [0]);
        assert_eq!(list[0].lowest_pid, None);
        assert_eq!(list[0].label(), format!("netns {}", list[0].inode));
    }

    #[test]
    fn unknown_names_are_refused() {
        assert!(matches!(find("../etc"), Err(Error::NoSuchNetns(_))));
        assert!(matches!(
            find("no-such-netns-here"),
            Err(Error::NoSuchNetns(_))
        ));
    }
}
