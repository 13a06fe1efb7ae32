//! Reading event logs: which files a command line names, and their lines one at a time.
//!
//! gzip is recognised by its magic bytes (whatever the name), and concatenated gzip members are
//! read as one stream. Lines are bounded ([`MAX_LINE`]) so that a file of garbage without
//! newlines cannot take all memory. A read error (a truncated or corrupt .gz) cuts the file:
//! what came before it is still exported, and the cut is reported with its byte offset in the
//! file (the compressed offset for gzip), so that the loss can be located and estimated.

use std::{
    cell::Cell,
    ffi::OsStr,
    fs::File,
    io::{self, BufRead, BufReader, Read},
    path::{Path, PathBuf},
    rc::Rc,
};

use flate2::bufread::MultiGzDecoder;

use crate::outputs::event_log::naming::{self, Rotated};

/// The longest line read; event lines are a few hundred bytes.
pub const MAX_LINE: usize = 1 << 20;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// One input after expanding directories and opening files.
#[derive(Debug)]
pub enum Input {
    /// A file, opened: it is read whole even if the log renames or deletes it meanwhile.
    Open(OpenFile),
    /// A file that could not be opened, and why (for the diagnostics).
    Unreadable(PathBuf, String),
    /// A directory that could not be listed.
    Unlisted(PathBuf, String),
    /// A directory without event files.
    Empty(PathBuf),
}

/// An opened event file and the name it is reported under.
#[derive(Debug)]
pub struct OpenFile {
    pub name: PathBuf,
    pub file: File,
}

impl OpenFile {
    /// Is this the log's current file, the one a running daemon appends to?
    pub fn is_current(&self) -> bool {
        self.name.file_name() == Some(OsStr::new(naming::CURRENT))
    }
}

/// A directory is listed again when the log rotated while its files were being opened, at
/// most this many times.
const LISTING_ATTEMPTS: usize = 5;

/// Opens the inputs in the order given; a directory gives its event files oldest first (see
/// [`naming::event_files`]).
///
/// Every file is opened here, before any is read: an open file survives the log's renames
/// (rotation) and deletions (pruning), so what was listed is what is read. Opening only
/// when its turn came would read the fresh `events.jsonl` of a rotation that happened
/// meanwhile and miss the rotated file, which was never listed.
pub fn expand(paths: &[PathBuf]) -> Vec<Input> {
    let mut inputs = Vec::new();
    for path in paths {
        if path.is_dir() {
            inputs.extend(open_dir(path));
        } else {
            inputs.push(match File::open(path) {
                Ok(file) => Input::Open(OpenFile {
                    name: path.clone(),
                    file,
                }),
                Err(err) => Input::Unreadable(path.clone(), format!("cannot read: {err}")),
            });
        }
    }
    inputs
}

/// The event files of `dir`, opened. A rotation between the listing and the opening of
/// `events.jsonl` would still lose the rotated file: the newest rotated file is checked
/// before and after, and the directory is listed again when it changed.
fn open_dir(dir: &Path) -> Vec<Input> {
    let newest = || naming::rotated_files(dir).map(|r| r.last().map(|r| r.seq));
    let mut attempt = 0;
    loop {
        attempt += 1;
        let before = newest();
        let files = match naming::event_files(dir) {
            Ok(files) if files.is_empty() => return vec![Input::Empty(dir.to_path_buf())],
            Ok(files) => files,
            Err(err) => {
                let reason = format!("cannot list the directory: {err}");
                return vec![Input::Unlisted(dir.to_path_buf(), reason)];
            }
        };
        let opened: Vec<Input> = files.into_iter().map(open_listed).collect();
        if attempt == LISTING_ATTEMPTS || before.ok() == newest().ok() {
            return opened;
        }
    }
}

/// Opens a file found in a directory. A rotated plain file that is gone may have just been
/// compressed: then its `.gz` is opened. One that is gone for good was pruned by the log.
pub(super) fn open_listed(path: PathBuf) -> Input {
    let err = match File::open(&path) {
        Ok(file) => return Input::Open(OpenFile { name: path, file }),
        Err(err) => err,
    };
    if err.kind() != io::ErrorKind::NotFound {
        return Input::Unreadable(path, format!("cannot read: {err}"));
    }
    let compressed = path
        .file_name()
        .and_then(|n| Rotated::parse(n.to_str()?))
        .filter(|r| !r.compressed)
        .map(|r| path.with_file_name(r.compressed().name()));
    if let Some(gz) = compressed {
        if let Ok(file) = File::open(&gz) {
            return Input::Open(OpenFile { name: gz, file });
        }
    }
    let reason = "deleted (the log keeps only so many files) before it could be opened";
    Input::Unreadable(path, reason.to_owned())
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
    /// The file cannot be read past this point (a truncated or corrupt gzip stream, a read
    /// error): `lines` whole lines came before the cut, at byte `offset` of the file. The
    /// part of a line read before it is dropped with the rest.
    Cut {
        lines: u64,
        offset: u64,
        reason: String,
    },
    End,
}

/// A buffered reader that counts the bytes its user consumed: where in the file a decoder
/// that stopped had got to.
struct Counted<R> {
    inner: BufReader<R>,
    consumed: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        self.consumed.set(self.consumed.get() + n as u64);
        Ok(n)
    }
}

impl<R: Read> BufRead for Counted<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, n: usize) {
        self.inner.consume(n);
        self.consumed.set(self.consumed.get() + n as u64);
    }
}

/// Lines of one file, plain or gzipped.
pub struct LineReader {
    reader: Box<dyn BufRead>,
    gzip: bool,
    /// Bytes of the file consumed so far (compressed bytes for gzip).
    consumed: Rc<Cell<u64>>,
    number: u64,
    done: bool,
}

impl LineReader {
    /// Reads `file` from where it stands (its start, when just opened).
    pub fn new(file: File) -> io::Result<LineReader> {
        let consumed = Rc::new(Cell::new(0));
        let mut file = Counted {
            inner: BufReader::with_capacity(1 << 16, file),
            consumed: Rc::clone(&consumed),
        };
        let gzip = file.fill_buf()?.starts_with(&GZIP_MAGIC);
        let reader: Box<dyn BufRead> = if gzip {
            Box::new(BufReader::with_capacity(1 << 16, MultiGzDecoder::new(file)))
        } else {
            Box::new(file)
        };
        Ok(LineReader {
            reader,
            gzip,
            consumed,
            number: 0,
            done: false,
        })
    }

    /// Is the file gzipped?
    pub fn is_gzip(&self) -> bool {
        self.gzip
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
                    return Next::Cut {
                        lines: self.number,
                        offset: self.consumed.get(),
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
            format!("gzip data is truncated or corrupt ({err})")
        } else {
            format!("read error ({err})")
        }
    }
}
