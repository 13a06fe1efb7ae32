//! Turns the kernel's CLOCK_MONOTONIC stamps into wall-clock time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

    /// strace's `-tt` stamp: local `HH:MM:SS.uuuuuu`.
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

    /// RFC 3339 UTC with microseconds, e.g. `2026-11-28T20:01:02.123456Z`.
    pub fn rfc3339(&self, monotonic: Duration) -> String {
        rfc3339(self.wall(monotonic))
    }
}

/// RFC 3339 UTC text of a time.
pub fn rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_micros()
    )
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
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
    }
}
