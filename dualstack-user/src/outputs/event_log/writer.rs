//! [`EventLog`]: buffers whole lines, writes them to `events.jsonl`, rotates, and rides out
//! I/O errors by dropping and counting lines while it retries.

use std::{
    fs::{self, DirBuilder, File, OpenOptions},
    io::{self, Write as _},
    os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _},
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use super::{
    background::{self, Job, SharedStats, Worker, FILE_MODE},
    gaps::Gaps,
    naming::{self, Rotated},
    repair, GapRecord, LogError, LogPolicy, LogStats, FLUSH_BYTES, FLUSH_INTERVAL,
    REASON_UNWRITABLE, RETRY_INTERVAL,
};

/// A fault, from its first error until lines have reached the file for [`FAULT_QUIET`]
/// without a new error: a nearly full disk that takes a line now and then is one fault.
struct Episode {
    since: Instant,
    /// `lines_dropped` when it began.
    dropped_before: u64,
    /// When lines last began to reach the file again (None: failing now).
    writing_since: Option<Instant>,
}

/// How long writing must work before a fault is declared over.
const FAULT_QUIET: Duration = Duration::from_secs(10);

/// The event log's writer (see the module documentation).
pub struct EventLog {
    policy: LogPolicy,
    /// `dir/events.jsonl`.
    path: PathBuf,
    /// None while failing.
    file: Option<File>,
    /// Bytes in the current file.
    file_len: u64,
    /// When the current file is due for rotation by age (None: never).
    rotate_at: Option<Instant>,
    /// The sequence number of the next rotated file.
    next_seq: u64,
    /// Whole lines not yet written (gap records among them), and when the oldest arrived.
    buf: Vec<u8>,
    buf_lines: u64,
    gaps: Gaps,
    /// The fault under way, warned about when it began.
    episode: Option<Episode>,
    /// When to try again to compress rotated files left plain by a failed compression.
    compress_retry_at: Instant,
    buffered_since: Instant,
    /// While failing: the error, and when to try opening again.
    failure: Option<String>,
    retry_at: Instant,
    /// After a failed rename: when to try rotating again.
    rotate_retry_at: Option<Instant>,
    /// Leftovers of an earlier run (uncompressed rotated files, temporary files) were handled.
    tidied: bool,
    stats: LogStats,
    shared: SharedStats,
    worker: Worker,
}

impl EventLog {
    /// Opens (or creates) `policy.dir/events.jsonl`, cutting off a torn last line. Fails only
    /// on an invalid policy: an unwritable directory gives a log in the failing state.
    pub fn open(policy: LogPolicy) -> Result<EventLog, LogError> {
        if policy.dir.as_os_str().is_empty() {
            return Err(LogError::Policy("the directory is an empty path"));
        }
        let shared = SharedStats::default();
        let now = Instant::now();
        let mut log = EventLog {
            path: policy.dir.join(naming::CURRENT),
            worker: Worker::new(policy.dir.clone(), Arc::clone(&shared)),
            policy,
            file: None,
            file_len: 0,
            rotate_at: None,
            next_seq: 1,
            buf: Vec::with_capacity(FLUSH_BYTES + 4096),
            buf_lines: 0,
            gaps: Gaps::default(),
            episode: None,
            compress_retry_at: now,
            buffered_since: now,
            failure: None,
            retry_at: now,
            rotate_retry_at: None,
            tidied: false,
            stats: LogStats::default(),
            shared,
        };
        if let Err(err) = log.open_current() {
            log.stats.write_errors += 1;
            log.fail(&err);
        }
        Ok(log)
    }

    /// Appends one complete line (its only newline at the end). Returns an error, and drops the
    /// line, when the log cannot be written; later calls keep trying.
    pub fn write_line(&mut self, line: &[u8]) -> Result<(), LogError> {
        let whole = line
            .split_last()
            .is_some_and(|(&last, body)| last == b'\n' && !body.contains(&b'\n'));
        if !whole {
            self.drop_lines(1);
            return Err(LogError::NotALine { len: line.len() });
        }
        let now = Instant::now();
        if self.file.is_none() && now >= self.retry_at {
            self.retry_open();
        }
        if self.file.is_some() {
            if let Err(err) = self.rotate_if_due(now, line.len() as u64) {
                self.drop_lines(1);
                return Err(err);
            }
        }
        if self.file.is_none() {
            self.drop_lines(1);
            return Err(self.unavailable());
        }
        self.buffer_gaps(now);
        if self.buf.is_empty() {
            self.buffered_since = now;
        }
        self.buf.extend_from_slice(line);
        self.buf_lines += 1;
        if self.buf.len() >= FLUSH_BYTES
            || now.duration_since(self.buffered_since) >= FLUSH_INTERVAL
        {
            self.write_buffer()?;
        }
        Ok(())
    }

    /// Sets how the log tells its gaps in itself (see the module documentation); without it,
    /// gaps are only counted.
    pub fn set_gap_record(&mut self, record: GapRecord) {
        self.gaps.set_record(record);
    }

    /// Tells the log that `count` lines went missing before it (dropped before they reached
    /// it): a record of them goes ahead of the next line (counts of the same reason in a row
    /// make one record), or is written at the next flush, once the log can write.
    pub fn lost(&mut self, count: u64, reason: &'static str) {
        self.gaps.owe(reason, count);
    }

    /// Writes lines that have waited [`FLUSH_INTERVAL`], rotates a file past its age, and retries
    /// a failing file. Call it at least every [`FLUSH_INTERVAL`] while no lines arrive.
    pub fn flush_if_due(&mut self) -> Result<(), LogError> {
        let now = Instant::now();
        self.retry_compression(now);
        if self.file.is_none() && now >= self.retry_at {
            self.retry_open();
        }
        if self.file.is_none() {
            return Ok(());
        }
        // Records owed from a fault are written even if no line follows them.
        self.buffer_gaps(now);
        if self.episode.as_ref().is_some_and(|e| {
            e.writing_since
                .is_some_and(|t| now.duration_since(t) >= FAULT_QUIET)
        }) {
            self.end_episode();
        }
        self.rotate_if_due(now, 0)?;
        if !self.buf.is_empty() && now.duration_since(self.buffered_since) >= FLUSH_INTERVAL {
            self.write_buffer()?;
        }
        Ok(())
    }

    /// Writes every waiting line and syncs the file to disk (for SIGTERM).
    pub fn flush(&mut self) -> Result<(), LogError> {
        if self.file.is_some() {
            self.buffer_gaps(Instant::now());
        }
        self.write_buffer()?;
        let Some(file) = &self.file else {
            return Ok(());
        };
        if let Err(source) = file.sync_data() {
            let err = LogError::Sync {
                path: self.path.clone(),
                source,
            };
            self.stats.write_errors += 1;
            self.fail(&err);
            return Err(err);
        }
        Ok(())
    }

    /// Flushes and closes the current file, then opens `events.jsonl` again: after logrotate
    /// (or anyone) moved it away, writing goes on in a new file (for SIGHUP). Also retries a
    /// failing log at once.
    pub fn reopen(&mut self) -> Result<(), LogError> {
        let flushed = self.flush();
        self.file = None;
        self.retry_open();
        match &self.failure {
            Some(_) => Err(self.unavailable()),
            None => flushed,
        }
    }

    /// Flushes, syncs, and waits for background compression and deletion to finish.
    pub fn close(mut self) -> Result<LogStats, LogError> {
        // A last chance for the records of a fault that has ended since the last retry.
        if self.file.is_none() {
            self.retry_open();
        }
        let flushed = self.flush();
        self.end_episode();
        self.worker.finish();
        flushed.map(|()| self.stats())
    }

    /// True while the current file cannot be written and lines are being dropped.
    pub fn is_failing(&self) -> bool {
        self.file.is_none()
    }

    /// The counters and the last error.
    pub fn stats(&self) -> LogStats {
        let shared = background::lock(&self.shared);
        LogStats {
            last_error: shared.last_error.clone(),
            rotate_errors: shared.errors,
            files_compressed: shared.compressed,
            files_deleted: shared.deleted,
            lines_buffered: self.buf_lines,
            failing: self.file.is_none(),
            lost_told: self.gaps.told(),
            lost_untold: self.gaps.untold(),
            ..self.stats.clone()
        }
    }

    /// Opens the current file: creates the directory, cuts a torn tail, reads its size and age.
    fn open_current(&mut self) -> Result<(), LogError> {
        let dir = &self.policy.dir;
        DirBuilder::new()
            .recursive(true)
            .mode(0o750)
            .create(dir)
            .map_err(|source| LogError::CreateDir {
                path: dir.clone(),
                source,
            })?;
        let open_err = |source| LogError::Open {
            path: self.path.clone(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(FILE_MODE)
            .open(&self.path)
            .map_err(open_err)?;
        let torn = repair::cut_torn_tail(&file).map_err(|source| LogError::Repair {
            path: self.path.clone(),
            source,
        })?;
        if torn > 0 {
            log::warn!(
                "{}: cut off a torn last line of {torn} bytes (the writer was stopped in the middle of it)",
                self.path.display()
            );
            self.stats.torn_lines_repaired += 1;
            self.stats.torn_bytes_dropped += torn;
        }
        let meta = file.metadata().map_err(open_err)?;
        self.file_len = meta.len();
        self.rotate_at = self.age_deadline(&meta);
        self.next_seq = naming::rotated_files(dir)
            .ok()
            .and_then(|files| files.iter().map(|r| r.seq).max())
            .map_or(1, |max| max.saturating_add(1));
        self.file = Some(file);
        if !self.tidied {
            self.tidied = true;
            self.tidy();
        }
        Ok(())
    }

    /// When a file of this metadata is due for rotation by age. A new or empty file's age starts
    /// now; a non-empty one's at its creation time (its modification time where the filesystem
    /// keeps no creation time: that can only make it look younger).
    fn age_deadline(&self, meta: &fs::Metadata) -> Option<Instant> {
        if self.policy.max_age.is_zero() {
            return None;
        }
        let age = if meta.len() == 0 {
            Duration::ZERO
        } else {
            meta.created()
                .or_else(|_| meta.modified())
                .ok()
                .and_then(|born| SystemTime::now().duration_since(born).ok())
                .unwrap_or_default()
        };
        Instant::now().checked_add(self.policy.max_age.saturating_sub(age))
    }

    /// Handles what an earlier run left: temporary files of a stopped compressor, rotated files
    /// not yet compressed, files beyond `keep`.
    fn tidy(&mut self) {
        let dir = &self.policy.dir;
        if let Ok(entries) = fs::read_dir(dir) {
            for entry in entries.flatten() {
                if entry.file_name().to_str().is_some_and(naming::is_temp) {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        if self.policy.compress {
            for file in naming::rotated_files(dir).unwrap_or_default() {
                if !file.compressed {
                    self.worker.submit(Job::Compress(file));
                }
            }
        }
        self.worker.submit(Job::Prune(self.policy.keep));
    }

    /// Tries to open the current file of a failing log.
    ///
    /// The fault is over only once lines reach the file again (see [`EventLog::write_buffer`]):
    /// on a full disk, opening succeeds and writing fails.
    fn retry_open(&mut self) {
        match self.open_current() {
            Ok(()) => {
                self.failure = None;
            }
            Err(err) => {
                self.stats.write_errors += 1;
                self.fail(&err);
            }
        }
    }

    /// Enters (or stays in) the failing state. Warns once per fault, when it begins.
    fn fail(&mut self, err: &LogError) {
        let message = err.to_string();
        if self.episode.is_none() {
            log::warn!(
                "{message}; lines are dropped and counted until it works again (retrying every \
                 {} s)",
                RETRY_INTERVAL.as_secs()
            );
            self.episode = Some(Episode {
                since: Instant::now(),
                dropped_before: self.stats.lines_dropped,
                writing_since: None,
            });
        } else {
            if let Some(episode) = &mut self.episode {
                episode.writing_since = None;
            }
            log::debug!("{message}");
        }
        self.file = None;
        self.failure = Some(message.clone());
        self.retry_at = Instant::now() + RETRY_INTERVAL;
        background::lock(&self.shared).last_error = Some(message);
    }

    fn unavailable(&self) -> LogError {
        LogError::Unavailable {
            path: self.path.clone(),
            reason: self.failure.clone().unwrap_or_default(),
        }
    }

    /// Rotates before `incoming` more bytes would take the file past `max_bytes`, or when the
    /// file is past its age. Errors are those of writing the waiting lines first.
    fn rotate_if_due(&mut self, now: Instant, incoming: u64) -> Result<(), LogError> {
        let pending = self.file_len + self.buf.len() as u64;
        if pending == 0 {
            // An empty file's age starts with its first line.
            self.rotate_at = now
                .checked_add(self.policy.max_age)
                .filter(|_| !self.policy.max_age.is_zero());
            return Ok(());
        }
        let max = self.policy.max_bytes;
        let by_size = max > 0 && incoming > 0 && pending.saturating_add(incoming) > max;
        let by_age = self.rotate_at.is_some_and(|t| now >= t);
        let may = self.rotate_retry_at.is_none_or(|t| now >= t);
        if (by_size || by_age) && may {
            self.rotate(now)?;
        }
        Ok(())
    }

    /// Writes out the waiting lines, syncs, renames the current file to its rotated name, opens
    /// a new one and hands compression and deletion to the worker.
    fn rotate(&mut self, now: Instant) -> Result<(), LogError> {
        self.write_buffer()?;
        let Some(file) = &self.file else {
            return Ok(());
        };
        // A rotated file is never written again: make it durable before it gets its name.
        let _ = file.sync_data();
        let rotated = Rotated {
            seq: self.next_seq,
            stamp: naming::stamp(SystemTime::now()),
            compressed: false,
        };
        let to = self.policy.dir.join(rotated.name());
        if let Err(err) = fs::rename(&self.path, &to) {
            if err.kind() == io::ErrorKind::NotFound {
                // Someone moved or deleted the file under us: start a new one.
                self.file = None;
                self.retry_open();
                return Ok(());
            }
            let message = format!(
                "event log: cannot rotate {} to {}: {err}",
                self.path.display(),
                to.display()
            );
            if self.rotate_retry_at.is_none() {
                log::warn!("{message}; writing on in the current file");
            }
            background::record_error(&self.shared, message);
            self.rotate_retry_at = Some(now + RETRY_INTERVAL);
            return Ok(());
        }
        self.rotate_retry_at = None;
        self.stats.rotations += 1;
        self.file = None;
        self.retry_open();
        background::sync_dir(&self.policy.dir);
        if self.policy.compress {
            self.worker.submit(Job::Compress(rotated));
        }
        self.worker.submit(Job::Prune(self.policy.keep));
        Ok(())
    }

    /// Writes the waiting lines. On an error the lines written whole stay, a partly written
    /// line is cut off again, the rest are dropped, and the log enters the failing state.
    fn write_buffer(&mut self) -> Result<(), LogError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let lines = std::mem::take(&mut self.buf_lines);
        let events = lines - self.gaps.in_buffer();
        let Some(file) = &mut self.file else {
            self.buf.clear();
            self.gaps.settle(0);
            self.drop_lines(events);
            return Err(self.unavailable());
        };
        let start = file.metadata().map(|m| m.len()).ok();
        let (written, result) = write_all_counted(file, &self.buf);
        let Err(source) = result else {
            self.stats.bytes_written += written as u64;
            self.stats.lines_written += lines;
            self.file_len += written as u64;
            self.gaps.settle(written);
            self.buf.clear();
            self.writing_works(Instant::now());
            return Ok(());
        };
        let whole = self.buf[..written]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        // Cut the file back to its last whole line written. Appends went to the real end of the
        // file, which someone may have truncated (logrotate's copytruncate): cut from where this
        // write began, not from the size counted here. Whatever else the file grew by (an error
        // reported after the bytes went in) is not counted as written, so it goes too. If
        // cutting fails, the next open cuts a torn tail.
        let end = file.metadata().map(|m| m.len()).ok();
        let keep = match (start, end) {
            (Some(start), Some(_)) => Some(start + whole as u64),
            (None, Some(end)) => Some(end.saturating_sub((written - whole) as u64)),
            _ => None,
        };
        if let (Some(keep), Some(end)) = (keep, end) {
            if end > keep {
                let _ = file.set_len(keep);
            }
        }
        #[expect(
            clippy::naive_bytecount,
            reason = "once per write error, over at most one buffer"
        )]
        let kept = self.buf[..whole].iter().filter(|&&b| b == b'\n').count() as u64;
        self.buf.clear();
        self.stats.bytes_written += whole as u64;
        self.stats.lines_written += kept;
        self.file_len += whole as u64;
        // Records cut off are owed again; they are not lost lines.
        let records_kept = self.gaps.settle(whole);
        let dropped = events - (kept - records_kept);
        self.drop_lines(dropped);
        self.stats.write_errors += 1;
        let err = LogError::Write {
            path: self.path.clone(),
            dropped,
            source,
        };
        self.fail(&err);
        Err(err)
    }
}

impl EventLog {
    /// Counts lines dropped here, owed in a gap record.
    fn drop_lines(&mut self, count: u64) {
        self.stats.lines_dropped += count;
        self.gaps.owe(REASON_UNWRITABLE, count);
    }

    /// Puts the owed gap records in the buffer, ahead of the next line (the file is open).
    fn buffer_gaps(&mut self, now: Instant) {
        if !self.gaps.pending() {
            return;
        }
        if self.buf.is_empty() {
            self.buffered_since = now;
        }
        self.buf_lines += self.gaps.emit(&mut self.buf);
    }

    /// Lines reached the file: a fault under way ends once writing has worked for
    /// [`FAULT_QUIET`] (checked here and when idle). Rotated files it left plain are compressed from the first
    /// success on.
    fn writing_works(&mut self, now: Instant) {
        let Some(episode) = &mut self.episode else {
            return;
        };
        match episode.writing_since {
            None => {
                episode.writing_since = Some(now);
                self.compress_retry_at = now;
                self.retry_compression(now);
            }
            Some(since) if now.duration_since(since) >= FAULT_QUIET => self.end_episode(),
            Some(_) => {}
        }
    }

    /// Says how long the fault lasted and what it cost (if writing works again).
    fn end_episode(&mut self) {
        let Some(episode) = self.episode.take_if(|e| e.writing_since.is_some()) else {
            return;
        };
        let dropped = self.stats.lines_dropped - episode.dropped_before;
        let last = episode.writing_since.unwrap_or(episode.since);
        log::warn!(
            "event log {} is written again (the fault lasted {:.1} s): {dropped} line(s) were \
             dropped, told in the log by lost records",
            self.path.display(),
            last.duration_since(episode.since).as_secs_f64(),
        );
    }

    /// Compresses again, every [`RETRY_INTERVAL`], rotated files a failed compression left plain
    /// (a full disk): they must not stay plain once there is room.
    fn retry_compression(&mut self, now: Instant) {
        if !self.policy.compress
            || now < self.compress_retry_at
            || !background::lock(&self.shared).compress_failing
        {
            return;
        }
        self.compress_retry_at = now + RETRY_INTERVAL;
        self.worker.submit(Job::CompressPlain);
    }
}

impl Drop for EventLog {
    fn drop(&mut self) {
        let _ = self.write_buffer();
    }
}

/// `write_all` that says how many bytes went in before an error.
fn write_all_counted(file: &mut File, mut bytes: &[u8]) -> (usize, io::Result<()>) {
    let mut written = 0;
    while !bytes.is_empty() {
        match file.write(bytes) {
            Ok(0) => return (written, Err(io::ErrorKind::WriteZero.into())),
            Ok(n) => {
                written += n;
                bytes = &bytes[n..];
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return (written, Err(err)),
        }
    }
    (written, Ok(()))
}
