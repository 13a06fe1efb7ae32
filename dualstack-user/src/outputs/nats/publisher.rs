//! Sends the event log to JetStream from a saved place, acknowledged line by line.

use std::{
    collections::VecDeque,
    io,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use async_nats::{
    header::{HeaderMap, NATS_MESSAGE_ID},
    jetstream::{self, context::PublishAckFuture, stream},
};
use bytes::Bytes;
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::watch;

use super::{
    snapshots::{ListenersChanged, SnapshotSettings},
    subject_token,
    tail::{LogTail, Next, Place},
    NatsSettings, STREAM,
};
use crate::{outputs::metrics::Metrics, schema};

/// Lines sent and not yet acknowledged at most.
const IN_FLIGHT: usize = 1024;
/// How often the saved place is written while lines are acknowledged.
const SAVE_EVERY: Duration = Duration::from_millis(200);
/// How long to wait for more log when it has all been sent.
const IDLE_WAIT: Duration = Duration::from_millis(50);
/// Wait before sending again after a failure.
const RETRY: Duration = Duration::from_secs(1);
/// How often the log after the acknowledged place is measured.
const MEASURE_EVERY: Duration = Duration::from_secs(1);
/// The file holding the place sent up to, in the log directory.
pub const CURSOR: &str = "nats.cursor";

/// Starts the publisher on a thread of its own, with its own runtime: nothing of the daemon
/// ever waits for NATS.
pub fn spawn(
    settings: NatsSettings,
    snapshots: Option<(SnapshotSettings, ListenersChanged)>,
    metrics: Arc<Metrics>,
) -> io::Result<()> {
    std::thread::Builder::new()
        .name("dualstack-nats".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    log::error!("NATS publisher: cannot start its runtime: {e}");
                    return;
                }
            };
            runtime.block_on(run(settings, snapshots, metrics));
        })
        .map(drop)
}

async fn run(
    settings: NatsSettings,
    snapshots: Option<(SnapshotSettings, ListenersChanged)>,
    metrics: Arc<Metrics>,
) {
    let reconnects = metrics.nats.reconnects.clone();
    let first = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let name = format!("dualstack daemon {}", settings.host_id);
    let client = match super::connect(&settings.server, &name, true, move || {
        if !first.swap(false, std::sync::atomic::Ordering::Relaxed) {
            reconnects.inc();
        }
        log::info!("NATS: connected");
    })
    .await
    {
        Ok(client) => client,
        Err(e) => {
            log::error!("{e}; events are streamed and logged locally, not published");
            return;
        }
    };
    let js = jetstream::new(client);
    if let Some((snapshot_settings, changed)) = snapshots {
        tokio::spawn(super::snapshots::run(
            js.clone(),
            settings.clone(),
            snapshot_settings,
            changed,
        ));
    }
    let pending_bytes = metrics.nats.pending_bytes.clone();
    let mut publisher = match Publisher::new(&settings, js, metrics) {
        Ok(p) => p,
        Err(e) => {
            log::error!("NATS publisher: {e}");
            return;
        }
    };
    tokio::spawn(measure_pending(
        settings.log_dir.clone(),
        publisher.acked.subscribe(),
        pending_bytes,
    ));
    loop {
        if let Err(e) = publisher.ensure_stream(&settings).await {
            log::warn!("NATS: cannot create or find stream {STREAM}: {e}; retrying");
            tokio::time::sleep(RETRY).await;
            continue;
        }
        match publisher.send().await {
            Ok(()) => return,
            Err(e) => {
                log::warn!(
                    "NATS: sending stopped ({e}); resending from the last acknowledged line"
                );
                publisher.rewind();
                tokio::time::sleep(RETRY).await;
            }
        }
    }
}

struct Publisher {
    js: jetstream::Context,
    tail: LogTail,
    cursor: PathBuf,
    /// The place every line before has been acknowledged; watched by [`measure_pending`].
    acked: watch::Sender<Place>,
    saved: Place,
    saved_at: Instant,
    in_flight: VecDeque<(Place, PublishAckFuture)>,
    host: String,
    subject_host: String,
    metrics: Arc<Metrics>,
    stream_ready: bool,
}

impl Publisher {
    fn new(
        settings: &NatsSettings,
        js: jetstream::Context,
        metrics: Arc<Metrics>,
    ) -> io::Result<Publisher> {
        let cursor = settings.log_dir.join(CURSOR);
        let saved = read_cursor(&cursor);
        let tail = LogTail::new(&settings.log_dir, saved)?;
        let acked = tail.place();
        Ok(Publisher {
            js,
            tail,
            cursor,
            acked: watch::Sender::new(acked),
            saved: acked,
            saved_at: Instant::now(),
            in_flight: VecDeque::new(),
            host: settings.host_id.clone(),
            subject_host: subject_token(&settings.host_id),
            metrics,
            stream_ready: false,
        })
    }

    async fn ensure_stream(&mut self, settings: &NatsSettings) -> Result<(), String> {
        if self.stream_ready {
            return Ok(());
        }
        let s = &settings.stream;
        self.js
            .get_or_create_stream(stream::Config {
                name: STREAM.to_owned(),
                subjects: vec!["dualstack.*.events.>".to_owned()],
                max_age: s.max_age,
                max_bytes: s.max_bytes,
                num_replicas: s.replicas,
                duplicate_window: s.duplicate_window,
                ..stream::Config::default()
            })
            .await
            .map_err(|e| e.to_string())?;
        self.stream_ready = true;
        Ok(())
    }

    /// Starts again after the last acknowledged line.
    fn rewind(&mut self) {
        self.in_flight.clear();
        self.metrics.nats.pending_events.set(0);
        self.tail.rewind(*self.acked.borrow());
    }

    /// Sends lines as the log grows, forever (or until an error).
    async fn send(&mut self) -> Result<(), String> {
        loop {
            if self.in_flight.len() >= IN_FLIGHT {
                self.take_ack().await?;
                continue;
            }
            match self
                .tail
                .next()
                .map_err(|e| format!("reading the log: {e}"))?
            {
                Next::Line { line, at, end } => self.publish(&line, at, end).await?,
                Next::Gone { from, files } => self.tell_gone(from, files).await?,
                Next::Idle => {
                    if self.in_flight.is_empty() {
                        self.save(true);
                        tokio::time::sleep(IDLE_WAIT).await;
                    } else {
                        self.take_ack().await?;
                    }
                }
            }
        }
    }

    async fn publish(&mut self, line: &[u8], at: Place, end: Place) -> Result<(), String> {
        let Some(kind) = kind_of(line) else {
            log::debug!("NATS: skipping a log line that is not a record at {at:?}");
            self.advance_if_idle(end);
            return Ok(());
        };
        let subject = format!("dualstack.{}.events.{kind}", self.subject_host);
        let mut headers = HeaderMap::new();
        headers.insert(NATS_MESSAGE_ID, message_id(&self.host, at, line).as_str());
        let ack = self
            .js
            .publish_with_headers(subject, headers, Bytes::copy_from_slice(line))
            .await
            .map_err(|e| e.to_string())?;
        self.metrics.nats.published.inc();
        self.in_flight.push_back((end, ack));
        self.metrics
            .nats
            .pending_events
            .set(self.in_flight.len() as i64);
        Ok(())
    }

    /// A line that is not sent still moves the place, once nothing before it is in flight.
    fn advance_if_idle(&mut self, end: Place) {
        if self.in_flight.is_empty() {
            self.acked.send_replace(end);
        }
    }

    /// Files pruned before they were sent: told by a `lost` record.
    async fn tell_gone(&mut self, from: Place, files: u64) -> Result<(), String> {
        log::warn!(
            "NATS: {files} event log file(s) from {from:?} were pruned before they were sent"
        );
        self.metrics.nats.lost.inc_by(files);
        let reason = format!("{files} event log file(s) rotated away before they were published");
        let line = schema::lost_line(0, &reason);
        let at = Place {
            seq: from.seq,
            offset: u64::MAX,
        };
        self.publish(line.trim_ascii_end(), at, self.tail.place())
            .await
    }

    /// Waits for the oldest acknowledgement.
    async fn take_ack(&mut self) -> Result<(), String> {
        let Some((end, ack)) = self.in_flight.pop_front() else {
            return Ok(());
        };
        ack.await.map_err(|e| e.to_string())?;
        self.metrics.nats.acked.inc();
        self.metrics
            .nats
            .pending_events
            .set(self.in_flight.len() as i64);
        self.acked.send_replace(end);
        self.save(false);
        Ok(())
    }

    /// Writes the acknowledged place, at most every [`SAVE_EVERY`] unless `now`.
    fn save(&mut self, now: bool) {
        let acked = *self.acked.borrow();
        if acked == self.saved || (!now && self.saved_at.elapsed() < SAVE_EVERY) {
            return;
        }
        match write_cursor(&self.cursor, acked) {
            Ok(()) => {
                self.saved = acked;
                self.saved_at = Instant::now();
            }
            Err(e) => log::warn!("NATS: cannot save {}: {e}", self.cursor.display()),
        }
    }
}

/// Keeps `gauge` at the bytes of the log after the acknowledged place, measured every
/// [`MEASURE_EVERY`] on its own: while NATS is away no acknowledgement comes to move the place,
/// and the backlog it leaves behind is what the gauge must show.
async fn measure_pending(dir: PathBuf, acked: watch::Receiver<Place>, gauge: Gauge) {
    let mut every = tokio::time::interval(MEASURE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let place = *acked.borrow();
        gauge.set(pending_bytes(&dir, place));
    }
}

/// "bind", "listen", ... for an event line, "lost" for a lost record; None for anything else.
fn kind_of(line: &[u8]) -> Option<String> {
    if line.starts_with(br#"{"type":"lost""#) {
        return Some("lost".to_owned());
    }
    if !line.starts_with(br#"{"type":"event""#) {
        return None;
    }
    let key = br#""syscall":""#;
    let start = line.windows(key.len()).position(|w| w == key)? + key.len();
    let len = line[start..].iter().position(|&b| b == b'"')?;
    let name = std::str::from_utf8(&line[start..start + len]).ok()?;
    name.bytes()
        .all(|b| b.is_ascii_alphanumeric())
        .then(|| name.to_owned())
}

/// The line's place in the log names it (and a hash of it guards against a log started again
/// from sequence 1): the same line sent again gets the same id.
fn message_id(host: &str, at: Place, line: &[u8]) -> String {
    // FNV-1a: a fixed function, so that ids stay the same across builds.
    let hash = line.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{host}:{}:{}:{hash:016x}", at.seq, at.offset)
}

fn read_cursor(path: &Path) -> Option<Place> {
    let text = std::fs::read(path).ok()?;
    match serde_json::from_slice(&text) {
        Ok(place) => Some(place),
        Err(e) => {
            log::warn!(
                "NATS: {} is damaged ({e}); sending from the start of the current log file",
                path.display()
            );
            None
        }
    }
}

/// Replaces the cursor file whole (a new file renamed over it, then synced).
fn write_cursor(path: &Path, place: Place) -> io::Result<()> {
    let temp = path.with_extension("cursor.new");
    let text = serde_json::to_vec(&place).map_err(io::Error::other)?;
    {
        let file = std::fs::File::create(&temp)?;
        io::Write::write_all(&mut &file, &text)?;
        file.sync_all()?;
    }
    std::fs::rename(&temp, path)
}

/// Bytes of the log after `place`: the rest of its file and every later one (a gzipped file
/// counts its compressed size).
fn pending_bytes(dir: &Path, place: Place) -> i64 {
    let Ok(files) = crate::outputs::event_log::naming::event_files(dir) else {
        return 0;
    };
    let rotated = crate::outputs::event_log::naming::rotated_files(dir).unwrap_or_default();
    let newest = rotated.last().map_or(0, |r| r.seq);
    let mut pending = 0u64;
    for (path, seq) in files.iter().zip(
        rotated
            .iter()
            .map(|r| r.seq)
            .chain(std::iter::once(newest + 1)),
    ) {
        if seq < place.seq {
            continue;
        }
        let size = std::fs::metadata(path).map_or(0, |m| m.len());
        pending += if seq == place.seq {
            size.saturating_sub(place.offset)
        } else {
            size
        };
    }
    i64::try_from(pending).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outputs::event_log::naming::CURRENT;

    #[test]
    fn subjects_name_the_syscall() {
        assert_eq!(
            kind_of(br#"{"type":"event","time":"t","pid":1,"syscall":"bind","fd":3}"#),
            Some("bind".into())
        );
        assert_eq!(
            kind_of(br#"{"type":"lost","count":3}"#),
            Some("lost".into())
        );
        assert_eq!(kind_of(b"garbage"), None);
        assert_eq!(kind_of(br#"{"type":"event","syscall":"a.b"}"#), None);
    }

    #[test]
    fn ids_are_stable_and_tell_places_apart() {
        let at = Place { seq: 3, offset: 40 };
        assert_eq!(message_id("h", at, b"x"), message_id("h", at, b"x"));
        assert_ne!(message_id("h", at, b"x"), message_id("h", at, b"y"));
        assert_ne!(
            message_id("h", at, b"x"),
            message_id("h", Place { seq: 3, offset: 41 }, b"x")
        );
    }

    /// The backlog is measured on its own, not when an acknowledgement moves the place: while
    /// NATS is away none comes, and the gauge once stayed at its last value (0) as the log grew.
    #[tokio::test]
    async fn the_backlog_is_measured_while_nothing_is_acknowledged() {
        let dir = crate::outputs::event_log::tests::Dir::new("nats-pending");
        std::fs::write(dir.0.join("events-20261130T000000Z-1.jsonl"), b"a\nb\n").unwrap();
        std::fs::write(dir.0.join(CURRENT), b"0123456789\n").unwrap();
        let (acked, watched) = watch::channel(Place { seq: 1, offset: 0 });
        let gauge = Gauge::default();
        let task = tokio::spawn(measure_pending(dir.0.clone(), watched, gauge.clone()));
        let settles_at = |want: i64| {
            let gauge = gauge.clone();
            async move {
                let deadline = Instant::now() + 10 * MEASURE_EVERY;
                while gauge.get() != want && Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                gauge.get()
            }
        };
        assert_eq!(settles_at(4 + 11).await, 4 + 11);
        // The log grows with nothing acknowledged.
        std::fs::write(dir.0.join(CURRENT), b"0123456789\n0123456789\n").unwrap();
        assert_eq!(settles_at(4 + 22).await, 4 + 22);
        acked.send_replace(Place { seq: 2, offset: 11 });
        assert_eq!(settles_at(11).await, 11);
        task.abort();
    }

    #[test]
    fn the_cursor_survives_a_rewrite() {
        let dir = crate::outputs::event_log::tests::Dir::new("nats-cursor");
        let path = dir.0.join(CURSOR);
        assert_eq!(read_cursor(&path), None);
        let place = Place { seq: 7, offset: 99 };
        write_cursor(&path, place).unwrap();
        assert_eq!(read_cursor(&path), Some(place));
        std::fs::write(&path, b"{torn").unwrap();
        assert_eq!(read_cursor(&path), None);
    }
}
