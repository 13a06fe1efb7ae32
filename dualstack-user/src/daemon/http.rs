//! `GET /metrics` over HTTP/1.1 (hyper, on the daemon's runtime): one request per connection,
//! then close.
//!
//! Scrapers send one short GET; anything else gets a plain error status. Anyone who can reach
//! the port can connect, so the request head is read with a size cap and a short deadline, and
//! only a few connections are served at once: more are answered 503 and closed at once, so that
//! idle connections cannot use up the descriptors the daemon needs for its clients. With a
//! token, every request must carry it as `Authorization: Bearer TOKEN` (else 401).

use std::{convert::Infallible, io::Write as _, sync::Arc, time::Duration};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{
    header::{self, HeaderMap, HeaderValue},
    server::conn::http1,
    service::service_fn,
    Method, Request, Response, StatusCode,
};
use hyper_util::rt::{TokioIo, TokioTimer};
use log::{debug, warn};
use tokio::{net::TcpListener, sync::Semaphore};

use crate::daemon::{config::MetricsSettings, protocol::constant_time_eq};
use crate::outputs::metrics::{Metrics, CONTENT_TYPE};

/// The request head's cap (hyper's smallest read buffer); past it the answer is 431.
const MAX_REQUEST: usize = 8 * 1024;
/// A scraper sends its request at once.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);
/// The response is a few KiB, but its reader may be slow.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once.
const MAX_CONCURRENT: usize = 32;
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\
                      Connection: close\r\n\r\n";
const TEXT: &str = "text/plain; charset=utf-8";

/// Serves `/metrics` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>, settings: MetricsSettings) {
    let settings = Arc::new(settings);
    let places = Arc::new(Semaphore::new(MAX_CONCURRENT));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(REQUEST_TIMEOUT)
        .max_buf_size(MAX_REQUEST)
        .keep_alive(false);
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
                let (metrics, settings) = (Arc::clone(&metrics), Arc::clone(&settings));
                let service = service_fn(move |request: Request<_>| {
                    let response = answer(&request, &metrics, &settings);
                    async move { Ok::<_, Infallible>(response) }
                });
                let connection = http.serve_connection(TokioIo::new(stream), service);
                tokio::spawn(async move {
                    let _place = place;
                    // The head's own deadline is hyper's; this one bounds the whole exchange.
                    match tokio::time::timeout(REQUEST_TIMEOUT + RESPONSE_TIMEOUT, connection).await
                    {
                        Ok(Ok(())) => {}
                        Ok(Err(err)) => debug!("metrics request from {peer}: {err}"),
                        Err(_) => debug!("metrics request from {peer}: response timed out"),
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

/// The response to one request whose head hyper has parsed (it answers malformed ones 400).
fn answer<B>(
    request: &Request<B>,
    metrics: &Metrics,
    settings: &MetricsSettings,
) -> Response<Full<Bytes>> {
    if let Some(token) = &settings.token {
        if !bearer(request.headers()).is_some_and(|sent| constant_time_eq(sent, &token.0)) {
            metrics.metrics_auth_failures.inc();
            let mut response = reply(
                StatusCode::UNAUTHORIZED,
                TEXT,
                "a bearer token is needed: Authorization: Bearer TOKEN\n",
            );
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"dualstack\""),
            );
            return response;
        }
    }
    if request.method() != Method::GET {
        let mut response = reply(StatusCode::METHOD_NOT_ALLOWED, TEXT, "only GET\n");
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET"));
        response
    } else if request.uri().path() == "/metrics" {
        reply(
            StatusCode::OK,
            CONTENT_TYPE,
            metrics.render(settings.client_labels),
        )
    } else {
        reply(StatusCode::NOT_FOUND, TEXT, "not found: try /metrics\n")
    }
}

fn reply(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// The token of the request's first `Authorization: Bearer TOKEN` header, if it has one.
fn bearer(headers: &HeaderMap) -> Option<&[u8]> {
    headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .find_map(|value| {
            let value = value.as_bytes().trim_ascii();
            let (scheme, token) = value.split_at(value.iter().position(|&b| b == b' ')?);
            scheme
                .eq_ignore_ascii_case(b"bearer")
                .then(|| token.trim_ascii())
        })
}

#[cfg(test)]
mod tests {
    use std::{net::SocketAddr, time::Instant};

    use tokio::{
        io::{AsyncReadExt as _, AsyncWriteExt as _},
        net::TcpStream,
    };

    use super::*;
    use crate::daemon::config::Token;

    /// Reads until the server closes; what it sent.
    async fn answer_of(stream: &mut TcpStream) -> String {
        let mut got = Vec::new();
        let _ = stream.read_to_end(&mut got).await;
        String::from_utf8_lossy(&got).into_owned()
    }

    /// Sends `request` on a new connection; the whole answer.
    async fn exchange(addr: SocketAddr, request: &[u8]) -> String {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(request).await.unwrap();
        answer_of(&mut stream).await
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// A server on a loopback port; its address and task.
    async fn server(
        metrics: Arc<Metrics>,
        token: Option<&str>,
    ) -> (SocketAddr, tokio::task::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let settings = MetricsSettings {
            addr,
            token: token.map(|t| Token(t.as_bytes().to_vec())),
            client_labels: false,
        };
        (addr, tokio::spawn(serve(listener, metrics, settings)))
    }

    #[test]
    fn idle_connections_cannot_pile_up() {
        runtime().block_on(async {
            let (addr, server) = server(Arc::default(), None).await;
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
            // The others, which send nothing, are closed at the request deadline and not before,
            // without an answer; then a scrape gets through.
            for stream in &mut idle[..MAX_CONCURRENT] {
                assert_eq!(answer_of(stream).await, "");
                assert!(start.elapsed() >= REQUEST_TIMEOUT);
            }
            assert!(start.elapsed() < REQUEST_TIMEOUT * 2);
            let scrape = exchange(addr, b"GET /metrics HTTP/1.1\r\n\r\n").await;
            assert!(scrape.starts_with("HTTP/1.1 200 OK"), "{scrape}");
            server.abort();
        });
    }

    #[test]
    fn a_half_sent_request_is_cut_at_the_deadline() {
        runtime().block_on(async {
            let (addr, server) = server(Arc::default(), None).await;
            let start = Instant::now();
            let got = exchange(addr, b"GET /metrics HTTP/1.1\r\nHost: x\r\n").await;
            let took = start.elapsed();
            assert_eq!(got, "");
            assert!(
                took >= REQUEST_TIMEOUT && took < REQUEST_TIMEOUT * 2,
                "{took:?}"
            );
            server.abort();
        });
    }

    #[test]
    fn routes_and_statuses() {
        runtime().block_on(async {
            let metrics = Arc::new(Metrics::default());
            let (addr, server) = server(Arc::clone(&metrics), None).await;
            let ok = exchange(addr, b"GET /metrics?x=1 HTTP/1.0\r\n\r\n").await;
            assert!(ok.starts_with("HTTP/1.0 200 OK\r\n"), "{ok}");
            assert!(
                ok.contains(&format!("content-type: {CONTENT_TYPE}\r\n")),
                "{ok}"
            );
            assert!(ok.contains("\r\n\r\n# HELP dualstack_events "), "{ok}");
            assert!(ok.ends_with("# EOF\n"), "{ok}");
            let missing = exchange(addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
            assert!(
                missing.starts_with("HTTP/1.1 404 Not Found\r\n"),
                "{missing}"
            );
            assert!(
                missing.ends_with("\r\n\r\nnot found: try /metrics\n"),
                "{missing}"
            );
            let post = exchange(addr, b"POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await;
            assert!(
                post.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"),
                "{post}"
            );
            let bad = exchange(addr, b"hello\r\n\r\n").await;
            assert!(bad.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{bad}");
            let huge = format!(
                "GET /metrics HTTP/1.1\r\nX: {}\r\n\r\n",
                "y".repeat(MAX_REQUEST)
            );
            let huge = exchange(addr, huge.as_bytes()).await;
            assert!(huge.starts_with("HTTP/1.1 431 "), "{huge}");
            assert_eq!(metrics.metrics_auth_failures.get(), 0);
            server.abort();
        });
    }

    #[test]
    fn a_token_is_asked_of_every_request() {
        runtime().block_on(async {
            let metrics = Arc::new(Metrics::default());
            let (addr, server) = server(Arc::clone(&metrics), Some("s3cret")).await;
            let get = |headers: &'static str| {
                let request = format!("GET /metrics HTTP/1.1\r\nHost: x\r\n{headers}\r\n");
                async move { exchange(addr, request.as_bytes()).await }
            };
            let none = get("").await;
            assert!(none.starts_with("HTTP/1.1 401 Unauthorized\r\n"), "{none}");
            assert!(
                none.contains("www-authenticate: Bearer realm=\"dualstack\"\r\n"),
                "{none}"
            );
            assert!(!none.contains("dualstack_events"), "{none}");
            for wrong in [
                "Authorization: Bearer s3creT\r\n",
                "Authorization: Basic czNjcmV0\r\n",
                "Authorization: Bearer\r\n",
            ] {
                let got = get(wrong).await;
                assert!(got.starts_with("HTTP/1.1 401 "), "{wrong}: {got}");
            }
            let other = exchange(addr, b"GET /other HTTP/1.1\r\n\r\n").await;
            assert!(other.starts_with("HTTP/1.1 401 "), "{other}");
            let ok = get("authorization:  bearer  s3cret \r\n").await;
            assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
            let second = get("Authorization: Basic eDp5\r\nAuthorization: Bearer s3cret\r\n").await;
            assert!(second.starts_with("HTTP/1.1 200 OK\r\n"), "{second}");
            assert_eq!(metrics.metrics_auth_failures.get(), 5);
            server.abort();
        });
    }
}
