//! Loads and attaches the kernel programs, and gives access to their maps.

use std::{
    fs, io,
    path::{Path, PathBuf},
};

use aya::{
    maps::{HashMap, MapData, PerCpuArray, RingBuf},
    programs::{BtfTracePoint, RawTracePoint, TracePoint},
    Btf, Ebpf, EbpfLoader,
};
use dualstack_common::{counter, KernelOffsets, SockKey, SockState, TraceConfig, SOCKETS_DEFAULT};
use log::{debug, warn};
use tokio::io::{unix::AsyncFd, Interest};

use crate::kernel::{
    btf,
    error::{Error, Result},
};

/// The object built from dualstack-ebpf by build.rs.
static PROBES: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/dualstack-probes"));

pub const TRACEFS: &str = "/sys/kernel/tracing";
pub const KERNEL_BTF: &str = btf::VMLINUX_BTF;

/// (program, tracepoint category, tracepoint name) of the entry stamps and the task records.
/// The calls themselves go through one exit program, see [`ExitHook`].
const TRACEPOINTS: [(&str, &str, &str); 6] = [
    ("sys_enter_connect", "syscalls", "sys_enter_connect"),
    ("sys_enter_accept", "syscalls", "sys_enter_accept"),
    ("sys_enter_accept4", "syscalls", "sys_enter_accept4"),
    ("sys_enter_close", "syscalls", "sys_enter_close"),
    ("sched_process_fork", "sched", "sched_process_fork"),
    ("sched_process_exit", "sched", "sched_process_exit"),
];

/// How the exit dispatcher is attached to the `sys_exit` tracepoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ExitHook {
    /// `tp_btf` when the kernel has BTF (/sys/kernel/btf/vmlinux), else the raw tracepoint.
    #[default]
    Auto,
    /// A BTF-enabled raw tracepoint: registers are loaded directly.
    TpBtf,
    /// A raw tracepoint: registers are copied through a helper. Works without kernel BTF.
    RawTp,
}

/// Where the kernel keeps each socket's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum StateMap {
    /// A plain hash: a live socket's state is never evicted; a full map refuses new sockets.
    #[default]
    Hash,
    /// An LRU map: never refuses, may evict an idle live socket's state.
    Lru,
}

/// Settings for [`Probes::load`].
#[derive(Clone, Debug)]
pub struct LoadOptions {
    pub config: TraceConfig,
    /// Size of the event ring buffer in bytes (a power of two, multiple of the page size).
    pub ring_bytes: u32,
    /// The kernel BTF to resolve struct offsets from; None: read nothing from kernel sockets
    /// (values are then inferred from the calls seen).
    pub btf: Option<PathBuf>,
    /// Sockets whose state the kernel keeps at once (the SOCKETS map's size).
    pub max_sockets: u32,
    pub exit_hook: ExitHook,
    pub state_map: StateMap,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            config: TraceConfig::DEFAULT,
            ring_bytes: 16 << 20,
            btf: Some(PathBuf::from(KERNEL_BTF)),
            max_sockets: SOCKETS_DEFAULT,
            exit_hook: ExitHook::Auto,
            state_map: StateMap::Hash,
        }
    }
}

/// Struct offsets from the kernel's BTF, or none (values then inferred) with a warning saying why.
fn kernel_offsets(btf: Option<&Path>) -> KernelOffsets {
    let Some(path) = btf else {
        return KernelOffsets::UNKNOWN;
    };
    match btf::kernel_offsets(path) {
        Ok(offsets) => offsets,
        Err(err) => {
            warn!(
                "{err}; tracing works, but V6ONLY, the real port and the netns are not read \
                 from kernel sockets: verdicts are inferred from the calls seen"
            );
            KernelOffsets::UNKNOWN
        }
    }
}

/// The loaded, attached programs.
pub struct Probes {
    ebpf: Ebpf,
    /// The per-socket state map in use: `SOCKETS` (hash) or `SOCKETS_LRU`.
    state_map: &'static str,
    log: Option<aya_log::EbpfLogger<&'static dyn log::Log>>,
}

impl Probes {
    /// Checks privileges and tracefs, loads the programs with `options` and attaches them all.
    pub fn load(options: &LoadOptions) -> Result<Probes> {
        if !cfg!(target_arch = "x86_64") {
            // dualstack_common::syscall_nr says what another architecture needs.
            return Err(Error::Architecture(std::env::consts::ARCH));
        }
        check_privileges()?;
        ensure_tracefs()?;
        raise_memlock();
        let mut config = options.config;
        config.tracer_tgid = std::process::id();
        config.offsets = kernel_offsets(options.btf.as_deref());
        read_tracepoint_offsets(&mut config)?;
        config.state_lru = u32::from(options.state_map == StateMap::Lru);
        let exit_hook = resolve_exit_hook(options.exit_hook);
        config.direct_task = u32::from(exit_hook == ExitHook::TpBtf && config.offsets.valid != 0);
        // The state map not in use keeps one entry.
        let (hash, lru) = if config.state_lru == 0 {
            (options.max_sockets, 1)
        } else {
            (1, options.max_sockets)
        };
        let mut ebpf = EbpfLoader::new()
            .override_global("CONFIG", &config, true)
            .map_max_entries("EVENTS", options.ring_bytes)
            .map_max_entries("SOCKETS", hash)
            .map_max_entries("SOCKETS_LRU", lru)
            .load(PROBES)
            .map_err(permission_or(Error::Load))?;
        for (program, category, name) in TRACEPOINTS {
            attach(&mut ebpf, program, category, name)?;
        }
        attach_exit(&mut ebpf, exit_hook)?;
        debug!("exit dispatcher attached as {exit_hook:?}");
        let log = match aya_log::EbpfLogger::init(&mut ebpf) {
            Ok(log) => Some(log),
            Err(err) => {
                debug!("kernel-side log unavailable: {err}");
                None
            }
        };
        let state_map = if config.state_lru == 0 {
            "SOCKETS"
        } else {
            "SOCKETS_LRU"
        };
        Ok(Probes {
            ebpf,
            state_map,
            log,
        })
    }

    /// Forwards the kernel programs' rare diagnostics (aya-log) to this process's logger, from a
    /// task on the current tokio runtime.
    pub fn spawn_log_pump(&mut self) {
        let Some(logger) = self.log.take() else {
            return;
        };
        // SAFETY: the logger owns its ring-buffer fd for as long as the AsyncFd holds it.
        let registered = unsafe { AsyncFd::register_with_interest(logger, Interest::READABLE) };
        let Ok(mut logger) = registered else {
            debug!("kernel-side log not forwarded: cannot register its fd");
            return;
        };
        tokio::spawn(async move {
            while let Ok(mut guard) = logger.readable_mut().await {
                guard.get_inner_mut().flush();
                guard.clear_ready();
            }
        });
    }

    /// Takes the event ring buffer (once).
    pub fn take_events(&mut self) -> Result<RingBuf<MapData>> {
        let map = self
            .ebpf
            .take_map("EVENTS")
            .ok_or(Error::MissingMap("EVENTS"))?;
        RingBuf::try_from(map).map_err(|source| Error::Map {
            name: "EVENTS",
            source,
        })
    }

    /// Adds a tgid to the set followed in follow mode.
    pub fn follow(&mut self, tgid: u32) -> Result<()> {
        let map = self
            .ebpf
            .map_mut("TRACED")
            .ok_or(Error::MissingMap("TRACED"))?;
        let mut traced: HashMap<_, u32, u8> =
            HashMap::try_from(map).map_err(|source| Error::Map {
                name: "TRACED",
                source,
            })?;
        traced.insert(tgid, 1, 0).map_err(|source| Error::Map {
            name: "TRACED",
            source,
        })
    }

    /// Leaves detaching to a child process, so that this one can exit at once: detaching waits
    /// for the kernel's RCU grace periods, which the socket frees of a burst stretch to most of
    /// a second. The child shares the programs' descriptors and waits for this process to be
    /// gone (its end of a pipe closes last, at exit) before it exits and detaches them.
    pub fn detach_in_background(self) {
        let mut pipe = [0; 2];
        // SAFETY: pipe fills two descriptors; the child makes only async-signal-safe calls
        // (close, read, _exit).
        unsafe {
            if libc::pipe(pipe.as_mut_ptr()) != 0 {
                return;
            }
            let [parent_gone, alive] = pipe;
            if libc::fork() == 0 {
                libc::close(alive);
                // Nobody reading this process's output may wait for the child.
                for fd in 0..3 {
                    libc::close(fd);
                }
                let mut byte = 0u8;
                while libc::read(parent_gone, (&raw mut byte).cast(), 1) > 0 {}
                libc::_exit(0);
            }
            libc::close(parent_gone);
        }
        // This process's references to the programs, and `alive`, go with its exit.
        std::mem::forget(self);
    }

    /// The task ids in the followed set (follow mode), as the kernel holds it now: ahead of
    /// the fork and exit records still in the ring.
    pub fn followed_ids(&self) -> Result<Vec<u32>> {
        let map = self.ebpf.map("TRACED").ok_or(Error::MissingMap("TRACED"))?;
        let traced: HashMap<_, u32, u8> = HashMap::try_from(map).map_err(|source| Error::Map {
            name: "TRACED",
            source,
        })?;
        Ok(traced.keys().flatten().collect())
    }

    /// The descriptor of the followed-task map, for a child that adds itself to it between its
    /// fork and its exec (see [`add_self_to_followed`]).
    pub fn followed_map_fd(&self) -> Result<std::os::fd::RawFd> {
        use std::os::fd::{AsFd as _, AsRawFd as _};
        match self.ebpf.map("TRACED") {
            Some(aya::maps::Map::LruHashMap(data)) => Ok(data.fd().as_fd().as_raw_fd()),
            _ => Err(Error::MissingMap("TRACED")),
        }
    }

    /// The kernel's counters, summed over CPUs.
    pub fn counters(&self) -> Result<KernelCounters> {
        Ok(KernelCounters {
            ring_full: self.counter(counter::RING_FULL)?,
            state_full: self.counter(counter::STATE_FULL)?,
            state_inserts: self.counter(counter::STATE_INSERTS)?,
            state_removes: self.counter(counter::STATE_REMOVES)?,
            task_ring_full: self.counter(counter::TASK_RING_FULL)?,
            no_entry: self.counter(counter::NO_ENTRY)?,
            user_fault: self.counter(counter::USER_FAULT)?,
        })
    }

    fn counter(&self, slot: u32) -> Result<u64> {
        let map = self
            .ebpf
            .map("COUNTERS")
            .ok_or(Error::MissingMap("COUNTERS"))?;
        let counters: PerCpuArray<_, u64> =
            PerCpuArray::try_from(map).map_err(|source| Error::Map {
                name: "COUNTERS",
                source,
            })?;
        let values = counters.get(&slot, 0).map_err(|source| Error::Map {
            name: "COUNTERS",
            source,
        })?;
        Ok(values.iter().fold(0u64, |sum, v| sum.saturating_add(*v)))
    }

    /// The keys of the socket state map.
    pub fn socket_keys(&mut self) -> Result<Vec<SockKey>> {
        Ok(self.sockets()?.keys().flatten().collect())
    }

    /// Removes these sockets' states; returns how many were there.
    pub fn remove_sockets(&mut self, keys: &[SockKey]) -> Result<u64> {
        let mut sockets = self.sockets()?;
        Ok(keys.iter().filter(|k| sockets.remove(k).is_ok()).count() as u64)
    }

    /// The state map in use (aya's HashMap reads an LRU map too).
    fn sockets(&mut self) -> Result<HashMap<&mut MapData, SockKey, SockState>> {
        let name = self.state_map;
        let map = self.ebpf.map_mut(name).ok_or(Error::MissingMap(name))?;
        HashMap::try_from(map).map_err(|source| Error::Map { name, source })
    }
}

/// A floor of the bench on the exit dispatcher's hook (`tp_btf/sys_exit`); detached when
/// dropped. See the kernel crate's `floor.rs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloorKind {
    /// An empty program: what any tracer of this design costs before it does anything.
    Empty,
    /// A record per traced call and nothing else: the least any design that writes records
    /// costs. Its records are read and dropped by [`Floor::drain`].
    Record,
    /// The empty program, and empty programs on the syscall-entry tracepoints dualstack
    /// attaches (`TRACEPOINTS`): what those cost every other syscall.
    WithEntries,
}

pub struct Floor {
    ebpf: Ebpf,
}

impl Floor {
    pub fn attach(kind: FloorKind) -> Result<Floor> {
        check_privileges()?;
        raise_memlock();
        let (name, ring) = match kind {
            FloorKind::Empty | FloorKind::WithEntries => ("floor_sys_exit", 1 << 12),
            FloorKind::Record => ("floor_record_sys_exit", 16 << 20),
        };
        // The record floor reads comm as the dispatcher does: directly, at the offset BTF gives.
        let mut config = TraceConfig::DEFAULT;
        config.offsets = kernel_offsets(Some(Path::new(KERNEL_BTF)));
        config.direct_task = config.offsets.valid;
        let mut ebpf = EbpfLoader::new()
            .override_global("CONFIG", &config, true)
            .map_max_entries("EVENTS", ring)
            .map_max_entries("SOCKETS", 1)
            .map_max_entries("SOCKETS_LRU", 1)
            .load(PROBES)
            .map_err(permission_or(Error::Load))?;
        let btf = Btf::from_sys_fs().map_err(|source| Error::KernelBtf(source.to_string()))?;
        let failed = |source| Error::Program {
            name: name.to_owned(),
            source,
        };
        let prog: &mut BtfTracePoint = ebpf
            .program_mut(name)
            .ok_or_else(|| Error::MissingTracepoint(name.to_owned()))?
            .try_into()
            .map_err(failed)?;
        prog.load("sys_exit", &btf).map_err(failed)?;
        prog.attach().map_err(failed)?;
        if kind == FloorKind::WithEntries {
            let name = "floor_sys_enter";
            let failed = |source| Error::Program {
                name: name.to_owned(),
                source,
            };
            let prog: &mut TracePoint = ebpf
                .program_mut(name)
                .ok_or_else(|| Error::MissingTracepoint(name.to_owned()))?
                .try_into()
                .map_err(failed)?;
            prog.load().map_err(failed)?;
            for (_, category, tracepoint) in TRACEPOINTS {
                if category == "syscalls" {
                    prog.attach(category, tracepoint).map_err(failed)?;
                }
            }
        }
        Ok(Floor { ebpf })
    }

    /// Reads and drops the records in the ring; returns how many there were.
    pub fn drain(&mut self) -> Result<u64> {
        let map = self
            .ebpf
            .map_mut("EVENTS")
            .ok_or(Error::MissingMap("EVENTS"))?;
        let mut ring = RingBuf::try_from(map).map_err(|source| Error::Map {
            name: "EVENTS",
            source,
        })?;
        let mut records = 0;
        while ring.next().is_some() {
            records += 1;
        }
        Ok(records)
    }
}

/// Adds the calling process to the followed-task map `map_fd`. Made for a child between fork
/// and exec: one raw bpf(2) call, async-signal-safe, so the command is followed from its first
/// instruction without the tracer's own threads ever being followed.
pub fn add_self_to_followed(map_fd: std::os::fd::RawFd) -> io::Result<()> {
    // kernel ABI: include/uapi/linux/bpf.h, union bpf_attr for BPF_MAP_*_ELEM.
    #[repr(C)]
    struct MapElemAttr {
        map_fd: u32,
        _pad: u32,
        key: u64,
        value: u64,
        flags: u64,
    }
    const BPF_MAP_UPDATE_ELEM: libc::c_long = 2;
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() } as u32;
    let one = 1u8;
    let attr = MapElemAttr {
        map_fd: map_fd as u32,
        _pad: 0,
        key: (&raw const pid) as u64,
        value: (&raw const one) as u64,
        flags: 0,
    };
    // SAFETY: attr and the key and value it points to live across the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_MAP_UPDATE_ELEM,
            &raw const attr,
            std::mem::size_of::<MapElemAttr>(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The kernel programs' counters (see `dualstack_common::counter`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelCounters {
    pub ring_full: u64,
    pub state_full: u64,
    pub state_inserts: u64,
    pub state_removes: u64,
    pub task_ring_full: u64,
    /// Exits of connect, accept, accept4 or close whose entry left no stamp.
    pub no_entry: u64,
    /// User memory a traced call pointed to that could not be read.
    pub user_fault: u64,
}

fn attach(ebpf: &mut Ebpf, program: &str, category: &str, name: &str) -> Result<()> {
    let failed = |source| Error::Program {
        name: program.to_owned(),
        source,
    };
    let prog: &mut TracePoint = ebpf
        .program_mut(program)
        .ok_or_else(|| Error::MissingTracepoint(program.to_owned()))?
        .try_into()
        .map_err(failed)?;
    prog.load().map_err(failed)?;
    if !Path::new(TRACEFS)
        .join("events")
        .join(category)
        .join(name)
        .exists()
    {
        return Err(Error::MissingTracepoint(format!("{category}/{name}")));
    }
    prog.attach(category, name).map_err(failed)?;
    Ok(())
}

/// The exit hook to use: `tp_btf/sys_exit` when the kernel has BTF (or when asked), else the
/// raw tracepoint.
fn resolve_exit_hook(hook: ExitHook) -> ExitHook {
    match hook {
        ExitHook::Auto if Path::new(KERNEL_BTF).exists() => ExitHook::TpBtf,
        ExitHook::Auto => ExitHook::RawTp,
        chosen => chosen,
    }
}

/// Attaches the exit dispatcher as `hook` (resolved).
fn attach_exit(ebpf: &mut Ebpf, hook: ExitHook) -> Result<()> {
    let failed = |program: &str| {
        let program = program.to_owned();
        move |source| Error::Program {
            name: program,
            source,
        }
    };
    if hook == ExitHook::TpBtf {
        let btf = Btf::from_sys_fs().map_err(|source| Error::KernelBtf(source.to_string()))?;
        let prog: &mut BtfTracePoint = ebpf
            .program_mut("sys_exit")
            .ok_or_else(|| Error::MissingTracepoint("sys_exit".to_owned()))?
            .try_into()
            .map_err(failed("sys_exit"))?;
        prog.load("sys_exit", &btf).map_err(failed("sys_exit"))?;
        prog.attach().map_err(failed("sys_exit"))?;
    } else {
        let prog: &mut RawTracePoint = ebpf
            .program_mut("sys_exit_raw")
            .ok_or_else(|| Error::MissingTracepoint("sys_exit_raw".to_owned()))?
            .try_into()
            .map_err(failed("sys_exit_raw"))?;
        prog.load().map_err(failed("sys_exit_raw"))?;
        prog.attach("sys_exit").map_err(failed("sys_exit_raw"))?;
    }
    Ok(())
}

/// Maps an aya error to [`Error::Permission`] when the kernel said EPERM/EACCES.
fn permission_or(other: fn(aya::EbpfError) -> Error) -> impl Fn(aya::EbpfError) -> Error {
    move |err| {
        let text = format!("{err:?}");
        if text.contains("PermissionDenied") || text.contains("Operation not permitted") {
            Error::Permission("a privilege the kernel asked for".to_owned())
        } else {
            other(err)
        }
    }
}

/// CAP_PERFMON and CAP_BPF, from include/uapi/linux/capability.h.
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;
const CAP_SYS_ADMIN: u32 = 21;

fn check_privileges() -> Result<()> {
    let status = fs::read_to_string("/proc/self/status")?;
    let effective = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0);
    let has = |cap: u32| effective & (1 << cap) != 0;
    if has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON)) {
        return Ok(());
    }
    let missing: Vec<&str> = [(CAP_BPF, "CAP_BPF"), (CAP_PERFMON, "CAP_PERFMON")]
        .into_iter()
        .filter(|&(cap, _)| !has(cap))
        .map(|(_, name)| name)
        .collect();
    Err(Error::Permission(missing.join(" and ")))
}

/// Makes sure tracefs is mounted and readable, mounting it when it is not mounted (it is not,
/// on some systems).
fn ensure_tracefs() -> Result<()> {
    let events = Path::new(TRACEFS).join("events");
    match fs::metadata(&events) {
        Ok(_) => return Ok(()),
        Err(err) if err.kind() == io::ErrorKind::PermissionDenied => {
            return Err(Error::TracefsUnreadable(err));
        }
        Err(_) => {}
    }
    let mounts = fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    if mounts
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some(TRACEFS))
    {
        // Mounted, and yet no events directory: an unreadable mount shows up like this too.
        return Err(Error::TracefsUnreadable(io::Error::new(
            io::ErrorKind::NotFound,
            "no events directory",
        )));
    }
    let source = c"nodev";
    let target = c"/sys/kernel/tracing";
    let fstype = c"tracefs";
    // SAFETY: valid NUL-terminated strings, no data argument.
    let rc = unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(Error::Tracefs(io::Error::last_os_error()));
    }
    if events.exists() {
        Ok(())
    } else {
        Err(Error::Tracefs(io::Error::new(
            io::ErrorKind::NotFound,
            "no events directory after mount",
        )))
    }
}

/// Kernels before 5.11 charge eBPF maps to RLIMIT_MEMLOCK; later ones use memcg and may refuse
/// the call, which is harmless.
fn raise_memlock() {
    let limit = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: plain syscall with a valid struct.
    if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &raw const limit) } != 0 {
        debug!(
            "setrlimit(RLIMIT_MEMLOCK) failed: {}",
            io::Error::last_os_error()
        );
    }
}

/// Field offsets of the sched tracepoints, which differ across kernels, from their format files.
fn read_tracepoint_offsets(config: &mut TraceConfig) -> Result<()> {
    let format = |name: &str| {
        let path = Path::new(TRACEFS)
            .join("events/sched")
            .join(name)
            .join("format");
        fs::read_to_string(&path).map_err(|source| Error::Read { path, source })
    };
    let fork = format("sched_process_fork")?;
    config.fork_child_pid_offset = field_offset(&fork, "child_pid").ok_or_else(|| {
        Error::MissingTracepoint("sched/sched_process_fork field child_pid".into())
    })?;
    let exit = format("sched_process_exit")?;
    config.exit_group_dead_offset = field_offset(&exit, "group_dead").unwrap_or_else(|| {
        warn!("sched_process_exit has no group_dead field: a process is forgotten when its main thread exits");
        u32::MAX
    });
    Ok(())
}

/// The offset of `field` in a tracefs format description
/// (`field:pid_t child_pid;<TAB>offset:20;<TAB>size:4;<TAB>signed:1;`).
pub fn field_offset(format: &str, field: &str) -> Option<u32> {
    format.lines().find_map(|line| {
        let decl = line.trim().strip_prefix("field:")?;
        let (decl, rest) = decl.split_once(';')?;
        let name = decl
            .rsplit(|c: char| c.is_whitespace() || c == '*')
            .next()?;
        let name = name.split('[').next()?;
        if name != field {
            return None;
        }
        rest.trim()
            .strip_prefix("offset:")?
            .split(';')
            .next()?
            .trim()
            .parse()
            .ok()
    })
}

#[cfg(test)]
mod tests {
    use super::field_offset;

    const FORK_6_18: &str = "\tfield:__data_loc char[] parent_comm;\toffset:8;\tsize:4;\tsigned:0;\n\
                             \tfield:pid_t parent_pid;\toffset:12;\tsize:4;\tsigned:1;\n\
                             \tfield:__data_loc char[] child_comm;\toffset:16;\tsize:4;\tsigned:0;\n\
                             \tfield:pid_t child_pid;\toffset:20;\tsize:4;\tsigned:1;\n";
    const FORK_5_15: &str = "\tfield:char parent_comm[16];\toffset:8;\tsize:16;\tsigned:1;\n\
                             \tfield:pid_t parent_pid;\toffset:24;\tsize:4;\tsigned:1;\n\
                             \tfield:char child_comm[16];\toffset:28;\tsize:16;\tsigned:1;\n\
                             \tfield:pid_t child_pid;\toffset:44;\tsize:4;\tsigned:1;\n";

    #[test]
    fn finds_child_pid_in_both_layouts() {
        assert_eq!(field_offset(FORK_6_18, "child_pid"), Some(20));
        assert_eq!(field_offset(FORK_5_15, "child_pid"), Some(44));
        assert_eq!(field_offset(FORK_5_15, "child_comm"), Some(28));
        assert_eq!(field_offset(FORK_5_15, "group_dead"), None);
    }
}
