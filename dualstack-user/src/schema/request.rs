//! A client's first line to the daemon, e.g.
//! `{"filter":{"pid":[1,2],"comm":"sshd","port":22,"family":"inet6","syscall":["bind","listen"],"failed":true},"format":"strace"}`
//! (every field optional; TCP clients add `"token":"..."`).
//!
//! Unknown fields are refused: a typo must not silently widen a filter.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestLine {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default)]
    pub filter: FilterLine,
    /// "json" (the default) or "strace".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

/// What events a client wants; `pid` keeps those processes and their descendants.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterLine {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<OneOrMany<u32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<NameOrNumber>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub syscall: Option<OneOrMany<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<bool>,
}

/// A value or a list of values: `"pid":1` or `"pid":[1,2]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    pub fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::One(x) => vec![x],
            OneOrMany::Many(v) => v,
        }
    }
}

/// A family by name ("inet6") or number (10).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum NameOrNumber {
    Name(String),
    Number(u16),
}

impl RequestLine {
    /// The request as one line, with its newline.
    pub fn to_line(&self) -> String {
        // Strings, numbers and options always serialise.
        let mut line = serde_json::to_string(self).unwrap_or_default();
        line.push('\n');
        line
    }
}
