//! The daemon's event log on a disk that says no, as root: a full tmpfs and a block device that
//! answers every write with an I/O error. Every line the log could not write is told in the log
//! itself by `lost` records whose counts sum exactly to the lines the daemon says it dropped;
//! the daemon warns once per fault, not once per line; and a file rotated while the disk was
//! full is compressed once space is back.

use std::{
    fs,
    io::Write as _,
    path::{Path, PathBuf},
    process::Command,
    sync::{Mutex, MutexGuard},
    time::Duration,
};

use dualstack::outputs::event_log::naming;
use serde_json::Value;
use tests::{
    daemon::{wait_until, Daemon, Workload},
    dualstack, port_base, require_root, run, TempDir,
};

const T: Duration = Duration::from_mins(1);

fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Port bases for this binary: 19000 + k * 200, k < 40.
fn next_base() -> u16 {
    port_base(19000, 40)
}

fn sh(program: &str, args: &[&str]) -> String {
    let out = run(Command::new(program).args(args), T);
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        out.stderr
    );
    out.stdout.trim().to_owned()
}

/// A filesystem mounted on a directory by the test, unmounted on drop.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = run(Command::new("umount").arg(&self.0), T);
    }
}

/// `mount -t tmpfs -o size=SIZE tmpfs DIR`.
fn tmpfs(dir: &Path, size: &str) -> Mounted {
    fs::create_dir_all(dir).unwrap();
    let dir_arg = dir.to_str().unwrap();
    sh(
        "mount",
        &[
            "-t",
            "tmpfs",
            "-o",
            &format!("size={size}"),
            "tmpfs",
            dir_arg,
        ],
    );
    Mounted(dir.to_path_buf())
}

/// An ext4 filesystem (no journal, mounted `sync,errors=continue` so that a failed block write
/// fails the `write` call itself) on a loop device over a sparse file. Limiting the device to
/// its first 256 KiB (the loop device's size limit; the file is left alone, so no data is
/// lost) makes every data write fail with EIO; lifting the limit heals it. The
/// filesystem's metadata (4 KiB blocks, one block group, 128 inodes) lies in its first 168 KiB
/// and stays readable, so that the fault is in the data only: ext4 would otherwise mark a group
/// whose bitmap it could not read as corrupt, and refuse it for good. A 1 MiB pad file takes
/// the free blocks among the metadata, so the log's blocks all lie past the cut.
struct LoopDisk {
    device: String,
}

const DISK: &str = "32M";

impl LoopDisk {
    fn mount(image: &Path, dir: &Path) -> (LoopDisk, Mounted) {
        fs::create_dir_all(dir).unwrap();
        sh("truncate", &["-s", DISK, image.to_str().unwrap()]);
        sh(
            "mkfs.ext4",
            &[
                "-q",
                "-F",
                "-b",
                "4096",
                "-N",
                "128",
                "-O",
                "^has_journal,^resize_inode",
                image.to_str().unwrap(),
            ],
        );
        let device = sh("losetup", &["-f", "--show", image.to_str().unwrap()]);
        let disk = LoopDisk { device };
        sh(
            "mount",
            &[
                "-o",
                "sync,errors=continue",
                &disk.device,
                dir.to_str().unwrap(),
            ],
        );
        let mounted = Mounted(dir.to_path_buf());
        fs::write(dir.join("pad"), vec![1u8; 1 << 20]).unwrap();
        (disk, mounted)
    }

    /// Sets the loop device's size limit (0: the whole file) with `LOOP_SET_STATUS64`.
    fn limit(&self, bytes: u64) {
        // kernel ABI: struct loop_info64 (linux/loop.h) is 232 bytes; lo_sizelimit is the u64
        // at offset 32.
        const LOOP_SET_STATUS64: libc::c_ulong = 0x4C04;
        const LOOP_GET_STATUS64: libc::c_ulong = 0x4C05;
        let dev = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.device)
            .unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&dev);
        let mut info = [0u8; 232];
        // SAFETY: the ioctls read and write a loop_info64, which `info` is large enough for.
        unsafe {
            assert_eq!(
                libc::ioctl(fd, LOOP_GET_STATUS64, info.as_mut_ptr()),
                0,
                "LOOP_GET_STATUS64 on {}: {}",
                self.device,
                std::io::Error::last_os_error()
            );
            info[32..40].copy_from_slice(&bytes.to_ne_bytes());
            assert_eq!(
                libc::ioctl(fd, LOOP_SET_STATUS64, info.as_ptr()),
                0,
                "LOOP_SET_STATUS64 on {}: {}",
                self.device,
                std::io::Error::last_os_error()
            );
        }
    }

    fn break_writes(&self) {
        self.limit(256 << 10);
    }

    fn heal(&self) {
        self.limit(0);
    }
}

impl Drop for LoopDisk {
    fn drop(&mut self) {
        let _ = run(Command::new("losetup").args(["-d", &self.device]), T);
    }
}

/// Fills the filesystem of `dir` with a ballast file, to the last byte.
fn fill(dir: &Path) -> PathBuf {
    let ballast = dir.join("ballast");
    let mut file = fs::File::create(&ballast).unwrap();
    let chunk = vec![0u8; 4096];
    while file.write_all(&chunk).is_ok() {}
    for _ in 0..64 {
        let _ = file.write_all(&[0]);
    }
    let _ = file.sync_all();
    ballast
}

/// Runs workload.py with `loops` loops to its end.
fn workload(loops: u32) {
    let mut w = Workload::start(loops, next_base());
    w.run(T);
    w.finish();
}

/// The number before `what` in the daemon's `stopped:` line ("N events read", "D lines
/// dropped").
fn in_summary(stderr: &str, what: &str) -> u64 {
    let line = stderr
        .lines()
        .rev()
        .find_map(|l| l.split_once("stopped: ").map(|(_, s)| s.to_owned()))
        .unwrap_or_else(|| panic!("no summary line in the daemon's stderr:\n{stderr}"));
    let head = &line[..line
        .find(what)
        .unwrap_or_else(|| panic!("no {what} in {line}"))];
    head.split_whitespace().last().unwrap().parse().unwrap()
}

/// The sum of the counts of the log's `lost` records for lines the log itself missed (not the
/// kernel's drops), their number, and the events in the log, read back with `dualstack export`.
fn log_lost_records(log_dir: &Path) -> (u64, usize, u64) {
    let out = run(dualstack(&["export", "--format", "json"]).arg(log_dir), T);
    assert_eq!(out.code(), Some(0), "dualstack export: {}", out.stderr);
    let mut sum = 0;
    let mut records = 0;
    let events = out
        .stdout
        .lines()
        .filter(|l| l.contains("\"type\":\"event\""))
        .count() as u64;
    for line in out
        .stdout
        .lines()
        .filter(|l| l.contains("\"type\":\"lost\""))
    {
        let v: Value = serde_json::from_str(line).unwrap();
        if v["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("event log"))
        {
            sum += v["count"].as_u64().unwrap();
            records += 1;
        }
    }
    (sum, records, events)
}

fn warnings(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains(" WARN ")).collect()
}

/// Stops the daemon and checks what the log says about its fault: the `lost` records sum to
/// the dropped lines, exactly, and the daemon warned a few times, not once per line.
fn stop_and_check(mut daemon: Daemon, what: &str) {
    let during = daemon.metric("dualstack_log_lines_dropped_total");
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait(T).code(), Some(0), "{}", daemon.stderr());
    let stderr = daemon.stderr();
    let dropped = in_summary(&stderr, " lines dropped");
    let read = in_summary(&stderr, " events read");
    let (told, records, logged) = log_lost_records(&daemon.log_dir);
    let warned = warnings(&stderr);
    println!(
        "{what}: {dropped} lines dropped ({during} in the metrics before the stop), {told} in \
         {records} lost records, {} warnings",
        warned.len()
    );
    assert!(dropped >= 4000, "the fault dropped only {dropped} lines");
    assert_eq!(dropped, during, "the metric and the summary agree");
    assert_eq!(
        told, dropped,
        "the log's lost records must sum to the lines dropped"
    );
    assert_eq!(
        logged + told,
        read,
        "every event read is in the log or told missing there"
    );
    assert!(
        warned.len() <= 4,
        "one warning when the fault starts and one when it ends, not {}:\n{}",
        warned.len(),
        warned[..warned.len().min(20)].join("\n")
    );
}

#[test]
fn a_full_disk_is_told_in_the_log_exactly_and_warned_once() {
    require_root();
    let _serial = serial();
    let dir = TempDir::new("log-full");
    let log_dir = dir.join("log");
    let _fs = tmpfs(&log_dir, "8m");
    // Files rotate by age every 2 s, so that one is rotated while the disk is full.
    let daemon = Daemon::start(&dir, &["--log-max-age", "2s"]);
    workload(100);
    std::thread::sleep(Duration::from_millis(500));
    assert!(daemon.metric("dualstack_log_lines_total") > 300);

    let ballast = fill(&log_dir);
    // Long enough for an age rotation (whose compression finds no room) and several retries,
    // with lines dropped all along.
    for _ in 0..3 {
        workload(1000);
        std::thread::sleep(Duration::from_millis(1500));
    }
    assert!(daemon.metric("dualstack_log_lines_dropped_total") >= 4000);

    fs::remove_file(&ballast).unwrap();
    let written = daemon.metric("dualstack_log_lines_total");
    workload(100);
    wait_until(T, "lines logged again", || {
        daemon.metric("dualstack_log_lines_total") > written + 300
    });
    // Every rotated file, including those rotated during the fault, ends up gzipped.
    let rotated = || naming::rotated_files(&log_dir).expect("list the log");
    let plain = |files: &[naming::Rotated]| files.iter().filter(|f| !f.compressed).count();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while plain(&rotated()) > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    stop_and_check(daemon, "full tmpfs");
    let files = rotated();
    assert!(
        !files.is_empty() && plain(&files) == 0,
        "rotated files left uncompressed after space came back: {files:?}"
    );
}

#[test]
fn an_io_error_device_is_told_in_the_log_exactly_and_warned_once() {
    require_root();
    let _serial = serial();
    let dir = TempDir::new("log-eio");
    let log_dir = dir.join("log");
    let (disk, _mounted) = LoopDisk::mount(&dir.join("disk.img"), &log_dir);
    let daemon = Daemon::start(&dir, &[]);
    workload(100);
    std::thread::sleep(Duration::from_millis(500));
    assert!(daemon.metric("dualstack_log_lines_total") > 300);

    disk.break_writes();
    for _ in 0..3 {
        workload(1000);
        std::thread::sleep(Duration::from_millis(1500));
    }
    let failed = daemon.metrics();
    assert!(
        daemon.metric("dualstack_log_lines_dropped_total") >= 4000,
        "{failed}"
    );

    disk.heal();
    let written = daemon.metric("dualstack_log_lines_total");
    workload(100);
    wait_until(T, "lines logged again", || {
        daemon.metric("dualstack_log_lines_total") > written + 300
    });
    stop_and_check(daemon, "I/O errors");
}
