//! Turns the kernel's CLOCK_MONOTONIC stamps into wall-clock time.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jiff::Timestamp;

/// The offset between CLOCK_REALTIME and CLOCK_MONOTONIC, taken once.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    /// Wall-clock time at monotonic zero, in nanoseconds since the epoch.
    boot_ns: i128,
}

fn clock_ns(id: libc::clockid_t) -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid pointer to a timespec.
    unsafe { libc::clock_gettime(id, &raw mut ts) };
    i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec)
}

impl Clock {
    pub fn now() -> Clock {
        Clock {
            boot_ns: clock_ns(libc::CLOCK_REALTIME) - clock_ns(libc::CLOCK_MONOTONIC),
        }
    }

    /// A clock whose monotonic zero is the epoch (for tests).
    pub fn fixed(boot_ns: i128) -> Clock {
        Clock { boot_ns }
    }

    /// Wall-clock time of a monotonic stamp.
    pub fn wall(&self, monotonic: Duration) -> SystemTime {
        let ns = self.boot_ns + monotonic.as_nanos() as i128;
        UNIX_EPOCH + Duration::from_nanos(u64::try_from(ns).unwrap_or(0))
    }

    /// strace's `-tt` stamp: local `HH:MM:SS.uuuuuu`. The local time is the C library's, as
    /// strace's is, so that both read TZ and /etc/localtime by the same rules.
    pub fn strace_time(&self, monotonic: Duration) -> String {
        let since = self
            .wall(monotonic)
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let secs = since.as_secs() as libc::time_t;
        // SAFETY: zeroed tm is valid; localtime_r fills it from a valid time_t.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        unsafe { libc::localtime_r(&raw const secs, &raw mut tm) };
        format!(
            "{:02}:{:02}:{:02}.{:06}",
            tm.tm_hour,
            tm.tm_min,
            tm.tm_sec,
            since.subsec_micros()
        )
    }

    /// Appends the time as RFC 3339 UTC with microseconds, e.g. `2026-11-28T20:01:02.123456Z`.
    pub fn write_rfc3339(&self, out: &mut String, monotonic: Duration) {
        write_rfc3339(out, self.wall(monotonic));
    }
}

/// RFC 3339 UTC text of a time, with microseconds (truncated, as strace's are).
pub fn rfc3339(time: SystemTime) -> String {
    let mut out = String::with_capacity(27);
    write_rfc3339(&mut out, time);
    out
}

/// Appends [`rfc3339`] to `out`.
pub fn write_rfc3339(out: &mut String, time: SystemTime) {
    thread_local! {
        /// The date and time of day of the last second formatted: events come in runs of the
        /// same second, and formatting the calendar is most of the cost of a JSON time.
        static SECOND: std::cell::RefCell<(u64, String)> =
            const { std::cell::RefCell::new((u64::MAX, String::new())) };
    }
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let (secs, micros) = (since.as_secs(), since.subsec_micros());
    SECOND.with_borrow_mut(|(second, text)| {
        if *second != secs {
            // "YYYY-MM-DDTHH:MM:SS" of "YYYY-MM-DDTHH:MM:SSZ".
            let whole = format!("{}", utc(UNIX_EPOCH + Duration::from_secs(secs)));
            whole.trim_end_matches('Z').clone_into(text);
            *second = secs;
        }
        out.push_str(text);
        let _ = write!(out, ".{micros:06}Z");
    });
}

/// A time as a UTC timestamp. Times before the epoch are the epoch (a kernel stamp never is);
/// times past the year 9999 are the last instant of it.
pub fn utc(time: SystemTime) -> Timestamp {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    Timestamp::new(since.as_secs() as i64, since.subsec_nanos() as i32).unwrap_or(Timestamp::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_of_known_instants() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
        let t = UNIX_EPOCH + Duration::from_micros(1_795_982_462_123_456);
        assert_eq!(rfc3339(t), "2026-11-29T20:01:02.123456Z");
        let leap = UNIX_EPOCH + Duration::from_hours(264_384); // 2000-02-29
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00.000000Z");
        let end_of_century = UNIX_EPOCH + Duration::from_secs(4_107_542_399); // 2100-02-28
        assert_eq!(rfc3339(end_of_century), "2100-02-28T23:59:59.000000Z");
    }

    #[test]
    fn rfc3339_truncates_to_microseconds() {
        let t = UNIX_EPOCH + Duration::new(1, 999_999_999);
        assert_eq!(rfc3339(t), "1970-01-01T00:00:01.999999Z");
        let t = UNIX_EPOCH + Duration::from_nanos(999);
        assert_eq!(rfc3339(t), "1970-01-01T00:00:00.000000Z");
    }

    #[test]
    fn rfc3339_outside_the_range_of_kernel_stamps() {
        let before = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(rfc3339(before), "1970-01-01T00:00:00.000000Z");
        let wall = Clock::fixed(i128::from(u64::MAX)).wall(Duration::from_secs(u64::MAX));
        assert_eq!(rfc3339(wall), "1970-01-01T00:00:00.000000Z");
    }

    #[test]
    fn wall_adds_the_boot_offset() {
        let clock = Clock::fixed(1_795_982_462_000_000_000);
        let t = clock.wall(Duration::from_micros(123_456));
        let mut text = String::from("at ");
        clock.write_rfc3339(&mut text, Duration::from_micros(123_456));
        assert_eq!(text, format!("at {}", rfc3339(t)));
        assert_eq!(rfc3339(t), "2026-11-29T20:01:02.123456Z");
    }
}
