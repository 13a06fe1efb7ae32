//! `dualstack stream --nats`: the fleet's events from the JetStream stream the daemons publish
//! to, filtered as `trace` filters (`--pid` keeps descendants, known from each host's `ppid`),
//! each line led by its host.

use std::{
    collections::HashMap,
    io::{self, Write as _},
    time::SystemTime,
};

use anyhow::{anyhow, Context as _};
use async_nats::jetstream::{self, consumer};
use dualstack::{
    filter::{Facts, Filter},
    format::table,
    outputs::nats::{self, STREAM},
    pipeline::ProcessTree,
    schema::{EventLine, Line},
};
use futures_util::StreamExt as _;

use crate::cli::audit::nats_server;

/// What `stream --nats` was asked.
pub struct FleetStream<'a> {
    pub urls: &'a str,
    pub token_file: Option<&'a std::path::Path>,
    pub creds: Option<&'a std::path::Path>,
    pub tls_ca: Option<&'a std::path::Path>,
    pub hosts: Option<&'a str>,
    pub since: Option<&'a str>,
    pub filter: Filter,
    pub format: FleetFormat,
}

/// How each event is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FleetFormat {
    Strace,
    Json,
    Table,
}

/// Prints the fleet's events until interrupted; returns the exit code.
pub async fn run(args: FleetStream<'_>) -> anyhow::Result<i32> {
    let filter = &args.filter;
    let hosts = args
        .hosts
        .map(|g| glob::Pattern::new(g).map_err(|e| anyhow!("--host {g:?}: {e}")))
        .transpose()?;
    let server = nats_server(args.urls, args.token_file, args.creds, args.tls_ca)?;
    let client = nats::connect(&server, "dualstack stream", false, || {})
        .await
        .map_err(|e| anyhow!(e))?;
    let js = jetstream::new(client);
    let stream = js.get_stream(STREAM).await.map_err(|e| {
        anyhow!("no stream {STREAM} in NATS ({e}): is a daemon publishing with --nats?")
    })?;
    let consumer = stream
        .create_consumer(consumer::pull::OrderedConfig {
            filter_subject: "dualstack.*.events.>".to_owned(),
            deliver_policy: deliver_policy(args.since)?,
            ..consumer::pull::OrderedConfig::default()
        })
        .await
        .map_err(|e| anyhow!("cannot read stream {STREAM}: {e}"))?;
    let mut messages = consumer
        .messages()
        .await
        .map_err(|e| anyhow!("cannot read stream {STREAM}: {e}"))?;
    let mut trees: HashMap<String, ProcessTree> = HashMap::new();
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    if args.format == FleetFormat::Table {
        writeln!(out, "{:<16} {}", "HOST", table::header())?;
    }
    while let Some(message) = messages.next().await {
        let message = message.map_err(|e| anyhow!("reading stream {STREAM}: {e}"))?;
        // dualstack.<host>.events.<kind>
        let host = message
            .subject
            .split('.')
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        if hosts.as_ref().is_some_and(|g| !g.matches(&host)) {
            continue;
        }
        let shown = match Line::parse(&message.payload) {
            Ok(Line::Event(event)) => {
                let tree = trees.entry(host.clone()).or_insert_with(ProcessTree::told);
                if !keeps(filter, tree, &event) {
                    continue;
                }
                render(&host, &event, &message.payload, args.format)
            }
            Ok(Line::Lost(lost)) => {
                let _ = out.flush();
                eprintln!(
                    "dualstack: {host}: {} events lost: {}",
                    lost.count,
                    lost.reason.as_deref().unwrap_or("unknown reason")
                );
                continue;
            }
            Ok(Line::Error(_)) | Err(_) => continue,
        };
        if let Err(e) = writeln!(out, "{shown}") {
            if e.kind() == io::ErrorKind::BrokenPipe {
                return Ok(0);
            }
            return Err(e).context("cannot write to stdout");
        }
        // A stream is watched as it happens: each line is shown at once.
        out.flush()?;
    }
    Ok(0)
}

/// `--since`: from a while ago, from the start (`all`), or from now.
fn deliver_policy(since: Option<&str>) -> anyhow::Result<consumer::DeliverPolicy> {
    let Some(since) = since else {
        return Ok(consumer::DeliverPolicy::New);
    };
    if since == "all" {
        return Ok(consumer::DeliverPolicy::All);
    }
    let Ok(Some(ago)) = dualstack::daemon::config::parse_age(since) else {
        return Err(anyhow!(
            "--since {since:?}: expected e.g. 90s, 5m, 2h or all"
        ));
    };
    let start = SystemTime::now() - ago;
    let secs = start
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let start_time = time::OffsetDateTime::from_unix_timestamp(i64::try_from(secs)?)
        .map_err(|e| anyhow!("--since {since:?}: {e}"))?;
    Ok(consumer::DeliverPolicy::ByStartTime { start_time })
}

/// The one filter, with `pid` keeping descendants as far as this host's events told them.
fn keeps(filter: &Filter, tree: &mut ProcessTree, event: &EventLine<'_>) -> bool {
    if let Some(ppid) = event.ppid {
        tree.learn(event.pid, ppid);
    }
    let ancestors = if filter.pids.is_empty() {
        Vec::new()
    } else {
        tree.ancestors(event.pid)
    };
    filter.matches(&Facts::of_line(event, &ancestors))
}

fn render(host: &str, event: &EventLine<'_>, raw: &[u8], format: FleetFormat) -> String {
    match format {
        FleetFormat::Strace => format!("{host} [pid {:>5}] {}", event.tid, event.strace),
        FleetFormat::Table => format!("{host:<16} {}", table::row(event)),
        FleetFormat::Json => {
            // The logged line with its host first: `{"type":"event","host":...`.
            let text = String::from_utf8_lossy(raw);
            match text.strip_prefix(r#"{"type":"event","#) {
                Some(rest) => format!(
                    r#"{{"type":"event","host":{},{rest}"#,
                    serde_json::to_string(host).unwrap_or_default()
                ),
                None => text.into_owned(),
            }
        }
    }
}
