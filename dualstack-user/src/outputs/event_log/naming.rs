//! The names of event log files, shared by the writer and by `export`.
//!
//! `events.jsonl` is the file being written. A rotated file is
//! `events-YYYYMMDDTHHMMSSZ-N.jsonl` (`.jsonl.gz` once compressed): the UTC time it was rotated
//! and a sequence number one above the highest in the directory. Files are ordered by that
//! number, not by the time, so that a clock stepped back cannot reorder them.

use std::{
    fs, io,
    path::{Path, PathBuf},
    time::SystemTime,
};

/// The file being written.
pub const CURRENT: &str = "events.jsonl";

const PREFIX: &str = "events-";
const PLAIN: &str = ".jsonl";
const GZ: &str = ".jsonl.gz";

/// A rotated file's name, parsed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rotated {
    pub seq: u64,
    /// `YYYYMMDDTHHMMSSZ`.
    pub stamp: String,
    pub compressed: bool,
}

impl Rotated {
    /// The name of this rotated file (`compressed` picks the extension).
    pub fn name(&self) -> String {
        let ext = if self.compressed { GZ } else { PLAIN };
        format!("{PREFIX}{}-{}{ext}", self.stamp, self.seq)
    }

    /// The same file once compressed.
    #[must_use]
    pub fn compressed(&self) -> Rotated {
        Rotated {
            compressed: true,
            ..self.clone()
        }
    }

    /// Parses `events-YYYYMMDDTHHMMSSZ-N.jsonl[.gz]`; None for any other name.
    pub fn parse(name: &str) -> Option<Rotated> {
        let (rest, compressed) = match name.strip_suffix(GZ) {
            Some(rest) => (rest, true),
            None => (name.strip_suffix(PLAIN)?, false),
        };
        let (stamp, seq) = rest.strip_prefix(PREFIX)?.split_once('-')?;
        if !is_stamp(stamp) || seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Rotated {
            seq: seq.parse().ok()?,
            stamp: stamp.to_owned(),
            compressed,
        })
    }
}

fn is_stamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 16
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'T'
        && b[9..15].iter().all(u8::is_ascii_digit)
        && b[15] == b'Z'
}

/// `YYYYMMDDTHHMMSSZ` of a time, in UTC.
pub fn stamp(time: SystemTime) -> String {
    crate::clock::utc(time)
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string()
}

/// The rotated files of `dir`, oldest first. A file present both plain and compressed (the
/// compressor stopped between writing the .gz and removing the original) appears once, as the
/// compressed one: that is only renamed into place when complete.
pub fn rotated_files(dir: &Path) -> io::Result<Vec<Rotated>> {
    let mut files: Vec<Rotated> = fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter_map(|e| Rotated::parse(e.file_name().to_str()?))
        .collect();
    // Sorted by (seq, stamp, compressed): the compressed twin comes right after the plain one.
    files.sort();
    let mut unique: Vec<Rotated> = Vec::with_capacity(files.len());
    for file in files {
        match unique.last_mut() {
            Some(last) if last.seq == file.seq && last.stamp == file.stamp => *last = file,
            _ => unique.push(file),
        }
    }
    Ok(unique)
}

/// Every event file of `dir` in the order its events were written: rotated files, then the
/// current file.
pub fn event_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = rotated_files(dir)?
        .iter()
        .map(|r| dir.join(r.name()))
        .collect();
    let current = dir.join(CURRENT);
    if current.is_file() {
        paths.push(current);
    }
    Ok(paths)
}

/// The hidden name a compressed file is written under before it is renamed into place.
pub fn temp_name(final_name: &str) -> String {
    format!(".{final_name}.tmp")
}

/// Is this a temporary file left by a compressor that was stopped?
pub fn is_temp(name: &str) -> bool {
    name.strip_prefix('.')
        .and_then(|n| n.strip_suffix(".tmp"))
        .is_some_and(|n| Rotated::parse(n).is_some())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn names_round_trip() {
        let r = Rotated {
            seq: 12,
            stamp: stamp(UNIX_EPOCH + Duration::from_secs(1_795_982_462)),
            compressed: false,
        };
        assert_eq!(r.name(), "events-20261129T200102Z-12.jsonl");
        assert_eq!(Rotated::parse(&r.name()), Some(r.clone()));
        let gz = r.compressed();
        assert_eq!(gz.name(), "events-20261129T200102Z-12.jsonl.gz");
        assert_eq!(Rotated::parse(&gz.name()), Some(gz));
        for bad in [
            "events.jsonl",
            "events-20261129T200102Z-.jsonl",
            "events-20261129T200102-1.jsonl",
            "events-20261129T200102Z-1.json",
            "events-20261129T200102Z-x1.jsonl",
            ".events-20261129T200102Z-1.jsonl.gz.tmp",
        ] {
            assert_eq!(Rotated::parse(bad), None, "{bad}");
        }
        let late = UNIX_EPOCH + Duration::from_millis(1_795_982_462_999);
        assert_eq!(stamp(late), "20261129T200102Z");
        assert!(is_temp(".events-20261129T200102Z-1.jsonl.gz.tmp"));
        assert!(!is_temp(".bashrc.tmp"));
    }
}
