//! Exponential backoff with jitter: the one formula behind the client's
//! retries and the token source's refresh retries.

use std::time::Duration;

/// The wait before try `n + 1` after `n` failures (`n` >= 1): `first`
/// doubling per failure up to `max`, less up to a quarter at random so that
/// many clients do not retry in step. Saturates rather than overflows.
pub(crate) fn exponential(first: Duration, max: Duration, failures: u32) -> Duration {
    let doubled = first.saturating_mul(1 << failures.saturating_sub(1).min(16));
    let capped = doubled.min(max);
    capped.saturating_sub(capped.mul_f64(rand::random::<f64>() / 4.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_less_at_most_a_quarter() {
        let (first, max) = (Duration::from_millis(200), Duration::from_secs(2));
        for (failures, full_ms) in [(1, 200), (2, 400), (3, 800), (5, 2000), (30, 2000)] {
            let wait = exponential(first, max, failures);
            let full = Duration::from_millis(full_ms);
            assert!(
                wait <= full && wait >= full.mul_f64(0.75),
                "{failures}: {wait:?}"
            );
        }
    }

    #[test]
    fn huge_settings_saturate_instead_of_panicking() {
        let wait = exponential(Duration::MAX, Duration::MAX, u32::MAX);
        assert!(wait >= Duration::MAX.mul_f64(0.75));
    }
}
