//! What a daemon client receives: the records its filter keeps, in its format.

use bytes::Bytes;

use crate::{filter::Filter, pipeline::Record};

/// How events are written to a client.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WireFormat {
    /// The JSON record of each event.
    #[default]
    Json,
    /// The strace line, with strace -f's `[pid N] ` leader.
    Strace,
}

impl WireFormat {
    /// `record`'s line in this format, made once per record and format; waits (blocking) for
    /// a port holder's lookup if the record has one under way.
    pub fn render(self, record: &Record) -> Bytes {
        match self {
            WireFormat::Json => record.json_bytes().clone(),
            WireFormat::Strace => record.strace_bytes().clone(),
        }
    }
}

/// What a client receives: the events its filter keeps, in its format.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// `pids` keep those processes and their descendants.
    pub filter: Filter,
    pub format: WireFormat,
}

impl Selection {
    pub fn matches(&self, record: &Record) -> bool {
        self.filter.matches(&record.facts())
    }
}
