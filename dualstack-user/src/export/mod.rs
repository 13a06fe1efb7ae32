//! `dualstack export`: events from the event log (current, rotated and gzipped files) as
//! strace text, JSON Lines or CSV, filtered as `trace` filters live events.
//!
//! Files are read in the order given; a directory stands for its event files oldest first
//! (rotated files by sequence number, then `events.jsonl`). Corrupt lines (invalid JSON, a
//! missing field, a truncated gzip tail) are skipped, each reported as `FILE:LINE: reason`,
//! and counted in the [`Summary`]. Lost-event records are passed through in JSON and reported
//! on the diagnostics stream in the other formats; filters do not apply to them.

pub mod csv;
pub mod input;
pub mod record;

use std::{
    collections::BTreeSet,
    fmt::Write as _,
    io::{self, Write},
    path::{Path, PathBuf},
};

use self::{
    input::{Input, LineReader, Next},
    record::{EventFields, Record},
};
use crate::filter::Filter;

/// At most this many bad lines are reported one by one per file; the rest are counted.
pub const MAX_REPORTS_PER_FILE: u64 = 1000;

/// What export writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// The strace line of each event, with `[pid N]` when the events come from several tasks.
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
    /// Lost-event records met, and the events they say were lost.
    pub lost_records: u64,
    pub lost_events: u64,
}

impl Summary {
    /// Was every line of every input read?
    pub fn clean(&self) -> bool {
        self.skipped == 0 && self.unreadable == 0
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
    let mut summary = Summary::default();
    let mut files = Vec::new();
    for input in input::expand(paths) {
        match input {
            Input::File(path) => files.push((path, false)),
            Input::Listed(path) => files.push((path, true)),
            Input::Unreadable(dir, reason) => {
                summary.unreadable += 1;
                let _ = writeln!(
                    diag,
                    "{}: cannot list the directory: {reason}",
                    dir.display()
                );
            }
            Input::Empty(dir) => {
                let _ = writeln!(diag, "{}: no event files in this directory", dir.display());
            }
        }
    }
    let leader = options.format == ExportFormat::Strace
        && several_tasks(files.iter().map(|(p, _)| p.as_path()), &options.filter);
    let mut writer = Writer {
        options,
        leader,
        out,
        text: String::new(),
    };
    if options.format == ExportFormat::Csv {
        writer.out.write_all(csv::HEADER.as_bytes())?;
    }
    for (path, listed) in &files {
        summary.files += 1;
        export_file(path, *listed, &mut writer, diag, &mut summary)?;
    }
    Ok(summary)
}

struct Writer<'a> {
    options: &'a ExportOptions,
    leader: bool,
    out: &'a mut dyn Write,
    text: String,
}

impl Writer<'_> {
    fn event(&mut self, line: &[u8], newline: bool, event: &EventFields) -> io::Result<()> {
        self.text.clear();
        match self.options.format {
            ExportFormat::Json => {
                self.out.write_all(line)?;
                if !newline {
                    self.out.write_all(b"\n")?;
                }
                return Ok(());
            }
            ExportFormat::Strace => {
                if self.leader {
                    // strace -f's leader names the thread.
                    let _ = write!(self.text, "[pid {:>5}] ", event.tid);
                }
                self.text.push_str(&event.strace);
                self.text.push('\n');
            }
            ExportFormat::Csv => csv::write_row(&mut self.text, event),
        }
        self.out.write_all(self.text.as_bytes())
    }
}

fn export_file(
    path: &Path,
    listed: bool,
    writer: &mut Writer,
    diag: &mut dyn Write,
    summary: &mut Summary,
) -> io::Result<()> {
    let name = path.display();
    let mut reader = match LineReader::open(path) {
        Ok(reader) => reader,
        Err(err) if listed && err.kind() == io::ErrorKind::NotFound => {
            // Deleted between the listing and now: the log keeps only so many files.
            let _ = writeln!(
                diag,
                "{name}: deleted by the log's rotation before it was read"
            );
            return Ok(());
        }
        Err(err) => {
            summary.unreadable += 1;
            let _ = writeln!(diag, "{name}: cannot read: {err}");
            return Ok(());
        }
    };
    let mut bad = 0u64;
    let mut report = |number: u64, reason: &str, diag: &mut dyn Write| {
        bad += 1;
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
            Next::Line { number, newline } => (number, newline),
        };
        match record::parse(&line) {
            Ok(Record::Event(event)) => {
                if event.matches(&writer.options.filter) {
                    writer.event(&line, newline, &event)?;
                    summary.exported += 1;
                }
            }
            Ok(Record::Lost { count, reason }) => {
                summary.lost_records += 1;
                summary.lost_events += count;
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
    summary.skipped += bad;
    Ok(())
}

/// Do the events that pass `filter` come from more than one task? (A first, silent pass.)
fn several_tasks<'a>(files: impl Iterator<Item = &'a Path>, filter: &Filter) -> bool {
    let mut tids = BTreeSet::new();
    let mut line = Vec::new();
    for path in files {
        let Ok(mut reader) = LineReader::open(path) else {
            continue;
        };
        loop {
            match reader.next(&mut line) {
                Next::End => break,
                Next::Bad { .. } => {}
                Next::Line { .. } => {
                    if let Ok(Record::Event(e)) = record::parse(&line) {
                        if e.matches(filter) && tids.insert(e.tid) && tids.len() > 1 {
                            return true;
                        }
                    }
                }
            }
        }
    }
    false
}

#[cfg(test)]
mod tests;
