//! `dualstack trace`: live socket calls, as strace would print them, without ptrace.

use std::{
    fs::File,
    io::{self, Write},
    os::fd::AsFd as _,
    path::PathBuf,
    time::Duration,
};

use anyhow::{bail, Context as _};
use clap::Args;
use tokio::signal::unix::{signal, SignalKind};

use dualstack::{
    clock::Clock,
    decode::{decode, task_change},
    filter::Filter,
    format::strace::Leader,
    host::process::{descendants, task_alive, tgid_of},
    kernel::{
        loader::{KernelCounters, LoadOptions, Probes},
        losses::{KernelLoss, Told},
        reader::EventReader,
        sweep::SocketSweep,
    },
    outputs::terminal::{Chunk, Finish, OutputWriter},
    pipeline::{Pipeline, Record},
    schema::write_lost,
};

use crate::cli::{filter_args::FilterArgs, followed::Followed, kernel_args::KernelArgs};

/// Output formats of `trace`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Lines identical to strace's.
    Strace,
    /// JSON Lines with a stable schema.
    Json,
}

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
    #[command(flatten)]
    pub kernel: KernelArgs,
    /// Show the close of every descriptor, as `strace -e trace=close` does; by default only
    /// closes of sockets are shown.
    #[arg(long)]
    pub every_close: bool,
    /// Run this command and trace it and its descendants from its first instruction, until the
    /// last of them exits. Its standard output goes to dualstack's standard error (unless -o
    /// is given), so that the trace alone is on standard output.
    #[arg(last = true)]
    pub command: Vec<String>,
}

/// Formats events to the output and counts what happened.
struct TraceOutput {
    /// What user space checks (the kernel follows the processes: `pids` is its job).
    filter: Filter,
    format: Format,
    timestamps: bool,
    leader: LeaderRule,
    clock: Clock,
    pipeline: Pipeline,
    text: String,
    bytes: Vec<u8>,
    /// Events formatted into `bytes`.
    events_in_bytes: u64,
    decode_errors: u64,
    /// Append notes to strace lines (--verdicts).
    annotate: bool,
    /// Follow mode: the live tasks, kept in order with the calls.
    followed: Option<Followed>,
    /// What was last said of the kernel's counters.
    reported: KernelCounters,
    /// The kernel's losses told so far.
    told: Told,
}

/// Which lines get a pid leader.
enum LeaderRule {
    /// strace -f -o FILE: every line; system-wide: `[pid N]` on every line.
    Always(Leader),
    /// strace -f on a terminal: `[pid N]` while more than one followed task is alive.
    WhileSeveral,
}

impl TraceOutput {
    fn new(args: &TraceArgs, filter: &Filter, following: bool, followed: Option<Followed>) -> Self {
        let clock = Clock::now();
        TraceOutput {
            filter: Filter {
                pids: std::collections::BTreeSet::new(),
                ..filter.clone()
            },
            format: args.format,
            timestamps: args.timestamps,
            leader: leader_rule(args, following),
            clock,
            pipeline: Pipeline::new(clock),
            text: String::new(),
            bytes: Vec::with_capacity(1 << 16),
            events_in_bytes: 0,
            decode_errors: 0,
            annotate: args.verdicts,
            followed,
            reported: KernelCounters::default(),
            told: Told::default(),
        }
    }

    fn handle(&mut self, record: &[u8]) {
        if let Some(change) = task_change(record) {
            if let Some(followed) = &mut self.followed {
                followed.apply(change);
            }
            self.pipeline.task(change);
            return;
        }
        match decode(record) {
            Ok(event) => {
                if let Some(record) = self.pipeline.record_if(event, &self.filter) {
                    self.write(&record);
                }
            }
            Err(err) => {
                self.decode_errors += 1;
                if self.decode_errors == 1 {
                    log::warn!("undecodable event record: {err}");
                }
            }
        }
    }

    fn write(&mut self, record: &Record) {
        let leader = match self.leader {
            LeaderRule::Always(leader) => leader,
            LeaderRule::WhileSeveral => {
                let several = self.followed.as_ref().is_some_and(|f| f.count() > 1);
                if several {
                    Leader::Bracket
                } else {
                    Leader::None
                }
            }
        };
        match self.format {
            Format::Strace => {
                let time = self
                    .timestamps
                    .then(|| self.clock.strace_time(record.event.entered));
                self.text.clear();
                if self.annotate {
                    record.write_annotated(&mut self.text, leader, time.as_deref());
                } else {
                    record.write_strace(&mut self.text, leader, time.as_deref());
                }
                self.bytes.extend_from_slice(self.text.as_bytes());
            }
            Format::Json => record.write_json(&mut self.bytes),
        }
        self.events_in_bytes += 1;
    }

    /// Says on stderr what could not be shown in full.
    fn report_end(&self) {
        if self.decode_errors > 0 {
            eprintln!(
                "dualstack: {} records could not be decoded",
                self.decode_errors
            );
        }
        let skipped = self.pipeline.holders_skipped();
        if skipped > 0 {
            eprintln!(
                "dualstack: {skipped} binds refused with EADDRINUSE were shown without their \
                 port's holder (holders are looked up at most 10 times a second)"
            );
        }
    }

    /// Says what the kernel could not do since the last report, each loss with its reason:
    /// events dropped on a full ring, sockets not tracked on a full state map, user memory
    /// not read, entries not seen; in JSON also as `lost` records. Called on a one-second tick
    /// while tracing, so that losses are told while they happen, and once at the end.
    fn report_counters(&mut self, now: KernelCounters, max_sockets: u32) {
        for (loss, count) in self.told.news(&now) {
            if self.format == Format::Json {
                write_lost(&mut self.bytes, count, loss.reason());
            }
            match loss {
                KernelLoss::RingFull => eprintln!(
                    "dualstack: {count} events lost: the kernel ring buffer was full (try a larger --ring-mib)"
                ),
                KernelLoss::StateFull => eprintln!(
                    "dualstack: {count} sockets not tracked: the socket state map ({max_sockets} \
                     entries) was full; their events say so (try a larger --max-sockets)"
                ),
                KernelLoss::UserFault => eprintln!(
                    "dualstack: {count} user buffers could not be read (bad pointers): their \
                     calls show them as strace does"
                ),
                KernelLoss::NoEntry => eprintln!(
                    "dualstack: {count} calls were under way when tracing began: their entry \
                     time is their exit time"
                ),
            }
        }
        let tasks = now
            .task_ring_full
            .saturating_sub(self.reported.task_ring_full);
        if tasks > 0 {
            eprintln!(
                "dualstack: {tasks} process starts or exits lost: the kernel ring buffer was full \
                 ([pid N] leaders may be missing until the set is read again from /proc)"
            );
        }
        self.reported = now;
    }

    /// The output formatted since the last chunk.
    fn take_chunk(&mut self) -> Chunk {
        Chunk {
            bytes: std::mem::replace(&mut self.bytes, Vec::with_capacity(1 << 16)),
            events: std::mem::take(&mut self.events_in_bytes),
        }
    }
}

/// Which lines get a pid leader, as strace decides it: always with -o, else while several
/// followed tasks are alive when tracing a command or processes, always system-wide.
fn leader_rule(args: &TraceArgs, following: bool) -> LeaderRule {
    match (&args.output, following) {
        (Some(_), _) => LeaderRule::Always(Leader::Plain),
        (None, true) => LeaderRule::WhileSeveral,
        (None, false) => LeaderRule::Always(Leader::Bracket),
    }
}

/// Records read from the ring at a time, between which the loop writes and answers signals.
pub const BATCH: usize = 256;
/// How long the end waits for the output to take what is left.
const FINISH_DEADLINE: Duration = Duration::from_millis(200);

/// The filter of `args`, once the options are checked; `-p` thread ids become processes.
fn checked_filter(args: &TraceArgs) -> anyhow::Result<Filter> {
    if args.command.is_empty() && std::env::args().any(|a| a == "--") {
        bail!("nothing to run after `--`: give a command (`trace -- CMD ARGS...`), or drop `--` to trace the whole host");
    }
    let mut filter = args.filters.filter()?;
    if !args.command.is_empty() && !filter.pids.is_empty() {
        bail!("give either --pid or a command to run, not both");
    }
    if !args.kernel.ring_mib.is_power_of_two() {
        bail!(
            "--ring-mib must be a power of two, got {}",
            args.kernel.ring_mib
        );
    }
    if args.kernel.max_sockets == 0 {
        bail!("--max-sockets must be at least 1");
    }
    filter.pids = processes_of(&filter.pids)?;
    Ok(filter)
}

/// Loads the programs for `args` and follows the `-p` processes with their descendants.
fn load(args: &TraceArgs, filter: &Filter) -> anyhow::Result<Probes> {
    let mut options = LoadOptions {
        ring_bytes: args.kernel.ring_mib << 20,
        btf: (args.kernel.btf != "none").then(|| PathBuf::from(&args.kernel.btf)),
        max_sockets: args.kernel.max_sockets,
        exit_hook: args.kernel.exit_hook(),
        state_map: args.kernel.state_map(),
        ..LoadOptions::default()
    };
    filter.apply_to(&mut options.config);
    options.config.every_close = u32::from(args.every_close);
    if !args.command.is_empty() {
        options.config.follow = 1;
    }
    let mut probes = Probes::load(&options)?;
    probes.spawn_log_pump();
    for &pid in &filter.pids {
        probes.follow(pid)?;
        for child in descendants(pid) {
            probes.follow(child)?;
        }
    }
    Ok(probes)
}

/// Runs `dualstack trace`; returns the process exit code.
pub async fn run(args: TraceArgs) -> anyhow::Result<i32> {
    let filter = checked_filter(&args)?;
    let run_command = !args.command.is_empty();
    let mut probes = load(&args, &filter)?;
    let mut reader = EventReader::new(probes.take_events()?)?;
    let out: Box<dyn Write + Send> = match &args.output {
        Some(path) => Box::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        ),
        None => Box::new(io::stdout()),
    };

    // Before the command starts: a signal from then on must reach it through `stop`.
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut child = if run_command {
        Some(start_followed(
            &args.command,
            args.output.is_none(),
            &probes,
        )?)
    } else {
        None
    };
    let following = run_command || !filter.pids.is_empty();
    let followed = match &child {
        Some(c) => Some(Followed::attach([c.id()])),
        None if following => Some(Followed::attach(filter.pids.iter().copied())),
        None => None,
    };
    let mut output = TraceOutput::new(&args, &filter, following, followed);
    let mut sweep = SocketSweep::new(args.kernel.max_sockets);
    let writer = OutputWriter::spawn(out).context("cannot start the output thread")?;
    let mut report = tokio::time::interval(Duration::from_secs(1));

    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut command_status = None;
    let code = loop {
        tokio::select! {
            // Read the ring only while the output has room: a burst then fills the kernel's
            // ring, where drops are counted, never this process's memory.
            permit = writer.reserve() => {
                let Some(permit) = permit else { break 0 };
                reader.read_some(BATCH, |record| output.handle(record)).await?;
                let chunk = output.take_chunk();
                if !chunk.bytes.is_empty() {
                    writer.send(permit, chunk);
                }
                if writer.broken() {
                    break 0;
                }
                if tracing_done(&output, command_status, run_command) {
                    break command_status.map_or(0, exit_code);
                }
            }
            status = child_exit(child.as_mut().filter(|_| command_status.is_none())) => {
                let status = status?;
                command_status = Some(status);
                // The kernel's followed set is ahead of the records still in the ring.
                let left = live_processes(&probes.followed_ids()?).len();
                if left > 0 {
                    eprintln!(
                        "dualstack: {} (pid {}) exited with {}; still following {left} \
                         process{} it started, until the last exits (Ctrl-C to stop)",
                        args.command[0],
                        child.as_ref().map_or(0, Child::id),
                        describe(status),
                        if left == 1 { "" } else { "es" },
                    );
                }
            }
            _ = interrupt.recv() => {
                let followed = live_processes(&probes.followed_ids().unwrap_or_default());
                break stop(SignalKind::interrupt(), child.as_mut(), command_status, followed.len(), &args).await;
            }
            _ = terminate.recv() => {
                let followed = live_processes(&probes.followed_ids().unwrap_or_default());
                break stop(SignalKind::terminate(), child.as_mut(), command_status, followed.len(), &args).await;
            }
            _ = report.tick() => {
                output.report_counters(probes.counters()?, args.kernel.max_sockets);
            }
            _ = tick.tick() => {
                let counters = probes.counters()?;
                sweep.tick(&mut probes, &counters)?;
                if let Some(followed) = &mut output.followed {
                    followed.forget_dead();
                }
                if tracing_done(&output, command_status, run_command) {
                    break command_status.map_or(0, exit_code);
                }
            }
        }
    };
    output.report_counters(probes.counters()?, args.kernel.max_sockets);
    write_the_rest(&mut output, &mut reader, writer).await;
    output.report_end();
    // Tracing stops with this process's exit, which must not wait for the detach.
    probes.detach_in_background();
    Ok(code)
}

/// Takes the calls made before the end, which are in the ring, for as long as the output
/// takes them; what it cannot take by [`FINISH_DEADLINE`] is counted on stderr, not kept.
async fn write_the_rest(output: &mut TraceOutput, reader: &mut EventReader, writer: OutputWriter) {
    let deadline = tokio::time::Instant::now() + FINISH_DEADLINE;
    let mut not_written = 0;
    loop {
        if tokio::time::Instant::now() >= deadline {
            not_written += output.take_chunk().events + reader.drain(|_| {}) as u64;
            break;
        }
        let read = reader.drain_some(BATCH, |record| output.handle(record));
        let chunk = output.take_chunk();
        if read == 0 && chunk.bytes.is_empty() {
            break;
        }
        if let Ok(Some(permit)) = tokio::time::timeout_at(deadline, writer.reserve()).await {
            writer.send(permit, chunk);
        } else {
            not_written += chunk.events + reader.drain(|_| {}) as u64;
            break;
        }
    }
    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
    match writer.finish(output.take_chunk(), left).await {
        Finish::Written => {}
        Finish::Stalled(events) => not_written += events,
        Finish::Failed(err) => eprintln!("dualstack: cannot write events: {err}"),
    }
    if not_written > 0 {
        eprintln!(
            "dualstack: {not_written} events not written: the output did not take them within \
             {} ms of the end",
            FINISH_DEADLINE.as_millis()
        );
    }
}

/// The live processes among followed task ids.
fn live_processes(ids: &[u32]) -> std::collections::BTreeSet<u32> {
    ids.iter()
        .filter(|&&id| task_alive(id))
        .filter_map(|&id| tgid_of(id))
        .collect()
}

/// Follow mode ends when every followed task is gone (for a command, once it was reaped).
fn tracing_done(
    output: &TraceOutput,
    command_status: Option<std::process::ExitStatus>,
    run_command: bool,
) -> bool {
    let Some(followed) = &output.followed else {
        return false;
    };
    if run_command && command_status.is_none() {
        return false;
    }
    followed.is_empty()
}

/// `-p` takes processes or threads, as strace does: a thread stands for its process.
fn processes_of(
    pids: &std::collections::BTreeSet<u32>,
) -> anyhow::Result<std::collections::BTreeSet<u32>> {
    let mut processes = std::collections::BTreeSet::new();
    for &pid in pids {
        if !task_alive(pid) {
            bail!("no process or thread with id {pid}");
        }
        let tgid = tgid_of(pid).unwrap_or(pid);
        if tgid != pid {
            eprintln!("dualstack: {pid} is a thread of process {tgid}: following the process");
        }
        processes.insert(tgid);
    }
    Ok(processes)
}

/// A started command and how to wait for it.
struct Child {
    inner: tokio::process::Child,
    pid: u32,
}

impl Child {
    fn id(&self) -> u32 {
        self.pid
    }
}

/// Starts `command`, which adds itself to the followed set between its fork and its exec, so
/// that it is traced from its first instruction and the tracer's own threads never are. Its
/// standard output goes to this process's standard error when the trace takes standard output.
fn start_followed(
    command: &[String],
    stdout_to_stderr: bool,
    probes: &Probes,
) -> anyhow::Result<Child> {
    use std::os::unix::process::CommandExt as _;
    let map_fd = probes.followed_map_fd()?;
    let mut cmd = std::process::Command::new(&command[0]);
    cmd.args(&command[1..]);
    if stdout_to_stderr {
        cmd.stdout(io::stderr().as_fd().try_clone_to_owned()?);
    }
    // SAFETY: add_self_to_followed makes only async-signal-safe calls (getpid, bpf).
    unsafe {
        cmd.pre_exec(move || dualstack::kernel::loader::add_self_to_followed(map_fd));
    }
    let inner = tokio::process::Command::from(cmd)
        .spawn()
        .with_context(|| format!("cannot run {}", command[0]))?;
    let pid = inner.id().unwrap_or(0);
    Ok(Child { inner, pid })
}

/// SIGINT or SIGTERM: as strace does, the command dualstack started gets the signal, and the
/// processes it attached to with -p are left running; says so. Returns the exit code.
async fn stop(
    kind: SignalKind,
    child: Option<&mut Child>,
    command_status: Option<std::process::ExitStatus>,
    followed_processes: usize,
    args: &TraceArgs,
) -> i32 {
    let signo = kind.as_raw_value();
    let name = if signo == libc::SIGINT {
        "SIGINT"
    } else {
        "SIGTERM"
    };
    let others = followed_processes;
    match child {
        Some(child) if command_status.is_none() => {
            // SAFETY: signalling the process this one started and has not reaped.
            unsafe {
                libc::kill(child.pid as libc::pid_t, signo);
                libc::kill(child.pid as libc::pid_t, libc::SIGCONT);
            }
            let others = others.saturating_sub(1);
            eprintln!(
                "dualstack: {name}: sent {name} to {} (pid {}), which dualstack started{}",
                args.command[0],
                child.pid,
                if others == 0 {
                    String::new()
                } else {
                    format!("; {others} other followed processes keep running, no longer traced")
                }
            );
            // Give it a moment to exit, so that its last calls are read.
            match tokio::time::timeout(Duration::from_millis(150), child.inner.wait()).await {
                Ok(Ok(status)) => exit_code(status),
                _ => 128 + signo,
            }
        }
        _ if others > 0 => {
            eprintln!(
                "dualstack: {name}: stopped tracing; {others} followed process{} keep running, no longer traced",
                if others == 1 { "" } else { "es" }
            );
            128 + signo
        }
        _ => 128 + signo,
    }
}

/// "status 0" or "signal 9", for messages.
fn describe(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("status {code}"),
        (None, Some(signal)) => format!("signal {signal}"),
        _ => "an unknown status".to_owned(),
    }
}

/// The child's exit status; never ready when tracing without a command, or once it was reaped.
async fn child_exit(child: Option<&mut Child>) -> io::Result<std::process::ExitStatus> {
    match child {
        Some(child) => child.inner.wait().await,
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
