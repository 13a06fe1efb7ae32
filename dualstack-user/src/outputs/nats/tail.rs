//! Reads the event log as it grows, across rotations and compression, line by line, each line
//! with its place: the sequence number its file has (or will have, for `events.jsonl`, once
//! rotated) and its byte offset in that file. A place survives a restart: the publisher saves
//! the place it has sent up to, and a new tail starts there.

use std::{
    fs::File,
    io::{self, BufRead, BufReader, Read, Seek, SeekFrom},
    os::unix::fs::MetadataExt as _,
    path::{Path, PathBuf},
};

use flate2::read::MultiGzDecoder;
use serde::{Deserialize, Serialize};

use crate::outputs::event_log::naming::{rotated_files, Rotated, CURRENT};

/// A place in the event log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Place {
    /// The rotation sequence number of the file.
    pub seq: u64,
    /// Bytes into the file (uncompressed).
    pub offset: u64,
}

/// What the tail found.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// A whole line (without its newline) and where it starts and ends.
    Line {
        line: Vec<u8>,
        at: Place,
        end: Place,
    },
    /// Nothing more for now.
    Idle,
    /// Files the log rotated away (pruned) before they were read: `files` of them, from `from`.
    Gone { from: Place, files: u64 },
}

/// The file being read.
struct Segment {
    seq: u64,
    reader: BufReader<Box<dyn Read + Send>>,
    offset: u64,
    /// `events.jsonl`, which may still grow and be rotated.
    current: bool,
    inode: u64,
}

pub struct LogTail {
    dir: PathBuf,
    place: Place,
    segment: Option<Segment>,
    partial: Vec<u8>,
}

impl LogTail {
    /// A tail starting at `place` (where a previous one stopped), or at the start of the
    /// current file when there is none.
    pub fn new(dir: &Path, place: Option<Place>) -> io::Result<LogTail> {
        let place = match place {
            Some(place) => place,
            None => Place {
                seq: current_seq(dir)?,
                offset: 0,
            },
        };
        Ok(LogTail {
            dir: dir.to_owned(),
            place,
            segment: None,
            partial: Vec::new(),
        })
    }

    /// The place the next line starts at.
    pub fn place(&self) -> Place {
        self.place
    }

    /// Starts again at `place` (after a failed send: what was not acknowledged is read again).
    pub fn rewind(&mut self, place: Place) {
        self.place = place;
        self.segment = None;
        self.partial.clear();
    }

    /// The next whole line, or why there is none.
    #[expect(
        clippy::should_implement_trait,
        reason = "not an iterator: `Idle` is no end, and reading can fail"
    )]
    pub fn next(&mut self) -> io::Result<Next> {
        loop {
            if self.segment.is_none() {
                match self.open()? {
                    Opened::Segment(segment) => self.segment = Some(segment),
                    Opened::NotYet => return Ok(Next::Idle),
                    Opened::Gone(gone) => return Ok(gone),
                }
            }
            let Some(segment) = self.segment.as_mut() else {
                return Ok(Next::Idle);
            };
            let before = self.partial.len();
            let read = segment.reader.read_until(b'\n', &mut self.partial)?;
            segment.offset += read as u64;
            if self.partial.last() == Some(&b'\n') {
                let mut line = std::mem::take(&mut self.partial);
                line.pop();
                let at = self.place;
                self.place.offset = segment.offset;
                return Ok(Next::Line {
                    line,
                    at,
                    end: self.place,
                });
            }
            if read > 0 || before != self.partial.len() {
                // Part of a line: the writer writes whole lines, so the rest is coming.
                continue;
            }
            // End of the file for now.
            let (current, seq, inode) = (segment.current, segment.seq, segment.inode);
            if current {
                if !self.rotated(seq, inode)? {
                    return Ok(Next::Idle);
                }
                // Rotated since this end was met: lines written before the rename may follow
                // it; read once more to the end, as a finished file.
                if let Some(segment) = self.segment.as_mut() {
                    segment.current = false;
                }
                continue;
            }
            // A rotated file is complete (the writer syncs before it renames): go on to the next.
            self.partial.clear();
            self.segment = None;
            self.place = Place {
                seq: self.place.seq + 1,
                offset: 0,
            };
        }
    }

    /// Has the current file `seq` (inode `inode`) been rotated since it was opened?
    fn rotated(&self, seq: u64, inode: u64) -> io::Result<bool> {
        if rotated_files(&self.dir)?.iter().any(|r| r.seq == seq) {
            return Ok(true);
        }
        // Renamed and a new current file made, before the rotated one was listed.
        Ok(std::fs::metadata(self.dir.join(CURRENT)).is_ok_and(|m| m.ino() != inode))
    }

    fn open(&mut self) -> io::Result<Opened> {
        let rotated = rotated_files(&self.dir)?;
        let newest = rotated.last().map_or(0, |r| r.seq);
        let seq = self.place.seq;
        if let Some(file) = rotated.iter().find(|r| r.seq == seq) {
            return self.open_rotated(file).map(Opened::Segment);
        }
        if seq == newest + 1 {
            let path = self.dir.join(CURRENT);
            let mut file = match File::open(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Opened::NotYet),
                Err(e) => return Err(e),
            };
            let inode = file.metadata()?.ino();
            file.seek(SeekFrom::Start(self.place.offset))?;
            return Ok(Opened::Segment(Segment {
                seq,
                reader: BufReader::with_capacity(1 << 16, Box::new(file)),
                offset: self.place.offset,
                current: true,
                inode,
            }));
        }
        // The file is gone (pruned), or the place is from another log: go on at the oldest
        // file after it, or the current one.
        let next = rotated
            .iter()
            .map(|r| r.seq)
            .find(|&s| s > seq)
            .unwrap_or(newest + 1);
        let from = self.place;
        let files = next.saturating_sub(seq);
        self.place = Place {
            seq: next,
            offset: 0,
        };
        Ok(Opened::Gone(Next::Gone { from, files }))
    }

    fn open_rotated(&self, file: &Rotated) -> io::Result<Segment> {
        let raw = File::open(self.dir.join(file.name()))?;
        let inode = raw.metadata()?.ino();
        let mut reader: Box<dyn Read + Send> = if file.compressed {
            Box::new(MultiGzDecoder::new(BufReader::new(raw)))
        } else {
            Box::new(raw)
        };
        // Skip what was read before (decompressing: a gzip stream cannot seek).
        let skipped = io::copy(&mut (&mut reader).take(self.place.offset), &mut io::sink())?;
        Ok(Segment {
            seq: file.seq,
            reader: BufReader::with_capacity(1 << 16, reader),
            offset: skipped,
            current: false,
            inode,
        })
    }
}

enum Opened {
    Segment(Segment),
    NotYet,
    Gone(Next),
}

/// The sequence number `events.jsonl` will have when rotated.
fn current_seq(dir: &Path) -> io::Result<u64> {
    Ok(rotated_files(dir)?.last().map_or(0, |r| r.seq) + 1)
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;
    use crate::outputs::event_log::tests::Dir;

    fn lines(tail: &mut LogTail) -> Vec<(String, Place)> {
        let mut out = Vec::new();
        while let Next::Line { line, at, .. } = tail.next().unwrap() {
            out.push((String::from_utf8(line).unwrap(), at));
        }
        out
    }

    fn append(dir: &Path, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(CURRENT))
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn follows_a_growing_file_through_rotation_and_compression() {
        let dir = Dir::new("nats-tail");
        append(&dir.0, "a\nb\n");
        let mut tail = LogTail::new(&dir.0, None).unwrap();
        let got = lines(&mut tail);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].1, Place { seq: 1, offset: 2 });
        append(&dir.0, "c\nhalf");
        assert_eq!(lines(&mut tail).len(), 1);
        append(&dir.0, " line\n");
        assert_eq!(lines(&mut tail)[0].0, "half line");
        // Rotation: the current file becomes seq 1, a new current file starts.
        std::fs::rename(
            dir.0.join(CURRENT),
            dir.0.join("events-20261130T000000Z-1.jsonl"),
        )
        .unwrap();
        append(&dir.0, "d\n");
        let got = lines(&mut tail);
        assert_eq!(got, [("d".to_owned(), Place { seq: 2, offset: 0 })]);

        // A new tail from a saved place inside the rotated file, now compressed.
        let plain = std::fs::read(dir.0.join("events-20261130T000000Z-1.jsonl")).unwrap();
        let gz = std::fs::File::create(dir.0.join("events-20261130T000000Z-1.jsonl.gz")).unwrap();
        let mut enc = flate2::write::GzEncoder::new(gz, flate2::Compression::fast());
        enc.write_all(&plain).unwrap();
        enc.finish().unwrap();
        std::fs::remove_file(dir.0.join("events-20261130T000000Z-1.jsonl")).unwrap();
        let mut again = LogTail::new(&dir.0, Some(Place { seq: 1, offset: 4 })).unwrap();
        let got: Vec<String> = lines(&mut again).into_iter().map(|(l, _)| l).collect();
        assert_eq!(got, ["c", "half line", "d"]);
    }

    #[test]
    fn a_pruned_file_is_reported_gone() {
        let dir = Dir::new("nats-tail-gone");
        append(&dir.0, "x\n");
        std::fs::rename(
            dir.0.join(CURRENT),
            dir.0.join("events-20261130T000000Z-3.jsonl"),
        )
        .unwrap();
        let mut tail = LogTail::new(&dir.0, Some(Place { seq: 1, offset: 10 })).unwrap();
        assert_eq!(
            tail.next().unwrap(),
            Next::Gone {
                from: Place { seq: 1, offset: 10 },
                files: 2
            }
        );
        assert!(matches!(tail.next().unwrap(), Next::Line { .. }));
    }
}
