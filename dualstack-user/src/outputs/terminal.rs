//! The trace's output, written on a thread of its own behind a fixed budget.
//!
//! A blocking write (a slow pipe, a stopped terminal) must not stop the loop that reads the
//! kernel's ring and answers signals. The loop hands formatted chunks to this thread through
//! a channel of a few chunks; when it is full the loop stops reading the ring, so a burst
//! fills the kernel's ring, where drops are counted, instead of this process's memory.

use std::{
    io::{self, Write},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering::Relaxed},
        Arc,
    },
    time::Duration,
};

use tokio::sync::{mpsc, oneshot};

/// Chunks waiting for the writer thread at most: with [`super::trace::BATCH`] records per
/// chunk, a few MiB of output at most.
const QUEUE_CHUNKS: usize = 16;

/// Formatted output and the events it holds.
pub struct Chunk {
    pub bytes: Vec<u8>,
    pub events: u64,
}

/// The writer thread and the way to it.
pub struct OutputWriter {
    tx: mpsc::Sender<Chunk>,
    done: oneshot::Receiver<io::Result<()>>,
    /// Set when the reader of the output has gone (EPIPE): tracing ends quietly.
    broken: Arc<AtomicBool>,
    /// Events handed to the thread and not yet written.
    queued: Arc<AtomicU64>,
}

/// What became of the output at the end.
#[derive(Debug)]
pub enum Finish {
    /// Everything was written.
    Written,
    /// The output did not take the rest in time: these events were not written.
    Stalled(u64),
    /// Writing failed.
    Failed(io::Error),
}

impl OutputWriter {
    pub fn spawn(mut out: Box<dyn Write + Send>) -> io::Result<OutputWriter> {
        let (tx, mut rx) = mpsc::channel::<Chunk>(QUEUE_CHUNKS);
        let (done_tx, done) = oneshot::channel();
        let broken = Arc::new(AtomicBool::new(false));
        let queued = Arc::new(AtomicU64::new(0));
        let (thread_broken, thread_queued) = (Arc::clone(&broken), Arc::clone(&queued));
        std::thread::Builder::new()
            .name("dualstack-output".to_owned())
            .spawn(move || {
                let mut result = Ok(());
                while let Some(chunk) = rx.blocking_recv() {
                    let written = out.write_all(&chunk.bytes).and_then(|()| out.flush());
                    thread_queued.fetch_sub(chunk.events, Relaxed);
                    if let Err(err) = written {
                        if err.kind() == io::ErrorKind::BrokenPipe {
                            thread_broken.store(true, Relaxed);
                        } else {
                            result = Err(err);
                        }
                        break;
                    }
                }
                let _ = done_tx.send(result);
            })?;
        Ok(OutputWriter {
            tx,
            done,
            broken,
            queued,
        })
    }

    /// Waits for room for one chunk.
    pub async fn reserve(&self) -> Option<mpsc::Permit<'_, Chunk>> {
        self.tx.reserve().await.ok()
    }

    /// Hands a chunk over through a reserved place.
    pub fn send(&self, permit: mpsc::Permit<'_, Chunk>, chunk: Chunk) {
        self.queued.fetch_add(chunk.events, Relaxed);
        permit.send(chunk);
    }

    /// Whoever read the output has gone.
    pub fn broken(&self) -> bool {
        self.broken.load(Relaxed)
    }

    /// Hands over the last chunk and waits, at most `deadline` in all, for everything to be
    /// written.
    pub async fn finish(self, last: Chunk, deadline: Duration) -> Finish {
        let OutputWriter {
            tx, done, queued, ..
        } = self;
        let left = Arc::clone(&queued);
        let work = async move {
            if !last.bytes.is_empty() {
                queued.fetch_add(last.events, Relaxed);
                if tx.send(last).await.is_err() {
                    return Ok(());
                }
            }
            drop(tx);
            done.await.unwrap_or(Ok(()))
        };
        match tokio::time::timeout(deadline, work).await {
            Ok(Ok(())) => Finish::Written,
            Ok(Err(err)) => Finish::Failed(err),
            Err(_) => Finish::Stalled(left.load(Relaxed)),
        }
    }
}
