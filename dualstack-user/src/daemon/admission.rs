//! Admission of TCP connections before their token is checked, and refusals in the log.
//!
//! Anyone who can reach the port can connect, so connections that have not sent their token
//! yet hold one of a few waiting places of their own ([`WaitingRoom`]). When the places are
//! full a newcomer is still let in: the source holding the most places gives up its oldest
//! connection that has sent nothing (else its oldest). A flood of silent connections from one
//! address then only evicts itself, and a client that sends its token at once (nearly all do:
//! the line is already there when it is accepted) needs no place at all.
//!
//! Refusals are counted, not logged one by one ([`RefusalLog`]): the first after a quiet spell
//! is logged whole, the rest as one line per [`REFUSAL_INTERVAL`], so that a flood cannot fill
//! the journal.

use std::{
    net::IpAddr,
    os::fd::RawFd,
    sync::{
        atomic::{AtomicBool, Ordering::Relaxed},
        Arc, Mutex, PoisonError,
    },
    time::{Duration, Instant},
};

use log::{info, warn};
use tokio::sync::Notify;

/// TCP connections that have not sent their token, at most.
pub const WAITING_PLACES: usize = 8;
/// How often refusals are summed up in the log while they go on.
pub const REFUSAL_INTERVAL: Duration = Duration::from_secs(10);

/// The connections counted as one source: an IPv4 address, or an IPv6 /64 (the addresses of
/// one host's usual prefix cost it nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Source(IpAddr);

impl Source {
    pub fn of(ip: IpAddr) -> Source {
        match ip.to_canonical() {
            IpAddr::V6(v6) => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                Source(IpAddr::V6(prefix.into()))
            }
            v4 @ IpAddr::V4(_) => Source(v4),
        }
    }
}

#[derive(Debug)]
struct Waiting {
    id: u64,
    source: Source,
    since: Instant,
    /// The connection's descriptor: bytes waiting in it mean the client is talking. Valid while
    /// the entry exists (the [`Seat`] is dropped before its connection).
    fd: RawFd,
    heard: Arc<AtomicBool>,
    evicted: Arc<Notify>,
}

/// The waiting places of TCP connections that have not sent their token yet.
#[derive(Debug)]
pub struct WaitingRoom {
    places: usize,
    waiting: Mutex<Vec<Waiting>>,
}

/// A waiting place, given up when dropped.
#[derive(Debug)]
pub struct Seat {
    room: Arc<WaitingRoom>,
    id: u64,
    /// Set by the connection once the client has sent anything.
    pub heard: Arc<AtomicBool>,
    evicted: Arc<Notify>,
}

impl Seat {
    /// Resolves when a newcomer took this place.
    pub async fn evicted(&self) {
        self.evicted.notified().await;
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.room.lock().retain(|w| w.id != self.id);
    }
}

impl WaitingRoom {
    pub fn new(places: usize) -> WaitingRoom {
        WaitingRoom {
            places: places.max(1),
            waiting: Mutex::new(Vec::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Waiting>> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a place for connection `id`; when all are taken, evicts one (see the module
    /// comment) and returns true with the seat.
    pub fn enter(self: &Arc<Self>, id: u64, source: Source, fd: RawFd) -> (Seat, bool) {
        let heard = Arc::new(AtomicBool::new(false));
        let evicted = Arc::new(Notify::new());
        let mut waiting = self.lock();
        let mut evicted_one = false;
        while waiting.len() >= self.places {
            let Some(victim) = victim(&waiting, source, |w| {
                w.heard.load(Relaxed) || bytes_waiting(w.fd)
            }) else {
                break;
            };
            let gone = waiting.swap_remove(victim);
            // A permit is stored if its task is not waiting yet: it cannot miss it.
            gone.evicted.notify_one();
            evicted_one = true;
        }
        waiting.push(Waiting {
            id,
            source,
            since: Instant::now(),
            fd,
            heard: Arc::clone(&heard),
            evicted: Arc::clone(&evicted),
        });
        drop(waiting);
        let seat = Seat {
            room: Arc::clone(self),
            id,
            heard,
            evicted,
        };
        (seat, evicted_one)
    }

    /// Connections waiting now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Which waiting connection makes room for a newcomer from `newcomer`: one of the source
/// holding the most places (the newcomer counted; a tie goes to the source waiting longest),
/// its oldest that has sent nothing, else its oldest.
fn victim(
    waiting: &[Waiting],
    newcomer: Source,
    heard: impl Fn(&Waiting) -> bool,
) -> Option<usize> {
    let held = |source: Source| {
        waiting.iter().filter(|w| w.source == source).count() + usize::from(source == newcomer)
    };
    let oldest_of = |source: Source| {
        waiting
            .iter()
            .filter(|w| w.source == source)
            .map(|w| w.since)
            .min()
    };
    let source = waiting.iter().map(|w| w.source).max_by(|a, b| {
        held(*a)
            .cmp(&held(*b))
            .then_with(|| oldest_of(*b).cmp(&oldest_of(*a)))
    })?;
    let theirs = || {
        waiting
            .iter()
            .enumerate()
            .filter(move |(_, w)| w.source == source)
    };
    theirs()
        .filter(|(_, w)| !heard(w))
        .min_by_key(|(_, w)| w.since)
        .or_else(|| theirs().min_by_key(|(_, w)| w.since))
        .map(|(i, _)| i)
}

/// True when bytes wait in the socket's receive queue (the client is talking, its task has
/// not read them yet).
fn bytes_waiting(fd: RawFd) -> bool {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int; a stale descriptor only fails or answers wrongly.
    let rc = unsafe { libc::ioctl(fd, libc::FIONREAD, &raw mut n) };
    rc == 0 && n > 0
}

/// Why a connection was refused, as counted in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Its waiting place went to a newcomer.
    Evicted,
    /// No complete first line in time, or the connection closed first.
    NoLine,
    /// A first line that is not a valid request.
    BadRequest,
    /// A wrong or missing token.
    BadToken,
    /// `--max-clients` reached.
    Crowded,
}

impl Refusal {
    const ALL: [Refusal; 5] = [
        Refusal::Evicted,
        Refusal::NoLine,
        Refusal::BadRequest,
        Refusal::BadToken,
        Refusal::Crowded,
    ];

    fn what(self) -> &'static str {
        match self {
            Refusal::Evicted => "evicted while waiting for their token",
            Refusal::NoLine => "no first line in time",
            Refusal::BadRequest => "a bad first line",
            Refusal::BadToken => "a wrong or missing token",
            Refusal::Crowded => "too many clients",
        }
    }
}

#[derive(Debug, Default)]
struct RefusalState {
    /// When the current spell of refusals was first logged; None after a quiet interval.
    since: Option<Instant>,
    counts: [u64; Refusal::ALL.len()],
    last_peer: String,
}

/// The refusals' log: whole lines when they are rare, counts when they are not.
#[derive(Debug, Default)]
pub struct RefusalLog {
    state: Mutex<RefusalState>,
}

impl RefusalLog {
    /// Logs or counts one refusal.
    pub fn refused(&self, why: Refusal, id: u64, peer: &str, message: &str) {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        Self::flush_state(&mut state, now);
        if state.since.is_none() {
            state.since = Some(now);
            info!("client {id} ({peer}) refused: {message}");
        } else {
            state.counts[why as usize] += 1;
            peer.clone_into(&mut state.last_peer);
        }
    }

    /// Logs the counts of an interval that has ended (called every second or so).
    pub fn flush(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        Self::flush_state(&mut state, Instant::now());
    }

    fn flush_state(state: &mut RefusalState, now: Instant) {
        let Some(since) = state.since else { return };
        if now.duration_since(since) < REFUSAL_INTERVAL {
            return;
        }
        let total: u64 = state.counts.iter().sum();
        if total == 0 {
            state.since = None;
            return;
        }
        let parts: Vec<String> = Refusal::ALL
            .iter()
            .zip(state.counts)
            .filter(|(_, n)| *n > 0)
            .map(|(why, n)| format!("{n} {}", why.what()))
            .collect();
        warn!(
            "{total} more connections refused in {:.0?}: {}; the last from {}",
            now.duration_since(since),
            parts.join(", "),
            state.last_peer
        );
        state.counts = [0; Refusal::ALL.len()];
        state.since = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiting(id: u64, ip: [u8; 4], age_ms: u64) -> Waiting {
        Waiting {
            id,
            source: Source::of(IpAddr::from(ip)),
            since: Instant::now()
                .checked_sub(Duration::from_millis(age_ms))
                .expect("a monotonic clock older than a second"),
            fd: -1,
            heard: Arc::default(),
            evicted: Arc::default(),
        }
    }

    fn src(ip: [u8; 4]) -> Source {
        Source::of(IpAddr::from(ip))
    }

    #[test]
    fn the_source_holding_most_places_gives_up_its_oldest() {
        let a = [10, 0, 0, 1];
        let b = [10, 0, 0, 2];
        let room = [
            waiting(1, b, 900),
            waiting(2, a, 500),
            waiting(3, a, 800),
            waiting(4, a, 100),
        ];
        let quiet = |_: &Waiting| false;
        // b waits longest, but a holds three places.
        assert_eq!(victim(&room, src(b), quiet), Some(2));
        assert_eq!(victim(&room, src([10, 0, 0, 3]), quiet), Some(2));
        // A talking connection keeps its place while a silent one of its source waits.
        assert_eq!(victim(&room, src(b), |w: &Waiting| w.id == 3), Some(1));
        assert_eq!(victim(&room, src(b), |_: &Waiting| true), Some(2));
        // A tie goes against the source waiting longest.
        let tie = [waiting(1, a, 100), waiting(2, b, 900)];
        assert_eq!(victim(&tie, src([10, 0, 0, 3]), quiet), Some(1));
        // The newcomer counts for its source.
        assert_eq!(victim(&tie, src(a), quiet), Some(0));
        assert_eq!(victim(&[], src(a), quiet), None);
    }

    #[test]
    fn ipv6_sources_are_their_64_prefix_and_mapped_ipv4_is_ipv4() {
        let one: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let two: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(Source::of(one), Source::of(two));
        assert_ne!(Source::of(one), Source::of(other));
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert_eq!(Source::of(mapped), src([127, 0, 0, 1]));
    }

    #[test]
    fn a_full_room_lets_the_newcomer_in_and_tells_the_evicted() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let room = Arc::new(WaitingRoom::new(2));
            let (first, e1) = room.enter(1, src([10, 0, 0, 1]), -1);
            let (_second, e2) = room.enter(2, src([10, 0, 0, 1]), -1);
            assert!(!e1 && !e2);
            let (third, e3) = room.enter(3, src([10, 0, 0, 1]), -1);
            assert!(e3);
            assert_eq!(room.len(), 2);
            tokio::time::timeout(Duration::from_secs(1), first.evicted())
                .await
                .expect("the oldest is told");
            drop(first);
            assert_eq!(room.len(), 2);
            drop(third);
            assert_eq!(room.len(), 1);
        });
    }
}
