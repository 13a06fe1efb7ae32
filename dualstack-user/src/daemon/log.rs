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
        atomic::Ordering::Relaxed,
        mpsc::{self, Receiver, SyncSender, TrySendError},
        Arc,
    },
    thread::JoinHandle,
};

use bytes::Bytes;

use crate::{
    daemon::{config::LogSettings, metrics::Metrics, Error},
    sink::event_log::{EventLog, LogError, LogPolicy, FLUSH_INTERVAL},
};

/// Lines waiting for the log thread before the hub drops them.
pub const LOG_QUEUE: usize = 16 * 1024;

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
    metrics: Arc<Metrics>,
}

impl LogHandle {
    /// Starts the log thread writing to `sink`.
    pub fn spawn<S: LineSink>(sink: S, metrics: Arc<Metrics>) -> std::io::Result<LogHandle> {
        let (tx, rx) = mpsc::sync_channel(LOG_QUEUE);
        let thread_metrics = Arc::clone(&metrics);
        let thread = std::thread::Builder::new()
            .name("dualstack-log".into())
            .spawn(move || log_thread(sink, &rx, &thread_metrics))?;
        Ok(LogHandle {
            tx: Some(tx),
            thread: Some(thread),
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

    /// Asks the log thread to reopen its file, after the lines already handed over.
    pub fn reopen(&self) {
        if let Some(tx) = &self.tx {
            // Blocks at most until the thread takes one line: rare, and keeps the order.
            let _ = tx.send(LogMsg::Reopen);
        }
    }

    /// Lets the thread write and flush what it has, and waits for it.
    pub fn close(&mut self) {
        self.tx = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for LogHandle {
    fn drop(&mut self) {
        self.close();
    }
}

fn log_thread<S: LineSink>(mut sink: S, rx: &Receiver<LogMsg>, metrics: &Metrics) {
    let mut errors = ErrorReport::default();
    let mut dirty = false;
    loop {
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
                errors.note(sink.flush(), "flush");
                match sink.reopen() {
                    Ok(()) => log::info!("event log reopened"),
                    Err(err) => log::warn!("event log: reopen failed: {err}"),
                }
                metrics.set_log_stats(sink.stats());
                dirty = false;
            }
        }
    }
    errors.note(sink.flush(), "flush");
    metrics.set_log_stats(sink.stats());
    errors.note(sink.close(), "close");
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
    use std::sync::Mutex;

    use super::*;

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
