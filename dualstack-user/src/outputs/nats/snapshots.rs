//! The host's listeners in the key-value bucket `dualstack_listeners`, under the host id: at
//! start, every interval, and within a second of a call that may change a listener (a listen,
//! a bind, a close), so that `audit` sees a new listener within seconds.

use std::{
    borrow::Cow,
    sync::{
        atomic::{AtomicBool, Ordering::Relaxed},
        Arc,
    },
    time::{Duration, Instant, SystemTime},
};

use async_nats::jetstream::{self, kv};
use bytes::Bytes;

use super::{NatsSettings, BUCKET};
use crate::{
    clock,
    format::listeners_json::listener_line,
    schema::HostSnapshot,
    snapshot::{self, netns::Netns, Request},
};

/// How often the change flag is looked at.
const CHECK: Duration = Duration::from_secs(1);

/// What to snapshot and how often.
#[derive(Clone, Debug)]
pub struct SnapshotSettings {
    pub interval: Duration,
    /// Only this netns (else every netns of the host).
    pub netns: Option<Netns>,
}

/// Set by the daemon when a call may have changed a listener.
#[derive(Clone, Debug, Default)]
pub struct ListenersChanged(Arc<AtomicBool>);

impl ListenersChanged {
    pub fn set(&self) {
        self.0.store(true, Relaxed);
    }

    fn take(&self) -> bool {
        self.0.swap(false, Relaxed)
    }
}

/// Puts snapshots into the bucket until the process ends.
pub async fn run(
    js: jetstream::Context,
    settings: NatsSettings,
    snapshots: SnapshotSettings,
    changed: ListenersChanged,
) {
    let store = loop {
        match bucket(&js, settings.stream.replicas).await {
            Ok(store) => break store,
            Err(e) => {
                log::warn!("NATS: cannot create or find bucket {BUCKET}: {e}; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    };
    let key = settings.host_id.clone();
    let mut last = None::<Instant>;
    loop {
        let due = last.is_none_or(|t| t.elapsed() >= snapshots.interval);
        if due || changed.take() {
            last = Some(Instant::now());
            let value = take(&settings.host_id, &snapshots).await;
            if let Err(e) = store.put(&key, value).await {
                log::warn!("NATS: cannot store the listeners snapshot: {e}");
                // Try again at the next check.
                changed.set();
            }
        }
        tokio::time::sleep(CHECK).await;
    }
}

async fn bucket(js: &jetstream::Context, replicas: usize) -> Result<kv::Store, String> {
    if let Ok(store) = js.get_key_value(BUCKET).await {
        return Ok(store);
    }
    // The bucket's stream, made as a key-value bucket's is made. async-nats's own
    // `create_key_value` first reads the account's limits in a form nats-server 2.9 does not
    // answer in, so the stream is created here and then opened as a bucket.
    js.get_or_create_stream(jetstream::stream::Config {
        name: format!("KV_{BUCKET}"),
        description: Some("dualstack: each host's listening sockets, by host id".to_owned()),
        subjects: vec![format!("$KV.{BUCKET}.>")],
        max_messages_per_subject: 1,
        discard: jetstream::stream::DiscardPolicy::New,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        num_replicas: replicas,
        ..jetstream::stream::Config::default()
    })
    .await
    .map_err(|e| e.to_string())?;
    js.get_key_value(BUCKET).await.map_err(|e| e.to_string())
}

/// The snapshot as JSON (read on the blocking pool: it enters namespaces and scans /proc).
async fn take(host: &str, settings: &SnapshotSettings) -> Bytes {
    let request = Request {
        netns: settings.netns.clone(),
        port: None,
    };
    let scanned = tokio::task::spawn_blocking(move || snapshot::scan(&request))
        .await
        .unwrap_or_default();
    for (netns, e) in &scanned.failed {
        log::warn!("listeners snapshot: network namespace {netns} skipped: {e}");
    }
    let line = HostSnapshot {
        host: Cow::Borrowed(host),
        netns: settings
            .netns
            .as_ref()
            .map(|n| Cow::Owned(n.name.clone().unwrap_or_else(|| n.inode.to_string()))),
        taken: Cow::Owned(clock::rfc3339(SystemTime::now())),
        interval_s: settings.interval.as_secs(),
        listeners: scanned
            .listeners
            .iter()
            .map(|l| listener_line(l, None))
            .collect(),
    };
    Bytes::from(serde_json::to_vec(&line).unwrap_or_default())
}
