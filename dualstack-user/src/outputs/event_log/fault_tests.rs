//! The event log when the disk says no: a read-only directory and a full filesystem. Neither
//! may panic or stop the caller; lines are dropped and counted, whole lines stay whole, and
//! the log recovers once the cause is gone.
//!
//! Root ignores permission bits, so as root the read-only directory is a read-only bind mount
//! and the full disk a 64 KiB tmpfs (both unmounted by a guard); other users get a 0555
//! directory, and the full-disk test says it needs root.

use std::{
    ffi::CString,
    fs,
    os::unix::{ffi::OsStrExt as _, fs::PermissionsExt as _},
    path::Path,
};

use super::{
    naming,
    tests::{content, gap, gaps, line, policy, Dir},
    EventLog, LogError, LogPolicy, REASON_UNWRITABLE, RETRY_INTERVAL,
};

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn c_path(path: &Path) -> CString {
    CString::new(path.as_os_str().as_bytes()).unwrap()
}

/// A mount made by a test, detached on drop (also when the test panics).
struct Mount(CString);

impl Mount {
    fn call(source: &CString, target: &CString, fstype: &str, flags: libc::c_ulong, data: &str) {
        let fstype = CString::new(fstype).unwrap();
        let data = CString::new(data).unwrap();
        // SAFETY: every pointer is a valid NUL-terminated string for the duration of the call.
        let rc = unsafe {
            libc::mount(
                source.as_ptr(),
                target.as_ptr(),
                fstype.as_ptr(),
                flags,
                data.as_ptr().cast(),
            )
        };
        assert_eq!(
            rc,
            0,
            "mount {target:?} failed: {} (the fault tests need root with CAP_SYS_ADMIN)",
            std::io::Error::last_os_error()
        );
    }

    /// `mount --bind DIR DIR && mount -o remount,bind,ro DIR`.
    fn read_only(dir: &Path) -> Mount {
        let target = c_path(dir);
        Self::call(&target, &target, "", libc::MS_BIND, "");
        let mount = Mount(target);
        Self::call(
            &mount.0,
            &mount.0,
            "",
            libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY,
            "",
        );
        mount
    }

    /// `mount -t tmpfs -o size=SIZE tmpfs DIR`.
    fn tmpfs(dir: &Path, size: &str) -> Mount {
        let target = c_path(dir);
        let source = CString::new("tmpfs").unwrap();
        Self::call(&source, &target, "tmpfs", 0, &format!("size={size}"));
        Mount(target)
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        // SAFETY: a valid NUL-terminated path.
        unsafe { libc::umount2(self.0.as_ptr(), libc::MNT_DETACH) };
    }
}

/// Makes `dir` unwritable until the guard is dropped.
enum ReadOnly {
    Mount(#[expect(dead_code, reason = "held for its Drop")] Mount),
    Mode(std::path::PathBuf),
}

impl ReadOnly {
    fn new(dir: &Path) -> ReadOnly {
        if is_root() {
            ReadOnly::Mount(Mount::read_only(dir))
        } else {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o555)).unwrap();
            ReadOnly::Mode(dir.to_path_buf())
        }
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        if let ReadOnly::Mode(dir) = self {
            let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o755));
        }
    }
}

#[test]
fn read_only_directory_gives_a_failing_log_that_recovers() {
    let dir = Dir::new("ro");
    let guard = ReadOnly::new(&dir.0);
    let mut log = EventLog::open(policy(&dir.0)).expect("open returns a failing log, not an error");
    assert!(log.is_failing());
    let stats = log.stats();
    let why = stats.last_error.clone().unwrap_or_default();
    let current = dir.0.join(naming::CURRENT);
    assert!(why.contains(&current.display().to_string()), "{why}");
    assert!(
        why.contains("Read-only file system") || why.contains("Permission denied"),
        "{why}"
    );
    assert!(stats.failing && stats.write_errors == 1, "{stats:?}");

    for i in 0..3 {
        let err = log.write_line(line(i).as_bytes()).unwrap_err();
        assert!(matches!(err, LogError::Unavailable { .. }), "{err}");
        assert!(
            err.to_string().contains(&current.display().to_string()),
            "{err}"
        );
    }
    assert_eq!(log.stats().lines_dropped, 3);
    // A retry before the cause is gone fails again and says so.
    assert!(log.reopen().is_err());
    assert_eq!(log.stats().write_errors, 2);

    drop(guard);
    log.reopen().expect("writable again");
    assert!(!log.is_failing());
    log.write_line(line(9).as_bytes()).unwrap();
    let stats = log.close().unwrap();
    assert_eq!((stats.lines_written, stats.lines_dropped), (1, 3));
    assert_eq!(fs::read_to_string(&current).unwrap(), line(9));
}

#[test]
fn full_disk_drops_lines_keeps_whole_ones_and_recovers() {
    if !is_root() {
        eprintln!(
            "full_disk_drops_lines_keeps_whole_ones_and_recovers needs root (tmpfs): skipped"
        );
        return;
    }
    let dir = Dir::new("enospc");
    let _mount = Mount::tmpfs(&dir.0, "64k");
    // Ballast to free later, so that the test can see the log recover.
    let ballast = dir.0.join("ballast");
    fs::write(&ballast, vec![0u8; 16 * 1024]).unwrap();
    let mut log = EventLog::open(policy(&dir.0)).unwrap();
    // 1 KiB lines, odd-sized so that the disk fills in the middle of one.
    let big = |i: usize| format!("{{\"n\":{i:>6},\"pad\":\"{}\"}}\n", "y".repeat(1000));
    let mut first_error = None;
    let mut attempted = 0;
    for i in 0..200 {
        attempted += 1;
        if let Err(err) = log.write_line(big(i).as_bytes()).and_then(|()| log.flush()) {
            first_error = Some(err);
            break;
        }
    }
    let err = first_error.expect("a 64 KiB filesystem fills up");
    let message = err.to_string();
    let current = dir.0.join(naming::CURRENT);
    assert!(
        message.contains(&current.display().to_string()),
        "{message}"
    );
    assert!(message.contains("No space left on device"), "{message}");
    assert!(log.is_failing());
    // Later lines are dropped without panicking or blocking.
    for i in 200..210 {
        attempted += 1;
        assert!(log.write_line(big(i).as_bytes()).is_err());
    }
    let stats = log.stats();
    assert!(
        stats.write_errors >= 1 && stats.lines_dropped >= 11,
        "{stats:?}"
    );
    assert_eq!(
        stats.lines_written + stats.lines_dropped + stats.lines_buffered,
        attempted,
        "{stats:?}"
    );
    let text = fs::read_to_string(&current).unwrap();
    assert!(text.ends_with('\n'), "no torn line after a short write");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len() as u64, stats.lines_written);
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(format!("{l}\n"), big(i), "line {i} is whole and in order");
    }

    fs::remove_file(&ballast).unwrap();
    log.reopen().expect("space is back");
    log.write_line(big(999).as_bytes()).unwrap();
    log.flush().unwrap();
    let text = fs::read_to_string(&current).unwrap();
    assert!(
        text.ends_with(&big(999)),
        "writing resumed after the freed space"
    );
}

fn require_root(what: &str) {
    assert!(
        is_root(),
        "{what} needs root (it mounts a tmpfs): run it with `cargo xtask test`"
    );
}

/// Fills the filesystem of `dir` with a ballast file, to the last byte.
fn fill(dir: &Path) -> std::path::PathBuf {
    use std::io::Write as _;
    let ballast = dir.join("ballast");
    let mut file = fs::File::create(&ballast).unwrap();
    while file.write_all(&[0u8; 512]).is_ok() {}
    while file.write_all(&[0u8]).is_ok() {}
    ballast
}

/// A disk that fills, frees a little, fills again and finally frees: however the faults come,
/// the gap records in the log sum exactly to the lines dropped, and every line is either in
/// the log or counted there.
#[test]
fn gap_records_sum_exactly_to_the_lines_a_full_disk_dropped() {
    require_root("gap_records_sum_exactly_to_the_lines_a_full_disk_dropped");
    let dir = Dir::new("gaps-enospc");
    let _mount = Mount::tmpfs(&dir.0, "256k");
    let mut log = EventLog::open(policy(&dir.0)).unwrap();
    log.set_gap_record(gap);
    let mut total = 0;
    let mut send = |log: &mut EventLog, n: usize| {
        for _ in 0..n {
            let _ = log.write_line(line(total).as_bytes());
            total += 1;
        }
        let _ = log.flush();
    };
    send(&mut log, 100);
    let ballast = fill(&dir.0);
    for round in 0..4 {
        // Many buffers lost, gap records among them (the log is retried in between).
        for _ in 0..5 {
            send(&mut log, 300);
            let _ = log.reopen();
        }
        // A little room: some lines (and perhaps a record) get in, then the disk is full again.
        let f = fs::OpenOptions::new().write(true).open(&ballast).unwrap();
        let len = f.metadata().unwrap().len();
        f.set_len(len.saturating_sub(4096 * (round + 1))).unwrap();
        send(&mut log, 200);
        let _ = log.reopen();
        send(&mut log, 200);
    }
    fs::remove_file(&ballast).unwrap();
    log.reopen().expect("space is back");
    send(&mut log, 10);
    let stats = log.close().unwrap();

    let text = content(&dir.0.join(naming::CURRENT));
    let told: u64 = gaps(&text)
        .iter()
        .inspect(|(_, reason)| assert_eq!(reason, REASON_UNWRITABLE))
        .map(|(count, _)| count)
        .sum();
    let events = text.lines().filter(|l| l.starts_with("{\"type\"")).count() as u64;
    assert!(stats.lines_dropped > 1000, "{stats:?}");
    assert_eq!(told, stats.lines_dropped, "{stats:?}");
    assert_eq!((stats.lost_told, stats.lost_untold), (told, 0));
    assert_eq!(events + told, total as u64, "every line is logged or told");
    // Lines stay in order and whole.
    let numbers: Vec<usize> = text
        .lines()
        .filter(|l| l.starts_with("{\"type\""))
        .map(|l| l[20..28].trim().parse().unwrap())
        .collect();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "out of order");
}

/// A file rotated while the disk is full cannot be compressed then; it is once space is back.
#[test]
fn a_file_rotated_on_a_full_disk_is_compressed_once_space_is_back() {
    require_root("a_file_rotated_on_a_full_disk_is_compressed_once_space_is_back");
    let dir = Dir::new("gz-enospc");
    let _mount = Mount::tmpfs(&dir.0, "256k");
    let mut log = EventLog::open(LogPolicy {
        max_bytes: 2000,
        compress: true,
        ..policy(&dir.0)
    })
    .unwrap();
    // 40 lines of 50 bytes: the file is at its limit.
    for i in 0..40 {
        log.write_line(line(i).as_bytes()).unwrap();
    }
    log.flush().unwrap();
    let ballast = fill(&dir.0);
    // The next line rotates the file: the rename needs no room, the gzip does.
    let _ = log.write_line(line(40).as_bytes());
    let _ = log.flush();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let plain = |dir: &Path| {
        naming::rotated_files(dir)
            .unwrap()
            .iter()
            .filter(|r| !r.compressed)
            .count()
    };
    assert_eq!(
        plain(&dir.0),
        1,
        "the rotated file could not be compressed yet"
    );
    assert!(log.stats().rotate_errors >= 1);

    fs::remove_file(&ballast).unwrap();
    let start = std::time::Instant::now();
    while plain(&dir.0) > 0 {
        assert!(
            start.elapsed() < RETRY_INTERVAL * 3,
            "the rotated file stays plain after space came back"
        );
        let _ = log.flush_if_due();
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let stats = log.close().unwrap();
    assert!(stats.files_compressed >= 1, "{stats:?}");
}
