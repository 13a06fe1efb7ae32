//! `dualstack audit`: the fleet's listeners, from each host's latest snapshot in NATS, judged
//! by a policy. Exit status 0 with no violation, 1 with any, 2 on an error.

use std::{
    io::Write as _,
    path::PathBuf,
    time::{Duration, SystemTime},
};

use anyhow::{anyhow, Context as _};
use clap::Args;
use dualstack::{
    audit::{self, policy::Policy, render},
    outputs::nats::{self, NatsAuth, NatsServer, BUCKET},
    schema::HostSnapshot,
};
use futures_util::StreamExt as _;

/// Exit status when a rule is broken.
const EXIT_VIOLATION: i32 = 1;
/// Exit status on an error (no NATS, a bad policy).
const EXIT_ERROR: i32 = 2;

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub nats: NatsArgs,
    /// Policy file (TOML rules); without it, the listeners are listed and nothing is judged.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Output format.
    #[arg(short = 'f', long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Only hosts whose id matches this glob (`web-*`).
    #[arg(long, value_name = "GLOB")]
    pub host: Option<String>,
    /// A snapshot older than this is stale (default: 3 of its host's intervals): 90s, 5m...
    #[arg(long, value_name = "DURATION")]
    pub stale: Option<String>,
    /// Keep watching: print each new violation as it appears, with the event that caused it.
    #[arg(long)]
    pub follow: bool,
}

/// Where NATS is, for the commands that read the fleet.
#[derive(Debug, Args)]
pub struct NatsArgs {
    /// NATS server(s): URL[,URL...].
    #[arg(long, value_name = "URL[,URL...]", required = true)]
    pub nats: String,
    /// File holding the NATS token.
    #[arg(long, value_name = "FILE", conflicts_with = "nats_creds")]
    pub nats_token_file: Option<PathBuf>,
    /// NATS credentials file (JWT and nkey seed).
    #[arg(long, value_name = "FILE")]
    pub nats_creds: Option<PathBuf>,
    /// CA certificate to verify the NATS servers' TLS with.
    #[arg(long, value_name = "FILE")]
    pub nats_tls_ca: Option<PathBuf>,
}

impl NatsArgs {
    pub fn server(&self) -> anyhow::Result<NatsServer> {
        nats_server(
            &self.nats,
            self.nats_token_file.as_deref(),
            self.nats_creds.as_deref(),
            self.nats_tls_ca.as_deref(),
        )
    }
}

/// Where NATS is and how to prove who we are, from the command line's options.
pub fn nats_server(
    urls: &str,
    token_file: Option<&std::path::Path>,
    creds: Option<&std::path::Path>,
    tls_ca: Option<&std::path::Path>,
) -> anyhow::Result<NatsServer> {
    let auth = match (token_file, creds) {
        (Some(file), _) => NatsAuth::Token(
            std::fs::read_to_string(file)
                .with_context(|| format!("cannot read the token file {}", file.display()))?
                .trim()
                .to_owned(),
        ),
        (None, Some(creds)) => NatsAuth::Creds(creds.to_owned()),
        (None, None) => NatsAuth::None,
    };
    Ok(NatsServer {
        urls: urls.split(',').map(|u| u.trim().to_owned()).collect(),
        auth,
        tls_ca: tls_ca.map(std::path::Path::to_owned),
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns, violations under their listener.
    Table,
    /// One JSON object per listener, with its `violations`.
    Json,
}

/// Runs `dualstack audit`; returns the process exit code.
pub async fn run(args: AuditArgs) -> anyhow::Result<i32> {
    match audit_once(&args).await {
        Ok(code) => Ok(code),
        Err(err) => {
            eprintln!("dualstack: {err:#}");
            Ok(EXIT_ERROR)
        }
    }
}

async fn audit_once(args: &AuditArgs) -> anyhow::Result<i32> {
    let policy = match &args.policy {
        Some(path) => Policy::load(path).map_err(|e| anyhow!("{e}"))?,
        None => Policy::default(),
    };
    let stale = args.stale.as_deref().map(parse_duration).transpose()?;
    let hosts = match &args.host {
        Some(glob) => Some(glob::Pattern::new(glob).map_err(|e| anyhow!("--host {glob:?}: {e}"))?),
        None => None,
    };
    let server = args.nats.server()?;
    let snapshots = fetch(&server, hosts.as_ref()).await?;
    let report = audit::audit(&snapshots, &policy, SystemTime::now(), stale);
    if args.follow {
        print_report(&report, args.format)?;
        let seen = crate::cli::audit_follow::violations(&report);
        drop(report);
        return crate::cli::audit_follow::run(
            &server,
            snapshots,
            &policy,
            stale,
            hosts.as_ref(),
            args.format == Format::Json,
            seen,
        )
        .await;
    }
    print_report(&report, args.format)?;
    Ok(if report.has_violations() {
        EXIT_VIOLATION
    } else {
        0
    })
}

fn print_report(report: &audit::Report<'_>, format: Format) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Table => {
            let mut text = String::new();
            render::write_table(&mut text, report);
            out.write_all(text.as_bytes())?;
        }
        Format::Json => {
            let mut bytes = Vec::new();
            render::write_json(&mut bytes, report);
            out.write_all(&bytes)?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Every host's latest snapshot from the bucket (those `hosts` matches).
pub async fn fetch(
    server: &NatsServer,
    hosts: Option<&glob::Pattern>,
) -> anyhow::Result<Vec<HostSnapshot<'static>>> {
    let client = nats::connect(server, "dualstack audit", false, || {})
        .await
        .map_err(|e| anyhow!(e))?;
    let js = async_nats::jetstream::new(client);
    let store = js.get_key_value(BUCKET).await.map_err(|e| {
        anyhow!("no listeners bucket {BUCKET} in NATS ({e}): is a daemon publishing with --nats?")
    })?;
    let mut keys = store
        .keys()
        .await
        .map_err(|e| anyhow!("cannot list the hosts in {BUCKET}: {e}"))?;
    let mut snapshots = Vec::new();
    while let Some(key) = keys.next().await {
        let key = key.map_err(|e| anyhow!("cannot list the hosts in {BUCKET}: {e}"))?;
        if hosts.is_some_and(|glob| !glob.matches(&key)) {
            continue;
        }
        let Some(value) = store
            .get(&key)
            .await
            .map_err(|e| anyhow!("cannot read host {key}: {e}"))?
        else {
            continue;
        };
        match serde_json::from_slice::<HostSnapshot<'static>>(&value) {
            Ok(snapshot) => snapshots.push(snapshot),
            Err(e) => {
                eprintln!("dualstack: host {key}: its snapshot cannot be read ({e}); skipped");
            }
        }
    }
    snapshots.sort_by(|a, b| a.host.cmp(&b.host));
    Ok(snapshots)
}

/// `90s`, `5m`, `2h`, `1d`.
fn parse_duration(text: &str) -> anyhow::Result<Duration> {
    match dualstack::daemon::config::parse_age(text) {
        Ok(Some(d)) => Ok(d),
        _ => Err(anyhow!("bad duration {text:?}: expected e.g. 90s, 5m, 2h")),
    }
}
