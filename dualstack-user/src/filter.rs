//! The one event filter of `trace`, the daemon's clients and `export`: what to keep, checked
//! in user space on the [`Facts`] of a live or a logged event and, where possible, pushed into
//! the kernel programs' configuration.
//!
//! `pids` keeps those processes and their descendants everywhere: the kernel follows forks for
//! `trace`, the daemon knows every fork on the host, `export` follows each event's `ppid`.

use std::collections::BTreeSet;

use dualstack_common::{Syscall, TraceConfig, COMM_LEN};

use crate::{schema::EventLine, sockaddr};

/// What a user asked to see. Empty fields keep everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Processes (tgids) to keep, with their descendants.
    pub pids: BTreeSet<u32>,
    pub comm: Option<String>,
    pub port: Option<u16>,
    pub family: Option<u16>,
    pub syscalls: BTreeSet<Syscall>,
    pub failed_only: bool,
}

/// What a filter looks at in an event, live or logged.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    pub pid: u32,
    /// The process's known ancestors, nearest first.
    pub ancestors: &'a [u32],
    pub comm: &'a str,
    pub syscall: Syscall,
    pub failed: bool,
    pub family: Option<u16>,
    /// The address argument's port, the socket's bound port, the kernel's local port.
    pub ports: [Option<u16>; 3],
}

impl<'a> Facts<'a> {
    /// The facts of a logged event; `ancestors` as far as the log told them.
    pub fn of_line(event: &'a EventLine<'a>, ancestors: &'a [u32]) -> Facts<'a> {
        Facts {
            pid: event.pid,
            ancestors,
            comm: &event.comm,
            syscall: event.syscall,
            failed: event.failed(),
            family: event.family.as_deref().and_then(|f| parse_family(f).ok()),
            ports: [
                event.port,
                event.socket.as_ref().and_then(|s| s.bound_port),
                event.kernel.as_ref().and_then(|k| k.port),
            ],
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FilterError {
    #[error("unknown syscall {0:?}: expected one of socket, socketpair, setsockopt, bind, listen, connect, accept, accept4, close")]
    Syscall(String),
    #[error("unknown family {0:?}: expected inet, inet6, unix, netlink, packet or a number")]
    Family(String),
    #[error("comm {0:?} is longer than {max} bytes; the kernel keeps only {max}", max = COMM_LEN - 1)]
    CommTooLong(String),
}

/// Parses a syscall name as given to `--syscall`.
pub fn parse_syscall(name: &str) -> Result<Syscall, FilterError> {
    Syscall::ALL
        .into_iter()
        .find(|s| s.name() == name)
        .ok_or_else(|| FilterError::Syscall(name.to_owned()))
}

/// Parses `--family`: inet, inet6, unix, netlink, packet, AF_* names or a number.
pub fn parse_family(text: &str) -> Result<u16, FilterError> {
    let lower = text.to_ascii_lowercase();
    let name = lower.strip_prefix("af_").unwrap_or(&lower);
    match name {
        "inet" | "ipv4" | "4" => Ok(sockaddr::AF_INET),
        "inet6" | "ipv6" | "6" => Ok(sockaddr::AF_INET6),
        "unix" | "local" => Ok(sockaddr::AF_UNIX),
        "netlink" => Ok(sockaddr::AF_NETLINK),
        "packet" => Ok(sockaddr::AF_PACKET),
        other => other
            .parse()
            .map_err(|_| FilterError::Family(text.to_owned())),
    }
}

impl Filter {
    /// Checks a comm filter fits the kernel's comm.
    pub fn validate(&self) -> Result<(), FilterError> {
        match &self.comm {
            Some(comm) if comm.len() >= COMM_LEN => Err(FilterError::CommTooLong(comm.clone())),
            _ => Ok(()),
        }
    }

    /// Does the event pass every filter?
    pub fn matches(&self, event: &Facts<'_>) -> bool {
        if !self.pids.is_empty()
            && !self.pids.contains(&event.pid)
            && !event.ancestors.iter().any(|a| self.pids.contains(a))
        {
            return false;
        }
        if self.failed_only && !event.failed {
            return false;
        }
        if !self.syscalls.is_empty() && !self.syscalls.contains(&event.syscall) {
            return false;
        }
        if self.comm.as_ref().is_some_and(|c| c != event.comm) {
            return false;
        }
        if self.family.is_some_and(|f| event.family != Some(f)) {
            return false;
        }
        if let Some(port) = self.port {
            return event.ports.contains(&Some(port));
        }
        true
    }

    /// Writes the filters the kernel can apply into `config`.
    pub fn apply_to(&self, config: &mut TraceConfig) {
        if !self.syscalls.is_empty() {
            config.syscall_mask = self.syscalls.iter().fold(0, |mask, s| mask | s.bit());
        }
        config.failed_only = u32::from(self.failed_only);
        config.family = self.family.map_or(0, u32::from);
        config.port = self.port.map_or(0, u32::from);
        if let Some(comm) = &self.comm {
            config.filter_comm = 1;
            config.comm = [0; COMM_LEN];
            let n = comm.len().min(COMM_LEN - 1);
            config.comm[..n].copy_from_slice(&comm.as_bytes()[..n]);
        }
        if !self.pids.is_empty() {
            config.follow = 1;
        }
    }
}
