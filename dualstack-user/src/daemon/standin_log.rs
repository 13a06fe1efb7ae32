//! STAND-IN for the event log: appends lines to DIR/events.jsonl, without rotation.
//!
//! Only here so that the daemon writes something its tests can count until the real event log
//! (`sink::event_log::EventLog`: rotation, age, compression) is plugged in at the seam in
//! `daemon::log`; then this file goes. It buffers lines and writes them in one call on flush,
//! and on open cuts a torn last line left by a crash, so the file always holds whole lines.

use std::{
    fs::{self, File, OpenOptions},
    io::{self, Read, Seek as _, SeekFrom, Write as _},
    os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _},
    path::PathBuf,
};

use crate::daemon::{
    config::LogSettings,
    log::{LineSink, SinkStats},
};

const FILE_NAME: &str = "events.jsonl";
/// Buffered bytes that trigger a write before the next flush.
const BUFFER: usize = 256 * 1024;

pub struct StandinLog {
    path: PathBuf,
    file: File,
    buf: Vec<u8>,
    buffered_lines: u64,
    stats: SinkStats,
}

impl StandinLog {
    pub fn open(settings: &LogSettings) -> io::Result<StandinLog> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o750)
            .create(&settings.dir)?;
        let path = settings.dir.join(FILE_NAME);
        let file = open_repaired(&path)?;
        Ok(StandinLog {
            path,
            file,
            buf: Vec::with_capacity(BUFFER),
            buffered_lines: 0,
            stats: SinkStats::default(),
        })
    }

    fn write_buffer(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let result = self.file.write_all(&self.buf);
        match &result {
            Ok(()) => {
                self.stats.bytes_written += self.buf.len() as u64;
                self.stats.lines_written += self.buffered_lines;
            }
            Err(err) => {
                self.stats.write_errors += 1;
                self.stats.lines_dropped += self.buffered_lines;
                self.stats.last_error = Some(err.to_string());
            }
        }
        self.buf.clear();
        self.buffered_lines = 0;
        result
    }
}

/// Opens `path` for appending, first cutting a last line without its newline.
fn open_repaired(path: &PathBuf) -> io::Result<File> {
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o640)
        .open(path)?;
    let len = file.metadata()?.len();
    if len > 0 {
        let tail_len = len.min(1 << 20);
        file.seek(SeekFrom::Start(len - tail_len))?;
        let mut tail = Vec::with_capacity(tail_len as usize);
        Read::by_ref(&mut file)
            .take(tail_len)
            .read_to_end(&mut tail)?;
        if tail.last() != Some(&b'\n') {
            let keep = tail
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(len - tail_len, |i| len - tail_len + i as u64 + 1);
            file.set_len(keep)?;
            log::warn!(
                "{}: cut a torn last line ({} bytes) left by an earlier crash",
                path.display(),
                len - keep
            );
        }
    }
    Ok(file)
}

impl LineSink for StandinLog {
    type Error = io::Error;

    fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        self.buf.extend_from_slice(line);
        if line.last() != Some(&b'\n') {
            self.buf.push(b'\n');
        }
        self.buffered_lines += 1;
        if self.buf.len() >= BUFFER {
            self.write_buffer()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_buffer()
    }

    fn reopen(&mut self) -> io::Result<()> {
        self.write_buffer()?;
        self.file = open_repaired(&self.path)?;
        Ok(())
    }

    fn stats(&self) -> SinkStats {
        self.stats.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_tail_is_cut_on_open() {
        let dir = std::env::temp_dir().join(format!("dualstack-standin-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let settings = LogSettings {
            dir: dir.clone(),
            max_bytes: 1 << 20,
            max_age: None,
            keep: 1,
            compress: false,
        };
        let mut log = StandinLog::open(&settings).unwrap();
        log.write_line(b"{\"a\":1}\n").unwrap();
        log.flush().unwrap();
        fs::OpenOptions::new()
            .append(true)
            .open(dir.join(FILE_NAME))
            .unwrap()
            .write_all(b"{\"b\":")
            .unwrap();
        let mut log = StandinLog::open(&settings).unwrap();
        log.write_line(b"{\"c\":3}").unwrap();
        log.flush().unwrap();
        let text = fs::read_to_string(dir.join(FILE_NAME)).unwrap();
        assert_eq!(text, "{\"a\":1}\n{\"c\":3}\n");
        assert_eq!(log.stats().lines_written, 1);
        fs::remove_dir_all(&dir).unwrap();
    }
}
