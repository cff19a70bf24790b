//! The wall clock a source reads: the system's, or one a test moves.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

/// Where a [`TokenSource`](super::TokenSource) reads the wall clock. Its
/// timers (the revoke delay, backoffs, store polling) and its monotonic
/// clock are tokio's, which tests pause and advance.
#[derive(Clone, Default)]
pub(super) enum Clock {
    /// The system clock.
    #[default]
    System,
    /// A clock of the application's (a test's fake clock).
    Custom(Arc<dyn Fn() -> SystemTime + Send + Sync>),
}

impl Clock {
    /// The time now, precisely.
    pub(super) fn now(&self) -> SystemTime {
        match self {
            Self::System => SystemTime::now(),
            Self::Custom(clock) => clock(),
        }
    }

    /// The time now, as every cached-token check reads it: cheaply.
    pub(super) fn coarse_now(&self) -> SystemTime {
        match self {
            Self::System => coarse_system_now(),
            Self::Custom(clock) => clock(),
        }
    }

    /// `at`, an instant read on the system clock (when a provider's answer
    /// arrived), on this clock: the same age now on either.
    pub(super) fn carry_over(&self, at: SystemTime) -> SystemTime {
        let Self::Custom(clock) = self else {
            return at;
        };
        let (ours, system) = (clock(), SystemTime::now());
        let moved = match ours.duration_since(system) {
            Ok(ahead) => at.checked_add(ahead),
            Err(behind) => at.checked_sub(behind.duration()),
        };
        moved.unwrap_or(at)
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::System => "System",
            Self::Custom(_) => "Custom",
        })
    }
}

/// How far the wall clock is ahead of `then`, or zero when it is not.
pub(super) fn since(now: SystemTime, then: SystemTime) -> Duration {
    now.duration_since(then).unwrap_or_default()
}

/// The system wall clock, read cheaply. On Linux this is the coarse clock:
/// a read of a few nanoseconds instead of about twenty, which may lag the
/// precise clock by one scheduler tick (a few milliseconds, nothing beside
/// the minute of margin a token is served with). Elsewhere
/// `SystemTime::now()`.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn coarse_system_now() -> SystemTime {
    use std::time::UNIX_EPOCH;
    let now = rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse);
    let since_epoch = u64::try_from(now.tv_sec)
        .ok()
        .zip(u64::try_from(now.tv_nsec).ok())
        .and_then(|(s, ns)| Duration::from_secs(s).checked_add(Duration::from_nanos(ns)));
    since_epoch
        .and_then(|d| UNIX_EPOCH.checked_add(d))
        .unwrap_or_else(SystemTime::now)
}

/// The system wall clock (`SystemTime::now()`: no cheaper read here).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn coarse_system_now() -> SystemTime {
    SystemTime::now()
}

/// The longest a coarse clock lags the precise one: one scheduler tick,
/// at most 10 ms (a kernel at 100 Hz).
const COARSE_TICK: Duration = Duration::from_millis(10);

/// The monotonic clock read cheaply, as a time since an arbitrary start:
/// on Linux the coarse clock, a read of a few nanoseconds where the
/// precise one takes 20 to 40. `None` elsewhere.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn coarse_monotonic() -> Option<Duration> {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::MonotonicCoarse);
    let secs = u64::try_from(now.tv_sec).ok()?;
    let nanos = u64::try_from(now.tv_nsec).ok()?;
    Duration::from_secs(secs).checked_add(Duration::from_nanos(nanos))
}

/// No cheap monotonic clock here: every check reads tokio's.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn coarse_monotonic() -> Option<Duration> {
    None
}

/// A reading of tokio's clock and of the coarse monotonic clock at once,
/// to carry instants from the one to the other. There is none while
/// tokio's clock is paused (a test moves time by hand, and only tokio's
/// clock follows), nor where there is no coarse clock: checks then read
/// tokio's clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CoarseNow {
    tokio: Instant,
    coarse: Duration,
}

impl CoarseNow {
    /// Both clocks now, unless tokio's is paused: a running clock never
    /// reads the same twice in a row, a paused one always does (a clock
    /// too coarse to tell counts as paused, which costs speed only).
    pub(crate) fn read() -> Option<Self> {
        // The coarse clock first: read the other way round, a pause between
        // the two reads would make carried instants late.
        let coarse = coarse_monotonic()?;
        let (tokio, again) = (Instant::now(), Instant::now());
        if tokio == again {
            return None;
        }
        Some(Self { tokio, coarse })
    }

    /// `at`, on tokio's clock, on the coarse one, a coarse tick early: a
    /// check on the coarse clock never passes later than on tokio's.
    pub(crate) fn carry(&self, at: Instant) -> Duration {
        let ahead = at.saturating_duration_since(self.tokio);
        self.coarse
            .saturating_add(ahead)
            .saturating_sub(COARSE_TICK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_coarse_clock_reads_the_wall_clock_within_a_tick() {
        let before = SystemTime::now();
        let coarse = Clock::System.coarse_now();
        let after = SystemTime::now();
        let tick = Duration::from_millis(50);
        assert!(coarse + tick >= before, "{coarse:?} is behind {before:?}");
        assert!(coarse <= after, "{coarse:?} is ahead of {after:?}");
    }

    #[test]
    fn an_instant_carried_to_the_coarse_clock_is_never_later() {
        let Some(now) = CoarseNow::read() else {
            return; // no coarse clock here
        };
        let soon = Instant::now() + Duration::from_millis(50);
        let carried = now.carry(soon);
        std::thread::sleep(Duration::from_millis(60));
        assert!(Instant::now() >= soon);
        assert!(
            coarse_monotonic().unwrap() >= carried,
            "the coarse clock has not passed it"
        );
    }

    #[test]
    fn a_system_instant_keeps_its_age_on_a_clock_ahead_or_behind() {
        let hour = Duration::from_secs(3600);
        let received = SystemTime::now() - Duration::from_secs(10);
        for offset in [hour, Duration::ZERO] {
            let ahead = Clock::Custom(Arc::new(move || SystemTime::now() + offset));
            let moved = ahead.carry_over(received);
            let age = since(ahead.now(), moved);
            assert!(age >= Duration::from_secs(10) && age < Duration::from_secs(11));
        }
        let behind = Clock::Custom(Arc::new(move || SystemTime::now() - hour));
        let age = since(behind.now(), behind.carry_over(received));
        assert!(age >= Duration::from_secs(10) && age < Duration::from_secs(11));
        assert_eq!(Clock::System.carry_over(received), received);
    }
}
