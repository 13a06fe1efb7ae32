//! Errors of a socket snapshot, with messages that say what failed and what to do.

use std::{io, path::PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "permission denied entering network namespace {netns}: reading other network namespaces \
         needs root (CAP_SYS_ADMIN and CAP_SYS_PTRACE); run dualstack with sudo"
    )]
    Permission { netns: String },
    #[error("network namespace {netns} is gone (its last process exited while it was read)")]
    NetnsGone { netns: String },
    #[error(
        "no network namespace {0:?}: give an inode number (as in `ls -L -i /proc/PID/ns/net`) \
         or a name from `ip netns list`"
    )]
    NoSuchNetns(String),
    #[error("cannot enter network namespace {netns}: {source}")]
    Setns { netns: String, source: io::Error },
    #[error("cannot start a thread to enter network namespace {netns}: {source}")]
    Thread { netns: String, source: io::Error },
    #[error("the thread reading network namespace {0} panicked")]
    ThreadPanic(String),
    #[error("sock_diag netlink {what} failed: {source}")]
    Netlink {
        what: &'static str,
        source: io::Error,
    },
    #[error(
        "the kernel refused the {protocol} {family} socket dump: {source} (is the {module} \
         module available?)"
    )]
    Dump {
        protocol: &'static str,
        family: &'static str,
        module: &'static str,
        source: io::Error,
    },
    #[error("malformed sock_diag answer from the kernel: {0}")]
    Parse(#[from] ParseError),
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
}

impl Error {
    /// True when the error only means "not allowed": running as root fixes it.
    pub fn is_permission(&self) -> bool {
        matches!(self, Error::Permission { .. })
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Bytes that are not a well-formed sock_diag answer. It lives here, below the dump that
/// produces it, so that this file imports nothing from the modules it serves.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The netlink decoder refused the bytes: what it said, after the message's offset in the
    /// received buffer.
    #[error("{0}")]
    Decode(String),
    #[error("socket of unexpected family {0}")]
    Family(u8),
    #[error("netlink overrun: the kernel dropped part of the dump")]
    Overrun,
}
