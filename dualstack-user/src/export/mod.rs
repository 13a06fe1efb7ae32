//! `dualstack export`: events from the event log (current, rotated and gzipped files) as
//! strace text, JSON Lines or CSV, filtered as `trace` filters live events.
//!
//! Files are read in the order given; a directory stands for its event files oldest first
//! (rotated files by sequence number, then `events.jsonl`). All are opened before the first is
//! read, so that a rotation or a prune during the export loses nothing that was listed.
//! Corrupt lines (invalid JSON, a missing field, a torn last line) are skipped, each reported
//! as `FILE:LINE: reason`, and counted in the [`Summary`]. The one exception is a cut last
//! line of the current file (`events.jsonl`), which a running daemon may be writing: it is
//! noted and counted apart, not as corrupt. A file that cannot be read to its end (a truncated
//! or corrupt gzip stream) is *cut*: its lines before the cut are exported, and the cut is
//! reported as `FILE: cut at byte N of M after line L`, with an estimate of the events lost
//! when compressed data remains after it (a file truncated there gives no way to know). A
//! `.gz` file that is empty or not gzip is an error, not an empty input. Lost-event records are
//! passed through in JSON and reported on the diagnostics stream in the other formats; filters
//! do not apply to them. `--pid` keeps a process and its descendants, known from each event's
//! `ppid` as the files are read.

pub mod csv;
pub mod input;

use std::{
    fmt::Write as _,
    io::{self, Write},
    path::PathBuf,
};

use self::input::{Input, LineReader, Next, OpenFile};
use crate::{
    filter::{Facts, Filter},
    pipeline::ProcessTree,
    schema::{EventLine, Line},
};

/// At most this many bad lines are reported one by one per file; the rest are counted.
pub const MAX_REPORTS_PER_FILE: u64 = 1000;

/// What export writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// The strace line of each event, with `[pid N]` when the events come from several tasks
    /// (see [`HOLD_BYTES`] for a long stretch of one task first).
    Strace,
    /// Each event line exactly as logged.
    Json,
    /// A header and one row per event.
    Csv,
}

#[derive(Clone, Debug)]
pub struct ExportOptions {
    pub format: ExportFormat,
    pub filter: Filter,
}

/// What an export did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Files read (or attempted).
    pub files: u64,
    /// Events that passed the filters and were written.
    pub exported: u64,
    /// Corrupt lines skipped.
    pub skipped: u64,
    /// Files and directories that could not be read at all.
    pub unreadable: u64,
    /// Last lines of the current file cut short: the daemon was writing them (or was killed
    /// in the middle). Not exported, and not corrupt.
    pub incomplete: u64,
    /// Lost-event records met, and the events they say were lost.
    pub lost_records: u64,
    pub lost_events: u64,
    /// Files cut short (truncated or corrupt gzip, read error): events after the cut are lost.
    pub cut_files: u64,
    /// Of those, the events estimated lost where data remained after the cut, and the cuts at
    /// the end of their file, whose loss cannot be known.
    pub cut_events_estimated: u64,
    pub cut_unknown: u64,
}

impl Summary {
    /// Was every line of every input read?
    pub fn clean(&self) -> bool {
        self.skipped == 0 && self.unreadable == 0 && self.cut_files == 0
    }
}

/// Writes the events of `paths` to `out` and the problems found to `diag`. Fails only when
/// `out` cannot be written.
pub fn export(
    paths: &[PathBuf],
    options: &ExportOptions,
    out: &mut dyn Write,
    diag: &mut dyn Write,
) -> io::Result<Summary> {
    export_inputs(input::expand(paths), options, out, diag)
}

/// Writes the events of inputs already opened by [`input::expand`].
pub fn export_inputs(
    inputs: Vec<Input>,
    options: &ExportOptions,
    out: &mut dyn Write,
    diag: &mut dyn Write,
) -> io::Result<Summary> {
    let mut summary = Summary::default();
    let mut writer = Writer {
        options,
        tree: ProcessTree::told(),
        leaders: Leaders::Holding {
            tid: None,
            lines: Vec::new(),
            bytes: 0,
        },
        out,
        text: String::new(),
        row: Vec::new(),
    };
    if options.format == ExportFormat::Csv {
        csv::write_header(&mut writer.row)?;
        writer.out.write_all(&writer.row)?;
    }
    for input in inputs {
        match input {
            Input::Open(file) => {
                summary.files = summary.files.saturating_add(1);
                export_file(file, &mut writer, diag, &mut summary)?;
            }
            Input::Unreadable(path, reason) => {
                summary.files = summary.files.saturating_add(1);
                summary.unreadable = summary.unreadable.saturating_add(1);
                let _ = writeln!(diag, "{}: {reason}", path.display());
            }
            Input::Unlisted(dir, reason) => {
                summary.unreadable = summary.unreadable.saturating_add(1);
                let _ = writeln!(diag, "{}: {reason}", dir.display());
            }
            Input::Empty(dir) => {
                let _ = writeln!(diag, "{}: no event files in this directory", dir.display());
            }
        }
    }
    writer.finish()?;
    Ok(summary)
}

/// At most this much strace text is held back while only one task has been seen.
pub const HOLD_BYTES: usize = 1 << 20;

/// strace's `[pid N]` leader goes on every line when the export holds events of several
/// tasks. That depends on events still ahead, and reading the log twice to know would cost
/// twice the time and not work on a pipe; so a single task's lines are held back (up to
/// [`HOLD_BYTES`]) until a second task or the end decides. Past that bound they are written
/// without a leader, and leaders start at the second task's first event, as `strace -f`
/// starts them at the first fork.
enum Leaders {
    /// At most one task so far; its lines held back.
    Holding {
        tid: Option<u32>,
        lines: Vec<String>,
        bytes: usize,
    },
    /// One task so far, its lines already written without a leader.
    Single(u32),
    /// Several tasks: every line gets a leader.
    Several,
}

struct Writer<'a> {
    options: &'a ExportOptions,
    /// Who started whom, from the events' `ppid` as they are read.
    tree: ProcessTree,
    leaders: Leaders,
    out: &'a mut dyn Write,
    /// The strace line being written.
    text: String,
    /// The CSV row being written.
    row: Vec<u8>,
}

impl Writer<'_> {
    fn event(&mut self, line: &[u8], newline: bool, event: &EventLine<'_>) -> io::Result<()> {
        match self.options.format {
            ExportFormat::Json => {
                self.out.write_all(line)?;
                if !newline {
                    self.out.write_all(b"\n")?;
                }
                Ok(())
            }
            ExportFormat::Strace => self.strace(event),
            ExportFormat::Csv => {
                self.row.clear();
                csv::write_row(&mut self.row, event)?;
                self.out.write_all(&self.row)
            }
        }
    }

    fn strace(&mut self, event: &EventLine<'_>) -> io::Result<()> {
        let leader = match &mut self.leaders {
            Leaders::Several => true,
            Leaders::Single(tid) if *tid == event.tid => false,
            Leaders::Single(_) => {
                self.leaders = Leaders::Several;
                true
            }
            Leaders::Holding { tid, lines, bytes } => match *tid {
                Some(first) if first != event.tid => {
                    let held = std::mem::take(lines);
                    self.leaders = Leaders::Several;
                    for text in held {
                        self.strace_line(Some(first), &text)?;
                    }
                    true
                }
                _ if *bytes + event.strace.len() < HOLD_BYTES => {
                    *tid = Some(event.tid);
                    *bytes += event.strace.len() + 1;
                    lines.push(event.strace.to_string());
                    return Ok(());
                }
                _ => {
                    let held = std::mem::take(lines);
                    self.leaders = Leaders::Single(event.tid);
                    for text in held {
                        self.strace_line(None, &text)?;
                    }
                    false
                }
            },
        };
        self.strace_line(leader.then_some(event.tid), &event.strace)
    }

    /// Does the filter keep `event`? Its process's ancestry is learnt first.
    fn keeps(&mut self, event: &EventLine<'_>) -> bool {
        let filter = &self.options.filter;
        if let Some(ppid) = event.ppid {
            self.tree.learn(event.pid, ppid);
        }
        let ancestors = if filter.pids.is_empty() {
            Vec::new()
        } else {
            self.tree.ancestors(event.pid)
        };
        filter.matches(&Facts::of_line(event, &ancestors))
    }

    fn strace_line(&mut self, leader: Option<u32>, strace: &str) -> io::Result<()> {
        self.text.clear();
        if let Some(tid) = leader {
            // strace -f's leader names the thread.
            let _ = write!(self.text, "[pid {tid:>5}] ");
        }
        self.text.push_str(strace);
        self.text.push('\n');
        self.out.write_all(self.text.as_bytes())
    }

    /// Writes what is still held back: the lines of a single task, without a leader.
    fn finish(&mut self) -> io::Result<()> {
        if let Leaders::Holding { lines, .. } = &mut self.leaders {
            for text in std::mem::take(lines) {
                self.strace_line(None, &text)?;
            }
        }
        Ok(())
    }
}

fn export_file(
    file: OpenFile,
    writer: &mut Writer,
    diag: &mut dyn Write,
    summary: &mut Summary,
) -> io::Result<()> {
    let current = file.is_current();
    let named_gz = file.name.extension() == Some(std::ffi::OsStr::new("gz"));
    let name = file.name.display();
    let size = file.file.metadata().map(|m| m.len()).ok();
    let mut reader = match LineReader::new(file.file) {
        Ok(reader) => reader,
        Err(err) => {
            summary.unreadable = summary.unreadable.saturating_add(1);
            let _ = writeln!(diag, "{name}: cannot read: {err}");
            return Ok(());
        }
    };
    if named_gz && !reader.is_gzip() {
        summary.unreadable = summary.unreadable.saturating_add(1);
        let _ = writeln!(diag, "{name}: {}", not_gzip(size));
        return Ok(());
    }
    // A running daemon appends to the current file a line at a time: the last line may be
    // cut only because it is still being written. Rotated and gzipped files are complete.
    let may_be_growing = current && !reader.is_gzip();
    let mut bad = 0u64;
    let mut report = |number: u64, reason: &str, diag: &mut dyn Write| {
        bad = bad.saturating_add(1);
        if bad <= MAX_REPORTS_PER_FILE {
            let _ = writeln!(diag, "{name}:{number}: {reason}");
        }
    };
    let mut line = Vec::new();
    loop {
        let (number, newline) = match reader.next(&mut line) {
            Next::End => break,
            Next::Bad { number, reason } => {
                report(number, &reason, diag);
                continue;
            }
            Next::Cut {
                lines,
                offset,
                reason,
            } => {
                let _ = writeln!(
                    diag,
                    "{name}: {}",
                    cut(summary, lines, offset, size, &reason)
                );
                break;
            }
            Next::Line { number, newline } => (number, newline),
        };
        match Line::parse(&line) {
            Ok(Line::Event(event)) => {
                if writer.keeps(&event) {
                    writer.event(&line, newline, &event)?;
                    summary.exported = summary.exported.saturating_add(1);
                }
            }
            Ok(Line::Error(_)) => report(number, "an error line, not an event record", diag),
            Ok(Line::Lost(lost)) => {
                let (count, reason) = (lost.count, lost.reason);
                summary.lost_records = summary.lost_records.saturating_add(1);
                // The count comes from the file: a corrupt one must not overflow the sum.
                summary.lost_events = summary.lost_events.saturating_add(count);
                if writer.options.format == ExportFormat::Json {
                    writer.out.write_all(&line)?;
                    if !newline {
                        writer.out.write_all(b"\n")?;
                    }
                } else {
                    let why = reason.map(|r| format!(" ({r})")).unwrap_or_default();
                    let _ = writeln!(diag, "{name}:{number}: {count} events were lost here{why}");
                }
            }
            Err(_) if !newline && may_be_growing => {
                summary.incomplete = summary.incomplete.saturating_add(1);
                let _ = writeln!(
                    diag,
                    "{name}:{number}: incomplete last line of the current file (still being \
                     written, or cut by a crash): not exported"
                );
            }
            Err(reason) if !newline => {
                report(
                    number,
                    &format!("torn last line, no newline: {reason}"),
                    diag,
                );
            }
            Err(reason) => report(number, &reason, diag),
        }
    }
    if bad > MAX_REPORTS_PER_FILE {
        let _ = writeln!(
            diag,
            "{name}: {} more bad lines not shown",
            bad - MAX_REPORTS_PER_FILE
        );
    }
    summary.skipped = summary.skipped.saturating_add(bad);
    Ok(())
}

/// Why a `.gz` file without gzip data is not read. The log only ever gives complete gzip files
/// that name: anything else there is damage (a file emptied or overwritten), not an empty or a
/// plain log.
fn not_gzip(size: Option<u64>) -> String {
    let what = if size == Some(0) {
        "empty"
    } else {
        "not gzip data (no gzip header)"
    };
    format!("{what}, but a .gz event file holds gzip data: its events are lost; not read")
}

/// Counts a cut file and says what was lost: an estimate from the lines per byte before the
/// cut when data remains after it, or that the loss cannot be known when the file ends there.
fn cut(summary: &mut Summary, lines: u64, offset: u64, size: Option<u64>, reason: &str) -> String {
    summary.cut_files = summary.cut_files.saturating_add(1);
    let size = size.unwrap_or(offset).max(offset);
    let whole = if lines == 0 {
        String::new()
    } else {
        format!(" after line {lines}")
    };
    let head = format!("cut at byte {offset} of {size}{whole}: {reason}");
    let rest = size - offset;
    if rest > 0 && lines > 0 && offset > 0 {
        let estimate = u64::try_from(u128::from(rest) * u128::from(lines) / u128::from(offset))
            .unwrap_or(u64::MAX);
        summary.cut_events_estimated = summary.cut_events_estimated.saturating_add(estimate);
        format!(
            "{head}; the {rest} bytes after the cut are lost, about {estimate} events (estimated \
             from the lines before it)"
        )
    } else {
        summary.cut_unknown = summary.cut_unknown.saturating_add(1);
        format!(
            "{head}; the events after the cut are lost, how many cannot be known (the file \
             ends at the cut: it was truncated)"
        )
    }
}

#[cfg(test)]
mod tests;
