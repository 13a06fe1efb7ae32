//! The event log seam: every event's JSON line goes to a dedicated thread through a bounded
//! channel of `Bytes`, and that thread writes it to a [`LineSink`].
//!
//! The log does blocking file I/O (and rotation, compression); on its own thread it can never
//! stall the hub, and when it falls behind the hub drops lines for it (counted in
//! `dualstack_log_lines_dropped_total`) instead of waiting. Whatever is dropped, by the hub or
//! by a failing disk, is also told in the log itself by a `lost` record as soon as it can be
//! written, so that a reader of the log knows it is not complete: the sink keeps that account
//! ([`LineSink::lost`]), since only it knows which lines and records reached the file. The
//! sink is opened in exactly one place, [`open_event_log`].

use std::{
    fmt,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering::Relaxed},
        mpsc::{self, Receiver, SyncSender, TrySendError},
        Arc,
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use bytes::Bytes;

use crate::{
    kernel::losses::KernelLoss,
    outputs::{
        event_log::{self, EventLog, LogError, LogPolicy, LogStats, FLUSH_INTERVAL},
        metrics::Metrics,
    },
    pipeline::Record,
    schema::write_lost as lost_record,
};

/// Lines waiting for the log thread before the hub drops them.
pub const LOG_QUEUE: usize = 16 * 1024;
/// How long the daemon waits at exit for the log thread to write what it holds. Long enough
/// for a flush and a rotated file's compression, short of systemd's `TimeoutStopSec` (15 s); a
/// thread stuck on a dead disk past it is left behind rather than holding the exit.
pub const CLOSE_DEADLINE: Duration = Duration::from_secs(10);

/// What the daemon needs from the event log: synchronous, called from the log thread only.
pub trait LineSink: Send + 'static {
    type Error: fmt::Display;
    /// Takes one line, with its newline.
    fn write_line(&mut self, line: &[u8]) -> Result<(), Self::Error>;
    /// Notes `count` lines missing for `reason`, to be told by a `lost` record at this place
    /// in the log, or as soon as it can be written. The sink tells its own drops the same way.
    fn lost(&mut self, count: u64, reason: &'static str);
    /// Writes what is buffered and syncs it to disk (shutdown, reopen).
    fn flush(&mut self) -> Result<(), Self::Error>;
    /// Periodic work while idle: writes lines that have waited long enough, rotates by age.
    fn flush_if_due(&mut self) -> Result<(), Self::Error>;
    /// Closes and opens the file again (SIGHUP, after an outside rotation).
    fn reopen(&mut self) -> Result<(), Self::Error>;
    fn stats(&self) -> LogStats;
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

    fn lost(&mut self, count: u64, reason: &'static str) {
        EventLog::lost(self, count, reason);
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

    fn stats(&self) -> LogStats {
        EventLog::stats(self)
    }

    fn close(self) -> Result<(), LogError> {
        EventLog::close(self).map(|_| ())
    }
}

/// Opens the event log of `policy`. A directory that cannot be written is not an error here:
/// the log starts failing (dropping and counting lines, retrying), and the daemon streams on;
/// the reason is logged now and shown in the metrics.
pub fn open_event_log(policy: LogPolicy) -> Result<EventLog, LogError> {
    let mut log = EventLog::open(policy)?;
    log.set_gap_record(lost_record);
    if let Some(reason) = log.stats().last_error.filter(|_| log.is_failing()) {
        log::error!("event log unavailable, events are streamed but not logged: {reason}");
    }
    Ok(log)
}

/// Why events are missing from the log, as told in its `lost` records.
pub const REASON_QUEUE_FULL: &str = "event log queue full";
pub const REASON_UNWRITABLE: &str = event_log::REASON_UNWRITABLE;
/// How often, at most lines or time apart, the log thread refreshes its metrics while busy.
const STATS_EVERY_LINES: u32 = 1024;
const STATS_EVERY: Duration = Duration::from_millis(250);

enum LogMsg {
    Line(Bytes),
    /// A record whose JSON line the log thread makes (or takes, when a client made it first),
    /// once the record is settled: waiting for a port holder's lookup holds the log thread,
    /// never the hub.
    Record(Arc<Record>),
    Lost(Owed, u64),
    Reopen,
}

/// A count of events missing from the log, not yet told in it.
#[derive(Clone, Copy)]
enum Owed {
    /// Lines the hub dropped because the log queue was full.
    QueueFull,
    /// Kernel losses whose own record found the queue full.
    Kernel(KernelLoss),
}

impl Owed {
    const ALL: [Owed; 5] = [
        Owed::QueueFull,
        Owed::Kernel(KernelLoss::RingFull),
        Owed::Kernel(KernelLoss::StateFull),
        Owed::Kernel(KernelLoss::UserFault),
        Owed::Kernel(KernelLoss::NoEntry),
    ];

    fn reason(self) -> &'static str {
        match self {
            Owed::QueueFull => REASON_QUEUE_FULL,
            Owed::Kernel(loss) => loss.reason(),
        }
    }

    fn index(self) -> usize {
        match self {
            Owed::QueueFull => 0,
            Owed::Kernel(loss) => 1 + loss as usize,
        }
    }
}

/// What the hub and the log thread share besides the queue.
#[derive(Default)]
struct Shared {
    /// Set when a reopen could not be queued; the thread looks at it on every turn.
    reopen: AtomicBool,
    owed: [AtomicU64; Owed::ALL.len()],
}

impl Shared {
    fn owed(&self, kind: Owed) -> &AtomicU64 {
        &self.owed[kind.index()]
    }
}

/// The hub's end of the log thread.
pub struct LogHandle {
    tx: Option<SyncSender<LogMsg>>,
    thread: Option<JoinHandle<()>>,
    /// Disconnects when the thread ends: lets [`LogHandle::close`] wait with a deadline.
    done: Receiver<()>,
    shared: Arc<Shared>,
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
        let shared = Arc::new(Shared::default());
        let writer = Writer::new(sink, Arc::clone(&shared), Arc::clone(&metrics));
        let thread = std::thread::Builder::new()
            .name("dualstack-log".into())
            .spawn(move || {
                let _done = done_tx;
                writer.run(&rx);
            })?;
        Ok(LogHandle {
            tx: Some(tx),
            thread: Some(thread),
            done,
            shared,
            close_deadline,
            metrics,
        })
    }

    /// Hands a line to the log thread, or drops (and counts) it when the thread is behind. The
    /// count goes into the log too, in a `lost` record ahead of the next line handed over.
    pub fn write(&self, line: Bytes) {
        self.send(LogMsg::Line(line));
    }

    /// Hands a record to the log thread, which writes its JSON line; as [`LogHandle::write`].
    pub fn write_record(&self, record: Arc<Record>) {
        self.send(LogMsg::Record(record));
    }

    fn send(&self, msg: LogMsg) {
        let Some(tx) = &self.tx else { return };
        if !self.settle(tx) || tx.try_send(msg).is_err() {
            self.metrics.log_queue_drops.inc();
            self.shared.owed(Owed::QueueFull).fetch_add(1, Relaxed);
        }
    }

    /// Tells the log that the kernel dropped `count` events; with the queue full the count is
    /// kept and told later, like dropped lines.
    pub fn kernel_lost(&self, loss: KernelLoss, count: u64) {
        let Some(tx) = &self.tx else { return };
        let owed = Owed::Kernel(loss);
        if !self.settle(tx) || tx.try_send(LogMsg::Lost(owed, count)).is_err() {
            self.shared.owed(owed).fetch_add(count, Relaxed);
        }
    }

    /// Hands over the `lost` records owed, so that they land where the events went missing.
    /// False while the queue is still full.
    fn settle(&self, tx: &SyncSender<LogMsg>) -> bool {
        for kind in Owed::ALL {
            let owed = self.shared.owed(kind);
            if owed.load(Relaxed) == 0 {
                continue;
            }
            let count = owed.swap(0, Relaxed);
            if count > 0 && tx.try_send(LogMsg::Lost(kind, count)).is_err() {
                owed.fetch_add(count, Relaxed);
                return false;
            }
        }
        true
    }

    /// Asks the log thread to reopen its file, after the lines already handed over. Never
    /// waits: this runs on the thread that reads the kernel and serves every client, and the log
    /// thread may be stuck on a slow disk. With the queue full the reopen is flagged instead and
    /// happens at the thread's next turn, ahead of the queued lines.
    pub fn reopen(&self) {
        if let Some(tx) = &self.tx {
            if let Err(TrySendError::Full(_)) = tx.try_send(LogMsg::Reopen) {
                self.shared.reopen.store(true, Relaxed);
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

/// The log thread's state.
struct Writer<S> {
    sink: S,
    shared: Arc<Shared>,
    metrics: Arc<Metrics>,
    errors: ErrorReport,
    /// Lines were written since the last reopen: the sink has work to do while idle.
    dirty: bool,
    lines_since_stats: u32,
    stats_at: Instant,
}

impl<S: LineSink> Writer<S> {
    fn new(sink: S, shared: Arc<Shared>, metrics: Arc<Metrics>) -> Writer<S> {
        Writer {
            sink,
            shared,
            metrics,
            errors: ErrorReport::default(),
            dirty: false,
            lines_since_stats: 0,
            stats_at: Instant::now(),
        }
    }

    fn run(mut self, rx: &Receiver<LogMsg>) {
        loop {
            if self.shared.reopen.swap(false, Relaxed) {
                self.reopen();
            }
            // The sink writes its buffer every FLUSH_INTERVAL while lines arrive; when none do,
            // ask it at that pace too, so that no line waits long in memory.
            let msg = match rx.try_recv() {
                Ok(msg) => msg,
                Err(mpsc::TryRecvError::Empty) => {
                    // Nothing is queued, so what is owed follows every line it was dropped after.
                    self.write_owed();
                    if self.dirty {
                        let flushed = self.sink.flush_if_due();
                        self.note(flushed, "write");
                        self.refresh_stats();
                    }
                    match rx.recv_timeout(FLUSH_INTERVAL) {
                        Ok(msg) => msg,
                        Err(mpsc::RecvTimeoutError::Timeout) => {
                            let flushed = self.sink.flush_if_due();
                            self.note(flushed, "write");
                            self.refresh_stats();
                            continue;
                        }
                        Err(mpsc::RecvTimeoutError::Disconnected) => break,
                    }
                }
                Err(mpsc::TryRecvError::Disconnected) => break,
            };
            match msg {
                LogMsg::Line(line) => self.write(&line),
                LogMsg::Record(record) => self.write(record.json_bytes()),
                LogMsg::Lost(kind, count) => self.sink.lost(count, kind.reason()),
                LogMsg::Reopen => self.reopen(),
            }
        }
        self.write_owed();
        let flushed = self.sink.flush();
        self.note(flushed, "flush");
        let stats = self.sink.stats();
        self.metrics.set_log_stats(stats.clone());
        if stats.failing && stats.lost_untold > 0 {
            log::warn!(
                "event log: still failing at stop; {} line(s) missing from it are not told in it",
                stats.lost_untold
            );
        }
        if let Err(err) = self.sink.close() {
            log::warn!("event log: close failed: {err}");
        }
    }

    fn write(&mut self, line: &[u8]) {
        let result = self.sink.write_line(line);
        self.note(result, "write");
        self.dirty = true;
        // Under a steady load the queue is never empty: the metrics must not wait for it.
        self.lines_since_stats += 1;
        if self.lines_since_stats >= STATS_EVERY_LINES || self.stats_at.elapsed() >= STATS_EVERY {
            self.refresh_stats();
        }
    }

    /// Hands the sink the counts the hub could not hand over itself.
    fn write_owed(&mut self) {
        for kind in Owed::ALL {
            let count = self.shared.owed(kind).swap(0, Relaxed);
            if count > 0 {
                self.sink.lost(count, kind.reason());
            }
        }
    }

    fn note<E: fmt::Display>(&mut self, result: Result<(), E>, what: &str) {
        self.errors.note(result, what);
    }

    fn reopen(&mut self) {
        let flushed = self.sink.flush();
        self.note(flushed, "flush");
        match self.sink.reopen() {
            Ok(()) => log::info!("event log reopened"),
            Err(err) => log::warn!("event log: reopen failed: {err}"),
        }
        self.refresh_stats();
        self.dirty = false;
    }

    fn refresh_stats(&mut self) {
        self.metrics.set_log_stats(self.sink.stats());
        self.lines_since_stats = 0;
        self.stats_at = Instant::now();
    }
}

/// Sink errors, kept for the debug log only: the sink warns once per fault itself (when it
/// begins and when it ends, with the count of lines dropped), and a failing sink returns an
/// error for every line it drops.
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
                    log::debug!("event log: {what} failed: {text}");
                    self.last = Some(text);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Condvar, Mutex};

    use super::*;
    use crate::schema::REASON_KERNEL;

    /// A sink that writes (records) only as many lines as it is allowed to, and otherwise
    /// waits, as a log on a disk that stopped answering does.
    #[derive(Clone, Default)]
    struct Gated(Arc<Gate>);

    #[derive(Default)]
    struct Gate {
        /// The lines written, and how many may be.
        state: Mutex<(Vec<String>, usize)>,
        turn: Condvar,
    }

    impl Gated {
        fn allow(&self, lines: usize) {
            self.0.state.lock().unwrap().1 = lines;
            self.0.turn.notify_all();
        }

        fn written(&self) -> Vec<String> {
            self.0.state.lock().unwrap().0.clone()
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
            let mut state = self.0.state.lock().unwrap();
            while state.0.len() >= state.1 {
                state = self.0.turn.wait(state).unwrap();
            }
            state.0.push(String::from_utf8_lossy(line).into_owned());
            Ok(())
        }
        fn lost(&mut self, count: u64, reason: &'static str) {
            self.0.state.lock().unwrap().0.push(record(count, reason));
        }
        fn flush(&mut self) -> Result<(), String> {
            Ok(())
        }
        fn flush_if_due(&mut self) -> Result<(), String> {
            Ok(())
        }
        fn reopen(&mut self) -> Result<(), String> {
            self.0.state.lock().unwrap().0.push("reopen".into());
            Ok(())
        }
        fn stats(&self) -> LogStats {
            LogStats {
                lines_written: self.0.state.lock().unwrap().0.len() as u64,
                ..LogStats::default()
            }
        }
    }

    fn record(count: u64, reason: &str) -> String {
        let mut out = Vec::new();
        lost_record(&mut out, count, reason);
        String::from_utf8(out).unwrap()
    }

    fn line(i: usize) -> Bytes {
        Bytes::from(format!("{i}\n"))
    }

    fn lost(line: &str) -> (u64, String) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["type"], "lost", "{line}");
        (
            v["count"].as_u64().unwrap(),
            v["reason"].as_str().unwrap().to_owned(),
        )
    }

    #[test]
    fn lines_the_queue_had_no_room_for_are_told_in_the_log_where_they_went_missing() {
        let sink = Gated::default();
        let metrics = Arc::new(Metrics::default());
        let mut log = LogHandle::spawn_with(
            sink.clone(),
            Arc::clone(&metrics),
            4,
            Duration::from_secs(5),
        )
        .unwrap();
        for i in 0..10 {
            log.write(line(i));
        }
        // The kernel's own record finds the queue full too.
        log.kernel_lost(KernelLoss::RingFull, 5);
        sink.allow(usize::MAX);
        let kept = 10 - usize::try_from(metrics.log_queue_drops.get()).unwrap();
        sink.wait_for(kept);
        log.write(line(10));
        log.close();
        let written = sink.written();
        let expected: Vec<String> = (0..kept).map(|i| format!("{i}\n")).collect();
        assert_eq!(written[..kept], expected[..], "{written:?}");
        // The hub and the log thread may each hand over one of the two: in either order.
        let mut records = [lost(&written[kept]), lost(&written[kept + 1])];
        let mut expected = [
            (5, REASON_KERNEL.to_owned()),
            ((10 - kept) as u64, REASON_QUEUE_FULL.to_owned()),
        ];
        records.sort();
        expected.sort();
        assert_eq!(records, expected);
        assert_eq!(written[kept + 2..], ["10\n"]);
    }

    #[test]
    fn metrics_follow_a_busy_log_whose_queue_never_empties() {
        let sink = Gated::default();
        let metrics = Arc::new(Metrics::default());
        let mut log = LogHandle::spawn_with(
            sink.clone(),
            Arc::clone(&metrics),
            4096,
            Duration::from_secs(5),
        )
        .unwrap();
        for i in 0..3000 {
            log.write(line(i));
        }
        sink.allow(2000);
        sink.wait_for(2000);
        let seen = metrics.log_stats().lines_written;
        assert!(seen >= 1024, "{seen} lines written in the metrics");
        sink.allow(usize::MAX);
        log.close();
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
        fn lost(&mut self, count: u64, reason: &'static str) {
            self.0.lock().unwrap().push(record(count, reason));
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
        fn stats(&self) -> LogStats {
            LogStats {
                lines_written: 1,
                ..LogStats::default()
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
