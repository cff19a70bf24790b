//! When a token is served, refreshed and retired: the cache entry of an
//! issued token and the instants that govern it.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::HeaderValue;
use tokio::time::Instant;

use super::clock::{self, CoarseNow, coarse_monotonic};
use super::token::{Handles, Served, Token};
use crate::error::{Error, Remedy};
use crate::secret::AccessToken;
use crate::tokens::IssuedToken;
use crate::tokens::MAX_LIFETIME;

/// A cached token with the instants that govern it.
pub(super) struct Cached {
    /// The token as issued (or as read from the store), as it is served.
    token: Arc<Served>,
    /// Whether it is the token in the source's store, rather than one this
    /// source issued for itself while the store was out of reach.
    pub(super) placement: Placement,
    /// Whether this source issued it, rather than took it from the store.
    pub(super) issued_here: bool,
    pub(super) expires_at: Instant,
    /// Served until then (monotonic clock); never later.
    usable_until: Instant,
    /// The same by the wall clock, which, unlike the monotonic one, goes on
    /// while the machine is suspended.
    usable_until_wall: SystemTime,
    /// A background refresh starts from then, or from the same instant by
    /// the wall clock, whichever comes first.
    pub(super) refresh_from: Instant,
    refresh_from_wall: SystemTime,
    /// For a token shared through a store: no source that replaces it
    /// revokes it before then, when every source has stopped serving it.
    revoke_from: Option<Instant>,
    /// `usable_until` and `refresh_from` on the coarse monotonic clock,
    /// which a cached hit reads (unless tokio's clock was paused).
    coarse: Option<Coarse>,
    /// The handles its token is handed out through.
    handles: Handles,
}

/// A cache entry's monotonic deadlines on the coarse monotonic clock, in
/// nanoseconds (half the size of a `Duration`: a registry holds many).
#[derive(Debug, Clone, Copy)]
struct Coarse {
    usable_until: u64,
    refresh_from: u64,
}

/// `at` in nanoseconds, saturating (at 584 years).
fn nanos(at: Duration) -> u64 {
    u64::try_from(at.as_nanos()).unwrap_or(u64::MAX)
}

/// What a cached hit finds about an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Hit {
    /// Not to be served.
    Unusable,
    /// Served, and due for a refresh.
    Due,
    /// Served.
    Fresh,
}

impl Cached {
    /// The token, handed out to the calling thread.
    pub(super) fn token(&self) -> Token {
        self.handles.token(&self.token)
    }

    /// Whether `token` was handed out from this entry.
    pub(super) fn handed_out(&self, token: &Token) -> bool {
        token.is(&self.token)
    }

    /// The token as issued (or as read from the store).
    pub(super) fn issued(&self) -> &IssuedToken {
        &self.token.issued
    }

    /// What a cached hit at `wall` (by the wall clock) finds: the coarse
    /// monotonic clock read, or tokio's when the entry has no coarse
    /// deadlines. Both clocks must agree, as for [`usable`](Self::usable).
    pub(super) fn hit(&self, wall: SystemTime) -> Hit {
        let (usable, fresh) = match (self.coarse, self.coarse.and(coarse_monotonic())) {
            (Some(coarse), Some(now)) => {
                let now = nanos(now);
                (now < coarse.usable_until, now < coarse.refresh_from)
            }
            _ => {
                let now = Instant::now();
                (now < self.usable_until, now < self.refresh_from)
            }
        };
        if !usable || wall >= self.usable_until_wall {
            Hit::Unusable
        } else if fresh && wall < self.refresh_from_wall {
            Hit::Fresh
        } else {
            Hit::Due
        }
    }

    /// Whether the token may be served now: both clocks must agree.
    pub(super) fn usable(&self, now: Instant, wall: SystemTime) -> bool {
        now < self.usable_until && wall < self.usable_until_wall
    }

    /// When it expires, by the wall clock.
    pub(super) fn expires_at_wall(&self) -> SystemTime {
        self.token.expires_at
    }

    /// Whole seconds until it expires, by the wall clock `wall` (for logs).
    pub(super) fn seconds_left(&self, wall: SystemTime) -> u64 {
        clock::since(self.token.expires_at, wall).as_secs()
    }

    /// Whether its refresh is not due yet, by either clock.
    pub(super) fn fresh(&self, now: Instant, wall: SystemTime) -> bool {
        now < self.refresh_from && wall < self.refresh_from_wall
    }

    /// Whether it is the same token as `other`.
    pub(super) fn is(&self, other: &IssuedToken) -> bool {
        self.is_token(&other.access_token)
    }

    /// Whether it is `token`.
    pub(super) fn is_token(&self, token: &AccessToken) -> bool {
        self.token.issued.access_token.same_as(token)
    }
}

/// Where a cached token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Placement {
    /// It is the store's token.
    Stored,
    /// This source issued it for itself, the store being out of reach: it
    /// is this source's to retire, and the store is asked again soon.
    Own,
}

/// A token LINE issued that the source cannot serve: the error for the
/// callers, and the token, to revoke.
pub(super) struct Unusable {
    pub(super) error: Error,
    pub(super) token: AccessToken,
}

/// A token that cannot go into an `Authorization` header.
#[derive(Debug)]
struct NotAHeaderValue;

impl fmt::Display for NotAHeaderValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the token is not a valid HTTP header value")
    }
}

impl std::error::Error for NotAHeaderValue {}

/// The source's timing settings.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timing {
    /// A token with less than this left is never served.
    pub(super) margin: Duration,
    /// A background refresh starts when this much is left.
    pub(super) refresh_before: Duration,
    /// How long a replaced token stays unrevoked.
    pub(super) revoke_delay: Duration,
    /// Whether the store is shared with other sources, which may rotate
    /// (and revoke) the token this one caches.
    pub(super) shared: bool,
}

/// The widest spread of the refresh point of sources sharing a token.
const MAX_SPREAD: Duration = Duration::from_secs(30);

/// How much earlier than the shared refresh point a source may refresh a
/// token that reaches that point `after` its receipt: a tenth of that, at
/// most [`MAX_SPREAD`] (so a token just received is never refreshed at
/// once, however short-lived).
fn spread(after: Duration) -> Duration {
    (after / 10).min(MAX_SPREAD)
}

/// How soon a source that issued for itself asks the store again.
pub(super) const STORE_RECHECK: Duration = Duration::from_secs(5);

impl Timing {
    /// When the refresh of `issued` is due, by the wall clock: when the
    /// refresh window begins, or halfway through its usable life if that
    /// is later. It counts from when the token was received, so every
    /// source that reads the token from a store finds the same instant.
    pub(super) fn refresh_due(&self, issued: &IssuedToken) -> SystemTime {
        let lifetime = issued.expires_in.min(MAX_LIFETIME);
        let usable = lifetime.saturating_sub(self.margin);
        let after = lifetime.saturating_sub(self.refresh_before).max(usable / 2);
        issued
            .received_at
            .checked_add(after)
            .unwrap_or(issued.received_at)
    }

    /// The cache entry for `issued`, read at `now` (`wall` by the wall
    /// clock). Its life counts from its `received_at`; a lifetime over
    /// LINE's longest (30 days) is cut to it.
    ///
    /// With a shared store, the stored token is served only until half the
    /// revoke delay after its refresh was due ([`refresh_due`](Self::refresh_due),
    /// the same instant for every source), and a source that replaces it
    /// revokes it no sooner than the whole delay after: by then no source
    /// serves it, even one whose clock is up to half the delay behind. A
    /// token of the source's own is refreshed within [`STORE_RECHECK`], to
    /// go back to the store's.
    pub(super) fn entry(
        &self,
        issued: IssuedToken,
        placement: Placement,
        now: Instant,
        wall: SystemTime,
    ) -> Result<Cached, Unusable> {
        let lifetime = issued.expires_in.min(MAX_LIFETIME);
        // Already gone by when it reached the cache (a token received
        // earlier, or elsewhere); a receipt in the future counts as now.
        let aged = clock::since(wall, issued.received_at);
        let left = lifetime.saturating_sub(aged);
        let mut usable_life = left.saturating_sub(self.margin);
        let mut refresh_after = None;
        let mut revoke_from = None;
        if self.shared && placement == Placement::Stored {
            let due = self.refresh_due(&issued);
            let served_until = due.checked_add(self.revoke_delay / 2).unwrap_or(due);
            usable_life = usable_life.min(clock::since(served_until, wall));
            // Each source a little early, so that sources sharing the token
            // do not all contend for the lock at one instant; never later
            // (the serving and revoking bounds stay on `due`).
            let after = clock::since(due, issued.received_at);
            let early = spread(after).mul_f64(rand::random::<f64>());
            refresh_after = Some(clock::since(due, wall).saturating_sub(early));
            let revocable = due.checked_add(self.revoke_delay).unwrap_or(due);
            revoke_from = Some(later(now, clock::since(revocable, wall)));
        }
        if usable_life.is_zero() {
            return Err(Unusable {
                error: Error::UnusableToken {
                    lifetime: left,
                    margin: self.margin,
                },
                token: issued.access_token,
            });
        }
        let Ok(mut bearer) =
            HeaderValue::try_from(format!("Bearer {}", issued.access_token.expose_secret()))
        else {
            return Err(Unusable {
                error: Error::provider(Remedy::Fix, NotAHeaderValue),
                token: issued.access_token,
            });
        };
        bearer.set_sensitive(true);
        // At the latest halfway through the usable life, so that a refresh
        // always starts while the token is still served.
        let mut refresh_after = refresh_after.unwrap_or_else(|| {
            left.saturating_sub(self.refresh_before)
                .max(usable_life / 2)
        });
        if self.shared && placement == Placement::Own {
            refresh_after = refresh_after.min(STORE_RECHECK);
        }
        let wall_after = |by: Duration| wall.checked_add(by).unwrap_or(wall);
        let (usable_until, refresh_from) = (later(now, usable_life), later(now, refresh_after));
        let coarse = CoarseNow::read().map(|coarse| Coarse {
            usable_until: nanos(coarse.carry(usable_until)),
            refresh_from: nanos(coarse.carry(refresh_from)),
        });
        let token = Arc::new(Served {
            issued,
            bearer,
            expires_at: wall_after(left),
        });
        Ok(Cached {
            token,
            placement,
            issued_here: false,
            expires_at: later(now, left),
            usable_until,
            usable_until_wall: wall_after(usable_life),
            refresh_from,
            refresh_from_wall: wall_after(refresh_after),
            revoke_from,
            coarse,
            handles: Handles::new(),
        })
    }

    /// When to revoke `replaced`, replaced at `now`, or `None` when it
    /// expires first. A caller may have been handed it just before it was
    /// replaced, so it stays valid for the revoke delay; a stored token
    /// also until no other source serves it.
    pub(super) fn revoke_at(&self, replaced: &Replaced, now: Instant) -> Option<Instant> {
        let at = later(now, self.revoke_delay).max(replaced.revoke_from.unwrap_or(now));
        (at < replaced.expires_at).then_some(at)
    }
}

/// A token a refresh replaced: retired once no caller may still use it.
pub(super) struct Replaced {
    pub(super) token: AccessToken,
    expires_at: Instant,
    /// Not revoked before then (a stored token other sources may serve).
    revoke_from: Option<Instant>,
}

impl Replaced {
    /// The cached token `cached`, replaced.
    pub(super) fn cached(cached: &Cached) -> Self {
        Self {
            token: cached.issued().access_token.clone(),
            expires_at: cached.expires_at,
            revoke_from: cached.revoke_from,
        }
    }

    /// A token read from the shared store, replaced at `now` (`wall`): its
    /// expiry and its refresh point by the wall clock, carried over to the
    /// monotonic one.
    pub(super) fn stored(
        issued: &IssuedToken,
        timing: &Timing,
        now: Instant,
        wall: SystemTime,
    ) -> Self {
        let until_due = clock::since(timing.refresh_due(issued), wall);
        Self {
            token: issued.access_token.clone(),
            expires_at: later(now, clock::since(issued.expires_at(), wall)),
            revoke_from: Some(later(now, until_due.saturating_add(timing.revoke_delay))),
        }
    }
}

/// `now + by`, or `now` should that not be representable: an entry that
/// cannot say when it ends is not served, a backoff that cannot is over.
pub(super) fn later(now: Instant, by: Duration) -> Instant {
    now.checked_add(by).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMING: Timing = Timing {
        margin: Duration::from_secs(60),
        refresh_before: Duration::from_secs(300),
        revoke_delay: Duration::from_secs(60),
        shared: false,
    };
    const STORED: Placement = Placement::Stored;

    /// A token valid `seconds`, received at the fixed instant [`wall`].
    fn issued(seconds: u64) -> IssuedToken {
        IssuedToken::new(AccessToken::new("token"), Duration::from_secs(seconds))
            .with_received_at(wall())
    }

    /// One wall-clock instant for a whole test.
    fn wall() -> SystemTime {
        use std::sync::OnceLock;
        static WALL: OnceLock<SystemTime> = OnceLock::new();
        *WALL.get_or_init(SystemTime::now)
    }

    #[test]
    fn the_refresh_always_starts_while_the_token_is_served() {
        let now = Instant::now();
        for seconds in [61, 62, 120, 360, 900, 30 * 24 * 3600] {
            let entry = TIMING
                .entry(issued(seconds), STORED, now, wall())
                .ok()
                .unwrap();
            assert!(entry.refresh_from < entry.usable_until, "{seconds}");
            assert!(!entry.fresh(entry.refresh_from, wall()), "{seconds}");
            assert!(entry.refresh_from > now, "{seconds}");
        }
        let long = TIMING.entry(issued(900), STORED, now, wall()).ok().unwrap();
        assert_eq!(long.refresh_from, now + Duration::from_secs(600));
    }

    #[test]
    fn a_token_no_longer_than_the_margin_is_unusable() {
        for seconds in [0, 30, 60] {
            let unusable = TIMING.entry(issued(seconds), STORED, Instant::now(), wall());
            assert!(matches!(
                unusable,
                Err(Unusable {
                    error: Error::UnusableToken { .. },
                    ..
                })
            ));
        }
    }

    #[test]
    fn a_suspend_that_stops_the_monotonic_clock_is_caught_by_the_wall_clock() {
        let (now, wall) = (Instant::now(), wall());
        let entry = TIMING.entry(issued(900), STORED, now, wall).ok().unwrap();
        assert!(entry.usable(now, wall));
        // The monotonic clock stood still for an hour while the machine slept.
        assert!(!entry.usable(now, wall + Duration::from_secs(3600)));
        assert!(!entry.usable(now + Duration::from_secs(840), wall));
    }

    #[test]
    fn absurd_lifetimes_are_cut_to_lines_longest() {
        let now = Instant::now();
        let entry = TIMING
            .entry(issued(u64::MAX), STORED, now, wall())
            .ok()
            .unwrap();
        assert_eq!(entry.expires_at, now + MAX_LIFETIME);
    }

    #[test]
    fn life_counts_from_when_the_token_was_received() {
        let (now, wall) = (Instant::now(), wall());
        let mut earlier = issued(900);
        earlier.received_at = wall - Duration::from_secs(600);
        let entry = TIMING.entry(earlier, STORED, now, wall).ok().unwrap();
        assert_eq!(entry.expires_at, now + Duration::from_secs(300));
        let mut stale = issued(900);
        stale.received_at = wall - Duration::from_secs(850);
        assert!(TIMING.entry(stale, STORED, now, wall).is_err());
    }

    #[test]
    fn a_replaced_token_is_revoked_after_the_delay_unless_it_expires_first() {
        let now = Instant::now();
        let entry = TIMING.entry(issued(900), STORED, now, wall()).ok().unwrap();
        let replaced = Replaced::cached(&entry);
        assert_eq!(
            TIMING.revoke_at(&replaced, now),
            Some(now + TIMING.revoke_delay)
        );
        let late = now + Duration::from_secs(850);
        assert_eq!(TIMING.revoke_at(&replaced, late), None);
        let shared = Timing {
            shared: true,
            ..TIMING
        };
        let stored = Replaced::stored(
            &issued(900),
            &shared,
            late,
            wall() + Duration::from_secs(850),
        );
        assert_eq!(shared.revoke_at(&stored, late), None);
    }

    #[test]
    fn with_a_shared_store_a_stored_token_is_served_until_half_the_revoke_delay_past_its_refresh() {
        let shared = Timing {
            shared: true,
            ..TIMING
        };
        let now = Instant::now();
        let stored = shared.entry(issued(900), STORED, now, wall()).ok().unwrap();
        // Refresh due at 600 s; a source that replaces it revokes it from 660 s.
        assert!(stored.usable(now + Duration::from_secs(629), wall()));
        assert!(!stored.usable(now + Duration::from_secs(630), wall()));
        let own = shared
            .entry(issued(900), Placement::Own, now, wall())
            .ok()
            .unwrap();
        assert_eq!(own.refresh_from, now + STORE_RECHECK);
        assert!(own.usable(now + Duration::from_secs(800), wall()));
    }

    #[test]
    fn sources_sharing_a_token_spread_their_refresh_before_its_point_never_after() {
        let shared = Timing {
            shared: true,
            ..TIMING
        };
        let now = Instant::now();
        // A 900 s token is due at 600 s; the spread is 60 s, cut to 30 s.
        let due = now + Duration::from_secs(600);
        let earliest = due - MAX_SPREAD;
        let points: Vec<Instant> = (0..200)
            .map(|_| {
                let entry = shared.entry(issued(900), STORED, now, wall()).ok().unwrap();
                // Served, and revocable, by the shared point alone.
                assert!(entry.usable(now + Duration::from_secs(629), wall()));
                assert!(!entry.usable(now + Duration::from_secs(630), wall()));
                assert_eq!(entry.revoke_from, Some(now + Duration::from_secs(660)));
                entry.refresh_from
            })
            .collect();
        assert!(points.iter().all(|p| (earliest..=due).contains(p)));
        let (first, last) = (points.iter().min().unwrap(), points.iter().max().unwrap());
        assert!(*last - *first > Duration::from_secs(20), "no spread");
        // A token due 1.75 s after its receipt spreads by a tenth of that.
        assert_eq!(
            spread(Duration::from_millis(1750)),
            Duration::from_millis(175)
        );
    }

    /// Two sources read one stored token, one early and one just before its
    /// refresh is due. Whichever replaces it, whenever, revokes it only
    /// after both have stopped serving it.
    #[test]
    fn every_source_stops_serving_a_stored_token_before_any_replacement_revokes_it() {
        let shared = Timing {
            shared: true,
            ..TIMING
        };
        let start = Instant::now();
        for loaded_at in [0, 100, 420, 599, 610] {
            let (now, wall) = (
                start + Duration::from_secs(loaded_at),
                wall() + Duration::from_secs(loaded_at),
            );
            let late = shared.entry(issued(900), STORED, now, wall).ok().unwrap();
            // Served until the same instant, however late it was read.
            assert_eq!(
                late.usable_until,
                start + Duration::from_secs(630),
                "{loaded_at}"
            );
            // Refreshed at the shared point, or up to the spread before it.
            let due = start + Duration::from_secs(600).max(now - start);
            let earliest = (start + Duration::from_secs(570)).max(now);
            assert!((earliest..=due).contains(&late.refresh_from), "{loaded_at}");
            for replaced_at in [0, 300, 600, 629] {
                let at = start + Duration::from_secs(replaced_at);
                let wall_at = self::wall() + Duration::from_secs(replaced_at);
                for replaced in [
                    Replaced::cached(&late),
                    Replaced::stored(&issued(900), &shared, at, wall_at),
                ] {
                    let revoked = shared.revoke_at(&replaced, at.max(now)).unwrap();
                    assert!(revoked >= late.usable_until + shared.revoke_delay / 2);
                }
            }
        }
    }
}
