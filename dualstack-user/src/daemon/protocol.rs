//! The wire protocol: JSON Lines both ways.
//!
//! A client may send one first line, e.g.
//! `{"filter":{"pid":[1,2],"comm":"sshd","port":22,"family":"inet6","syscall":["bind","listen"],"failed":true},"format":"strace"}`
//! (every field optional; TCP clients add `"token":"..."`), and then receives one line per
//! event: its JSON record (`schema::EventLine`), or the strace line with a `[pid N] ` leader.
//! Lines the daemon adds are JSON objects with a `type`: `lost` (`count`, `reason`) and
//! `error` (`message`, after which the connection is closed) — in both formats, so that a
//! strace client tells them apart by their leading `{`.
//!
//! The first line is untrusted input: unknown fields are refused (a typo must not silently
//! widen a filter), and its length is capped by the reader (see [`MAX_FIRST_LINE`]).

use std::collections::BTreeSet;

use bytes::Bytes;

pub use crate::outputs::selection::{Selection, WireFormat};
use crate::{
    filter::{parse_family, parse_syscall, Filter},
    schema::{request::NameOrNumber, OneOrMany, RequestLine},
};

/// The longest first line accepted.
pub const MAX_FIRST_LINE: usize = 64 * 1024;
/// Most pids one filter may name.
const MAX_PIDS: usize = 4096;

/// A parsed first line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    pub token: Option<String>,
    pub selection: Selection,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RequestError {
    #[error("the first line is not UTF-8")]
    NotUtf8,
    #[error("bad first line: {0}")]
    Json(String),
    #[error("bad filter: {0}")]
    Filter(#[from] crate::filter::FilterError),
    #[error("unknown format {0:?}: expected \"json\" or \"strace\"")]
    Format(String),
    #[error("too many pids in the filter (at most {MAX_PIDS})")]
    TooManyPids,
}

/// Parses a client's first line; an empty line asks for the defaults (everything, JSON).
pub fn parse_request(line: &[u8]) -> Result<Request, RequestError> {
    let text = std::str::from_utf8(line).map_err(|_| RequestError::NotUtf8)?;
    if text.trim().is_empty() {
        return Ok(Request::default());
    }
    let raw: RequestLine =
        serde_json::from_str(text).map_err(|e| RequestError::Json(e.to_string()))?;
    let format = match raw.format.as_deref() {
        None | Some("json") => WireFormat::Json,
        Some("strace") => WireFormat::Strace,
        Some(other) => return Err(RequestError::Format(other.to_owned())),
    };
    let f = raw.filter;
    let pids: BTreeSet<u32> = f
        .pid
        .map(OneOrMany::into_vec)
        .unwrap_or_default()
        .into_iter()
        .collect();
    if pids.len() > MAX_PIDS {
        return Err(RequestError::TooManyPids);
    }
    let syscalls = f
        .syscall
        .map(OneOrMany::into_vec)
        .unwrap_or_default()
        .iter()
        .map(|s| parse_syscall(s.trim()))
        .collect::<Result<BTreeSet<_>, _>>()?;
    let family = match f.family {
        None => None,
        Some(NameOrNumber::Number(n)) => Some(n),
        Some(NameOrNumber::Name(name)) => Some(parse_family(&name)?),
    };
    let filter = Filter {
        pids,
        comm: f.comm,
        port: f.port,
        family,
        syscalls,
        failed_only: f.failed.unwrap_or(false),
    };
    filter.validate()?;
    Ok(Request {
        token: raw.token,
        selection: Selection { filter, format },
    })
}

/// `{"type":"error","message":...}` with its newline.
pub fn error_line(message: &str) -> Bytes {
    Bytes::from(crate::schema::error_line(message))
}

/// `{"type":"lost","count":N,"reason":...}` with its newline.
pub fn lost_line(count: u64, reason: &str) -> Bytes {
    Bytes::from(crate::schema::lost_line(count, reason))
}

/// Compares a secret without an early exit, so that the time taken does not tell how many
/// leading bytes were right.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..a.len().max(b.len()) {
        diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0);
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use dualstack_common::Syscall;

    use super::*;
    use crate::sockaddr::AF_INET6;

    #[test]
    fn full_request() {
        let r = parse_request(
            br#"{"token":"t","filter":{"pid":[7,8],"comm":"sshd","port":22,"family":"inet6","syscall":["bind","listen"],"failed":true},"format":"strace"}"#,
        )
        .unwrap();
        assert_eq!(r.token.as_deref(), Some("t"));
        let f = &r.selection.filter;
        assert_eq!(f.pids, BTreeSet::from([7, 8]));
        assert_eq!(f.comm.as_deref(), Some("sshd"));
        assert_eq!(
            (f.port, f.family, f.failed_only),
            (Some(22), Some(AF_INET6), true)
        );
        assert_eq!(f.syscalls, BTreeSet::from([Syscall::Bind, Syscall::Listen]));
        assert_eq!(r.selection.format, WireFormat::Strace);
    }

    #[test]
    fn single_values_numbers_and_defaults() {
        let r = parse_request(br#"{"filter":{"pid":7,"syscall":"close","family":10}}"#).unwrap();
        assert_eq!(r.selection.filter.pids, BTreeSet::from([7]));
        assert_eq!(r.selection.filter.family, Some(10));
        assert_eq!(r.selection.format, WireFormat::Json);
        assert_eq!(parse_request(b"  \r").unwrap(), Request::default());
        assert_eq!(parse_request(b"{}").unwrap(), Request::default());
    }

    #[test]
    fn bad_requests_say_why() {
        let err = |line: &[u8]| parse_request(line).unwrap_err().to_string();
        assert!(err(b"{\"filter\":{\"pids\":[1]}}").contains("unknown field `pids`"));
        assert!(err(b"{\"format\":\"xml\"}").contains("unknown format"));
        assert!(err(b"{\"filter\":{\"syscall\":[\"read\"]}}").contains("unknown syscall"));
        assert!(err(b"{\"filter\":{\"family\":\"ipx\"}}").contains("unknown family"));
        assert!(err(b"{\"filter\":{\"comm\":\"a-very-long-command-name\"}}").contains("longer"));
        assert!(err(b"{\"filter\":{\"port\":70000}}").contains("bad first line"));
        assert!(err(b"not json").contains("bad first line"));
        assert!(err(b"\xff\xfe").contains("UTF-8"));
        assert!(err(b"[1,2]").contains("bad first line"));
    }

    #[test]
    fn control_lines() {
        let v: serde_json::Value = serde_json::from_slice(&error_line("no \"way\"")).unwrap();
        assert_eq!(v["type"], "error");
        assert_eq!(v["message"], "no \"way\"");
        let v: serde_json::Value =
            serde_json::from_slice(&lost_line(3, "client too slow")).unwrap();
        assert_eq!(
            (v["type"].as_str(), v["count"].as_u64()),
            (Some("lost"), Some(3))
        );
    }

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(constant_time_eq(b"", b""));
    }
}
