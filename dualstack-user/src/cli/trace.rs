//! `dualstack trace`: live socket calls, as strace would print them, without ptrace.

use std::{
    collections::BTreeSet,
    fs::File,
    io::{self, Write},
    path::PathBuf,
    time::Duration,
};

use anyhow::{bail, Context as _};
use clap::Args;
use tokio::signal::unix::{signal, SignalKind};

use crate::{
    cli::filter_args::FilterArgs,
    clock::Clock,
    decode::decode,
    enrich::{host_bindv6only, Notes},
    filter::Filter,
    format::{
        json,
        strace::{self, Leader, Resolve},
        Format,
    },
    holder::HolderFinder,
    loader::{LoadOptions, Probes},
    model::Event,
    reader::EventReader,
    sockaddr::SockAddr,
};

#[derive(Debug, Args)]
pub struct TraceArgs {
    #[command(flatten)]
    pub filters: FilterArgs,
    /// Output format.
    #[arg(short = 'f', long, value_enum, default_value_t = Format::Strace)]
    pub format: Format,
    /// Prefix each line with the time of day, as strace -tt does.
    #[arg(short = 't', long)]
    pub timestamps: bool,
    /// Append to strace lines what dualstack knows beyond strace: each listener's verdict (what
    /// it accepts, IPv4, IPv6 or both, and why) after ` # `.
    #[arg(long)]
    pub verdicts: bool,
    /// Write events to FILE (strace -o style: every line starts with the thread id).
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    /// Kernel BTF to resolve struct offsets from, or `none` to read nothing from kernel sockets
    /// (V6ONLY and verdicts are then inferred from the calls seen).
    #[arg(long, value_name = "PATH|none", default_value = crate::loader::KERNEL_BTF)]
    pub btf: String,
    /// Size of the kernel's event ring buffer, in MiB (a power of two).
    #[arg(long, default_value_t = 16)]
    pub ring_mib: u32,
    /// Run this command and trace it and its descendants from its first instruction.
    #[arg(last = true)]
    pub command: Vec<String>,
}

/// Formats events to the output and counts what happened.
struct TraceOutput {
    filter: Filter,
    format: Format,
    timestamps: bool,
    leader: LeaderRule,
    clock: Clock,
    out: Box<dyn Write>,
    text: String,
    bytes: Vec<u8>,
    decode_errors: u64,
    reported_lost: u64,
    /// Append notes to strace lines (--verdicts).
    annotate: bool,
    /// `net.ipv6.bindv6only` of this netns, for events whose kernel state was not read.
    host_bindv6only: Option<bool>,
    /// Names the socket holding the port of a bind refused with EADDRINUSE.
    holders: HolderFinder,
}

/// Which lines get a pid leader.
enum LeaderRule {
    /// strace -f -o FILE: every line.
    Always(Leader),
    /// strace -f on a terminal: `[pid N]` while more than one traced task is alive.
    WhileSeveral(LiveTasks),
}

/// The traced processes seen so far and how many tasks (threads) they have now.
struct LiveTasks {
    /// The processes tracing started with (the command, or the --pid processes).
    roots: BTreeSet<u32>,
    tgids: BTreeSet<u32>,
    tasks: usize,
}

impl LiveTasks {
    fn new(roots: impl IntoIterator<Item = u32>) -> LiveTasks {
        let roots: BTreeSet<u32> = roots.into_iter().collect();
        let mut live = LiveTasks {
            tgids: roots.clone(),
            roots,
            tasks: 0,
        };
        live.recount();
        live
    }

    fn is_root(&self, tgid: u32) -> bool {
        self.roots.contains(&tgid)
    }

    fn note(&mut self, tgid: u32) {
        if self.tgids.insert(tgid) {
            self.recount();
        }
    }

    /// Forgets dead processes and counts the threads of the live ones (/proc/PID/task).
    fn recount(&mut self) {
        self.tgids.retain(|&p| process_alive(p));
        self.tasks = self
            .tgids
            .iter()
            .map(|p| std::fs::read_dir(format!("/proc/{p}/task")).map_or(0, Iterator::count))
            .sum();
    }
}

pub(crate) fn ifname(index: u32) -> Option<String> {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: buf has IF_NAMESIZE bytes as if_indextoname requires.
    let name = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
    if name.is_null() {
        return None;
    }
    // SAFETY: on success buf holds a NUL-terminated name.
    Some(
        unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned(),
    )
}

impl TraceOutput {
    fn handle(&mut self, record: &[u8]) {
        match decode(record) {
            Ok(event) if self.filter.matches(&event) => self.write(&event),
            Ok(_) => {}
            Err(err) => {
                self.decode_errors += 1;
                if self.decode_errors == 1 {
                    log::warn!("undecodable event record: {err}");
                }
            }
        }
    }

    fn write(&mut self, event: &Event) {
        let leader = match &mut self.leader {
            LeaderRule::Always(leader) => *leader,
            LeaderRule::WhileSeveral(live) => {
                live.note(event.pid);
                let main_thread = event.tid == event.pid && live.is_root(event.pid);
                if main_thread && live.tasks > 1 {
                    // The count may predate the exit of the other tasks: look again.
                    live.recount();
                }
                // A thread or child's call implies a second task at that moment, even when it
                // is gone by the time its event is read.
                if live.tasks > 1 || !main_thread {
                    Leader::Bracket
                } else {
                    Leader::None
                }
            }
        };
        let time = self
            .timestamps
            .then(|| self.clock.strace_time(event.monotonic));
        self.text.clear();
        match self.format {
            Format::Strace => {
                strace::write_line(
                    &mut self.text,
                    event,
                    leader,
                    time.as_deref(),
                    &Resolve { ifname: &ifname },
                );
                if self.annotate {
                    let notes = self.notes(event);
                    annotate(&mut self.text, event, &notes);
                }
                self.bytes.extend_from_slice(self.text.as_bytes());
            }
            Format::Json => {
                strace::write_line(
                    &mut self.text,
                    event,
                    Leader::None,
                    None,
                    &Resolve { ifname: &ifname },
                );
                let notes = self.notes(event);
                json::write_event(&mut self.bytes, event, &notes, &self.clock, &self.text);
            }
        }
    }

    fn notes(&mut self, event: &Event) -> Notes {
        let mut notes = Notes::of(event, self.host_bindv6only);
        notes.holder = self.holders.find(event);
        notes
    }

    /// Says on stderr what could not be shown in full.
    fn report_end(&self) {
        if self.decode_errors > 0 {
            eprintln!(
                "dualstack: {} records could not be decoded",
                self.decode_errors
            );
        }
        if self.holders.skipped > 0 {
            eprintln!(
                "dualstack: {} binds refused with EADDRINUSE were shown without their port's \
                 holder (holders are looked up at most 10 times a second)",
                self.holders.skipped
            );
        }
    }

    /// Reports events the kernel dropped since the last report.
    fn report_lost(&mut self, total: u64) {
        if total <= self.reported_lost {
            return;
        }
        let new = total - self.reported_lost;
        self.reported_lost = total;
        if self.format == Format::Json {
            json::lost_record(&mut self.bytes, new, "kernel ring buffer full");
        }
        eprintln!("dualstack: {new} events lost: the kernel ring buffer was full (try a larger --ring-mib)");
    }

    fn flush(&mut self) -> io::Result<()> {
        if let LeaderRule::WhileSeveral(live) = &mut self.leader {
            live.recount();
        }
        if !self.bytes.is_empty() {
            self.out.write_all(&self.bytes)?;
            self.bytes.clear();
        }
        self.out.flush()
    }
}

/// Appends what dualstack knows to a strace line, before its newline: ` # ` and the verdict
/// of a listener, or the holder of the port a bind was refused for.
fn annotate(line: &mut String, event: &Event, notes: &Notes) {
    let note = if let Some(verdict) = &notes.verdict {
        let uncertain = if verdict.certain { "" } else { " (uncertain)" };
        format!("{}{uncertain}", verdict.reason)
    } else if let (Some(holder), Some(port)) = (
        &notes.holder,
        event.address().as_ref().and_then(SockAddr::port),
    ) {
        holder.sentence(port)
    } else {
        return;
    };
    let newline = line.ends_with('\n');
    if newline {
        line.pop();
    }
    line.push_str(" # ");
    line.push_str(&note);
    if newline {
        line.push('\n');
    }
}

/// Which lines get a pid leader, as strace decides it: always with -o, else while several
/// traced tasks are alive when tracing a command or processes, always system-wide.
fn leader_rule(args: &TraceArgs, filter: &Filter, command_pid: Option<u32>) -> LeaderRule {
    match (&args.output, command_pid) {
        (Some(_), _) => LeaderRule::Always(Leader::Plain),
        (None, Some(main)) => LeaderRule::WhileSeveral(LiveTasks::new([main])),
        (None, None) if !filter.pids.is_empty() => {
            let followed = filter
                .pids
                .iter()
                .flat_map(|&p| std::iter::once(p).chain(descendants(p)));
            LeaderRule::WhileSeveral(LiveTasks::new(followed))
        }
        (None, None) => LeaderRule::Always(Leader::Bracket),
    }
}

/// Runs `dualstack trace`; returns the process exit code.
pub async fn run(args: TraceArgs) -> anyhow::Result<i32> {
    let filter = args.filters.filter()?;
    if !args.command.is_empty() && !filter.pids.is_empty() {
        bail!("give either --pid or a command to run, not both");
    }
    if !args.ring_mib.is_power_of_two() {
        bail!("--ring-mib must be a power of two, got {}", args.ring_mib);
    }
    let mut options = LoadOptions {
        ring_bytes: args.ring_mib << 20,
        btf: (args.btf != "none").then(|| PathBuf::from(&args.btf)),
        ..LoadOptions::default()
    };
    filter.apply_to(&mut options.config);
    let run_command = !args.command.is_empty();
    if run_command {
        options.config.follow = 1;
    }
    let mut probes = Probes::load(&options)?;
    probes.spawn_log_pump();
    for &pid in &filter.pids {
        if !process_alive(pid) {
            bail!("no process with pid {pid}");
        }
        probes.follow(pid)?;
        for child in descendants(pid) {
            probes.follow(child)?;
        }
    }
    let mut reader = EventReader::new(probes.take_events()?)?;
    let out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        ),
        None => Box::new(io::stdout()),
    };

    // The child is forked by this process: the kernel's fork hook follows it from there.
    let mut child = if run_command {
        let child = tokio::process::Command::new(&args.command[0])
            .args(&args.command[1..])
            .spawn()
            .with_context(|| format!("cannot run {}", args.command[0]))?;
        Some(child)
    } else {
        None
    };
    let leader = leader_rule(
        &args,
        &filter,
        child.as_ref().and_then(tokio::process::Child::id),
    );
    let mut output = TraceOutput {
        filter: filter.clone(),
        format: args.format,
        timestamps: args.timestamps,
        leader,
        clock: Clock::now(),
        out,
        text: String::new(),
        bytes: Vec::with_capacity(1 << 16),
        decode_errors: 0,
        reported_lost: 0,
        annotate: args.verdicts,
        host_bindv6only: host_bindv6only(),
        holders: HolderFinder::default(),
    };

    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let code = loop {
        tokio::select! {
            read = reader.read_batch(|record| output.handle(record)) => {
                read?;
                if let Err(err) = output.flush() {
                    if err.kind() == io::ErrorKind::BrokenPipe { break 0; }
                    return Err(err).context("cannot write events");
                }
            }
            status = child_exit(child.as_mut()) => {
                break exit_code(status?);
            }
            _ = interrupt.recv() => break 130,
            _ = terminate.recv() => break 143,
            _ = tick.tick() => {
                output.report_lost(probes.ring_drops()?);
                if !filter.pids.is_empty() && !filter.pids.iter().any(|&p| process_alive(p)) {
                    break 0;
                }
            }
        }
    };
    // Calls made just before the end are already in the ring: take them too.
    reader.drain(|record| output.handle(record));
    output.report_lost(probes.ring_drops()?);
    let _ = output.flush();
    output.report_end();
    Ok(code)
}

/// The child's exit status; never ready when tracing without a command.
async fn child_exit(
    child: Option<&mut tokio::process::Child>,
) -> io::Result<std::process::ExitStatus> {
    match child {
        Some(child) => child.wait().await,
        None => std::future::pending().await,
    }
}

/// The exit code a shell would report for a child's status.
fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

fn process_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Every live descendant of `pid`, from the ppid fields of /proc/*/stat.
fn descendants(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let parents: Vec<(u32, u32)> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
            // The comm field may hold spaces and parentheses: the ppid follows the last ')'.
            let parent = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some((p, parent))
        })
        .collect();
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    found.remove(0);
    found
}
