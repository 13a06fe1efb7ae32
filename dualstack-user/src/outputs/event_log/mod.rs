//! The event log: every event as one JSON line in `DIR/events.jsonl`, rotated by size and age,
//! old files gzipped in the background and the oldest deleted, so that `dualstack export` can
//! answer "what listened on port 1521 last Tuesday" long after the stream has gone by.
//!
//! The writer is synchronous and meant for one dedicated thread. Its promises:
//! - Only whole lines reach a file. Lines are buffered and written with whole-line writes at
//!   least every [`FLUSH_INTERVAL`] of activity or when [`FLUSH_BYTES`] are waiting; the caller
//!   calls [`EventLog::flush_if_due`] at least that often while idle. A write cut short (full
//!   disk) is truncated back to its last whole line, and a file left ending in part of a line
//!   by a crash (kill -9) is cut back to its last newline when it is opened again.
//! - Errors never stop the caller: a full disk, a read-only directory or an I/O error makes
//!   `write_line` return an error that names the path and the OS error, the line is dropped and
//!   counted, and the log tries to open the file again every [`RETRY_INTERVAL`]. A fault is
//!   warned about once when it starts and once, with the count of lines dropped, when lines
//!   reach the file again: never once per line.
//! - With a [`GapRecord`] set ([`EventLog::set_gap_record`]), the log tells its gaps in itself:
//!   a record of the lines it dropped (reason [`REASON_UNWRITABLE`]) and of those others report
//!   missing ([`EventLog::lost`]) is written where they went missing, as soon as writing works.
//!   A count is told only once its record is in the file, so the records sum exactly to the
//!   lines missing (what is still owed at the end is in [`LogStats::lost_untold`]). [`EventLog::open`] itself
//!   only fails on an invalid policy: when the directory cannot be written it returns a log in
//!   the *failing* state ([`EventLog::is_failing`], [`LogStats::last_error`]), so a daemon keeps
//!   streaming to its clients and reports the log's state.
//! - Rotation renames `events.jsonl` to `events-YYYYMMDDTHHMMSSZ-N.jsonl` (see [`naming`]) after
//!   syncing it; compression writes `.jsonl.gz` under a temporary name and renames it into
//!   place, so a reader never meets half a gzip file.
//!
//! A writer thread fed by a channel of JSON lines:
//!
//! ```no_run
//! use std::{sync::mpsc::{Receiver, RecvTimeoutError}};
//! use dualstack::outputs::event_log::{EventLog, LogPolicy, FLUSH_INTERVAL};
//!
//! fn writer(lines: Receiver<Vec<u8>>) -> Result<(), Box<dyn std::error::Error>> {
//!     let mut log = EventLog::open(LogPolicy::new("/var/log/dualstack"))?;
//!     if log.is_failing() {
//!         eprintln!("event log: {}", log.stats().last_error.unwrap_or_default());
//!     }
//!     loop {
//!         // Errors are counted in stats(); streaming goes on whatever the disk does.
//!         let _ = match lines.recv_timeout(FLUSH_INTERVAL) {
//!             Ok(line) => log.write_line(&line),
//!             Err(RecvTimeoutError::Timeout) => log.flush_if_due(),
//!             Err(RecvTimeoutError::Disconnected) => break,
//!         };
//!     }
//!     log.close()?;
//!     Ok(())
//! }
//! ```

mod background;
mod gaps;
pub mod handle;
pub mod naming;
mod repair;
mod writer;

use std::{io, path::PathBuf, time::Duration};

pub use writer::EventLog;

/// The reason of the records that tell lines the log itself could not write.
pub const REASON_UNWRITABLE: &str = "event log unwritable";

/// Writes one whole line (with its newline) telling that `count` lines are missing from the
/// log, and why.
pub type GapRecord = fn(out: &mut Vec<u8>, count: u64, reason: &str);

/// Lines wait in memory at most this long before they are written to the file.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(100);
/// ... or until this many bytes wait.
pub const FLUSH_BYTES: usize = 64 * 1024;
/// How often a failing log tries to open its file again (and to rotate, after a failed rename).
pub const RETRY_INTERVAL: Duration = Duration::from_secs(2);

/// Where the log lives and when its files are rotated and deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogPolicy {
    /// The log's directory, created if missing.
    pub dir: PathBuf,
    /// Rotate before the current file would grow beyond this many bytes (0: never by size). A
    /// single line longer than this gets a file of its own.
    pub max_bytes: u64,
    /// Rotate a non-empty current file once it is this old (zero: never by age). Its age counts
    /// from its first line, or from its creation time on disk when the log is opened again.
    pub max_age: Duration,
    /// Rotated files kept; older ones are deleted after each rotation (0: keep none).
    pub keep: usize,
    /// Gzip rotated files, in the background.
    pub compress: bool,
}

impl LogPolicy {
    /// A policy with everyday limits: 64 MiB or one day per file, 14 files kept, gzipped.
    pub fn new(dir: impl Into<PathBuf>) -> LogPolicy {
        LogPolicy {
            dir: dir.into(),
            max_bytes: 64 << 20,
            max_age: Duration::from_hours(24),
            keep: 14,
            compress: true,
        }
    }
}

/// What the log has done since it was opened: counters for metrics and the last error.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogStats {
    /// Bytes and lines that reached the current file.
    pub bytes_written: u64,
    pub lines_written: u64,
    /// Files rotated.
    pub rotations: u64,
    /// Failed attempts to open, write, sync or repair the current file.
    pub write_errors: u64,
    /// Lines not written because of an error (each `write_line` error drops at least its own).
    /// Gap records are not counted: one that is dropped is owed again.
    pub lines_dropped: u64,
    /// Lines told missing by gap records that reached the file, and those not told yet.
    pub lost_told: u64,
    pub lost_untold: u64,
    /// The last error of any kind, as a sentence with the path and the OS error.
    pub last_error: Option<String>,
    /// Torn last lines cut off when the current file was opened, and their bytes.
    pub torn_lines_repaired: u64,
    pub torn_bytes_dropped: u64,
    /// Failed renames, compressions and deletions of rotated files.
    pub rotate_errors: u64,
    pub files_compressed: u64,
    /// Rotated files deleted to keep [`LogPolicy::keep`] (a plain and a gzipped copy of the
    /// same rotation count as two).
    pub files_deleted: u64,
    /// Lines waiting in memory.
    pub lines_buffered: u64,
    /// True while the current file cannot be written (lines are being dropped).
    pub failing: bool,
}

/// Why the log could not do what was asked. Every message names the path and the OS error.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("invalid event log policy: {0}")]
    Policy(&'static str),
    #[error(
        "event log: a line must end in its only newline ({len} bytes given without one, or \
         with a newline inside); the line was dropped"
    )]
    NotALine { len: usize },
    #[error("event log: cannot create the directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("event log: cannot open {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("event log: cannot cut the torn last line of {path}: {source}")]
    Repair {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("event log: cannot write to {path}: {source}; {dropped} line(s) dropped")]
    Write {
        path: PathBuf,
        dropped: u64,
        #[source]
        source: io::Error,
    },
    #[error("event log: cannot sync {path} to disk: {source}")]
    Sync {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "event log {path} cannot be written ({reason}); lines are dropped until it can (it is \
         opened again every {} s)", RETRY_INTERVAL.as_secs()
    )]
    Unavailable { path: PathBuf, reason: String },
}

#[cfg(test)]
mod fault_tests;
#[cfg(test)]
pub(crate) mod tests;
