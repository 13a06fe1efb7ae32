//! One client connection: read its first line (under a size cap and deadlines: it is
//! untrusted), register with the hub, then write what its queue receives until it goes away.
//!
//! A Unix client is registered as soon as it is accepted, before its first line is read, so
//! that it misses nothing that happened after it connected; a TCP client only once its token
//! is checked, so that nothing is kept for a stranger. Until then a TCP connection that has
//! not sent its whole first line holds one of a few waiting places of its own (see
//! [`admission`](crate::daemon::admission)), for at most [`AUTH_TIMEOUT`]: strangers cannot take
//! the `--max-clients` places that root's Unix clients need, nor lock out a token holder.

use std::{
    collections::VecDeque,
    io::{self, IoSlice},
    net::SocketAddr,
    os::fd::{AsRawFd as _, RawFd},
    pin::Pin,
    sync::{
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed},
        Arc,
    },
    task::{Context, Poll},
    time::Duration,
};

use bytes::{Buf as _, Bytes};
use log::info;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt as _, ReadBuf},
    net::{TcpStream, UnixStream},
    sync::mpsc::{self, error::TryRecvError},
    time::Instant,
};

use crate::{
    daemon::{
        admission::{Refusal, RefusalLog, Source, WaitingRoom, WAITING_PLACES},
        config::Token,
        protocol::{constant_time_eq, error_line, parse_request, Selection, MAX_FIRST_LINE},
    },
    outputs::{
        hub::{ClientShared, Control, Item},
        metrics::Metrics,
    },
    pipeline::Record,
};

/// How long a silent Unix client waits before it gets the defaults (everything, JSON).
pub const GRACE: Duration = Duration::from_millis(200);
/// How long a Unix client's first line may take once started.
pub const LINE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a TCP client has, from connect, to send its first line with the token.
pub const AUTH_TIMEOUT: Duration = Duration::from_secs(1);
/// How long writing to a client may make no progress before the client is dropped: one that
/// stopped reading would otherwise keep its place and its queue for ever.
pub const WRITE_STALL: Duration = Duration::from_secs(30);
/// Bytes gathered into one write.
const WRITE_BATCH: usize = 64 * 1024;
/// Lines gathered into one write (one iovec each).
const WRITE_LINES: usize = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Unix,
    Tcp,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Transport::Unix => "unix",
            Transport::Tcp => "tcp",
        }
    }
}

/// What every connection task shares.
#[derive(Debug)]
pub struct ClientContext {
    pub control: mpsc::UnboundedSender<Control>,
    pub metrics: Arc<Metrics>,
    pub queue: usize,
    pub max_clients: usize,
    /// The token TCP clients must send.
    pub token: Option<Token>,
    next_id: AtomicU64,
    /// Clients counted against `max_clients`: Unix ones, and TCP ones past their token.
    active: AtomicUsize,
    /// TCP connections still to send their token.
    pub waiting: Arc<WaitingRoom>,
    /// Refusals, logged as counts when they come thick and fast.
    pub refusals: RefusalLog,
}

impl ClientContext {
    pub fn new(
        control: mpsc::UnboundedSender<Control>,
        metrics: Arc<Metrics>,
        queue: usize,
        max_clients: usize,
        token: Option<Token>,
    ) -> ClientContext {
        ClientContext {
            control,
            metrics,
            queue,
            max_clients,
            token,
            next_id: AtomicU64::new(1),
            active: AtomicUsize::new(0),
            waiting: Arc::new(WaitingRoom::new(WAITING_PLACES)),
            refusals: RefusalLog::default(),
        }
    }
}

/// One of a limited number of places, held until dropped.
struct Place<'a>(&'a AtomicUsize);

impl<'a> Place<'a> {
    /// Takes a place if fewer than `limit` are taken.
    fn take(taken: &'a AtomicUsize, limit: usize) -> Option<Place<'a>> {
        let place = Place(taken);
        (taken.fetch_add(1, Relaxed) < limit).then_some(place)
    }
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

/// Why a client's stream ended.
enum End {
    /// The daemon is stopping.
    Shutdown,
    /// The client went away or could not be written to.
    Gone(String),
}

const CROWDED: &str = "too many clients: try again later";

/// Serves one accepted Unix connection to its end; `_alive` is dropped when the task ends.
pub async fn serve_unix(
    stream: UnixStream,
    peer: String,
    ctx: Arc<ClientContext>,
    _alive: mpsc::Sender<()>,
) {
    let fd = stream.as_raw_fd();
    let id = ctx.next_id.fetch_add(1, Relaxed);
    ctx.metrics.clients_accepted.inc();
    let (mut rd, mut wr) = tokio::io::split(stream);
    let shared = Arc::new(ClientShared::new(id, Transport::Unix.name(), peer));
    let (tx, rx) = mpsc::channel(ctx.queue);
    let Some(place) = Place::take(&ctx.active, ctx.max_clients) else {
        refuse(&ctx, &shared, Refusal::Crowded, &mut wr, CROWDED).await;
        return;
    };
    info!("client {id} connected (unix {})", shared.peer);
    let selection = match unix_request(&ctx, &shared, tx, &mut rd).await {
        Ok(selection) => selection,
        Err((why, message)) => {
            refuse(&ctx, &shared, why, &mut wr, &message).await;
            return;
        }
    };
    let end = stream_events(
        &mut rd,
        &mut wr,
        fd,
        Transport::Unix,
        rx,
        &shared,
        &selection,
    )
    .await;
    finish(&ctx, &shared, &mut wr, end).await;
    drop(place);
}

/// Serves one accepted TCP connection to its end; `_alive` is dropped when the task ends.
pub async fn serve_tcp(
    stream: TcpStream,
    addr: SocketAddr,
    ctx: Arc<ClientContext>,
    _alive: mpsc::Sender<()>,
) {
    let fd = stream.as_raw_fd();
    let id = ctx.next_id.fetch_add(1, Relaxed);
    ctx.metrics.clients_accepted.inc();
    // What the client sent with its connection is most often its whole first line: such a
    // client is checked at once and needs no waiting place.
    let early = read_waiting(fd);
    let (mut rd, mut wr) = tokio::io::split(stream);
    let shared = Arc::new(ClientShared::new(
        id,
        Transport::Tcp.name(),
        addr.to_string(),
    ));
    // Declared after the stream's halves, so dropped before them: the room may look at `fd`
    // while the seat exists.
    let seat;
    let request = if early.contains(&b'\n') {
        tcp_request(&ctx, &mut AsyncReadExt::chain(&early[..], &mut rd), None).await
    } else {
        let evicted;
        (seat, evicted) = ctx.waiting.enter(id, Source::of(addr.ip()), fd);
        if evicted {
            ctx.metrics.tcp_evictions.inc();
        }
        if !early.is_empty() {
            seat.heard.store(true, Relaxed);
        }
        let mut rest = AsyncReadExt::chain(&early[..], &mut rd);
        tokio::select! {
            request = tcp_request(&ctx, &mut rest, Some(&seat.heard)) => request,
            () = seat.evicted() => Err((
                Refusal::Evicted,
                "too many connections waiting to authenticate: try again later".to_owned(),
            )),
        }
    };
    let selection = match request {
        Ok(selection) => selection,
        Err((why, message)) => {
            refuse(&ctx, &shared, why, &mut wr, &message).await;
            return;
        }
    };
    let Some(place) = Place::take(&ctx.active, ctx.max_clients) else {
        refuse(&ctx, &shared, Refusal::Crowded, &mut wr, CROWDED).await;
        return;
    };
    info!("client {id} connected (tcp {})", shared.peer);
    let (tx, rx) = mpsc::channel(ctx.queue);
    let _ = ctx.control.send(Control::Register {
        shared: Arc::clone(&shared),
        tx,
        selection: Some(selection.clone()),
    });
    let end = stream_events(
        &mut rd,
        &mut wr,
        fd,
        Transport::Tcp,
        rx,
        &shared,
        &selection,
    )
    .await;
    finish(&ctx, &shared, &mut wr, end).await;
    drop(place);
}

/// The end of a client that was served: removed from the hub, closed, logged.
async fn finish<W: AsyncWrite + Unpin>(
    ctx: &ClientContext,
    shared: &ClientShared,
    wr: &mut W,
    end: End,
) {
    let id = shared.id;
    let _ = ctx.control.send(Control::Remove { id });
    match end {
        End::Shutdown => {
            // Bounded: a stuck client must not hold the daemon's exit.
            let _ = tokio::time::timeout(Duration::from_millis(500), wr.shutdown()).await;
        }
        End::Gone(reason) => {
            ctx.metrics.clients_disconnected.inc();
            info!(
                "client {id} dropped: {reason} ({} events lost to a full queue)",
                shared.drops()
            );
        }
    }
}

/// The bytes already waiting in a new connection, without waiting for more (read directly:
/// the runtime does not know yet that the socket is readable).
fn read_waiting(fd: RawFd) -> Vec<u8> {
    let mut buf = vec![0u8; 4096];
    // SAFETY: a valid descriptor and a buffer of the given length.
    let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
    buf.truncate(usize::try_from(n).unwrap_or(0));
    buf
}

/// A Unix client: registered at once (its events wait in its queue, unfiltered), then its
/// first line, or the defaults after [`GRACE`], decides what it gets.
async fn unix_request<R: AsyncRead + Unpin>(
    ctx: &ClientContext,
    shared: &Arc<ClientShared>,
    tx: mpsc::Sender<Item>,
    rd: &mut R,
) -> Result<Selection, (Refusal, String)> {
    let id = shared.id;
    let _ = ctx.control.send(Control::Register {
        shared: Arc::clone(shared),
        tx,
        selection: None,
    });
    let selection = match first_line(rd, Some(GRACE), LINE_TIMEOUT).await {
        Ok(None) => Ok(Selection::default()),
        Ok(Some(line)) => parse_request(&line)
            .map(|r| r.selection)
            .map_err(|e| (Refusal::BadRequest, e.to_string())),
        Err(message) => Err((Refusal::NoLine, message)),
    };
    let _ = ctx.control.send(match &selection {
        Ok(selection) => Control::Decide {
            id,
            selection: selection.clone(),
        },
        Err(_) => Control::Remove { id },
    });
    selection
}

/// A TCP client's request: its first line, which must carry the token, within
/// [`AUTH_TIMEOUT`] of connecting. `heard` is set once it sends anything.
async fn tcp_request<R: AsyncRead + Unpin>(
    ctx: &ClientContext,
    rd: &mut R,
    heard: Option<&AtomicBool>,
) -> Result<Selection, (Refusal, String)> {
    let mut rd = Heard { inner: rd, heard };
    let line = first_line(&mut rd, None, AUTH_TIMEOUT)
        .await
        .map_err(|message| (Refusal::NoLine, message))?;
    let request = parse_request(line.as_deref().unwrap_or_default())
        .map_err(|e| (Refusal::BadRequest, e.to_string()))?;
    let sent = request.token.as_deref().unwrap_or_default().as_bytes();
    let known = ctx.token.as_ref().map(|t| t.0.as_slice());
    if !known.is_some_and(|known| constant_time_eq(sent, known)) {
        ctx.metrics.auth_failures.inc();
        return Err((
            Refusal::BadToken,
            "authentication failed: wrong or missing token".into(),
        ));
    }
    Ok(request.selection)
}

/// A reader that sets a flag once it has read anything.
struct Heard<'a, R> {
    inner: R,
    heard: Option<&'a AtomicBool>,
}

impl<R: AsyncRead + Unpin> AsyncRead for Heard<'_, R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            if let Some(heard) = self.heard {
                heard.store(true, Relaxed);
            }
        }
        polled
    }
}

/// Sends an error line (best effort, bounded in time) and counts the refusal.
async fn refuse<W: AsyncWrite + Unpin>(
    ctx: &ClientContext,
    client: &ClientShared,
    why: Refusal,
    wr: &mut W,
    message: &str,
) {
    ctx.metrics.clients_refused.inc();
    ctx.refusals.refused(why, client.id, &client.peer, message);
    let line = error_line(message);
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        wr.write_all(&line).await?;
        wr.shutdown().await
    })
    .await;
}

/// Reads the first line: Ok(None) when a Unix client (`grace` given) sent nothing in time or
/// closed its side; Err with the message to send back when the line is too long, incomplete in
/// time, or (TCP) missing. `line_timeout` counts from the first byte after a grace period, else
/// from now. Bytes after the newline are ignored.
async fn first_line<R: AsyncRead + Unpin>(
    rd: &mut R,
    grace: Option<Duration>,
    line_timeout: Duration,
) -> Result<Option<Vec<u8>>, String> {
    let mut line = Vec::new();
    let mut chunk = [0u8; 4096];
    let start = Instant::now();
    let first = tokio::time::timeout(grace.unwrap_or(line_timeout), rd.read(&mut chunk)).await;
    let n = match first {
        Err(_) | Ok(Ok(0)) if grace.is_some() => return Ok(None),
        Err(_) => return Err(format!("no first line within {line_timeout:?}")),
        Ok(Err(err)) => return Err(err.to_string()),
        Ok(Ok(0)) => return Err("connection closed before the first line".into()),
        Ok(Ok(n)) => n,
    };
    line.extend_from_slice(&chunk[..n]);
    let deadline = if grace.is_some() {
        Instant::now()
    } else {
        start
    } + line_timeout;
    loop {
        if let Some(end) = line.iter().position(|&b| b == b'\n') {
            line.truncate(end);
            return Ok(Some(line));
        }
        if line.len() > MAX_FIRST_LINE {
            return Err(format!(
                "the first line is longer than {MAX_FIRST_LINE} bytes"
            ));
        }
        match tokio::time::timeout_at(deadline, rd.read(&mut chunk)).await {
            Err(_) => {
                return Err(format!(
                    "incomplete first line: no newline within {line_timeout:?}"
                ))
            }
            Ok(Err(err)) => return Err(err.to_string()),
            // The end of input ends the line too (`printf '{}' | socat ...`).
            Ok(Ok(0)) => return Ok(Some(line)),
            Ok(Ok(n)) => line.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Writes the queue to the client until the queue closes (shutdown) or the client is gone.
async fn stream_events<R, W>(
    rd: &mut R,
    wr: &mut W,
    fd: RawFd,
    transport: Transport,
    mut rx: mpsc::Receiver<Item>,
    shared: &ClientShared,
    selection: &Selection,
) -> End
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut out: VecDeque<Bytes> = VecDeque::new();
    let mut out_bytes = 0;
    // The record whose port holder is still being looked up: what came before it is written
    // first, then the writer waits for it (only this client waits: the hub goes on).
    let mut waiting: Option<Arc<Record>> = None;
    let wanted = |item: Item| match item {
        Item::Record(r) => Some(r),
        Item::Undecided(r) if selection.matches(&r) => Some(r),
        Item::Undecided(_) => None,
    };
    let take = |out: &mut VecDeque<Bytes>,
                out_bytes: &mut usize,
                waiting: &mut Option<Arc<Record>>,
                item: Item| {
        let Some(record) = wanted(item) else { return };
        if !record.is_settled() {
            *waiting = Some(record);
            return;
        }
        let line = selection.format.render(&record);
        *out_bytes += line.len();
        out.push_back(line);
    };
    let mut reading = true;
    let mut scratch = [0u8; 1024];
    loop {
        let mut closed = false;
        let mut caught_up = false;
        while waiting.is_none() && out_bytes < WRITE_BATCH && out.len() < WRITE_LINES {
            match rx.try_recv() {
                Ok(item) => take(&mut out, &mut out_bytes, &mut waiting, item),
                Err(TryRecvError::Empty) => {
                    caught_up = true;
                    break;
                }
                Err(TryRecvError::Disconnected) => {
                    closed = true;
                    caught_up = true;
                    break;
                }
            }
        }
        if caught_up {
            // What it lost goes after what it got, once it has caught up.
            for line in shared.take_owed() {
                out_bytes += line.len();
                out.push_back(line);
            }
        }
        if !out.is_empty() {
            if let Err(err) = write_queued(wr, &mut out, WRITE_STALL).await {
                return End::Gone(err.to_string());
            }
            out_bytes = 0;
            continue;
        }
        if let Some(record) = waiting.take() {
            record.settled().await;
            let line = selection.format.render(&record);
            out_bytes += line.len();
            out.push_back(line);
            continue;
        }
        if closed {
            return End::Shutdown;
        }
        tokio::select! {
            item = rx.recv() => match item {
                Some(item) => take(&mut out, &mut out_bytes, &mut waiting, item),
                None => return End::Shutdown,
            },
            () = shared.wake.notified() => {}
            read = rd.read(&mut scratch), if reading => match read {
                // Input after the first line is ignored; its end may mean the peer is gone. A TCP
                // FIN cannot tell a closed peer from a half-closed one, and a closed one would
                // only be noticed at the next write, which for a quiet filter may never come:
                // TCP clients keep their side open, and its end is theirs.
                Ok(0) if transport == Transport::Tcp || peer_hung_up(fd) => {
                    return End::Gone("connection closed".into());
                }
                Ok(0) => reading = false,
                Ok(_) => {}
                Err(err) => return End::Gone(err.to_string()),
            },
        }
    }
}

/// Writes every queued line, with as few system calls as the socket allows; fails when a
/// write makes no progress for `stall`.
async fn write_queued<W: AsyncWrite + Unpin>(
    wr: &mut W,
    out: &mut VecDeque<Bytes>,
    stall: Duration,
) -> io::Result<()> {
    let stalled = || {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!("it took nothing for {stall:?}: not reading"),
        )
    };
    while !out.is_empty() {
        let mut written = {
            let slices: Vec<IoSlice<'_>> = out.iter().map(|b| IoSlice::new(b)).collect();
            tokio::time::timeout(stall, wr.write_vectored(&slices))
                .await
                .map_err(|_| stalled())??
        };
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        while written > 0 {
            let Some(front) = out.front_mut() else { break };
            if written >= front.len() {
                written -= front.len();
                out.pop_front();
            } else {
                front.advance(written);
                written = 0;
            }
        }
    }
    tokio::time::timeout(stall, wr.flush())
        .await
        .map_err(|_| stalled())?
}

/// True when the peer closed its whole connection rather than only its sending side: a Unix
/// stream socket then polls POLLHUP (`printf '{}' | socat ...` only closes its sending side).
fn peer_hung_up(fd: RawFd) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no waiting.
    let n = unsafe { libc::poll(&raw mut pfd, 1, 0) };
    n == 1 && pfd.revents & (libc::POLLHUP | libc::POLLERR) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn first_line_rules() {
        rt().block_on(async {
            let t = LINE_TIMEOUT;
            let mut r: &[u8] = b"{\"format\":\"json\"}\nextra";
            assert_eq!(
                first_line(&mut r, Some(GRACE), t).await,
                Ok(Some(b"{\"format\":\"json\"}".to_vec()))
            );
            let mut r: &[u8] = b"";
            assert_eq!(first_line(&mut r, Some(GRACE), t).await, Ok(None));
            assert!(first_line(&mut r, None, t)
                .await
                .unwrap_err()
                .contains("closed"));
            let mut r: &[u8] = b"{}";
            assert_eq!(first_line(&mut r, None, t).await, Ok(Some(b"{}".to_vec())));
            let long = vec![b'x'; MAX_FIRST_LINE + 10_000];
            let mut r: &[u8] = &long;
            assert!(first_line(&mut r, None, t)
                .await
                .unwrap_err()
                .contains("longer"));
        });
    }

    #[test]
    fn silent_and_half_line_clients_time_out() {
        rt().block_on(async {
            let short = Duration::from_millis(50);
            let (mut client, mut server) = tokio::io::duplex(1024);
            assert_eq!(first_line(&mut server, Some(short), short).await, Ok(None));
            let err = first_line(&mut server, None, short).await.unwrap_err();
            assert!(err.contains("no first line"), "{err}");
            client.write_all(b"{\"filt").await.unwrap();
            let err = first_line(&mut server, Some(short), short)
                .await
                .unwrap_err();
            assert!(err.contains("incomplete"), "{err}");
        });
    }

    #[test]
    fn queued_lines_survive_short_writes() {
        rt().block_on(async {
            let (mut a, mut b) = tokio::io::duplex(7);
            let mut out: VecDeque<Bytes> = ["one\n", "two\n", "three\n"]
                .into_iter()
                .map(|s| Bytes::from_static(s.as_bytes()))
                .collect();
            let reader = tokio::spawn(async move {
                let mut got = Vec::new();
                b.read_to_end(&mut got).await.unwrap();
                got
            });
            write_queued(&mut a, &mut out, WRITE_STALL).await.unwrap();
            drop(a);
            assert_eq!(reader.await.unwrap(), b"one\ntwo\nthree\n");
        });
    }

    fn lines(n: usize) -> VecDeque<Bytes> {
        (0..n).map(|i| Bytes::from(format!("line {i}\n"))).collect()
    }

    #[test]
    fn a_client_that_stops_reading_fails_the_write_after_the_stall_time() {
        rt().block_on(async {
            let (mut a, _b) = tokio::io::duplex(64);
            let mut out = lines(100);
            let stall = Duration::from_millis(100);
            let err = write_queued(&mut a, &mut out, stall).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        });
    }

    #[test]
    fn a_slow_reader_that_keeps_reading_is_not_stalled() {
        rt().block_on(async {
            let (mut a, mut b) = tokio::io::duplex(64);
            let mut out = lines(100);
            let want: usize = out.iter().map(Bytes::len).sum();
            let reader = tokio::spawn(async move {
                let mut got = 0;
                let mut chunk = [0u8; 64];
                while got < want {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    got += b.read(&mut chunk).await.unwrap();
                }
            });
            // Each write waits for the reader, but the whole takes longer than the stall time.
            write_queued(&mut a, &mut out, Duration::from_millis(50))
                .await
                .unwrap();
            reader.await.unwrap();
        });
    }
}
