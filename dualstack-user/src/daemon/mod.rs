//! `dualstack daemon`: the probes loaded once for the whole host, their events served to many
//! clients at once over a Unix socket (and optionally TCP), written to the event log, and
//! counted for Prometheus.
//!
//! ```text
//! kernel ring -> pipeline (record) -> outputs::hub -+-> client queue -> client writer -> socket
//!                                                   +-> client queue -> ...
//!                                                   +-> log queue -> log thread -> event log
//! metrics <- counters (atomic handles) <- hub, clients, log thread
//! ```
//! Every queue is bounded and filled with `try_send`: the hub never waits on a client or on
//! the log, so a slow reader loses events for itself only, and is told how many.
//!
//! Modules: [`config`] (options, checked before anything is loaded), [`protocol`] (the first
//! line a client sends), [`client`] (one connection), [`admission`] (TCP connections waiting
//! for their token; refusals in the log), [`listen`] (Unix and TCP listeners), [`metrics`] and
//! [`http`] (Prometheus exposition), [`run`] (wiring and signals).

pub mod admission;
pub mod client;
pub mod config;
pub mod http;
pub mod listen;
pub mod protocol;
pub mod run;

use std::{io, path::PathBuf};

pub use config::DaemonConfig;
pub use run::run;

/// What can stop the daemon from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(
        "another dualstack daemon already serves {0}; stop it first, or give a different --socket"
    )]
    SocketInUse(PathBuf),
    #[error("{what} {path}: {source}")]
    Path {
        what: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("cannot listen on {what} {addr}: {source}")]
    Listen {
        what: &'static str,
        addr: String,
        source: io::Error,
    },
    #[error("event log: {0}")]
    Log(String),
    #[error(transparent)]
    Probes(#[from] crate::kernel::error::Error),
    #[error(transparent)]
    Io(#[from] io::Error),
}
