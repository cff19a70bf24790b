//! The wall clock as a cached token's check reads it, on every request.

use std::time::SystemTime;

/// The wall clock, read cheaply. On Linux this is the coarse clock: a read
/// of a few nanoseconds instead of about twenty, which may lag the precise
/// clock by one scheduler tick (a few milliseconds, nothing beside the
/// minute of margin a token is served with). Elsewhere `SystemTime::now()`.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(super) fn coarse_now() -> SystemTime {
    use std::time::{Duration, UNIX_EPOCH};
    let now = rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse);
    let since_epoch = u64::try_from(now.tv_sec)
        .ok()
        .zip(u64::try_from(now.tv_nsec).ok())
        .and_then(|(s, ns)| Duration::from_secs(s).checked_add(Duration::from_nanos(ns)));
    since_epoch
        .and_then(|d| UNIX_EPOCH.checked_add(d))
        .unwrap_or_else(SystemTime::now)
}

/// The wall clock (`SystemTime::now()`: no cheaper read here).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(super) fn coarse_now() -> SystemTime {
    SystemTime::now()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_coarse_clock_reads_the_wall_clock_within_a_tick() {
        let before = SystemTime::now();
        let coarse = coarse_now();
        let after = SystemTime::now();
        let tick = Duration::from_millis(50);
        assert!(coarse + tick >= before, "{coarse:?} is behind {before:?}");
        assert!(coarse <= after, "{coarse:?} is ahead of {after:?}");
    }
}
