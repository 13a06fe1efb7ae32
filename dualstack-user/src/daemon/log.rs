//! The event log seam: every event's JSON line goes to a dedicated thread through a bounded
//! channel of `Bytes`, and that thread writes it to a [`LineSink`].
//!
//! The log does blocking file I/O (and rotation, compression); on its own thread it can never
//! stall the hub, and when it falls behind the hub drops lines for it (counted in
//! `dualstack_log_lines_dropped_total`) instead of waiting. The sink is opened in exactly one
//! place, [`open_event_log`].

use std::{
    fmt,
    sync::{
        atomic::{AtomicBool, Ordering::Relaxed},
        mpsc::{self, Receiver, SyncSender, TrySendError},
        Arc,
    },
    thread::JoinHandle,
    time::Duration,
};

use bytes::Bytes;

use crate::{
    daemon::{config::LogSettings, metrics::Metrics, Error},
    sink::event_log::{EventLog, LogError, LogPolicy, FLUSH_INTERVAL},
};

/// Lines waiting for the log thread before the hub drops them.
pub const LOG_QUEUE: usize = 16 * 1024;
/// How long the daemon waits at exit for the log thread to write what it holds. Long enough
/// for a flush and a rotated file's compression, short of systemd's `TimeoutStopSec` (15 s); a
/// thread stuck on a dead disk past it is left behind rather than holding the exit.
pub const CLOSE_DEADLINE: Duration = Duration::from_secs(10);

/// What a sink has done so far (the fields of the event log's `LogStats`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SinkStats {
    pub bytes_written: u64,
    pub lines_written: u64,
    pub rotations: u64,
    pub write_errors: u64,
    pub lines_dropped: u64,
    pub last_error: Option<String>,
}

/// What the daemon needs from the event log: synchronous, called from the log thread only.
pub trait LineSink: Send + 'static {
    type Error: fmt::Display;
    /// Takes one line, with its newline.
    fn write_line(&mut self, line: &[u8]) -> Result<(), Self::Error>;
    /// Writes what is buffered and syncs it to disk (shutdown, reopen).
    fn flush(&mut self) -> Result<(), Self::Error>;
    /// Periodic work while idle: writes lines that have waited long enough, rotates by age.
    fn flush_if_due(&mut self) -> Result<(), Self::Error>;
    /// Closes and opens the file again (SIGHUP, after an outside rotation).
    fn reopen(&mut self) -> Result<(), Self::Error>;
    fn stats(&self) -> SinkStats;
    /// Flushes and waits for background work (compression) before the daemon exits.
    fn close(self) -> Result<(), Self::Error>
    where
        Self: Sized,
    {
        let mut this = self;
        this.flush()
    }
}

impl LineSink for EventLog {
    type Error = LogError;

    fn write_line(&mut self, line: &[u8]) -> Result<(), LogError> {
        EventLog::write_line(self, line)
    }

    fn flush(&mut self) -> Result<(), LogError> {
        EventLog::flush(self)
    }

    fn flush_if_due(&mut self) -> Result<(), LogError> {
        EventLog::flush_if_due(self)
    }

    fn reopen(&mut self) -> Result<(), LogError> {
        EventLog::reopen(self)
    }

    fn stats(&self) -> SinkStats {
        let s = EventLog::stats(self);
        SinkStats {
            bytes_written: s.bytes_written,
            lines_written: s.lines_written,
            rotations: s.rotations,
            write_errors: s.write_errors,
            lines_dropped: s.lines_dropped,
            last_error: s.last_error,
        }
    }

    fn close(self) -> Result<(), LogError> {
        EventLog::close(self).map(|_| ())
    }
}

/// Opens the event log described by `settings`. A directory that cannot be written is not an
/// error here: the log starts failing (dropping and counting lines, retrying), and the daemon
/// streams on; the reason is logged now and shown in the metrics.
pub fn open_event_log(settings: &LogSettings) -> Result<EventLog, Error> {
    let policy = LogPolicy {
        dir: settings.dir.clone(),
        max_bytes: settings.max_bytes,
        max_age: settings.max_age.unwrap_or(std::time::Duration::ZERO),
        keep: settings.keep as usize,
        compress: settings.compress,
    };
    let log = EventLog::open(policy).map_err(|e| Error::Log(e.to_string()))?;
    if let Some(reason) = log.stats().last_error.filter(|_| log.is_failing()) {
        log::error!("event log unavailable, events are streamed but not logged: {reason}");
    }
    Ok(log)
}

enum LogMsg {
    Line(Bytes),
    Reopen,
}

/// The hub's end of the log thread.
pub struct LogHandle {
    tx: Option<SyncSender<LogMsg>>,
    thread: Option<JoinHandle<()>>,
    /// Disconnects when the thread ends: lets [`LogHandle::close`] wait with a deadline.
    done: Receiver<()>,
    /// Set when a reopen could not be queued; the thread looks at it on every turn.
    reopen: Arc<AtomicBool>,
    close_deadline: Duration,
    metrics: Arc<Metrics>,
}

impl LogHandle {
    /// Starts the log thread writing to `sink`.
    pub fn spawn<S: LineSink>(sink: S, metrics: Arc<Metrics>) -> std::io::Result<LogHandle> {
        LogHandle::spawn_with(sink, metrics, LOG_QUEUE, CLOSE_DEADLINE)
    }

    fn spawn_with<S: LineSink>(
        sink: S,
        metrics: Arc<Metrics>,
        queue: usize,
        close_deadline: Duration,
    ) -> std::io::Result<LogHandle> {
        let (tx, rx) = mpsc::sync_channel(queue);
        let (done_tx, done) = mpsc::channel();
        let reopen = Arc::new(AtomicBool::new(false));
        let thread_reopen = Arc::clone(&reopen);
        let thread_metrics = Arc::clone(&metrics);
        let thread = std::thread::Builder::new()
            .name("dualstack-log".into())
            .spawn(move || {
                let _done = done_tx;
                log_thread(sink, &rx, &thread_reopen, &thread_metrics);
            })?;
        Ok(LogHandle {
            tx: Some(tx),
            thread: Some(thread),
            done,
            reopen,
            close_deadline,
            metrics,
        })
    }

    /// Hands a line to the log thread, or drops (and counts) it when the thread is behind.
    pub fn write(&self, line: Bytes) {
        let Some(tx) = &self.tx else { return };
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
            tx.try_send(LogMsg::Line(line))
        {
            self.metrics.log_queue_drops.fetch_add(1, Relaxed);
        }
    }

    /// Asks the log thread to reopen its file, after the lines already handed over. Never
    /// waits: this runs on the thread that reads the kernel and serves every client, and the log
    /// thread may be stuck on a slow disk. With the queue full the reopen is flagged instead and
    /// happens at the thread's next turn, ahead of the queued lines.
    pub fn reopen(&self) {
        if let Some(tx) = &self.tx {
            if let Err(TrySendError::Full(_)) = tx.try_send(LogMsg::Reopen) {
                self.reopen.store(true, Relaxed);
            }
        }
    }

    /// Lets the thread write and flush what it has, and waits for it, at most until the close
    /// deadline: a log on a disk that no longer answers must not keep the daemon from exiting.
    pub fn close(&mut self) {
        self.tx = None;
        let Some(thread) = self.thread.take() else {
            return;
        };
        match self.done.recv_timeout(self.close_deadline) {
            Err(mpsc::RecvTimeoutError::Timeout) => log::warn!(
                "event log: still writing after {:?}, exiting without it (its last lines may be \
                 lost)",
                self.close_deadline
            ),
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                let _ = thread.join();
            }
        }
    }
}

impl Drop for LogHandle {
    fn drop(&mut self) {
        self.close();
    }
}

fn log_thread<S: LineSink>(
    mut sink: S,
    rx: &Receiver<LogMsg>,
    reopen: &AtomicBool,
    metrics: &Metrics,
) {
    let mut errors = ErrorReport::default();
    let mut dirty = false;
    loop {
        if reopen.swap(false, Relaxed) {
            reopen_sink(&mut sink, &mut errors, metrics);
            dirty = false;
        }
        // The sink writes its buffer every FLUSH_INTERVAL while lines arrive; when none do, ask
        // it at that pace too, so that no line waits long in memory.
        let msg = match rx.try_recv() {
            Ok(msg) => msg,
            Err(mpsc::TryRecvError::Empty) => {
                if dirty {
                    errors.note(sink.flush_if_due(), "write");
                    metrics.set_log_stats(sink.stats());
                }
                match rx.recv_timeout(FLUSH_INTERVAL) {
                    Ok(msg) => msg,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        errors.note(sink.flush_if_due(), "write");
                        metrics.set_log_stats(sink.stats());
                        continue;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            }
            Err(mpsc::TryRecvError::Disconnected) => break,
        };
        match msg {
            LogMsg::Line(line) => {
                errors.note(sink.write_line(&line), "write");
                dirty = true;
            }
            LogMsg::Reopen => {
                reopen_sink(&mut sink, &mut errors, metrics);
                dirty = false;
            }
        }
    }
    errors.note(sink.flush(), "flush");
    metrics.set_log_stats(sink.stats());
    errors.note(sink.close(), "close");
}

fn reopen_sink<S: LineSink>(sink: &mut S, errors: &mut ErrorReport, metrics: &Metrics) {
    errors.note(sink.flush(), "flush");
    match sink.reopen() {
        Ok(()) => log::info!("event log reopened"),
        Err(err) => log::warn!("event log: reopen failed: {err}"),
    }
    metrics.set_log_stats(sink.stats());
}

/// Logs a sink error when it differs from the previous one, not once per line.
#[derive(Default)]
struct ErrorReport {
    last: Option<String>,
}

impl ErrorReport {
    fn note<E: fmt::Display>(&mut self, result: Result<(), E>, what: &str) {
        match result {
            Ok(()) => self.last = None,
            Err(err) => {
                let text = err.to_string();
                if self.last.as_deref() != Some(&text) {
                    log::warn!("event log: {what} failed: {text}");
                    self.last = Some(text);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{
        sync::{Condvar, Mutex},
        time::Instant,
    };

    use super::*;

    /// A sink that writes (records) only as many lines as it is allowed to, and otherwise
    /// waits, as a log on a disk that stopped answering does.
    #[derive(Clone, Default)]
    struct Gated(Arc<(Mutex<(Vec<String>, usize)>, Condvar)>);

    impl Gated {
        fn allow(&self, lines: usize) {
            let (state, turn) = &*self.0;
            state.lock().unwrap().1 = lines;
            turn.notify_all();
        }

        fn written(&self) -> Vec<String> {
            self.0 .0.lock().unwrap().0.clone()
        }

        /// Waits until the sink holds `lines` lines.
        fn wait_for(&self, lines: usize) {
            let start = Instant::now();
            while self.written().len() < lines {
                assert!(start.elapsed() < Duration::from_secs(5), "sink stuck");
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }

    impl LineSink for Gated {
        type Error = String;
        fn write_line(&mut self, line: &[u8]) -> Result<(), String> {
            let (state, turn) = &*self.0;
            let mut state = state.lock().unwrap();
            while state.0.len() >= state.1 {
                state = turn.wait(state).unwrap();
            }
            state.0.push(String::from_utf8_lossy(line).into_owned());
            Ok(())
        }
        fn flush(&mut self) -> Result<(), String> {
            Ok(())
        }
        fn flush_if_due(&mut self) -> Result<(), String> {
            Ok(())
        }
        fn reopen(&mut self) -> Result<(), String> {
            self.0 .0.lock().unwrap().0.push("reopen".into());
            Ok(())
        }
        fn stats(&self) -> SinkStats {
            SinkStats {
                lines_written: self.0 .0.lock().unwrap().0.len() as u64,
                ..SinkStats::default()
            }
        }
    }

    fn line(i: usize) -> Bytes {
        Bytes::from(format!("{i}\n"))
    }

    #[test]
    fn reopen_never_waits_for_a_stuck_log_thread() {
        let sink = Gated::default();
        let metrics = Arc::new(Metrics::default());
        let mut log =
            LogHandle::spawn_with(sink.clone(), metrics, 4, Duration::from_secs(5)).unwrap();
        sink.allow(1);
        for i in 0..10 {
            log.write(line(i));
        }
        sink.wait_for(1);
        // The thread now waits in its second write and the queue is full.
        let start = Instant::now();
        log.reopen();
        assert!(
            start.elapsed() < Duration::from_millis(100),
            "reopen waited"
        );
        sink.allow(usize::MAX);
        log.close();
        let written = sink.written();
        assert!(written.iter().any(|l| l == "reopen"), "{written:?}");
    }

    #[test]
    fn close_gives_up_on_a_stuck_log_thread_after_its_deadline() {
        let sink = Gated::default();
        let metrics = Arc::new(Metrics::default());
        let mut log =
            LogHandle::spawn_with(sink.clone(), metrics, 4, Duration::from_millis(200)).unwrap();
        log.write(line(0));
        let start = Instant::now();
        log.close();
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(200) && waited < Duration::from_secs(2),
            "{waited:?}"
        );
        sink.allow(usize::MAX);
    }

    /// A sink that records what it was given.
    #[derive(Clone, Default)]
    struct Recorder(Arc<Mutex<Vec<String>>>);

    impl LineSink for Recorder {
        type Error = String;
        fn write_line(&mut self, line: &[u8]) -> Result<(), String> {
            let text = String::from_utf8_lossy(line).into_owned();
            self.0.lock().unwrap().push(text);
            Ok(())
        }
        fn flush(&mut self) -> Result<(), String> {
            self.0.lock().unwrap().push("flush".into());
            Ok(())
        }
        fn flush_if_due(&mut self) -> Result<(), String> {
            Ok(())
        }
        fn reopen(&mut self) -> Result<(), String> {
            self.0.lock().unwrap().push("reopen".into());
            Ok(())
        }
        fn stats(&self) -> SinkStats {
            SinkStats {
                lines_written: 1,
                ..SinkStats::default()
            }
        }
    }

    #[test]
    fn lines_reopen_and_close_keep_their_order() {
        let recorder = Recorder::default();
        let metrics = Arc::new(Metrics::default());
        let mut log = LogHandle::spawn(recorder.clone(), Arc::clone(&metrics)).unwrap();
        log.write(Bytes::from_static(b"a\n"));
        log.reopen();
        log.write(Bytes::from_static(b"b\n"));
        log.close();
        let seen = recorder.0.lock().unwrap().clone();
        let without_flushes: Vec<&str> = seen
            .iter()
            .map(String::as_str)
            .filter(|s| *s != "flush")
            .collect();
        assert_eq!(without_flushes, ["a\n", "reopen", "b\n"]);
        assert_eq!(seen.last().map(String::as_str), Some("flush"));
        assert_eq!(metrics.log_stats().lines_written, 1);
    }
}
