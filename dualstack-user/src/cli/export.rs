//! `dualstack export`: events from the event log as strace text, JSON or CSV.
//!
//! Exit status: 0 when every line of every input was read, 1 when some lines were skipped as
//! corrupt, a file was cut short or an input could not be read (each reported on stderr as
//! `FILE:LINE: reason` or `FILE: cut at byte N of M`, then a summary), 2 for a bad command line.

use std::{
    io::{self, BufWriter, Write as _},
    path::PathBuf,
};

use anyhow::Context as _;
use clap::Args;

use dualstack::export::{export, ExportFormat, ExportOptions};

use crate::cli::filter_args::FilterArgs;

/// What export writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The strace line of each event, with `[pid N]` when the events come from several tasks.
    Strace,
    /// Each event line exactly as logged.
    Json,
    /// A header and one row per event.
    Csv,
}

impl From<Format> for ExportFormat {
    fn from(format: Format) -> ExportFormat {
        match format {
            Format::Strace => ExportFormat::Strace,
            Format::Json => ExportFormat::Json,
            Format::Csv => ExportFormat::Csv,
        }
    }
}

#[derive(Debug, Args)]
#[command(after_long_help = "\
Inputs are read in the order given. A directory stands for its event files, oldest first: \
events-YYYYMMDDTHHMMSSZ-N.jsonl[.gz] by N, then events.jsonl. gzip is recognised by its magic \
bytes. Corrupt lines are skipped and reported on stderr as FILE:LINE: reason; records of events \
lost by the kernel are kept in JSON and reported on stderr otherwise. A file that cannot be read \
to its end (a truncated or corrupt .gz) is reported as FILE: cut at byte N of M, with an \
estimate of the events lost when data remains after the cut; an empty or non-gzip .gz file is \
an error. A cut last line of \
events.jsonl, which a running daemon may be writing, is left out with a note on stderr.

strace text has a [pid N] leader on every line when the events come from several tasks. A long \
first stretch of one task (over 1 MiB of text) is written without leaders, and they start with \
the second task, as with strace -f.

Exit status: 0 when every line was read, 1 when lines were skipped, a file was cut short or an \
input could not be read, 2 for a bad command line.")]
pub struct ExportArgs {
    /// Event log files (events.jsonl, rotated .jsonl or .jsonl.gz), read in the order given, or
    /// directories: all their event files, oldest first.
    #[arg(required = true, value_name = "FILE|DIR")]
    pub inputs: Vec<PathBuf>,
    #[command(flatten)]
    pub filters: FilterArgs,
    /// Output format.
    #[arg(short = 'f', long, value_enum, default_value_t = Format::Strace)]
    pub format: Format,
}

/// Runs `dualstack export`; returns the process exit code.
pub fn run(args: &ExportArgs) -> anyhow::Result<i32> {
    let filter = match args.filters.filter() {
        Ok(filter) => filter,
        // A bad filter value is a bad command line, as clap's own errors are.
        Err(err) => {
            eprintln!("dualstack: {err:#}");
            return Ok(2);
        }
    };
    let options = ExportOptions {
        format: args.format.into(),
        filter,
    };
    raise_open_file_limit();
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut diag = io::stderr().lock();
    let result = export(&args.inputs, &options, &mut out, &mut diag).and_then(|s| {
        out.flush()?;
        Ok(s)
    });
    let summary = match result {
        Ok(summary) => summary,
        // `dualstack export ... | head`: the reader has what it wanted.
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => return Ok(0),
        Err(err) => return Err(err).context("cannot write the exported events"),
    };
    if summary.lost_events > 0 && options.format != ExportFormat::Json {
        eprintln!(
            "dualstack: the log records {} events lost by the kernel ({} records)",
            summary.lost_events, summary.lost_records
        );
    }
    if summary.incomplete > 0 {
        eprintln!(
            "dualstack: {} incomplete last lines of the current file left out (not an error)",
            summary.incomplete
        );
    }
    if summary.clean() {
        return Ok(0);
    }
    let cut = match (summary.cut_events_estimated, summary.cut_unknown) {
        _ if summary.cut_files == 0 => String::new(),
        (estimated, 0) => format!(" (about {estimated} events lost after the cuts)"),
        (0, _) => " (the events lost after the cuts cannot be counted)".to_owned(),
        (estimated, unknown) => format!(
            " (about {estimated} events lost after the cuts, and an unknown number after {unknown} \
             cut at the end of the file)"
        ),
    };
    eprintln!(
        "dualstack: {} corrupt lines skipped, {} files cut short{cut}, {} inputs unreadable; {} \
         events exported from {} files",
        summary.skipped, summary.cut_files, summary.unreadable, summary.exported, summary.files
    );
    Ok(1)
}

/// Every input file is opened before the first is read (see [`dualstack::export::input::expand`]),
/// and a log may keep thousands of rotated files: the soft limit on open files (often 1024) is
/// raised to the hard one. When that fails, files past the limit are reported unreadable.
fn raise_open_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut limit) == 0
            && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &raw const limit);
        }
    }
}
