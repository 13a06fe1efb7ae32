//! `dualstack stream`: a client of `dualstack daemon`. Sends the filter line, prints what
//! arrives as strace lines, JSON or a table; lost-event and error records go to stderr
//! (in JSON they also stay in the stream). Ctrl-C ends it with status 0.

use std::{
    io::{self, Write as _},
    path::{Path, PathBuf},
};

use anyhow::{bail, Context as _};
use clap::{Args, ValueEnum};
use tokio::{
    io::{
        AsyncBufRead, AsyncBufReadExt as _, AsyncRead, AsyncWrite, AsyncWriteExt as _, BufReader,
    },
    net::{TcpStream, UnixStream},
    signal::unix::{signal, SignalKind},
};

use dualstack::{
    daemon::config::{parse_address, DEFAULT_SOCKET},
    format::table,
    schema::{request::NameOrNumber, FilterLine, Line, OneOrMany, RequestLine},
};

use crate::cli::{
    filter_args::FilterArgs,
    fleet_stream::{FleetFormat, FleetStream},
};

/// How `stream` prints events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StreamFormat {
    /// strace lines with a `[pid N] ` leader.
    Strace,
    /// JSON Lines, as the daemon sends them.
    Json,
    /// Aligned columns: time pid comm syscall fd ret family address port v6only accepts.
    Table,
}

#[derive(Debug, Args)]
pub struct StreamArgs {
    #[command(flatten)]
    pub filters: FilterArgs,
    /// Output format.
    #[arg(short = 'f', long, value_enum, default_value_t = StreamFormat::Strace)]
    pub format: StreamFormat,
    /// The daemon's Unix socket.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_SOCKET)]
    pub socket: PathBuf,
    /// Connect to the daemon's TCP listener at ADDR instead (needs --token-file).
    #[arg(long, value_name = "ADDR", requires = "token_file")]
    pub tcp: Option<String>,
    /// File holding the daemon's TCP token.
    #[arg(long, value_name = "FILE", requires = "tcp")]
    pub token_file: Option<PathBuf>,
    /// Read the fleet's events from NATS JetStream at URL[,URL...] instead of a daemon.
    #[arg(long, value_name = "URL[,URL...]", conflicts_with_all = ["tcp", "token_file"])]
    pub nats: Option<String>,
    /// With --nats: only hosts whose id matches this glob.
    #[arg(long, value_name = "GLOB", requires = "nats")]
    pub host: Option<String>,
    /// With --nats: from how long ago (90s, 5m, 2h) or `all`; default: from now on.
    #[arg(long, value_name = "DURATION|all", requires = "nats")]
    pub since: Option<String>,
    /// With --nats: file holding the NATS token.
    #[arg(long, value_name = "FILE", requires = "nats")]
    pub nats_token_file: Option<PathBuf>,
    /// With --nats: NATS credentials file.
    #[arg(long, value_name = "FILE", requires = "nats")]
    pub nats_creds: Option<PathBuf>,
    /// With --nats: CA certificate for the NATS servers' TLS.
    #[arg(long, value_name = "FILE", requires = "nats")]
    pub nats_tls_ca: Option<PathBuf>,
}

impl StreamArgs {
    /// The first line sent to the daemon.
    pub fn request(&self, token: Option<&str>) -> anyhow::Result<String> {
        let f = self.filters.filter()?;
        let filter = FilterLine {
            pid: (!f.pids.is_empty()).then(|| OneOrMany::Many(f.pids.into_iter().collect())),
            comm: f.comm,
            port: f.port,
            family: f.family.map(NameOrNumber::Number),
            syscall: (!f.syscalls.is_empty())
                .then(|| OneOrMany::Many(f.syscalls.iter().map(|s| s.name().to_owned()).collect())),
            failed: f.failed_only.then_some(true),
        };
        let format = match self.format {
            StreamFormat::Strace => "strace",
            StreamFormat::Json | StreamFormat::Table => "json",
        };
        let request = RequestLine {
            token: token.map(str::to_owned),
            filter,
            format: Some(format.to_owned()),
        };
        Ok(request.to_line().trim_end().to_owned())
    }
}

/// Runs `dualstack stream`; returns the process exit code.
pub async fn run(args: StreamArgs) -> anyhow::Result<i32> {
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let code = tokio::select! {
        code = async {
            if let Some(urls) = &args.nats {
                crate::cli::fleet_stream::run(fleet_stream(&args, urls)?).await
            } else {
                connect_and_print(&args).await
            }
        } => code?,
        _ = interrupt.recv() => 0,
        _ = terminate.recv() => 0,
    };
    Ok(code)
}

/// `stream --nats`'s question, from the command line.
fn fleet_stream<'a>(args: &'a StreamArgs, urls: &'a str) -> anyhow::Result<FleetStream<'a>> {
    Ok(FleetStream {
        urls,
        token_file: args.nats_token_file.as_deref(),
        creds: args.nats_creds.as_deref(),
        tls_ca: args.nats_tls_ca.as_deref(),
        hosts: args.host.as_deref(),
        since: args.since.as_deref(),
        filter: args.filters.filter()?,
        format: match args.format {
            StreamFormat::Strace => FleetFormat::Strace,
            StreamFormat::Json => FleetFormat::Json,
            StreamFormat::Table => FleetFormat::Table,
        },
    })
}

async fn connect_and_print(args: &StreamArgs) -> anyhow::Result<i32> {
    if let (Some(addr), Some(file)) = (&args.tcp, &args.token_file) {
        let addr = parse_address("--tcp", addr)?;
        let token = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the token file {}", file.display()))?;
        let request = args.request(Some(token.trim()))?;
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("cannot connect to the daemon at {addr}"))?;
        return print_stream(stream, &request, args.format).await;
    }
    let request = args.request(None)?;
    let stream = UnixStream::connect(&args.socket)
        .await
        .map_err(|err| connect_error(&args.socket, &err))?;
    print_stream(stream, &request, args.format).await
}

fn connect_error(path: &Path, err: &io::Error) -> anyhow::Error {
    let path = path.display();
    match err.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => {
            anyhow::anyhow!("no daemon serves {path} ({err}): is `dualstack daemon` running?")
        }
        io::ErrorKind::PermissionDenied => anyhow::anyhow!(
            "permission denied on {path}: the socket is for root, or for members of the daemon's \
             --socket-group"
        ),
        _ => anyhow::anyhow!("cannot connect to {path}: {err}"),
    }
}

async fn print_stream<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &str,
    format: StreamFormat,
) -> anyhow::Result<i32> {
    stream.write_all(request.as_bytes()).await?;
    stream.write_all(b"\n").await?;
    let mut reader = BufReader::new(stream);
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    if format == StreamFormat::Table {
        writeln!(out, "{}", table::header())?;
    }
    let mut line = Vec::new();
    let mut overlong = 0u64;
    loop {
        match read_line(&mut reader, &mut line, MAX_LINE).await? {
            Read::Line => {}
            Read::TooLong => {
                overlong = overlong.saturating_add(1);
                let _ = out.flush();
                eprintln!(
                    "dualstack: skipped a line longer than {} MiB from the daemon ({overlong} so \
                     far)",
                    MAX_LINE >> 20
                );
                continue;
            }
            Read::End => {
                let _ = out.flush();
                eprintln!("dualstack: the daemon closed the connection");
                return Ok(1);
            }
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\n', '\r']);
        match show(text, format) {
            Shown::Line(shown) => {
                if let Err(err) = writeln!(out, "{shown}") {
                    return stdout_closed(err);
                }
            }
            Shown::Note(note) => eprintln!("dualstack: {note}"),
            Shown::Both(shown, note) => {
                if let Err(err) = writeln!(out, "{shown}") {
                    return stdout_closed(err);
                }
                let _ = out.flush();
                eprintln!("dualstack: {note}");
            }
            Shown::Error(message) => {
                let _ = out.flush();
                bail!("the daemon refused: {message}");
            }
        }
        if reader.buffer().is_empty() {
            if let Err(err) = out.flush() {
                return stdout_closed(err);
            }
        }
    }
}

/// The longest line taken from the daemon; its records are a few hundred bytes. A peer that
/// sends no newline (a TCP listener reached by mistake, or a hostile one) must not make the
/// client hold all it sends.
const MAX_LINE: usize = 1 << 20;

/// What [`read_line`] found.
#[derive(Debug, PartialEq, Eq)]
enum Read {
    /// A line (with its newline, unless the stream ended first) is in the buffer.
    Line,
    /// A line longer than the cap was read past and dropped; the buffer is empty.
    TooLong,
    End,
}

/// `read_until(b'\n')` that holds at most `max` bytes of a line: the rest of a longer one is
/// consumed and dropped.
async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
    max: usize,
) -> io::Result<Read> {
    line.clear();
    let mut too_long = false;
    loop {
        let chunk = reader.fill_buf().await?;
        if chunk.is_empty() {
            return Ok(if too_long {
                Read::TooLong
            } else if line.is_empty() {
                Read::End
            } else {
                Read::Line
            });
        }
        let newline = chunk.iter().position(|&b| b == b'\n');
        let take = newline.map_or(chunk.len(), |i| i + 1);
        if !too_long {
            if line.len() + take > max {
                too_long = true;
                line.clear();
            } else {
                line.extend_from_slice(&chunk[..take]);
            }
        }
        reader.consume(take);
        if newline.is_some() {
            return Ok(if too_long { Read::TooLong } else { Read::Line });
        }
    }
}

/// `dualstack stream | head` ends quietly.
fn stdout_closed(err: io::Error) -> anyhow::Result<i32> {
    if err.kind() == io::ErrorKind::BrokenPipe {
        Ok(0)
    } else {
        Err(err).context("cannot write to stdout")
    }
}

/// What to do with one received line.
#[derive(Debug, PartialEq, Eq)]
enum Shown {
    Line(String),
    Note(String),
    Both(String, String),
    Error(String),
}

fn show(line: &str, format: StreamFormat) -> Shown {
    // strace lines pass through; only the daemon's own records start with `{`.
    let record = if line.starts_with('{') {
        Line::parse(line.as_bytes()).ok()
    } else {
        None
    };
    match (record, format) {
        (Some(Line::Error(e)), _) => Shown::Error(e.message.into_owned()),
        (Some(Line::Lost(lost)), f) => {
            let note = format!(
                "{} events lost: {}",
                lost.count,
                lost.reason.as_deref().unwrap_or("unknown reason")
            );
            if f == StreamFormat::Json {
                Shown::Both(line.to_owned(), note)
            } else {
                Shown::Note(note)
            }
        }
        (Some(Line::Event(event)), StreamFormat::Table) => Shown::Line(table::row(&event)),
        _ => Shown::Line(line.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_records() {
        let lost = r#"{"type":"lost","count":3,"reason":"client too slow"}"#;
        assert_eq!(
            show(lost, StreamFormat::Strace),
            Shown::Note("3 events lost: client too slow".into())
        );
        assert!(matches!(show(lost, StreamFormat::Json), Shown::Both(..)));
        assert_eq!(
            show(r#"{"type":"error","message":"no"}"#, StreamFormat::Table),
            Shown::Error("no".into())
        );
        let strace = "[pid  7] listen(3, 1) = 0";
        assert_eq!(
            show(strace, StreamFormat::Strace),
            Shown::Line(strace.into())
        );
    }

    #[test]
    fn a_line_past_the_cap_is_skipped_without_being_held() {
        let data = format!("{}\nshort\n{}", "x".repeat(100), "y".repeat(50));
        let mut reader = BufReader::with_capacity(16, data.as_bytes());
        let mut line = Vec::new();
        let mut got = Vec::new();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            loop {
                let read = read_line(&mut reader, &mut line, 60).await.unwrap();
                assert!(line.len() <= 60, "{} bytes held", line.len());
                got.push((read, String::from_utf8_lossy(&line).into_owned()));
                if got.last().is_some_and(|(r, _)| *r == Read::End) {
                    break;
                }
            }
        });
        let want = [
            (Read::TooLong, String::new()),
            (Read::Line, "short\n".to_owned()),
            (Read::Line, "y".repeat(50)),
            (Read::End, String::new()),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn request_line() {
        let args = StreamArgs {
            filters: FilterArgs {
                pids: vec![7],
                comm: None,
                port: Some(22),
                family: Some(10),
                syscalls: vec!["bind".into(), " listen".into()],
                failed: false,
            },
            format: StreamFormat::Table,
            socket: PathBuf::from(DEFAULT_SOCKET),
            tcp: None,
            token_file: None,
            nats: None,
            host: None,
            since: None,
            nats_token_file: None,
            nats_creds: None,
            nats_tls_ca: None,
        };
        let line = args.request(Some("t")).unwrap();
        let parsed = dualstack::daemon::protocol::parse_request(line.as_bytes()).unwrap();
        assert_eq!(parsed.token.as_deref(), Some("t"));
        assert_eq!(parsed.selection.filter.port, Some(22));
        assert_eq!(parsed.selection.filter.syscalls.len(), 2);
        assert_eq!(
            parsed.selection.format,
            dualstack::daemon::protocol::WireFormat::Json
        );
    }
}
