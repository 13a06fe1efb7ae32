//! Event filters shared by `trace` (and later clients): what to keep, checked in user space on
//! decoded events and, where possible, pushed into the kernel programs' configuration.

use std::collections::BTreeSet;

use dualstack_common::{Syscall, TraceConfig, COMM_LEN};

use crate::{model::Event, sockaddr};

/// What a user asked to see. Empty fields keep everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Processes (tgids) to follow, with their descendants. Applied by the kernel in follow mode.
    pub pids: BTreeSet<u32>,
    pub comm: Option<String>,
    pub port: Option<u16>,
    pub family: Option<u16>,
    pub syscalls: BTreeSet<Syscall>,
    pub failed_only: bool,
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

    /// Does `event` pass every filter but `pids` (which is applied by following processes)?
    pub fn matches(&self, event: &Event) -> bool {
        if self.failed_only && !event.ret.is_error() {
            return false;
        }
        if !self.syscalls.is_empty() && !self.syscalls.contains(&event.syscall()) {
            return false;
        }
        if self.comm.as_ref().is_some_and(|c| *c != event.comm) {
            return false;
        }
        if self.family.is_some_and(|f| event.family() != Some(f)) {
            return false;
        }
        if let Some(port) = self.port {
            return event.ports().any(|p| p == port);
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
