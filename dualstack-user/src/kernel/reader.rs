//! Reads the event ring buffer asynchronously.

use std::{io, time::Duration};

/// How often the ring is read when the kernel has not woken the reader.
pub const POLL_INTERVAL: Duration = Duration::from_millis(10);

use aya::maps::{MapData, RingBuf};
use tokio::io::{unix::AsyncFd, Interest};

/// The kernel's event ring, readable when the kernel has written records.
pub struct EventReader {
    ring: AsyncFd<RingBuf<MapData>>,
}

impl EventReader {
    pub fn new(ring: RingBuf<MapData>) -> io::Result<EventReader> {
        // SAFETY: the ring owns its map fd, which stays open as long as the AsyncFd holds it.
        let ring = unsafe { AsyncFd::register_with_interest(ring, Interest::READABLE) }
            .map_err(|err| err.into_parts().1)?;
        Ok(EventReader { ring })
    }

    /// Waits until records are available (or [`POLL_INTERVAL`] has passed), then hands at most
    /// `max` records to `f`: under a burst the caller gets control back after each batch, to
    /// write, answer signals, and decide whether to read on. Returns how many it handed.
    pub async fn read_some(&mut self, max: usize, mut f: impl FnMut(&[u8])) -> io::Result<usize> {
        let Ok(ready) = tokio::time::timeout(POLL_INTERVAL, self.ring.readable_mut()).await else {
            return Ok(self.drain_some(max, f));
        };
        let mut guard = ready?;
        let mut n = 0;
        while n < max {
            let Some(item) = guard.get_inner_mut().next() else {
                // Empty: wait for the kernel's next wake-up.
                guard.clear_ready();
                break;
            };
            f(&item);
            n += 1;
        }
        Ok(n)
    }

    /// Hands at most `max` records already written to `f`, without waiting.
    pub fn drain_some(&mut self, max: usize, mut f: impl FnMut(&[u8])) -> usize {
        let mut n = 0;
        while n < max {
            let Some(item) = self.ring.get_mut().next() else {
                break;
            };
            f(&item);
            n += 1;
        }
        n
    }

    /// Hands every record already written to `f`, without waiting.
    pub fn drain(&mut self, mut f: impl FnMut(&[u8])) -> usize {
        let mut n = 0;
        while let Some(item) = self.ring.get_mut().next() {
            f(&item);
            n += 1;
        }
        n
    }
}
