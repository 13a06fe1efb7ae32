//! The filter options `trace`, `stream` and `export` share, parsed into one [`Filter`].

use std::collections::BTreeSet;

use clap::Args;

use dualstack::filter::{parse_family, parse_syscall, Filter};

#[derive(Debug, Args)]
pub struct FilterArgs {
    /// Only this process (repeatable); `trace` follows its descendants too.
    #[arg(short = 'p', long = "pid")]
    pub pids: Vec<u32>,
    /// Only tasks with this command name (as in /proc/PID/comm, at most 15 bytes).
    #[arg(long)]
    pub comm: Option<String>,
    /// Only calls on this port (bind/connect address, or the socket's bound port).
    #[arg(long)]
    pub port: Option<u16>,
    /// Only this address family: inet, inet6, unix, netlink, packet or a number.
    #[arg(long, value_parser = parse_family)]
    pub family: Option<u16>,
    /// Only these syscalls (comma separated, repeatable): socket, bind, listen...
    #[arg(long = "syscall", value_delimiter = ',')]
    pub syscalls: Vec<String>,
    /// Only calls that failed.
    #[arg(long)]
    pub failed: bool,
}

impl FilterArgs {
    /// The filter, checked (unknown syscall names, an over-long comm).
    pub fn filter(&self) -> anyhow::Result<Filter> {
        let syscalls = self
            .syscalls
            .iter()
            .map(|s| parse_syscall(s.trim()))
            .collect::<Result<BTreeSet<_>, _>>()?;
        let filter = Filter {
            pids: self.pids.iter().copied().collect(),
            comm: self.comm.clone(),
            port: self.port,
            family: self.family,
            syscalls,
            failed_only: self.failed,
        };
        filter.validate()?;
        Ok(filter)
    }
}
