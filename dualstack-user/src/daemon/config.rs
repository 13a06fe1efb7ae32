//! The daemon's options, and the checks that turn them into a [`DaemonConfig`].
//!
//! The same checks run for `--check-config` and before a real start, without loading probes or
//! creating anything, so that a unit file is known good before systemd starts it and a start
//! never fails half-way for a reason that could have been seen first.

use std::{
    ffi::CString,
    fmt, fs,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    os::unix::{ffi::OsStrExt as _, fs::FileTypeExt as _, fs::PermissionsExt as _},
    path::{Path, PathBuf},
    time::Duration,
};

use crate::kernel::loader::{ExitHook, StateMap};

pub const DEFAULT_SOCKET: &str = "/run/dualstack/events.sock";
pub const DEFAULT_LOG_DIR: &str = "/var/log/dualstack";
/// sizeof(sockaddr_un.sun_path) minus its terminating NUL.
const SUN_PATH_MAX: usize = 107;
/// A token longer than this is a mistake (a wrong file), not a secret.
const TOKEN_MAX: usize = 4096;

/// `dualstack daemon` options, as given (the binary's command line fills them in).
#[derive(Clone, Debug)]
pub struct DaemonOptions {
    pub socket: PathBuf,
    pub socket_group: Option<String>,
    pub listen: Option<String>,
    pub token_file: Option<PathBuf>,
    pub metrics: Option<String>,
    pub metrics_token_file: Option<PathBuf>,
    pub metrics_client_labels: bool,
    pub allow_open_token: bool,
    pub client_queue: usize,
    pub max_clients: usize,
    pub log_dir: PathBuf,
    pub log_max_mib: u64,
    pub log_max_age: String,
    pub log_keep: u32,
    pub no_log: bool,
    pub btf: String,
    pub ring_mib: u32,
    pub max_sockets: u32,
    /// How the exit dispatcher is attached, and where socket state is kept.
    pub exit_hook: ExitHook,
    pub state_map: StateMap,
    pub nats: Option<String>,
    pub nats_token_file: Option<PathBuf>,
    pub nats_creds: Option<PathBuf>,
    pub nats_tls_ca: Option<PathBuf>,
    pub host_id: Option<String>,
    pub nats_max_age: String,
    pub nats_max_mib: u64,
    pub nats_replicas: usize,
    pub netns: Option<String>,
    pub snapshot_interval: String,
}

/// A secret: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(pub Vec<u8>);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token(<{} bytes>)", self.0.len())
    }
}

/// The TCP listener and the token its clients must know.
#[derive(Clone, Debug)]
pub struct TcpSettings {
    pub addr: SocketAddr,
    pub token: Token,
}

/// The metrics endpoint.
#[derive(Clone, Debug)]
pub struct MetricsSettings {
    pub addr: SocketAddr,
    /// The bearer token scrapers must send; None: anyone who reaches the port may scrape.
    pub token: Option<Token>,
    /// Per-client series, with who the clients are.
    pub client_labels: bool,
}

/// Where and how the event log is written (the fields of the event log's `LogPolicy`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogSettings {
    pub dir: PathBuf,
    pub max_bytes: u64,
    /// None: never rotate by age.
    pub max_age: Option<Duration>,
    pub keep: u32,
    /// Rotated files are gzipped (always: the current file stays plain for `tail -f`).
    pub compress: bool,
}

impl LogSettings {
    /// What the event log is told.
    pub fn policy(&self) -> crate::outputs::event_log::LogPolicy {
        crate::outputs::event_log::LogPolicy {
            dir: self.dir.clone(),
            max_bytes: self.max_bytes,
            max_age: self.max_age.unwrap_or(Duration::ZERO),
            keep: self.keep as usize,
            compress: self.compress,
        }
    }
}

/// The group allowed on the socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub gid: u32,
}

/// Checked settings of a daemon.
#[derive(Clone, Debug)]
pub struct DaemonConfig {
    pub socket: PathBuf,
    pub socket_group: Option<Group>,
    pub tcp: Option<TcpSettings>,
    pub metrics: Option<MetricsSettings>,
    pub client_queue: usize,
    pub max_clients: usize,
    /// None with --no-log.
    pub log: Option<LogSettings>,
    /// With --nats: where the event log is published.
    pub nats: Option<crate::outputs::nats::NatsSettings>,
    /// With --nats: the listeners snapshots.
    pub snapshots: Option<crate::outputs::nats::snapshots::SnapshotSettings>,
    /// With --netns: only events of sockets in this netns (its inode).
    pub scope_netns: Option<u64>,
    pub ring_bytes: u32,
    pub max_sockets: u32,
    pub btf: Option<PathBuf>,
    pub exit_hook: ExitHook,
    pub state_map: StateMap,
    /// Things that work but deserve a look (printed by --check-config, logged at start).
    pub warnings: Vec<String>,
    /// Why the log directory cannot be written: an error for --check-config; the daemon runs
    /// on without its log and reports it.
    pub log_problem: Option<ConfigError>,
}

#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("--nats publishes the event log, so it needs the log: drop --no-log")]
    NatsWithoutLog,
    #[error("{0}")]
    Nats(String),
    #[error("--socket {0}: the path is longer than {SUN_PATH_MAX} bytes, the limit of a Unix socket address")]
    SocketPathTooLong(PathBuf),
    #[error("--socket {0}: exists and is not a socket; refusing to replace it")]
    NotASocket(PathBuf),
    #[error("{option} {path}: {reason}")]
    Dir {
        option: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("--socket-group {0}: no such group")]
    NoSuchGroup(String),
    #[error("{option} {text:?}: {reason}")]
    Address {
        option: &'static str,
        text: String,
        reason: &'static str,
    },
    #[error("--listen needs --token-file: TCP clients must prove they know a token")]
    ListenWithoutToken,
    #[error("--token-file is only used with --listen")]
    TokenWithoutListen,
    #[error("{0} is only used with --metrics")]
    MetricsOptionWithoutMetrics(&'static str),
    #[error("{option} {path}: {reason}")]
    Token {
        option: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("--listen and --metrics both use {0}")]
    SameAddress(SocketAddr),
    #[error("{option} {value}: {reason}")]
    Range {
        option: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("--log-max-age {0:?}: expected a number with s, m, h or d (30s, 15m, 12h, 7d), or 0")]
    Age(String),
}

impl DaemonOptions {
    /// Checks every option without changing anything on the system.
    /// The NATS publisher's settings, when --nats is given.
    fn nats_settings(
        &self,
        log: Option<&LogSettings>,
        warnings: &mut Vec<String>,
    ) -> Result<Option<crate::outputs::nats::NatsSettings>, ConfigError> {
        use crate::outputs::nats::{NatsAuth, NatsServer, NatsSettings, StreamSettings};
        let Some(urls) = &self.nats else {
            let given = self.nats_token_file.is_some()
                || self.nats_creds.is_some()
                || self.nats_tls_ca.is_some();
            if given {
                return Err(ConfigError::Nats(
                    "--nats-token-file, --nats-creds and --nats-tls-ca need --nats URL".into(),
                ));
            }
            return Ok(None);
        };
        let log = log.ok_or(ConfigError::NatsWithoutLog)?;
        let urls: Vec<String> = urls
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned)
            .collect();
        if urls.is_empty() {
            return Err(ConfigError::Nats("--nats: no server URL given".into()));
        }
        let auth = match (&self.nats_token_file, &self.nats_creds) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::Nats(
                    "give --nats-token-file or --nats-creds, not both".into(),
                ))
            }
            (Some(file), None) => {
                let token = self.read_token("--nats-token-file", file, warnings)?;
                NatsAuth::Token(String::from_utf8_lossy(&token.0).into_owned())
            }
            (None, Some(creds)) => {
                if !creds.is_file() {
                    return Err(ConfigError::Nats(format!(
                        "--nats-creds {}: not a readable file",
                        creds.display()
                    )));
                }
                NatsAuth::Creds(creds.clone())
            }
            (None, None) => NatsAuth::None,
        };
        if let Some(ca) = self.nats_tls_ca.as_ref().filter(|ca| !ca.is_file()) {
            return Err(ConfigError::Nats(format!(
                "--nats-tls-ca {}: not a readable file",
                ca.display()
            )));
        }
        let host_id = match &self.host_id {
            Some(id) => id.clone(),
            None => hostname(),
        };
        if host_id.is_empty() || host_id.contains(['/', ' ', '*', '>']) {
            return Err(ConfigError::Nats(format!(
                "--host-id {host_id:?}: must be a non-empty name without spaces, '/', '*' or '>'"
            )));
        }
        range("--nats-replicas", self.nats_replicas as u64, 1, 5)?;
        Ok(Some(NatsSettings {
            server: NatsServer {
                urls,
                auth,
                tls_ca: self.nats_tls_ca.clone(),
            },
            host_id,
            log_dir: log.dir.clone(),
            stream: StreamSettings {
                max_age: parse_age(&self.nats_max_age)?.unwrap_or(Duration::ZERO),
                max_bytes: i64::try_from(self.nats_max_mib << 20).unwrap_or(i64::MAX),
                replicas: self.nats_replicas,
                duplicate_window: Duration::from_mins(10),
            },
        }))
    }

    pub fn check(&self) -> Result<DaemonConfig, ConfigError> {
        let mut warnings = Vec::new();
        check_socket_path(&self.socket)?;
        let socket_group = self
            .socket_group
            .as_deref()
            .map(|name| {
                lookup_group(name).map(|gid| Group {
                    name: name.to_owned(),
                    gid,
                })
            })
            .transpose()?;
        let tcp = match (&self.listen, &self.token_file) {
            (None, None) => None,
            (Some(_), None) => return Err(ConfigError::ListenWithoutToken),
            (None, Some(_)) => return Err(ConfigError::TokenWithoutListen),
            (Some(listen), Some(file)) => {
                let addr = parse_address("--listen", listen)?;
                let token = self.read_token("--token-file", file, &mut warnings)?;
                Some(TcpSettings { addr, token })
            }
        };
        let metrics = self.metrics_settings(&mut warnings)?;
        if let (Some(tcp), Some(metrics)) = (&tcp, &metrics) {
            if tcp.addr == metrics.addr && metrics.addr.port() != 0 {
                return Err(ConfigError::SameAddress(metrics.addr));
            }
        }
        range("--client-queue", self.client_queue, 1, 1 << 20)?;
        range("--max-clients", self.max_clients, 1, 65_536)?;
        if self.ring_mib == 0 || !self.ring_mib.is_power_of_two() || self.ring_mib > 1024 {
            return Err(ConfigError::Range {
                option: "--ring-mib",
                value: self.ring_mib.to_string(),
                reason: "must be a power of two from 1 to 1024",
            });
        }
        range("--max-sockets", u64::from(self.max_sockets), 1, 1 << 24)?;
        // An unwritable log directory stops --check-config, but not the daemon: it streams on
        // and keeps retrying the log (a disk remounted read-only must not stop a fleet's feed).
        let mut log_problem = None;
        let log = if self.no_log {
            None
        } else {
            log_problem = check_dir("--log-dir", &self.log_dir).err();
            range("--log-max-mib", self.log_max_mib, 1, 1 << 20)?;
            range("--log-keep", u64::from(self.log_keep), 0, 100_000)?;
            Some(LogSettings {
                dir: self.log_dir.clone(),
                max_bytes: self.log_max_mib << 20,
                max_age: parse_age(&self.log_max_age)?,
                keep: self.log_keep,
                compress: true,
            })
        };
        let nats = self.nats_settings(log.as_ref(), &mut warnings)?;
        let netns = match &self.netns {
            Some(spec) => Some(
                crate::snapshot::netns::find(spec)
                    .map_err(|e| ConfigError::Nats(format!("--netns {spec}: {e}")))?,
            ),
            None => None,
        };
        let interval = parse_age(&self.snapshot_interval)?
            .ok_or_else(|| ConfigError::Nats("--snapshot-interval must be more than 0".into()))?;
        let snapshots = nats
            .as_ref()
            .map(|_| crate::outputs::nats::snapshots::SnapshotSettings {
                interval,
                netns: netns.clone(),
            });
        let scope_netns = netns.map(|n| n.inode);
        let btf = (self.btf != "none").then(|| PathBuf::from(&self.btf));
        if let Some(path) = btf.as_deref().filter(|p| !p.exists()) {
            warnings.push(format!(
                "--btf {}: not found; V6ONLY and verdicts will be inferred from the calls seen",
                path.display()
            ));
        }
        Ok(DaemonConfig {
            socket: self.socket.clone(),
            socket_group,
            tcp,
            metrics,
            client_queue: self.client_queue,
            max_clients: self.max_clients,
            log,
            nats,
            snapshots,
            scope_netns,
            ring_bytes: self.ring_mib << 20,
            max_sockets: self.max_sockets,
            btf,
            exit_hook: self.exit_hook,
            state_map: self.state_map,
            warnings,
            log_problem,
        })
    }
}

impl DaemonOptions {
    fn metrics_settings(
        &self,
        warnings: &mut Vec<String>,
    ) -> Result<Option<MetricsSettings>, ConfigError> {
        let Some(text) = self.metrics.as_deref() else {
            if self.metrics_token_file.is_some() {
                return Err(ConfigError::MetricsOptionWithoutMetrics(
                    "--metrics-token-file",
                ));
            }
            if self.metrics_client_labels {
                return Err(ConfigError::MetricsOptionWithoutMetrics(
                    "--metrics-client-labels",
                ));
            }
            return Ok(None);
        };
        let addr = parse_address("--metrics", text)?;
        let token = self
            .metrics_token_file
            .as_deref()
            .map(|file| self.read_token("--metrics-token-file", file, warnings))
            .transpose()?;
        if token.is_none() && !addr.ip().to_canonical().is_loopback() {
            warnings.push(format!(
                "--metrics {addr}: other hosts can read the metrics without a token; give \
                 --metrics-token-file, or a loopback address"
            ));
        }
        Ok(Some(MetricsSettings {
            addr,
            token,
            client_labels: self.metrics_client_labels,
        }))
    }

    /// A token file: one line, only for its owner (unless --allow-open-token).
    fn read_token(
        &self,
        option: &'static str,
        path: &Path,
        warnings: &mut Vec<String>,
    ) -> Result<Token, ConfigError> {
        let fail = |reason: String| ConfigError::Token {
            option,
            path: path.to_owned(),
            reason,
        };
        let meta = fs::metadata(path).map_err(|e| fail(e.to_string()))?;
        if !meta.is_file() {
            return Err(fail("is not a regular file".into()));
        }
        if meta.len() > TOKEN_MAX as u64 {
            return Err(fail(format!(
                "longer than {TOKEN_MAX} bytes: is it the right file?"
            )));
        }
        let bytes = fs::read(path).map_err(|e| fail(e.to_string()))?;
        let token = bytes.trim_ascii();
        if token.is_empty() {
            return Err(fail("is empty".into()));
        }
        if token.contains(&b'\n') {
            return Err(fail("holds more than one line".into()));
        }
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            let open = format!("its group or other users can read or change it (mode {mode:04o})");
            if !self.allow_open_token {
                return Err(fail(format!(
                    "{open}: chmod 600 it, or give --allow-open-token"
                )));
            }
            warnings.push(format!(
                "{option} {}: {open}, allowed by --allow-open-token",
                path.display()
            ));
        }
        Ok(Token(token.to_vec()))
    }
}

fn range<T: PartialOrd + fmt::Display + Copy>(
    option: &'static str,
    value: T,
    min: T,
    max: T,
) -> Result<(), ConfigError> {
    if value < min || value > max {
        return Err(ConfigError::Range {
            option,
            value: value.to_string(),
            reason: "out of range",
        });
    }
    Ok(())
}

fn check_socket_path(path: &Path) -> Result<(), ConfigError> {
    if path.as_os_str().as_bytes().len() > SUN_PATH_MAX {
        return Err(ConfigError::SocketPathTooLong(path.to_owned()));
    }
    if path.file_name().is_none() {
        return Err(ConfigError::Dir {
            option: "--socket",
            path: path.to_owned(),
            reason: "names a directory, not a socket file".into(),
        });
    }
    match fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_socket() => {
            return Err(ConfigError::NotASocket(path.to_owned()))
        }
        _ => {}
    }
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    check_dir("--socket", parent)
}

/// A directory that exists and is writable, or that can be created: its nearest existing
/// ancestor is a writable directory.
fn check_dir(option: &'static str, dir: &Path) -> Result<(), ConfigError> {
    let fail = |path: &Path, reason: String| ConfigError::Dir {
        option,
        path: path.to_owned(),
        reason,
    };
    let mut existing = dir;
    loop {
        match fs::metadata(existing) {
            Ok(meta) if meta.is_dir() => break,
            Ok(_) => return Err(fail(existing, "is not a directory".into())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                existing = existing
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
            }
            Err(err) => return Err(fail(existing, err.to_string())),
        }
    }
    if !writable(existing) {
        let reason = if existing == dir {
            "directory is not writable".to_owned()
        } else {
            format!("cannot be created: {} is not writable", existing.display())
        };
        return Err(fail(dir, reason));
    }
    Ok(())
}

fn writable(path: &Path) -> bool {
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: a valid NUL-terminated path.
    unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) == 0 }
}

/// The gid of a group name (or a number that names an existing group).
pub fn lookup_group(name: &str) -> Result<u32, ConfigError> {
    let missing = || ConfigError::NoSuchGroup(name.to_owned());
    let c = CString::new(name).map_err(|_| missing())?;
    let mut group: libc::group = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::group = std::ptr::null_mut();
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: valid name, struct, buffer and result pointer, sizes as given.
    let rc = unsafe {
        libc::getgrnam_r(
            c.as_ptr(),
            &raw mut group,
            buf.as_mut_ptr(),
            buf.len(),
            &raw mut found,
        )
    };
    if rc == 0 && !found.is_null() {
        return Ok(group.gr_gid);
    }
    let gid: u32 = name.parse().map_err(|_| missing())?;
    // SAFETY: as above.
    let rc = unsafe {
        libc::getgrgid_r(
            gid,
            &raw mut group,
            buf.as_mut_ptr(),
            buf.len(),
            &raw mut found,
        )
    };
    if rc == 0 && !found.is_null() {
        Ok(gid)
    } else {
        Err(missing())
    }
}

/// PORT, :PORT, HOST:PORT or [V6]:PORT with a numeric host; no host means 127.0.0.1, so that
/// nothing is exposed beyond this machine unless asked for.
pub fn parse_address(option: &'static str, text: &str) -> Result<SocketAddr, ConfigError> {
    let bad = |reason| ConfigError::Address {
        option,
        text: text.to_owned(),
        reason,
    };
    let text = text.trim();
    let port_only = text.strip_prefix(':').unwrap_or(text);
    if let Ok(port) = port_only.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if text
        .rsplit_once(':')
        .is_some_and(|(host, _)| host.parse::<IpAddr>().is_err())
    {
        return Err(bad(
            "the host must be an IP address (names are not resolved)",
        ));
    }
    Err(bad("expected PORT, HOST:PORT or [IPv6]:PORT"))
}

/// `--log-max-age`: None for 0.
/// This host's name (gethostname), the default --host-id.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default()
}

pub fn parse_age(text: &str) -> Result<Option<Duration>, ConfigError> {
    let bad = || ConfigError::Age(text.to_owned());
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| bad())?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    let secs = number.checked_mul(scale).ok_or_else(bad)?;
    Ok((secs > 0).then(|| Duration::from_secs(secs)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_without_host_are_loopback() {
        let lo = |port| SocketAddr::from(([127, 0, 0, 1], port));
        assert_eq!(parse_address("--listen", "9000").unwrap(), lo(9000));
        assert_eq!(parse_address("--listen", ":9000").unwrap(), lo(9000));
        assert_eq!(
            parse_address("--listen", "0.0.0.0:9000").unwrap(),
            SocketAddr::from(([0, 0, 0, 0], 9000))
        );
        assert_eq!(
            parse_address("--metrics", "[::1]:9100")
                .unwrap()
                .to_string(),
            "[::1]:9100"
        );
        assert!(parse_address("--listen", "localhost:9000").is_err());
        assert!(parse_address("--listen", "1.2.3.4:99999").is_err());
        assert!(parse_address("--listen", "").is_err());
    }

    #[test]
    fn ages() {
        assert_eq!(parse_age("0").unwrap(), None);
        assert_eq!(parse_age("90").unwrap(), Some(Duration::from_secs(90)));
        assert_eq!(parse_age("15m").unwrap(), Some(Duration::from_mins(15)));
        assert_eq!(parse_age("7d").unwrap(), Some(Duration::from_hours(168)));
        assert!(parse_age("1w").is_err());
        assert!(parse_age("h").is_err());
        assert!(parse_age("99999999999999999999d").is_err());
    }

    #[test]
    fn groups() {
        assert_eq!(lookup_group("root").unwrap(), 0);
        assert_eq!(lookup_group("0").unwrap(), 0);
        assert!(lookup_group("no-such-group-here").is_err());
        assert!(lookup_group("a\0b").is_err());
    }
}
