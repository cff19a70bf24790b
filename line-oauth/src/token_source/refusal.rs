//! The bound on the issuances that refusals (401s reported through
//! [`TokenSource::invalidate`](super::TokenSource::invalidate)) can cause.
//!
//! A refresh for a refused token may always take another token from the
//! store; it may issue only once the source's hold is over. Each refresh
//! for a refused token that brings a new token starts a hold twice as long
//! as the last (1 minute up to an hour), counted from when that token was
//! issued; the streak falls back once refusals stop for as long as a hold.
//! A token another source issued less than a minute ago is held too: it may
//! be that source's replacement of a refused token.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::cache::Cached;
use crate::secret::AccessToken;

/// The first hold.
pub(super) const FIRST_HOLD: Duration = Duration::from_secs(60);
/// The longest hold.
pub(super) const MAX_HOLD: Duration = Duration::from_secs(3600);

/// The hold after the `streak`-th refresh for a refused token in a row: a
/// minute, doubling, at most an hour.
fn hold(streak: u32) -> Duration {
    let doublings = streak.saturating_sub(1).min(16);
    FIRST_HOLD.saturating_mul(1 << doublings).min(MAX_HOLD)
}

/// `at`, or `wall` if `at` lies ahead of it: a receipt stamped by a clock
/// ahead of ours counts as now.
fn not_after(at: SystemTime, wall: SystemTime) -> SystemTime {
    at.min(wall)
}

/// A source's refusals so far.
#[derive(Default)]
pub(super) struct Refusals {
    /// Refreshes for a refused token in a row that brought a new one.
    streak: u32,
    /// No refusal leads to an issuance before then (wall clock).
    hold_until: Option<SystemTime>,
    /// The token the last such refresh brought or kept: refused during the
    /// hold, it stays, with no refresh at all.
    held: Option<AccessToken>,
    /// Whether a refusal of the held token was reported during this hold.
    warned: bool,
    /// A token a caller reported refused ([`TokenSource::invalidate`]):
    /// the next refresh does not take it from the store again, and issues
    /// only from its `issue_from`.
    ///
    /// [`TokenSource::invalidate`]: super::TokenSource::invalidate
    pub(super) invalidated: Option<Refused>,
}

/// A token reported refused, and what the refresh for it may do.
#[derive(Clone)]
pub(super) struct Refused {
    pub(super) entry: Arc<Cached>,
    /// Before then (wall clock), the refresh takes another token from the
    /// store if there is one, but issues none: it keeps this one.
    pub(super) issue_from: SystemTime,
}

/// What a refusal comes to.
pub(super) enum Verdict {
    /// Refresh, as the [`Refused`] says.
    Refresh(Refused),
    /// Keep the token, no refresh: it is held. `first` for the first
    /// refusal of this hold.
    Hold { first: bool },
}

impl Refusals {
    /// What to do about `refused`, the cached token, reported refused at
    /// `wall`.
    pub(super) fn report(&mut self, refused: &Arc<Cached>, wall: SystemTime) -> Verdict {
        if self
            .hold_until
            .is_some_and(|until| wall >= until.checked_add(hold(self.streak)).unwrap_or(until))
        {
            // No refusal for a whole hold after the last one ended: a new episode.
            *self = Self::default();
        }
        let gate = self.hold_until.filter(|until| wall < *until);
        let held = self
            .held
            .as_ref()
            .is_some_and(|token| refused.is_token(token));
        if held && gate.is_some() {
            let first = !self.warned;
            self.warned = true;
            return Verdict::Hold { first };
        }
        let young = (!refused.issued_here).then(|| {
            let issued = not_after(refused.issued().received_at, wall);
            issued.checked_add(FIRST_HOLD).unwrap_or(issued)
        });
        let issue_from = [gate, young].into_iter().flatten().max().unwrap_or(wall);
        Verdict::Refresh(Refused {
            entry: Arc::clone(refused),
            issue_from,
        })
    }

    /// The refresh for `refused` brought `new` at `wall`: a new token starts
    /// the next hold, counted from its issuance; the refused one, kept, is
    /// held until the refresh could have issued.
    pub(super) fn settle(&mut self, refused: &Refused, new: &Cached, wall: SystemTime) {
        let until = if new.is(refused.entry.issued()) {
            refused.issue_from
        } else {
            self.streak = self.streak.saturating_add(1);
            let issued = not_after(new.issued().received_at, wall);
            issued.checked_add(hold(self.streak)).unwrap_or(issued)
        };
        self.hold_until = Some(self.hold_until.map_or(until, |before| before.max(until)));
        self.held = Some(new.issued().access_token.clone());
        self.warned = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_double_from_a_minute_to_an_hour() {
        let minutes: Vec<u64> = (1..=8).map(|s| hold(s).as_secs() / 60).collect();
        assert_eq!(minutes, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(hold(u32::MAX), MAX_HOLD);
    }
}
