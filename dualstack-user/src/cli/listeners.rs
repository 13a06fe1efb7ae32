//! `dualstack listeners`: every listening TCP socket and bound UDP socket of every network
//! namespace, with what it accepts — a snapshot, no eBPF needed.

use std::io::{self, Write as _};

use anyhow::{bail, Context as _};
use clap::Args;

use dualstack::{
    format::{listeners_json, listeners_table},
    snapshot::{
        self,
        verify::{self, Outcome},
        Error, Listener, Request, Snapshot,
    },
};

/// Exit status when --verify found a socket whose verdict the connections contradict.
pub const EXIT_MISMATCH: i32 = 2;

/// Output formats of `listeners`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    /// Aligned columns, as `ss` prints them.
    Table,
    /// JSON Lines: one object per socket.
    Json,
}

#[derive(Debug, Args)]
pub struct ListenersArgs {
    /// Only sockets on this local port.
    #[arg(long)]
    pub port: Option<u16>,
    /// Only sockets this process holds open.
    #[arg(long)]
    pub pid: Option<u32>,
    /// Only this network namespace: an inode number (`ls -L -i /proc/PID/ns/net`) or a name
    /// from `ip netns list`.
    #[arg(long)]
    pub netns: Option<String>,
    /// Output format.
    #[arg(short = 'f', long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
    /// Prove each verdict with real loopback connections from inside the socket's netns
    /// (exit status 2 when one contradicts it).
    #[arg(long)]
    pub verify: bool,
}

/// Tells what could not be read, once per kind of problem.
fn report_failures(snapshot: &Snapshot) {
    let mut denied = 0;
    for (netns, e) in &snapshot.failed {
        match e {
            Error::Permission { .. } => denied += 1,
            // Namespaces end while they are listed (a process exits): nothing to tell.
            Error::NetnsGone { .. } => log::info!("{e}"),
            e => eprintln!("dualstack: network namespace {netns}: {e}"),
        }
    }
    if denied > 0 {
        eprintln!(
            "dualstack: permission denied: {denied} network namespaces could not be read; \
             listing every network namespace needs root (CAP_SYS_ADMIN and CAP_SYS_PTRACE): \
             run dualstack with sudo"
        );
    }
    if !snapshot.unreadable.is_empty() {
        eprintln!(
            "dualstack: {}",
            snapshot::access::unreadable_message(
                &snapshot.unreadable,
                !snapshot.netns_unknown.is_empty()
            )
        );
    }
}

/// Runs `dualstack listeners`; returns the process exit code.
pub fn run(args: &ListenersArgs) -> anyhow::Result<i32> {
    if let Some(pid) = args.pid {
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            bail!("no process with pid {pid}");
        }
    }
    let netns = args
        .netns
        .as_deref()
        .map(snapshot::netns::find)
        .transpose()?;
    let explicit = netns.is_some();
    let mut snapshot = snapshot::scan(&Request {
        netns,
        port: args.port,
    });
    if explicit && snapshot.namespaces.is_empty() && !snapshot.failed.is_empty() {
        return Err(snapshot.failed.swap_remove(0).1.into());
    }
    report_failures(&snapshot);
    let selected: Vec<&Listener> = snapshot
        .listeners
        .iter()
        .filter(|l| {
            args.pid
                .is_none_or(|pid| l.owners.iter().any(|o| o.pid == pid))
        })
        .collect();
    let verifications = args
        .verify
        .then(|| verify::verify(&selected, &snapshot.listeners, &snapshot.namespaces));

    let mut out = Vec::new();
    match args.format {
        ListFormat::Table => {
            let mut text = String::new();
            listeners_table::write_table(&mut text, &selected, verifications.as_deref());
            out = text.into_bytes();
        }
        ListFormat::Json => {
            for (i, l) in selected.iter().enumerate() {
                let v = verifications.as_ref().and_then(|v| v.get(i));
                listeners_json::write_listener(&mut out, l, v);
            }
        }
    }
    let mut stdout = io::stdout().lock();
    match stdout.write_all(&out).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            return Err(e).context("cannot write the listeners");
        }
        _ => {}
    }
    let mismatch = verifications
        .iter()
        .flatten()
        .any(|v| v.result == Outcome::Mismatch);
    Ok(if mismatch { EXIT_MISMATCH } else { 0 })
}
