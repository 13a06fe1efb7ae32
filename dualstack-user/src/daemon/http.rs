//! A tiny HTTP/1.1 server for `GET /metrics`: one request per connection, then close.
//!
//! Scrapers send one short GET; anything else gets a plain error status. Anyone who can reach
//! the port can connect, so requests are read with a size cap and a short deadline, and only a
//! few are served at once: more are answered 503 and closed at once, so that idle connections
//! cannot use up the descriptors the daemon needs for its clients. With a token, every request
//! must carry it as `Authorization: Bearer TOKEN` (else 401).

use std::{
    io::Write as _,
    sync::{atomic::Ordering::Relaxed, Arc},
    time::Duration,
};

use log::{debug, warn};
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpListener, TcpStream},
    sync::Semaphore,
};

use crate::daemon::{config::MetricsSettings, metrics::Metrics, protocol::constant_time_eq};

const MAX_REQUEST: usize = 8 * 1024;
/// A scraper sends its request at once.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);
/// The response is a few KiB, but its reader may be slow.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);
/// Requests served at once.
const MAX_CONCURRENT: usize = 32;
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\
                      Connection: close\r\n\r\n";

/// Serves `/metrics` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>, settings: MetricsSettings) {
    let settings = Arc::new(settings);
    let places = Arc::new(Semaphore::new(MAX_CONCURRENT));
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let Ok(place) = Arc::clone(&places).try_acquire_owned() else {
                    debug!("metrics request from {peer}: {MAX_CONCURRENT} already in progress");
                    // Best effort and without waiting: a new socket's buffer takes these few
                    // bytes (written on the plain socket, whose readiness is known).
                    if let Ok(stream) = stream.into_std() {
                        let _ = (&stream).write(BUSY);
                    }
                    continue;
                };
                let metrics = Arc::clone(&metrics);
                let settings = Arc::clone(&settings);
                tokio::spawn(async move {
                    let _place = place;
                    if let Err(err) = answer(stream, &metrics, &settings).await {
                        debug!("metrics request from {peer}: {err}");
                    }
                });
            }
            Err(err) => {
                warn!("metrics: accept failed: {err}");
                // Out of descriptors, most likely: let some close before trying again.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn answer(
    mut stream: TcpStream,
    metrics: &Metrics,
    settings: &MetricsSettings,
) -> std::io::Result<()> {
    let head = tokio::time::timeout(REQUEST_TIMEOUT, read_head(&mut stream))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "request timed out"))??;
    let mut route = route(&head);
    if route != Route::Bad {
        if let Some(token) = &settings.token {
            if !bearer(&head).is_some_and(|sent| constant_time_eq(sent, &token.0)) {
                metrics.metrics_auth_failures.fetch_add(1, Relaxed);
                route = Route::Unauthorized;
            }
        }
    }
    let (status, body) = match route {
        Route::Metrics => ("200 OK", metrics.render(settings.client_labels)),
        Route::NotFound => ("404 Not Found", "not found: try /metrics\n".to_owned()),
        Route::BadMethod => ("405 Method Not Allowed", "only GET\n".to_owned()),
        Route::Bad => ("400 Bad Request", "bad request\n".to_owned()),
        Route::Unauthorized => (
            "401 Unauthorized",
            "a bearer token is needed: Authorization: Bearer TOKEN\n".to_owned(),
        ),
    };
    let challenge = if route == Route::Unauthorized {
        "WWW-Authenticate: Bearer realm=\"dualstack\"\r\n"
    } else {
        ""
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
         {challenge}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tokio::time::timeout(RESPONSE_TIMEOUT, async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    })
    .await
    .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "response timed out"))?
}

/// The request head, up to its blank line (or whatever came before the cap or EOF).
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_REQUEST {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..n]);
    }
    Ok(head)
}

#[derive(Debug, PartialEq, Eq)]
enum Route {
    Metrics,
    NotFound,
    BadMethod,
    Bad,
    Unauthorized,
}

/// The token of the request's `Authorization: Bearer TOKEN` header, if it has one.
fn bearer(head: &[u8]) -> Option<&[u8]> {
    head.split(|&b| b == b'\n').skip(1).find_map(|line| {
        let colon = line.iter().position(|&b| b == b':')?;
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if !name.trim_ascii().eq_ignore_ascii_case(b"authorization") {
            return None;
        }
        let (scheme, token) = value.split_at(value.iter().position(|&b| b == b' ')?);
        scheme
            .eq_ignore_ascii_case(b"bearer")
            .then(|| token.trim_ascii())
    })
}

fn route(head: &[u8]) -> Route {
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let Ok(line) = std::str::from_utf8(line) else {
        return Route::Bad;
    };
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Route::Bad;
    };
    if !version.starts_with("HTTP/1.") {
        return Route::Bad;
    }
    if method != "GET" {
        return Route::BadMethod;
    }
    let path = target.split('?').next().unwrap_or(target);
    if path == "/metrics" {
        Route::Metrics
    } else {
        Route::NotFound
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    /// Reads until the server closes; what it sent.
    async fn answer_of(stream: &mut TcpStream) -> String {
        let mut got = Vec::new();
        let _ = stream.read_to_end(&mut got).await;
        String::from_utf8_lossy(&got).into_owned()
    }

    #[test]
    fn idle_connections_cannot_pile_up() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = tokio::spawn(serve(listener, Arc::new(Metrics::default()), open(addr)));
            let start = Instant::now();
            let mut idle = Vec::new();
            for _ in 0..MAX_CONCURRENT + 8 {
                idle.push(TcpStream::connect(addr).await.unwrap());
            }
            // The ones past the limit are told so at once.
            for stream in &mut idle[MAX_CONCURRENT..] {
                assert!(answer_of(stream).await.starts_with("HTTP/1.1 503"));
            }
            assert!(start.elapsed() < REQUEST_TIMEOUT);
            // The others are closed after the request deadline, and a scrape gets through.
            for stream in &mut idle[..MAX_CONCURRENT] {
                assert_eq!(answer_of(stream).await, "");
            }
            assert!(start.elapsed() < REQUEST_TIMEOUT * 2);
            let mut scrape = TcpStream::connect(addr).await.unwrap();
            scrape
                .write_all(b"GET /metrics HTTP/1.1\r\n\r\n")
                .await
                .unwrap();
            assert!(answer_of(&mut scrape).await.starts_with("HTTP/1.1 200 OK"));
            server.abort();
        });
    }

    fn open(addr: std::net::SocketAddr) -> MetricsSettings {
        MetricsSettings {
            addr,
            token: None,
            client_labels: false,
        }
    }

    #[test]
    fn bearer_tokens() {
        let head = b"GET /metrics HTTP/1.1\r\nHost: x\r\nauthorization:  bearer  s3cret \r\n\r\n";
        assert_eq!(bearer(head), Some(&b"s3cret"[..]));
        assert_eq!(bearer(b"GET /metrics HTTP/1.1\r\n\r\n"), None);
        assert_eq!(
            bearer(b"GET /metrics HTTP/1.1\r\nAuthorization: Basic eDp5\r\n\r\n"),
            None
        );
        assert_eq!(bearer(b"Authorization: Bearer x\r\n"), None, "not a header");
    }

    #[test]
    fn routes() {
        assert_eq!(
            route(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Route::Metrics
        );
        assert_eq!(route(b"GET /metrics?x=1 HTTP/1.0\r\n\r\n"), Route::Metrics);
        assert_eq!(route(b"GET / HTTP/1.1\r\n\r\n"), Route::NotFound);
        assert_eq!(route(b"POST /metrics HTTP/1.1\r\n\r\n"), Route::BadMethod);
        assert_eq!(route(b"hello\r\n"), Route::Bad);
        assert_eq!(route(b"\xff\xff"), Route::Bad);
        assert_eq!(route(b""), Route::Bad);
    }
}
