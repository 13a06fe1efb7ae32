//! The fleet output: the event log, and the host's listeners, in NATS JetStream.
//!
//! - Events: the publisher ([`publisher`]) sends every line of the event log, from a saved
//!   place ([`tail::Place`], in `DIR/nats.cursor`), to the stream `DUALSTACK_EVENTS` on
//!   `dualstack.<host>.events.<syscall>` (`...events.lost` for lost records), and saves the
//!   place each acknowledgement reaches. The log is the durable buffer: an outage, a restart
//!   or a kill -9 resumes at the saved place; only files the log pruned before they were sent
//!   are lost (counted, and told by a `lost` record). Each message's `Nats-Msg-Id` names the
//!   line's place in the log (host, file sequence, offset) and a hash of it, so a line sent
//!   again after a lost acknowledgement is stored once (JetStream's duplicate window).
//! - Listeners: [`snapshots`] puts the host's (or its netns's) listeners in the key-value
//!   bucket `dualstack_listeners` under the host id, for `dualstack audit`.
//! - Both run on a thread and runtime of their own: the hub, the clients and the log never
//!   wait for NATS.

pub mod publisher;
pub mod snapshots;
pub mod tail;

use std::{
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

/// How to reach NATS.
#[derive(Clone, Debug)]
pub struct NatsServer {
    /// Servers, tried in turn.
    pub urls: Vec<String>,
    pub auth: NatsAuth,
    /// CA certificate to verify TLS servers with.
    pub tls_ca: Option<PathBuf>,
}

/// What the daemon publishes, and where.
#[derive(Clone, Debug)]
pub struct NatsSettings {
    pub server: NatsServer,
    /// This host's name in subjects and keys (dots become `_` in subjects).
    pub host_id: String,
    /// The event log directory the publisher reads.
    pub log_dir: PathBuf,
    pub stream: StreamSettings,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NatsAuth {
    None,
    Token(String),
    Creds(PathBuf),
}

/// How the events stream is created when missing.
#[derive(Clone, Debug)]
pub struct StreamSettings {
    pub max_age: Duration,
    pub max_bytes: i64,
    /// Replicas in a JetStream cluster (1 on a single server).
    pub replicas: usize,
    /// How long JetStream remembers message ids to drop a resend.
    pub duplicate_window: Duration,
}

pub const STREAM: &str = "DUALSTACK_EVENTS";
pub const BUCKET: &str = "dualstack_listeners";

/// `host` as one subject token: NATS splits subjects at dots and gives `*` and `>` meaning.
pub fn subject_token(host: &str) -> String {
    host.chars()
        .map(|c| {
            if c == '.' || c == '*' || c == '>' || c.is_whitespace() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// Connects to `server` (its credentials and CA); the client reconnects by itself. A daemon
/// (`keep_trying`) waits for a server that is not up yet; a command fails at once.
pub async fn connect(
    server: &NatsServer,
    name: &str,
    keep_trying: bool,
    on_connect: impl Fn() + Send + Sync + 'static,
) -> Result<async_nats::Client, String> {
    let mut options = async_nats::ConnectOptions::new()
        .name(name)
        .connection_timeout(Duration::from_secs(5))
        .max_reconnects(None::<usize>);
    if keep_trying {
        options = options.retry_on_initial_connect();
    }
    let settings = server;
    options = match &settings.auth {
        NatsAuth::None => options,
        NatsAuth::Token(token) => options.token(token.clone()),
        NatsAuth::Creds(path) => options
            .credentials_file(path)
            .await
            .map_err(|e| format!("cannot read the NATS credentials {}: {e}", path.display()))?,
    };
    if let Some(ca) = &settings.tls_ca {
        options = options.add_root_certificates(ca.clone()).require_tls(true);
    }
    let on_connect = Arc::new(on_connect);
    let urls = settings.urls.join(",");
    // Told once per outage: the client tries again every few seconds, for as long as it lasts.
    let outage_told = Arc::new(AtomicBool::new(false));
    let callback_urls = urls.clone();
    options = options.event_callback(move |event| {
        let on_connect = Arc::clone(&on_connect);
        let outage_told = Arc::clone(&outage_told);
        let urls = callback_urls.clone();
        async move {
            match event {
                async_nats::Event::Connected => {
                    outage_told.store(false, Ordering::Relaxed);
                    on_connect();
                }
                async_nats::Event::Disconnected => {
                    outage_told.store(true, Ordering::Relaxed);
                    log::warn!("NATS: disconnected; reconnecting");
                }
                // The server refused the credentials: said once, the client keeps trying.
                async_nats::Event::ServerError(async_nats::ServerError::AuthorizationViolation) => {
                    if !outage_told.swap(true, Ordering::Relaxed) {
                        log::error!(
                            "NATS at {urls} refused the credentials (authorization violation): \
                             check --nats-token-file or --nats-creds; retrying"
                        );
                    }
                }
                // A connection attempt that failed.
                async_nats::Event::ClientError(async_nats::ClientError::Other(e))
                    if e.contains("authorization") =>
                {
                    if !outage_told.swap(true, Ordering::Relaxed) {
                        log::error!(
                            "NATS at {urls} refused the credentials ({e}): check \
                             --nats-token-file or --nats-creds; retrying"
                        );
                    }
                }
                async_nats::Event::ClientError(async_nats::ClientError::Other(e)) => {
                    if outage_told.swap(true, Ordering::Relaxed) {
                        log::debug!("NATS: cannot reach {urls} ({e})");
                    } else {
                        log::warn!(
                            "NATS: cannot reach {urls} ({e}); retrying until it answers; \
                             meanwhile events are logged, to be published then"
                        );
                    }
                }
                other => log::info!("NATS: {other}"),
            }
        }
    });
    // Each URL on its own: the client parses a string as one URL, commas and all.
    options
        .connect(settings.urls.as_slice())
        .await
        .map_err(|e| format!("cannot connect to NATS at {urls}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_url_of_a_list_is_a_server() {
        // Two closed loopback ports: connecting fails, not reading the list.
        let closed = || {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            format!("nats://127.0.0.1:{port}")
        };
        let server = NatsServer {
            urls: vec![closed(), closed()],
            auth: NatsAuth::None,
            tls_ca: None,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let error = runtime
            .block_on(connect(&server, "test", false, || {}))
            .expect_err("nothing listens there");
        assert!(error.starts_with("cannot connect to NATS at"), "{error}");
        assert!(!error.contains("invalid"), "{error}");
    }
}
