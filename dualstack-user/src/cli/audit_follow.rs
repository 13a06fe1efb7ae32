//! `dualstack audit --follow`: after the report, each violation that appears, as it appears,
//! with the event that caused it. The key-value bucket says when a host's listeners change;
//! the event stream says which call changed them.

use std::{
    collections::{BTreeSet, HashMap},
    io::Write as _,
    time::{Duration, SystemTime},
};

use anyhow::anyhow;
use async_nats::jetstream::{self, consumer};
use dualstack::{
    audit::{self, policy::Policy},
    outputs::nats::{self, NatsServer, BUCKET, STREAM},
    schema::{AuditLine, EventLine, HostSnapshot, Line, NewViolationLine},
};
use futures_util::StreamExt as _;

/// What names one violation: host, netns, protocol, family, address, port, rule.
type Key = (String, u64, String, String, String, u16, String);

/// The violations of a report.
pub fn violations(report: &audit::Report<'_>) -> BTreeSet<Key> {
    report
        .rows
        .iter()
        .flat_map(|row| row.violations.iter().map(move |v| key(row, &v.rule)))
        .collect()
}

fn key(row: &AuditLine<'_>, rule: &str) -> Key {
    (
        row.host.to_string(),
        row.netns,
        row.protocol.to_string(),
        row.family.to_string(),
        row.address.to_string(),
        row.port,
        rule.to_owned(),
    )
}

/// Watches until interrupted; returns the exit code (1 once any violation was seen).
#[allow(clippy::too_many_arguments)]
pub async fn run(
    server: &NatsServer,
    mut snapshots: Vec<HostSnapshot<'static>>,
    policy: &Policy,
    stale: Option<Duration>,
    hosts: Option<&glob::Pattern>,
    json: bool,
    mut seen: BTreeSet<Key>,
) -> anyhow::Result<i32> {
    let client = nats::connect(server, "dualstack audit --follow", false, || {})
        .await
        .map_err(|e| anyhow!(e))?;
    let js = jetstream::new(client);
    let store = js
        .get_key_value(BUCKET)
        .await
        .map_err(|e| anyhow!("no listeners bucket {BUCKET}: {e}"))?;
    let mut changes = store
        .watch_all()
        .await
        .map_err(|e| anyhow!("cannot watch {BUCKET}: {e}"))?;
    let mut events = match js.get_stream(STREAM).await {
        Ok(stream) => Some(
            stream
                .create_consumer(consumer::pull::OrderedConfig {
                    filter_subject: "dualstack.*.events.>".to_owned(),
                    deliver_policy: consumer::DeliverPolicy::New,
                    ..consumer::pull::OrderedConfig::default()
                })
                .await
                .map_err(|e| anyhow!("cannot read stream {STREAM}: {e}"))?
                .messages()
                .await
                .map_err(|e| anyhow!("cannot read stream {STREAM}: {e}"))?,
        ),
        Err(_) => None,
    };
    // The last listen, bind or close of each (host, port).
    let mut last_event: HashMap<(String, u16), EventLine<'static>> = HashMap::new();
    let mut violated = !seen.is_empty();
    loop {
        tokio::select! {
            entry = changes.next() => {
                let Some(entry) = entry else { return Ok(i32::from(violated)) };
                let entry = entry.map_err(|e| anyhow!("watching {BUCKET}: {e}"))?;
                if hosts.is_some_and(|g| !g.matches(&entry.key)) {
                    continue;
                }
                let Ok(snapshot) = serde_json::from_slice::<HostSnapshot<'static>>(&entry.value)
                else {
                    continue;
                };
                snapshots.retain(|s| s.host != snapshot.host);
                snapshots.push(snapshot);
                let report = audit::audit(&snapshots, policy, SystemTime::now(), stale);
                let now = violations(&report);
                for row in &report.rows {
                    for v in &row.violations {
                        if seen.contains(&key(row, &v.rule)) {
                            continue;
                        }
                        violated = true;
                        let event = last_event.get(&(row.host.to_string(), row.port)).cloned();
                        print_new(row, v, event, json)?;
                    }
                }
                seen = now;
            }
            message = async {
                match events.as_mut() {
                    Some(messages) => messages.next().await,
                    None => std::future::pending().await,
                }
            } => {
                let Some(Ok(message)) = message else { continue };
                let host = nats_host(&message.subject);
                if let Ok(Line::Event(event)) = Line::parse(&message.payload) {
                    if let Some(port) = event.port.or(event.socket.as_ref().and_then(|s| s.bound_port)) {
                        last_event.insert((host, port), event);
                    }
                }
            }
        }
    }
}

/// The host of `dualstack.<host>.events.<kind>`.
fn nats_host(subject: &str) -> String {
    subject.split('.').nth(1).unwrap_or_default().to_owned()
}

fn print_new(
    row: &AuditLine<'_>,
    violation: &dualstack::schema::ViolationLine<'_>,
    event: Option<EventLine<'static>>,
    json: bool,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        {
            let line = NewViolationLine {
                listener: row.clone(),
                violation: violation.clone(),
                event,
            };
            serde_json::to_writer(&mut out, &line)?;
            out.write_all(b"\n")?;
        }
    } else {
        {
            writeln!(
                out,
                "NEW {} {} {} {}:{} {}: {}",
                row.host,
                row.protocol,
                row.family,
                row.address,
                row.port,
                violation.rule,
                violation.sentence
            )?;
            if let Some(event) = event {
                writeln!(out, "    after [pid {}] {}", event.tid, event.strace)?;
            }
        }
    }
    out.flush()?;
    Ok(())
}
