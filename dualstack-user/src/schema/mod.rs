//! The one schema of every JSON line dualstack writes or reads: events, lost and error markers
//! (the stream, the event log, `export`), `listeners` rows, a client's first line, a host's
//! published snapshot of its listeners, and `audit` rows. The same types serialise what is
//! written and deserialise what is read, so writer and readers cannot drift apart; the
//! README's examples are parsed with them in a test.
//!
//! Strings are `Cow`: written from borrowed text without copies, read back as owned.

pub mod audit;
pub mod compact;
pub mod event;
pub mod host_snapshot;
pub mod listener;
pub mod request;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

pub use audit::{AuditLine, AuditOwnerLine, NewViolationLine, ViolationLine};
pub use event::{EventLine, HolderLine, KernelLine, SocketLine, VerdictLine};
pub use host_snapshot::HostSnapshot;
pub use listener::{AcceptsLine, ListenerLine, OwnerLine, VerifyLine};
pub use request::{FilterLine, OneOrMany, RequestLine};

/// Version of the event schema (README: "schema version"). 3 added `ppid`.
pub const SCHEMA_VERSION: u32 = 3;

/// Why events were lost, as `lost` records say it.
pub const REASON_KERNEL: &str = "kernel ring buffer full";
/// What the kernel could not keep of calls that were still recorded: `count` sockets whose
/// state the full socket state map refused (their events say `"tracking":"map-full"`),
/// user buffers a call pointed to that could not be read (the events say `fault`), calls whose
/// entry was not seen (their entry time is their exit time; a close loses its socket).
pub const REASON_STATE_FULL: &str = "socket state map full";
pub const REASON_USER_FAULT: &str = "user memory unreadable";
pub const REASON_NO_ENTRY: &str = "call entry not seen";
pub const REASON_SLOW: &str = "client too slow";
/// Events a client wanted that its queue had no room for while the daemon still sent it
/// everything, before its first line said what it wants.
pub const REASON_EARLY: &str = "dropped before the filter was known";

/// One line of the event stream or the event log, told apart by its `type`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
// An event is by far the most common line: boxing it would cost an allocation per event.
#[allow(clippy::large_enum_variant)]
pub enum Line<'a> {
    Event(EventLine<'a>),
    /// The kernel (or a queue) dropped `count` events here.
    Lost(LostLine<'a>),
    /// The daemon refuses a client's request and closes the connection.
    Error(ErrorLine<'a>),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LostLine<'a> {
    pub count: u64,
    #[serde(default)]
    pub reason: Option<Cow<'a, str>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorLine<'a> {
    pub message: Cow<'a, str>,
}

impl Line<'_> {
    /// Appends the line as JSON, with its newline.
    pub fn write(&self, out: &mut Vec<u8>) {
        compact::write(out, self);
        out.push(b'\n');
    }

    /// The line as JSON, with its newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        self.write(&mut out);
        out
    }

    /// Parses one line (with or without its newline). The error says why, for a person:
    /// "invalid JSON", "incomplete JSON", "not an event record", "missing field `x`",
    /// "unknown record type \"x\"".
    pub fn parse(line: &[u8]) -> Result<Line<'static>, String> {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Err("empty line".into());
        }
        serde_json::from_slice(line).map_err(|err| {
            use serde_json::error::Category;
            let text = err.to_string();
            if let Some(kind) = unknown_type(&text) {
                return format!("unknown record type {kind:?}");
            }
            // What a person needs is the field: "missing field `pid`", "unknown syscall ...".
            let bare = text.split(" at line ").next().unwrap_or(&text);
            if bare.starts_with("missing field") || bare.starts_with("unknown syscall") {
                return bare.to_owned();
            }
            match err.classify() {
                Category::Eof => format!("incomplete JSON ({err})"),
                Category::Data => format!("not an event record ({err})"),
                Category::Syntax | Category::Io => format!("invalid JSON ({err})"),
            }
        })
    }
}

/// The `type` named in serde's "unknown variant `x`, expected one of ..." message.
fn unknown_type(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown variant `")?;
    let (kind, _) = rest.split_once('`')?;
    Some(kind)
}

/// Appends `Line::Event(event)` with its newline, exactly as [`Line::write`] would, without
/// the copy of `event` that a `Line` would take.
pub fn write_event(out: &mut Vec<u8>, event: &EventLine<'_>) {
    compact::write_tagged(out, event, br#""type":"event""#);
    out.push(b'\n');
}

/// `{"type":"lost","count":N,"reason":...}` with its newline.
pub fn lost_line(count: u64, reason: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(80);
    write_lost(&mut out, count, reason);
    out
}

/// Appends `{"type":"lost","count":N,"reason":...}` with its newline.
pub fn write_lost(out: &mut Vec<u8>, count: u64, reason: &str) {
    Line::Lost(LostLine {
        count,
        reason: Some(Cow::Borrowed(reason)),
    })
    .write(out);
}

/// `{"type":"error","message":...}` with its newline.
pub fn error_line(message: &str) -> Vec<u8> {
    Line::Error(ErrorLine {
        message: Cow::Borrowed(message),
    })
    .to_bytes()
}

/// Serde for a syscall as its name ("bind"), refusing unknown names.
pub mod syscall_name {
    use dualstack_common::Syscall;
    use serde::{Deserialize, Deserializer, Serializer};

    #[allow(clippy::trivially_copy_pass_by_ref)] // serde's `with` passes a reference
    pub fn serialize<S: Serializer>(syscall: &Syscall, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(syscall.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Syscall, D::Error> {
        let name = std::borrow::Cow::<str>::deserialize(d)?;
        Syscall::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown syscall {name:?}")))
    }
}

#[cfg(test)]
#[path = "readme_tests.rs"]
mod readme_tests;
