//! Reading event logs: which files a command line names, and their lines one at a time.
//!
//! gzip is recognised by its magic bytes (whatever the name), and concatenated gzip members are
//! read as one stream. Lines are bounded ([`MAX_LINE`]) so that a file of garbage without
//! newlines cannot take all memory. A read error (a truncated or corrupt .gz) ends the file
//! with one bad line: what came before it is still exported.

use std::{
    fs::File,
    io::{self, BufRead, BufReader},
    path::{Path, PathBuf},
};

use flate2::bufread::MultiGzDecoder;

use crate::sink::event_log::naming::{self, Rotated};

/// The longest line read; event lines are a few hundred bytes.
pub const MAX_LINE: usize = 1 << 20;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// One input after expanding directories.
#[derive(Debug)]
pub enum Input {
    /// A file named on the command line.
    File(PathBuf),
    /// A file found in a directory: the log may delete it (keep) before it is read.
    Listed(PathBuf),
    /// A directory that could not be listed.
    Unreadable(PathBuf, String),
    /// A directory without event files.
    Empty(PathBuf),
}

/// Files in the order given; a directory gives its event files oldest first (see
/// [`naming::event_files`]).
pub fn expand(paths: &[PathBuf]) -> Vec<Input> {
    let mut inputs = Vec::new();
    for path in paths {
        if !path.is_dir() {
            inputs.push(Input::File(path.clone()));
            continue;
        }
        match naming::event_files(path) {
            Ok(files) if files.is_empty() => inputs.push(Input::Empty(path.clone())),
            Ok(files) => inputs.extend(files.into_iter().map(Input::Listed)),
            Err(err) => inputs.push(Input::Unreadable(path.clone(), err.to_string())),
        }
    }
    inputs
}

/// What [`LineReader::next`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// A line (1-based number); `newline` is false for a last line without one.
    Line {
        number: u64,
        newline: bool,
    },
    /// A line that could not be read; the reason says why.
    Bad {
        number: u64,
        reason: String,
    },
    End,
}

/// Lines of one file, plain or gzipped.
pub struct LineReader {
    reader: Box<dyn BufRead>,
    gzip: bool,
    number: u64,
    done: bool,
}

impl LineReader {
    pub fn open(path: &Path) -> io::Result<LineReader> {
        let mut file = BufReader::with_capacity(1 << 16, open_rotated(path)?);
        let gzip = file.fill_buf()?.starts_with(&GZIP_MAGIC);
        let reader: Box<dyn BufRead> = if gzip {
            Box::new(BufReader::with_capacity(1 << 16, MultiGzDecoder::new(file)))
        } else {
            Box::new(file)
        };
        Ok(LineReader {
            reader,
            gzip,
            number: 0,
            done: false,
        })
    }

    /// Reads the next line, with its newline, into `line`.
    pub fn next(&mut self, line: &mut Vec<u8>) -> Next {
        line.clear();
        if self.done {
            return Next::End;
        }
        let mut too_long = false;
        loop {
            let chunk = match self.reader.fill_buf() {
                Ok(chunk) => chunk,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => {
                    self.done = true;
                    self.number += 1;
                    return Next::Bad {
                        number: self.number,
                        reason: self.stream_error(&err),
                    };
                }
            };
            if chunk.is_empty() {
                self.done = true;
                if line.is_empty() && !too_long {
                    return Next::End;
                }
                self.number += 1;
                return self.finished(too_long, false);
            }
            let newline = chunk.iter().position(|&b| b == b'\n');
            let take = newline.map_or(chunk.len(), |i| i + 1);
            if !too_long {
                if line.len() + take > MAX_LINE {
                    too_long = true;
                    line.clear();
                } else {
                    line.extend_from_slice(&chunk[..take]);
                }
            }
            self.reader.consume(take);
            if newline.is_some() {
                self.number += 1;
                return self.finished(too_long, true);
            }
        }
    }

    fn finished(&self, too_long: bool, newline: bool) -> Next {
        if too_long {
            Next::Bad {
                number: self.number,
                reason: format!("line longer than {} MiB (not an event)", MAX_LINE >> 20),
            }
        } else {
            Next::Line {
                number: self.number,
                newline,
            }
        }
    }

    fn stream_error(&self, err: &io::Error) -> String {
        if self.gzip {
            format!("gzip data is truncated or corrupt ({err}); the rest of the file is skipped")
        } else {
            format!("read error ({err}); the rest of the file is skipped")
        }
    }
}

/// Opens a file; a rotated plain file that is gone may have just been compressed: then its
/// `.gz` is opened.
fn open_rotated(path: &Path) -> io::Result<File> {
    match File::open(path) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            let compressed = path
                .file_name()
                .and_then(|n| Rotated::parse(n.to_str()?))
                .filter(|r| !r.compressed)
                .map(|r| path.with_file_name(r.compressed().name()));
            match compressed {
                Some(gz) => File::open(gz).map_err(|_| err),
                None => Err(err),
            }
        }
        other => other,
    }
}
