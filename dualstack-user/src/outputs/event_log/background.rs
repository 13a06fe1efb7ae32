//! Work done off the writing thread: compressing rotated files and deleting the oldest ones.
//!
//! One worker thread runs the jobs in order, so a file is never deleted while it is being
//! compressed. A compressed file is written under a hidden temporary name, synced, and renamed
//! into place before the plain file is removed: a reader sees the plain file, the complete
//! `.gz`, or both (and then prefers the `.gz`), never half of a `.gz`.

use std::{
    fs::{self, File, OpenOptions},
    io::{self, BufReader, BufWriter, Write as _},
    os::unix::fs::OpenOptionsExt as _,
    path::{Path, PathBuf},
    sync::{
        mpsc::{self, Receiver, Sender},
        Arc, Mutex, MutexGuard, PoisonError,
    },
    thread::{self, JoinHandle},
};

use flate2::{write::GzEncoder, Compression};

use super::naming::{self, Rotated};

/// Permissions of the files the log creates: events name processes and addresses.
pub const FILE_MODE: u32 = 0o640;

/// A unit of background work.
#[derive(Debug)]
pub enum Job {
    /// Compress this rotated (plain) file.
    Compress(Rotated),
    /// Compress every rotated file still plain (after a failed compression).
    CompressPlain,
    /// Delete the oldest rotated files beyond this many.
    Prune(usize),
}

/// What the worker did, read by `EventLog::stats`.
#[derive(Debug, Default)]
pub struct Shared {
    pub compressed: u64,
    pub deleted: u64,
    pub errors: u64,
    pub last_error: Option<String>,
    /// A compression failed and no later one succeeded: files may have been left plain.
    pub compress_failing: bool,
}

pub type SharedStats = Arc<Mutex<Shared>>;

/// The shared statistics; a panic elsewhere cannot make them unreadable.
pub fn lock(shared: &SharedStats) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Records an error in the shared statistics (used by the writer as well).
pub fn record_error(shared: &SharedStats, message: String) {
    let mut s = lock(shared);
    s.errors += 1;
    s.last_error = Some(message);
}

/// The worker thread, started with the first job.
pub struct Worker {
    dir: PathBuf,
    shared: SharedStats,
    queue: Option<(Sender<Job>, JoinHandle<()>)>,
}

impl Worker {
    pub fn new(dir: PathBuf, shared: SharedStats) -> Worker {
        Worker {
            dir,
            shared,
            queue: None,
        }
    }

    /// Queues `job`; runs it on this thread if no worker thread can be started.
    pub fn submit(&mut self, job: Job) {
        if self.queue.is_none() {
            let (tx, rx) = mpsc::channel();
            let (dir, shared) = (self.dir.clone(), Arc::clone(&self.shared));
            match thread::Builder::new()
                .name("event-log".into())
                .spawn(move || work(&dir, &shared, &rx))
            {
                Ok(handle) => self.queue = Some((tx, handle)),
                Err(err) => {
                    log::warn!("cannot start the event log's worker thread ({err}): compressing on the writing thread");
                    run(&self.dir, &self.shared, job);
                    return;
                }
            }
        }
        if let Some((tx, _)) = &self.queue {
            if let Err(mpsc::SendError(job)) = tx.send(job) {
                // The worker died (it cannot panic on data; only a bug would do it).
                self.queue = None;
                run(&self.dir, &self.shared, job);
            }
        }
    }

    /// Waits for every queued job to finish.
    pub fn finish(&mut self) {
        if let Some((tx, handle)) = self.queue.take() {
            drop(tx);
            let _ = handle.join();
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.finish();
    }
}

fn work(dir: &Path, shared: &SharedStats, rx: &Receiver<Job>) {
    while let Ok(job) = rx.recv() {
        run(dir, shared, job);
    }
}

fn run(dir: &Path, shared: &SharedStats, job: Job) {
    match job {
        Job::Compress(file) => compress_one(dir, shared, &file),
        Job::CompressPlain => match naming::rotated_files(dir) {
            Ok(files) => {
                for file in files.iter().filter(|f| !f.compressed) {
                    compress_one(dir, shared, file);
                }
            }
            Err(err) => record_error(shared, format!("cannot list {}: {err}", dir.display())),
        },
        Job::Prune(keep) => prune(dir, keep, shared),
    }
}

/// Compresses one file. A failure is warned about once until a compression succeeds again;
/// the writer then has the files left plain compressed (see `Job::CompressPlain`).
fn compress_one(dir: &Path, shared: &SharedStats, file: &Rotated) {
    match compress(dir, file) {
        Ok(done) => {
            let mut s = lock(shared);
            if done {
                s.compressed += 1;
            }
            if done && s.compress_failing {
                s.compress_failing = false;
                log::info!("event log: compressing rotated files works again");
            }
        }
        Err(err) => {
            let message = format!("cannot compress {}: {err}", dir.join(file.name()).display());
            let first = !std::mem::replace(&mut lock(shared).compress_failing, true);
            if first {
                log::warn!(
                    "{message} (the file stays uncompressed until a retry succeeds; retrying \
                     every {} s)",
                    super::RETRY_INTERVAL.as_secs()
                );
            }
            record_error(shared, message);
        }
    }
}

/// Gzips one rotated file: temporary name, sync, rename, then remove the original. Returns
/// false when there was nothing to do.
fn compress(dir: &Path, file: &Rotated) -> io::Result<bool> {
    let plain = dir.join(file.name());
    let gz_name = file.compressed().name();
    let gz = dir.join(&gz_name);
    if gz.exists() {
        // A previous run stopped after the rename: the .gz is complete.
        return remove_if_present(&plain).map(|()| false);
    }
    if !plain.exists() {
        // Rotations outran the worker and a prune already deleted it (keep is small).
        return Ok(false);
    }
    let temp = dir.join(naming::temp_name(&gz_name));
    if let Err(err) = write_gzip(&plain, &temp).and_then(|()| fs::rename(&temp, &gz)) {
        let _ = fs::remove_file(&temp);
        return Err(err);
    }
    sync_dir(dir);
    remove_if_present(&plain).map(|()| true)
}

fn write_gzip(from: &Path, to: &Path) -> io::Result<()> {
    let mut input = BufReader::with_capacity(1 << 16, File::open(from)?);
    let out = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(to)?;
    let mut encoder = GzEncoder::new(
        BufWriter::with_capacity(1 << 16, out),
        Compression::default(),
    );
    io::copy(&mut input, &mut encoder)?;
    let mut out = encoder.finish()?;
    out.flush()?;
    out.get_ref().sync_all()
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

/// Deletes the oldest rotated files so that at most `keep` remain.
fn prune(dir: &Path, keep: usize, shared: &SharedStats) {
    let files = match naming::rotated_files(dir) {
        Ok(files) => files,
        Err(err) => {
            record_error(shared, format!("cannot list {}: {err}", dir.display()));
            return;
        }
    };
    let excess = files.len().saturating_sub(keep);
    for file in &files[..excess] {
        // Both forms: the plain twin of a compressed file may still be there.
        for name in [
            Rotated {
                compressed: false,
                ..file.clone()
            }
            .name(),
            file.compressed().name(),
        ] {
            let path = dir.join(name);
            match fs::remove_file(&path) {
                Ok(()) => {
                    lock(shared).deleted += 1;
                }
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => {
                    let message = format!("cannot delete {}: {err}", path.display());
                    log::warn!("{message}");
                    record_error(shared, message);
                }
            }
        }
    }
}

/// Makes renames and deletions in `dir` durable; a failure only weakens crash durability.
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}
