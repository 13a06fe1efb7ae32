//! The event log on real files: buffering, rotation by size and by age, keep-N deletion, gzip,
//! torn-line repair, restarts and logrotate's move-and-SIGHUP.

use std::{
    fs,
    io::Read as _,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU32, Ordering},
    thread,
    time::Duration,
};

use flate2::read::MultiGzDecoder;

use super::{naming, EventLog, LogError, LogPolicy};

/// A directory removed on drop.
pub struct Dir(pub PathBuf);

impl Dir {
    pub fn new(tag: &str) -> Dir {
        static N: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "dualstack-log-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        Dir(path)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A policy that never rotates unless a test says so.
pub fn policy(dir: &Path) -> LogPolicy {
    LogPolicy {
        dir: dir.to_path_buf(),
        max_bytes: 0,
        max_age: Duration::ZERO,
        keep: 1000,
        compress: false,
    }
}

/// The i-th test line: 50 bytes with its newline.
pub fn line(i: usize) -> String {
    format!("{{\"type\":\"event\",\"n\":{i:>8},\"pad\":\"xxxxxxxxxxx\"}}\n")
}

/// The gap record the tests use: `{"lost":N,"reason":"..."}`.
pub fn gap(out: &mut Vec<u8>, count: u64, reason: &str) {
    out.extend_from_slice(format!("{{\"lost\":{count},\"reason\":\"{reason}\"}}\n").as_bytes());
}

/// The counts of the gap records in `text`, by reason.
pub fn gaps(text: &str) -> Vec<(u64, String)> {
    text.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("{\"lost\":")?;
            let (count, reason) = rest.split_once(",\"reason\":\"")?;
            Some((
                count.parse().unwrap(),
                reason.trim_end_matches("\"}").to_owned(),
            ))
        })
        .collect()
}

/// The content of a log file, gunzipped when it is gzip.
pub fn content(path: &Path) -> String {
    let bytes = fs::read(path).unwrap();
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut text = String::new();
        MultiGzDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .unwrap_or_else(|e| panic!("{} is not valid gzip: {e}", path.display()));
        text
    } else {
        String::from_utf8(bytes).unwrap()
    }
}

/// Every event file of the directory, oldest first, concatenated.
fn all_lines(dir: &Path) -> String {
    naming::event_files(dir)
        .unwrap()
        .iter()
        .map(|p| content(p))
        .collect()
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn lines_wait_in_memory_until_flushed() {
    let dir = Dir::new("buffer");
    let mut log = EventLog::open(policy(&dir.0)).unwrap();
    for i in 0..3 {
        log.write_line(line(i).as_bytes()).unwrap();
    }
    assert_eq!(log.stats().lines_buffered, 3);
    log.flush().unwrap();
    let stats = log.stats();
    assert_eq!((stats.lines_written, stats.lines_buffered), (3, 0));
    assert_eq!(stats.bytes_written, 150);
    let current = dir.0.join(naming::CURRENT);
    assert_eq!(content(&current), line(0) + &line(1) + &line(2));
}

#[test]
fn flush_if_due_writes_lines_that_waited() {
    let dir = Dir::new("due");
    let mut log = EventLog::open(policy(&dir.0)).unwrap();
    log.write_line(line(0).as_bytes()).unwrap();
    log.flush_if_due().unwrap();
    thread::sleep(super::FLUSH_INTERVAL + Duration::from_millis(20));
    log.flush_if_due().unwrap();
    assert_eq!(log.stats().lines_written, 1);
    assert_eq!(content(&dir.0.join(naming::CURRENT)), line(0));
}

#[test]
fn rotates_by_size_without_a_file_exceeding_max_bytes() {
    let dir = Dir::new("size");
    let mut log = EventLog::open(LogPolicy {
        max_bytes: 220,
        ..policy(&dir.0)
    })
    .unwrap();
    let expected: String = (0..20).map(line).collect();
    for i in 0..20 {
        log.write_line(line(i).as_bytes()).unwrap();
    }
    let stats = log.close().unwrap();
    // 4 lines of 50 bytes per file: 20 lines make 4 rotated files and a current one.
    assert_eq!(stats.rotations, 4, "{stats:?}");
    let files = naming::event_files(&dir.0).unwrap();
    assert_eq!(files.len(), 5, "{:?}", names(&dir.0));
    for f in &files {
        let size = fs::metadata(f).unwrap().len();
        assert!(size == 200, "{} has {size} bytes", f.display());
    }
    assert_eq!(all_lines(&dir.0), expected);
}

#[test]
fn a_line_longer_than_max_bytes_gets_a_file_of_its_own() {
    let dir = Dir::new("long");
    let mut log = EventLog::open(LogPolicy {
        max_bytes: 30,
        ..policy(&dir.0)
    })
    .unwrap();
    for i in 0..3 {
        log.write_line(line(i).as_bytes()).unwrap();
    }
    let stats = log.close().unwrap();
    assert_eq!(stats.rotations, 2);
    assert_eq!(all_lines(&dir.0), line(0) + &line(1) + &line(2));
}

#[test]
fn rotates_by_age_on_write_and_when_idle() {
    let dir = Dir::new("age");
    let age = Duration::from_millis(300);
    let mut log = EventLog::open(LogPolicy {
        max_age: age,
        ..policy(&dir.0)
    })
    .unwrap();
    log.write_line(line(0).as_bytes()).unwrap();
    log.write_line(line(1).as_bytes()).unwrap();
    assert_eq!(log.stats().rotations, 0);
    thread::sleep(age + Duration::from_millis(50));
    log.write_line(line(2).as_bytes()).unwrap();
    assert_eq!(log.stats().rotations, 1, "a write past the age rotates");
    thread::sleep(age + Duration::from_millis(50));
    log.flush_if_due().unwrap();
    assert_eq!(
        log.stats().rotations,
        2,
        "an idle file past its age rotates"
    );
    // An empty current file is not rotated, however old.
    thread::sleep(age + Duration::from_millis(50));
    log.flush_if_due().unwrap();
    assert_eq!(log.stats().rotations, 2);
    log.close().unwrap();
    let rotated = naming::rotated_files(&dir.0).unwrap();
    assert_eq!(rotated.len(), 2);
    assert_eq!(content(&dir.0.join(rotated[0].name())), line(0) + &line(1));
    assert_eq!(content(&dir.0.join(rotated[1].name())), line(2));
    assert_eq!(content(&dir.0.join(naming::CURRENT)), "");
}

#[test]
fn keeps_only_the_newest_rotated_files() {
    let dir = Dir::new("keep");
    let mut log = EventLog::open(LogPolicy {
        max_bytes: 100,
        keep: 2,
        ..policy(&dir.0)
    })
    .unwrap();
    for i in 0..12 {
        log.write_line(line(i).as_bytes()).unwrap();
    }
    let stats = log.close().unwrap();
    assert_eq!(stats.rotations, 5);
    assert_eq!(stats.files_deleted, 3, "{stats:?}");
    let rotated = naming::rotated_files(&dir.0).unwrap();
    assert_eq!(
        rotated.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [4, 5],
        "{:?}",
        names(&dir.0)
    );
    assert_eq!(all_lines(&dir.0), (6..12).map(line).collect::<String>());
}

#[test]
fn compression_produces_valid_gzip_and_removes_the_plain_file() {
    let dir = Dir::new("gzip");
    let mut log = EventLog::open(LogPolicy {
        max_bytes: 500,
        compress: true,
        ..policy(&dir.0)
    })
    .unwrap();
    let expected: String = (0..45).map(line).collect();
    for i in 0..45 {
        log.write_line(line(i).as_bytes()).unwrap();
    }
    let stats = log.close().unwrap();
    assert_eq!(
        (stats.rotations, stats.files_compressed),
        (4, 4),
        "{stats:?}"
    );
    assert_eq!(stats.rotate_errors, 0, "{stats:?}");
    let names = names(&dir.0);
    let gz = names.iter().filter(|n| n.ends_with(".jsonl.gz")).count();
    assert_eq!(gz, 4, "{names:?}");
    assert_eq!(
        names.len(),
        5,
        "no plain rotated or temporary files: {names:?}"
    );
    assert_eq!(all_lines(&dir.0), expected);
}

#[test]
fn open_cuts_a_torn_last_line() {
    let dir = Dir::new("torn");
    let current = dir.0.join(naming::CURRENT);
    let torn = &line(2)[..17];
    fs::write(&current, line(0) + &line(1) + torn).unwrap();
    let mut log = EventLog::open(policy(&dir.0)).unwrap();
    let stats = log.stats();
    assert_eq!(
        (stats.torn_lines_repaired, stats.torn_bytes_dropped),
        (1, 17)
    );
    assert_eq!(content(&current), line(0) + &line(1));
    log.write_line(line(3).as_bytes()).unwrap();
    log.close().unwrap();
    assert_eq!(content(&current), line(0) + &line(1) + &line(3));
}

#[test]
fn rejects_what_is_not_one_line() {
    let dir = Dir::new("notaline");
    let mut log = EventLog::open(policy(&dir.0)).unwrap();
    for bad in [&b""[..], b"{}", b"{}\n{}\n", b"{\n}\n"] {
        let err = log.write_line(bad).unwrap_err();
        assert!(matches!(err, LogError::NotALine { .. }), "{err}");
    }
    assert_eq!(log.stats().lines_dropped, 4);
    assert!(
        !log.is_failing(),
        "a caller's mistake does not fail the log"
    );
}

#[test]
fn reopen_after_logrotate_moved_the_file_starts_a_new_one() {
    let dir = Dir::new("hup");
    let current = dir.0.join(naming::CURRENT);
    let mut log = EventLog::open(policy(&dir.0)).unwrap();
    log.write_line(line(0).as_bytes()).unwrap();
    fs::rename(&current, dir.0.join("events.jsonl.1")).unwrap();
    // Lines written before the SIGHUP go to the moved file, as with any daemon.
    log.write_line(line(1).as_bytes()).unwrap();
    log.reopen().unwrap();
    log.write_line(line(2).as_bytes()).unwrap();
    log.close().unwrap();
    assert_eq!(content(&dir.0.join("events.jsonl.1")), line(0) + &line(1));
    assert_eq!(content(&current), line(2));
}

#[test]
fn rotation_after_the_file_was_deleted_starts_a_new_one() {
    let dir = Dir::new("deleted");
    let mut log = EventLog::open(LogPolicy {
        max_bytes: 60,
        ..policy(&dir.0)
    })
    .unwrap();
    log.write_line(line(0).as_bytes()).unwrap();
    fs::remove_file(dir.0.join(naming::CURRENT)).unwrap();
    log.write_line(line(1).as_bytes()).unwrap();
    log.close().unwrap();
    assert_eq!(all_lines(&dir.0), line(1));
}

#[test]
fn a_restart_continues_the_sequence_and_finishes_stopped_compressions() {
    let dir = Dir::new("restart");
    let p = LogPolicy {
        max_bytes: 100,
        ..policy(&dir.0)
    };
    let mut log = EventLog::open(p.clone()).unwrap();
    for i in 0..5 {
        log.write_line(line(i).as_bytes()).unwrap();
    }
    log.close().unwrap();
    let before = naming::rotated_files(&dir.0).unwrap();
    assert_eq!(before.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2]);
    // A compressor stopped half-way left a temporary file.
    let temp = dir
        .0
        .join(naming::temp_name(&before[0].compressed().name()));
    fs::write(&temp, b"\x1f\x8bhalf").unwrap();

    let mut log = EventLog::open(LogPolicy {
        compress: true,
        ..p
    })
    .unwrap();
    for i in 5..9 {
        log.write_line(line(i).as_bytes()).unwrap();
    }
    let stats = log.close().unwrap();
    assert!(!temp.exists(), "the temporary file is removed");
    let after = naming::rotated_files(&dir.0).unwrap();
    assert_eq!(
        after.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert!(after.iter().all(|r| r.compressed), "{:?}", names(&dir.0));
    assert_eq!(stats.files_compressed, 4);
    assert_eq!(all_lines(&dir.0), (0..9).map(line).collect::<String>());
}

#[test]
fn lines_lost_before_the_log_are_told_where_they_went_missing() {
    let dir = Dir::new("lost");
    let mut log = EventLog::open(policy(&dir.0)).unwrap();
    log.set_gap_record(gap);
    log.write_line(line(0).as_bytes()).unwrap();
    log.lost(5, "queue full");
    log.lost(2, "queue full");
    log.write_line(line(1).as_bytes()).unwrap();
    log.lost(3, "kernel");
    let stats = log.close().unwrap();
    let text = content(&dir.0.join(naming::CURRENT));
    let mut want = Vec::new();
    want.extend_from_slice(line(0).as_bytes());
    gap(&mut want, 7, "queue full");
    want.extend_from_slice(line(1).as_bytes());
    gap(&mut want, 3, "kernel");
    assert_eq!(text, String::from_utf8(want).unwrap());
    assert_eq!((stats.lost_told, stats.lost_untold), (10, 0));
    assert_eq!((stats.lines_written, stats.lines_dropped), (4, 0));
}

#[test]
fn empty_directory_path_is_refused() {
    let err = EventLog::open(policy(Path::new(""))).err().unwrap();
    assert!(matches!(err, LogError::Policy(_)), "{err}");
}

#[test]
fn the_log_can_move_to_a_writer_thread() {
    fn send<T: Send>() {}
    send::<EventLog>();
}
