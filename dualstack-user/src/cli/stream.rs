//! `dualstack stream`: a client of `dualstack daemon`. Sends the filter line, prints what
//! arrives as strace lines, JSON or a table; lost-event and error records go to stderr
//! (in JSON they also stay in the stream). Ctrl-C ends it with status 0.

use std::{
    fmt::Write as _,
    io::{self, Write as _},
    path::{Path, PathBuf},
};

use anyhow::{bail, Context as _};
use clap::{Args, ValueEnum};
use serde_json::{json, Map, Value};
use tokio::{
    io::{
        AsyncBufRead, AsyncBufReadExt as _, AsyncRead, AsyncWrite, AsyncWriteExt as _, BufReader,
    },
    net::{TcpStream, UnixStream},
    signal::unix::{signal, SignalKind},
};

use crate::{
    cli::filter_args::FilterArgs,
    daemon::config::{parse_address, DEFAULT_SOCKET},
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
}

impl StreamArgs {
    /// The first line sent to the daemon.
    pub fn request(&self, token: Option<&str>) -> anyhow::Result<String> {
        let f = self.filters.filter()?;
        let mut filter = Map::new();
        if !f.pids.is_empty() {
            filter.insert("pid".into(), json!(f.pids));
        }
        if let Some(comm) = &f.comm {
            filter.insert("comm".into(), json!(comm));
        }
        if let Some(port) = f.port {
            filter.insert("port".into(), json!(port));
        }
        if let Some(family) = f.family {
            filter.insert("family".into(), json!(family));
        }
        if !f.syscalls.is_empty() {
            let names: Vec<&str> = f.syscalls.iter().map(|s| s.name()).collect();
            filter.insert("syscall".into(), json!(names));
        }
        if f.failed_only {
            filter.insert("failed".into(), json!(true));
        }
        let format = match self.format {
            StreamFormat::Strace => "strace",
            StreamFormat::Json | StreamFormat::Table => "json",
        };
        let mut request = json!({ "filter": filter, "format": format });
        if let Some(token) = token {
            request["token"] = json!(token);
        }
        Ok(request.to_string())
    }
}

/// Runs `dualstack stream`; returns the process exit code.
pub async fn run(args: StreamArgs) -> anyhow::Result<i32> {
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let code = tokio::select! {
        code = connect_and_print(&args) => code?,
        _ = interrupt.recv() => 0,
        _ = terminate.recv() => 0,
    };
    Ok(code)
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
        writeln!(out, "{}", table_header())?;
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
    let record: Option<Value> = line
        .starts_with('{')
        .then(|| serde_json::from_str(line).ok())
        .flatten();
    let kind = record.as_ref().and_then(|r| r["type"].as_str());
    match (kind, format) {
        (Some("error"), _) => Shown::Error(
            record
                .as_ref()
                .and_then(|r| r["message"].as_str())
                .unwrap_or("(no message)")
                .to_owned(),
        ),
        (Some("lost"), f) => {
            let r = record.as_ref().map_or(&Value::Null, |r| r);
            let note = format!(
                "{} events lost: {}",
                r["count"].as_u64().unwrap_or(0),
                r["reason"].as_str().unwrap_or("unknown reason")
            );
            if f == StreamFormat::Json {
                Shown::Both(line.to_owned(), note)
            } else {
                Shown::Note(note)
            }
        }
        (Some("event"), StreamFormat::Table) => {
            Shown::Line(table_row(record.as_ref().unwrap_or(&Value::Null)))
        }
        _ => Shown::Line(line.to_owned()),
    }
}

const COLUMNS: [(&str, usize); 11] = [
    ("TIME", 15),
    ("PID", 7),
    ("COMM", 15),
    ("SYSCALL", 10),
    ("FD", 4),
    ("RET", 13),
    ("FAMILY", 10),
    ("ADDRESS", 25),
    ("PORT", 5),
    ("V6ONLY", 6),
    ("ACCEPTS", 0),
];

fn table_header() -> String {
    join_columns(COLUMNS.iter().map(|(name, _)| (*name).to_owned()))
}

/// One event as a table row (UTC time of day).
fn table_row(r: &Value) -> String {
    let text = |v: &Value| match v {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let time = r["time"]
        .as_str()
        .and_then(|t| t.split_once('T'))
        .map_or_else(
            || "-".to_owned(),
            |(_, t)| t.trim_end_matches('Z').to_owned(),
        );
    let ret = match r["errno"].as_str() {
        Some(errno) => errno.to_owned(),
        None => text(&r["ret"]),
    };
    let v6only = match r["v6only"].as_bool() {
        Some(true) => "yes",
        Some(false) => "no",
        None => "-",
    };
    join_columns([
        time,
        text(&r["pid"]),
        text(&r["comm"]),
        text(&r["syscall"]),
        text(&r["fd"]),
        ret,
        text(&r["family"]),
        text(&r["address"]),
        text(&r["port"]),
        v6only.to_owned(),
        text(&r["verdict"]["accepts"]),
    ])
}

fn join_columns(values: impl IntoIterator<Item = String>) -> String {
    let mut line = String::new();
    for ((_, width), value) in COLUMNS.iter().zip(values) {
        if !line.is_empty() {
            line.push(' ');
        }
        let _ = write!(line, "{value:<width$}");
    }
    line.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_rows_line_up_with_the_header() {
        let r: Value = serde_json::from_str(
            r#"{"type":"event","time":"2026-11-28T20:01:02.123456Z","pid":20871,"tid":20871,
                "comm":"python3","syscall":"listen","fd":3,"ret":0,"errno":null,
                "family":"AF_INET6","address":"::","port":1521,"v6only":false,
                "verdict":{"accepts":"IPv4+IPv6"}}"#,
        )
        .unwrap();
        let row = table_row(&r);
        let header = table_header();
        assert!(row.starts_with("20:01:02.123456 20871   python3"), "{row}");
        assert!(row.ends_with(" no     IPv4+IPv6"), "{row}");
        assert_eq!(row.find("listen"), header.find("SYSCALL"));
        assert_eq!(row.find("AF_INET6"), header.find("FAMILY"));
        assert_eq!(row.find("1521"), header.find("PORT"));
    }

    #[test]
    fn failed_calls_show_the_errno_and_unknowns_a_dash() {
        let r: Value = serde_json::from_str(
            r#"{"type":"event","time":"x","pid":1,"comm":"a","syscall":"socket","fd":null,
                "ret":-1,"errno":"EACCES","family":null,"address":null,"port":null,"v6only":null,
                "verdict":null}"#,
        )
        .unwrap();
        let cells: Vec<String> = table_row(&r)
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        assert_eq!(
            cells,
            ["-", "1", "a", "socket", "-", "EACCES", "-", "-", "-", "-", "-"]
        );
    }

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
        };
        let line = args.request(Some("t")).unwrap();
        let parsed = crate::daemon::protocol::parse_request(line.as_bytes()).unwrap();
        assert_eq!(parsed.token.as_deref(), Some("t"));
        assert_eq!(parsed.selection.filter.port, Some(22));
        assert_eq!(parsed.selection.filter.syscalls.len(), 2);
        assert_eq!(
            parsed.selection.format,
            crate::daemon::protocol::WireFormat::Json
        );
    }
}
