//! One logged line as a record: an event with the fields export filters and prints, or a
//! lost-events marker. Parsing checks the fields export relies on and says what is wrong;
//! unknown fields are ignored so that newer logs stay readable.

use serde::Deserialize;

use crate::{
    filter::{parse_syscall, Filter},
    format::names,
    model::Syscall,
};

/// A parsed line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    Event(Box<EventFields>),
    /// `{"type":"lost","count":N,"reason":...}`: the kernel dropped N events here.
    Lost {
        count: u64,
        reason: Option<String>,
    },
}

/// The fields of an event line that export uses (schema version 2, see `format::json`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventFields {
    pub time: String,
    pub pid: u32,
    pub tid: u32,
    pub comm: String,
    pub syscall: Syscall,
    pub fd: Option<i32>,
    pub ret: i64,
    pub errno: Option<String>,
    pub family: Option<String>,
    pub address: Option<String>,
    pub port: Option<u16>,
    /// `socket.bound_port`: `--port` matches it as `trace` does.
    pub bound_port: Option<u16>,
    pub v6only: Option<bool>,
    pub v6only_source: Option<String>,
    /// `verdict.accepts` and `verdict.reason`.
    pub accepts: Option<String>,
    pub reason: Option<String>,
    pub strace: String,
}

// Every field is optional here so that a missing one is reported by name below; nullable
// fields of the schema may be absent (null), the others are required.
#[derive(Deserialize)]
struct Raw {
    #[serde(rename = "type")]
    kind: Option<String>,
    time: Option<String>,
    pid: Option<u32>,
    tid: Option<u32>,
    comm: Option<String>,
    syscall: Option<String>,
    fd: Option<i32>,
    ret: Option<i64>,
    errno: Option<String>,
    family: Option<String>,
    address: Option<String>,
    port: Option<u16>,
    v6only: Option<bool>,
    v6only_source: Option<String>,
    verdict: Option<RawVerdict>,
    socket: Option<RawSocket>,
    strace: Option<String>,
    count: Option<u64>,
    reason: Option<String>,
}

#[derive(Deserialize)]
struct RawVerdict {
    accepts: Option<String>,
    reason: Option<String>,
}

#[derive(Deserialize)]
struct RawSocket {
    bound_port: Option<u16>,
}

/// Parses one line (with or without its newline); the error is the reason it is skipped.
pub fn parse(line: &[u8]) -> Result<Record, String> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Err("empty line".into());
    }
    let raw: Raw = serde_json::from_slice(line).map_err(|err| {
        use serde_json::error::Category;
        match err.classify() {
            Category::Eof => format!("incomplete JSON ({err})"),
            Category::Data => format!("not an event record ({err})"),
            Category::Syntax | Category::Io => format!("invalid JSON ({err})"),
        }
    })?;
    match raw.kind.as_deref() {
        Some("event") => event(raw).map(|e| Record::Event(Box::new(e))),
        Some("lost") => Ok(Record::Lost {
            count: raw.count.ok_or_else(|| missing("count"))?,
            reason: raw.reason,
        }),
        Some(other) => Err(format!("unknown record type {other:?}")),
        None => Err(missing("type")),
    }
}

fn missing(field: &str) -> String {
    format!("missing field `{field}`")
}

fn event(raw: Raw) -> Result<EventFields, String> {
    let name = raw.syscall.ok_or_else(|| missing("syscall"))?;
    let syscall = parse_syscall(&name).map_err(|_| format!("unknown syscall {name:?}"))?;
    let (accepts, reason) = raw.verdict.map_or((None, None), |v| (v.accepts, v.reason));
    Ok(EventFields {
        time: raw.time.ok_or_else(|| missing("time"))?,
        pid: raw.pid.ok_or_else(|| missing("pid"))?,
        tid: raw.tid.ok_or_else(|| missing("tid"))?,
        comm: raw.comm.ok_or_else(|| missing("comm"))?,
        syscall,
        fd: raw.fd,
        ret: raw.ret.ok_or_else(|| missing("ret"))?,
        errno: raw.errno,
        family: raw.family,
        address: raw.address,
        port: raw.port,
        bound_port: raw.socket.and_then(|s| s.bound_port),
        v6only: raw.v6only,
        v6only_source: raw.v6only_source,
        accepts,
        reason,
        strace: raw.strace.ok_or_else(|| missing("strace"))?,
    })
}

impl EventFields {
    /// Did the call fail? (An errno unknown to the tracer has no name, but `ret` is -1.)
    pub fn failed(&self) -> bool {
        self.errno.is_some() || self.ret == -1
    }

    /// Does the event pass `filter`? `pids` match the logged pid exactly (a log cannot tell
    /// descendants); `port` matches the event's port or its socket's bound port.
    pub fn matches(&self, filter: &Filter) -> bool {
        if !filter.pids.is_empty() && !filter.pids.contains(&self.pid) {
            return false;
        }
        if filter.failed_only && !self.failed() {
            return false;
        }
        if !filter.syscalls.is_empty() && !filter.syscalls.contains(&self.syscall) {
            return false;
        }
        if filter.comm.as_ref().is_some_and(|c| *c != self.comm) {
            return false;
        }
        if let Some(family) = filter.family {
            // The log names families as the JSON writer does.
            let name = names::address_family_str(u32::from(family));
            if self.family.as_deref() != Some(name.as_str()) {
                return false;
            }
        }
        if let Some(port) = filter.port {
            return self.port == Some(port) || self.bound_port == Some(port);
        }
        true
    }
}
