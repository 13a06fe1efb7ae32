//! `dualstack daemon`: trace every process once and serve the events to many clients (see
//! `daemon`); `--check-config` only checks the options.

use clap::Args;

use std::path::PathBuf;

use dualstack::daemon::{
    self,
    config::{self, DaemonOptions},
};

use crate::cli::kernel_args::KernelArgs;

#[derive(Debug, Args)]
pub struct DaemonArgs {
    #[command(flatten)]
    pub options: DaemonFlags,
    /// Check the options (paths, group, addresses, token file) without loading anything, print
    /// "configuration ok" and exit 0; else print the reason and exit 1.
    #[arg(long)]
    pub check_config: bool,
}

/// `dualstack daemon` options on the command line.
#[derive(Clone, Debug, Args)]
pub struct DaemonFlags {
    /// Unix socket to serve events on (created mode 0600, or 0660 with --socket-group).
    #[arg(long, value_name = "PATH", default_value = config::DEFAULT_SOCKET)]
    pub socket: PathBuf,
    /// Let members of this group connect to the socket (mode 0660).
    #[arg(long, value_name = "NAME")]
    pub socket_group: Option<String>,
    /// Also serve clients over TCP on ADDR (PORT or HOST:PORT; no host means 127.0.0.1).
    /// Needs --token-file.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// File holding the token TCP clients must send in their first line.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Serve Prometheus metrics on http://ADDR/metrics (PORT or HOST:PORT; no host means
    /// 127.0.0.1).
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<String>,
    /// File holding the bearer token scrapers must send (`Authorization: Bearer TOKEN`); may
    /// be the --token-file.
    #[arg(long, value_name = "FILE")]
    pub metrics_token_file: Option<PathBuf>,
    /// Add per-client series to the metrics, labelled with each client's id, transport and
    /// peer (its pid, uid and gid, or its address).
    #[arg(long)]
    pub metrics_client_labels: bool,
    /// Accept a token file that its group or other users can read (else refused).
    #[arg(long)]
    pub allow_open_token: bool,
    /// Lines each client may have waiting; beyond that the client loses events (and is told).
    #[arg(long, value_name = "LINES", default_value_t = 4096)]
    pub client_queue: usize,
    /// Clients served at once; more are refused with an error line.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub max_clients: usize,
    /// Directory of the event log (every event, JSON Lines).
    #[arg(long, value_name = "DIR", default_value = config::DEFAULT_LOG_DIR)]
    pub log_dir: PathBuf,
    /// Rotate the event log file when it reaches this size, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    pub log_max_mib: u64,
    /// Rotate the event log file when it is this old: 30s, 15m, 12h, 7d, or 0 for never.
    #[arg(long, value_name = "AGE", default_value = "1d")]
    pub log_max_age: String,
    /// Rotated event log files to keep.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub log_keep: u32,
    /// Do not write the event log.
    #[arg(long)]
    pub no_log: bool,
    #[command(flatten)]
    pub kernel: KernelArgs,
    /// Publish the event log to NATS JetStream at URL[,URL...] (stream DUALSTACK_EVENTS,
    /// subjects dualstack.HOST.events.SYSCALL), from where it last stopped; needs the log.
    #[arg(long, value_name = "URL[,URL...]")]
    pub nats: Option<String>,
    /// File holding the NATS token.
    #[arg(long, value_name = "FILE")]
    pub nats_token_file: Option<PathBuf>,
    /// NATS credentials file (JWT and nkey seed).
    #[arg(long, value_name = "FILE")]
    pub nats_creds: Option<PathBuf>,
    /// CA certificate to verify the NATS servers' TLS with (TLS is then required).
    #[arg(long, value_name = "FILE")]
    pub nats_tls_ca: Option<PathBuf>,
    /// This host's name in NATS subjects and keys (default: the hostname).
    #[arg(long, value_name = "NAME")]
    pub host_id: Option<String>,
    /// Age after which JetStream drops events of the stream it creates: 30s, 15m, 12h, 7d, 0.
    #[arg(long, value_name = "AGE", default_value = "7d")]
    pub nats_max_age: String,
    /// Size at which JetStream drops the oldest events of the stream it creates, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 1024)]
    pub nats_max_mib: u64,
    /// Replicas of the stream it creates, in a JetStream cluster.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub nats_replicas: usize,
    /// Only this network namespace (a /run/netns name or an inode): only events of sockets
    /// that live in it, and only its listeners (a container, or one of many hosts on one
    /// machine).
    #[arg(long, value_name = "NAME|INODE")]
    pub netns: Option<String>,
    /// How often the listeners snapshot goes to NATS (besides within a second of a listen,
    /// bind or close): 30s, 5m...
    #[arg(long, value_name = "DURATION", default_value = "60s")]
    pub snapshot_interval: String,
}

impl From<DaemonFlags> for DaemonOptions {
    fn from(f: DaemonFlags) -> DaemonOptions {
        DaemonOptions {
            socket: f.socket,
            socket_group: f.socket_group,
            listen: f.listen,
            token_file: f.token_file,
            metrics: f.metrics,
            metrics_token_file: f.metrics_token_file,
            metrics_client_labels: f.metrics_client_labels,
            allow_open_token: f.allow_open_token,
            client_queue: f.client_queue,
            max_clients: f.max_clients,
            log_dir: f.log_dir,
            log_max_mib: f.log_max_mib,
            log_max_age: f.log_max_age,
            log_keep: f.log_keep,
            no_log: f.no_log,
            exit_hook: f.kernel.exit_hook(),
            state_map: f.kernel.state_map(),
            btf: f.kernel.btf,
            ring_mib: f.kernel.ring_mib,
            max_sockets: f.kernel.max_sockets,
            nats: f.nats,
            nats_token_file: f.nats_token_file,
            nats_creds: f.nats_creds,
            nats_tls_ca: f.nats_tls_ca,
            host_id: f.host_id,
            nats_max_age: f.nats_max_age,
            nats_max_mib: f.nats_max_mib,
            nats_replicas: f.nats_replicas,
            netns: f.netns,
            snapshot_interval: f.snapshot_interval,
        }
    }
}

/// Runs `dualstack daemon`; returns the process exit code.
pub async fn run(args: DaemonArgs) -> anyhow::Result<i32> {
    let config = DaemonOptions::from(args.options).check()?;
    if args.check_config {
        for warning in &config.warnings {
            eprintln!("dualstack: warning: {warning}");
        }
        if let Some(problem) = &config.log_problem {
            eprintln!("dualstack: {problem}");
            return Ok(1);
        }
        println!("configuration ok");
        return Ok(0);
    }
    daemon::run(config).await?;
    Ok(0)
}
