//! How one refresh gets its token through the store: take a fresh stored
//! token if there is one; otherwise take the store's lock, look again, and
//! only then issue and save. A store out of reach means degraded mode: the
//! source issues for itself, and asks the store again soon.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::cache::{Cached, Placement, Replaced, Timing, Unusable, later};
use super::clock::Clock;
use super::provider::DynProvider;
use super::refusal::Refused;
use crate::backoff;
use crate::error::Error;
use crate::metrics;
use crate::secret::AccessToken;
use crate::store::{AnyLease, DynStore, StoreError, StoreErrorKind, Unshared};
use crate::tokens::IssuedToken;

/// First wait before looking again while another source holds the lock.
const FIRST_POLL: Duration = Duration::from_millis(20);
/// Longest wait between looks.
const MAX_POLL: Duration = Duration::from_millis(500);

/// A source's store, the name of its provider's token there, and how long
/// to wait for it.
#[derive(Debug)]
pub(super) struct StoreLink {
    pub(super) store: Arc<dyn DynStore>,
    pub(super) key: String,
    /// Bounds each store operation.
    pub(super) timeout: Duration,
    /// How long an issuance lock lives unless released.
    pub(super) lock_ttl: Duration,
    /// Whether a store failure makes the source issue for itself, rather
    /// than fail the call.
    pub(super) degrade: bool,
    /// Whether the source is in degraded mode: warned about once, when it
    /// enters it.
    pub(super) degraded: AtomicBool,
}

impl StoreLink {
    async fn bounded<T>(
        &self,
        operation: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        tokio::time::timeout(self.timeout, operation)
            .await
            .unwrap_or_else(|_| {
                Err(StoreError::unavailable(format!(
                    "no answer within {:?}",
                    self.timeout
                )))
            })
    }

    /// Records operation `name`'s outcome in the metrics: `ok`, `busy` (a
    /// lock someone else holds), or the error's kind. A source without a
    /// store of the user's records nothing.
    fn measure<T>(&self, name: &'static str, outcome: &Result<T, StoreError>, busy: bool) {
        if Unshared::is(&self.store) {
            return;
        }
        let store = self.store.name();
        let outcome = match outcome {
            Ok(_) if busy => "busy",
            Ok(_) => "ok",
            Err(error) => error.kind().as_str(),
        };
        metrics::store_operation(store, name, outcome);
    }

    async fn load(&self) -> Result<Option<IssuedToken>, StoreError> {
        let loaded = self.bounded(self.store.load(&self.key)).await;
        self.measure("load", &loaded, false);
        loaded
    }

    async fn lock(&self) -> Result<Option<AnyLease>, StoreError> {
        let locked = self
            .bounded(self.store.lock(&self.key, self.lock_ttl))
            .await;
        let busy = matches!(locked, Ok(None));
        self.measure("lock", &locked, busy);
        locked
    }

    async fn unlock(&self, lease: AnyLease, save: Option<&IssuedToken>) -> Result<(), StoreError> {
        let unlocked = self
            .bounded(self.store.unlock(&self.key, lease, save))
            .await;
        self.measure("unlock", &unlocked, false);
        unlocked
    }
}

/// What a refresh got, and the tokens it leaves for the source to retire.
pub(super) struct Obtained {
    pub(super) outcome: Result<Cached, Error>,
    /// Tokens no caller got: retired at once.
    pub(super) unused: Vec<AccessToken>,
    /// Tokens this refresh replaced: retired after the revoke delay.
    pub(super) replaced: Vec<Replaced>,
}

impl Obtained {
    /// An outcome that leaves nothing to retire.
    pub(super) fn only(outcome: Result<Cached, Error>) -> Self {
        Self {
            outcome,
            unused: Vec::new(),
            replaced: Vec::new(),
        }
    }
}

/// One refresh's view: the provider, the store, the timing, and the token
/// cached when it started.
pub(super) struct Coordinator<'a> {
    pub(super) provider: &'a dyn DynProvider,
    pub(super) link: &'a StoreLink,
    pub(super) timing: Timing,
    pub(super) clock: &'a Clock,
    pub(super) current: Option<&'a Cached>,
    /// A token a caller reported refused: never taken from the store, and
    /// replaced by an issuance only once its hold is over.
    pub(super) refused: Option<&'a Refused>,
    /// Whether the provider issued a token in this refresh.
    pub(super) issued: AtomicBool,
    /// Whether this refresh kept a token the source had (its own, or one
    /// reported refused), rather than issued one or took the store's.
    pub(super) kept: AtomicBool,
}

impl Coordinator<'_> {
    /// The token to cache next.
    pub(super) async fn obtain(&self) -> Obtained {
        let give_up = later(
            Instant::now(),
            self.link.lock_ttl.saturating_add(self.link.timeout),
        );
        let mut attempt: u32 = 0;
        loop {
            let stored = match self.link.load().await {
                Ok(stored) => stored,
                Err(error) => return self.without_store(error).await,
            };
            if let Some(entry) = self.fresh(stored) {
                tracing::debug!("token source: took the stored token");
                return self.adopt(entry);
            }
            if let Some(kept) = self.keep_refused() {
                return kept;
            }
            match self.link.lock().await {
                Ok(Some(lease)) => return self.rotate(lease).await,
                Ok(None) if Instant::now() >= give_up => {
                    let error = StoreError::unavailable(format!(
                        "the issuance lock was held past {:?}",
                        self.link.lock_ttl
                    ));
                    return self.without_store(error).await;
                }
                Ok(None) => {
                    tracing::trace!(attempt, "token source: another holder is issuing");
                    attempt = attempt.saturating_add(1);
                    tokio::time::sleep(backoff::exponential(FIRST_POLL, MAX_POLL, attempt)).await;
                }
                Err(error) => return self.without_store(error).await,
            }
        }
    }

    /// The stored token, if it is fresh: usable, its refresh not yet due.
    fn fresh(&self, stored: Option<IssuedToken>) -> Option<Cached> {
        let stored = stored?;
        let (now, wall) = (Instant::now(), self.clock.now());
        // The token this refresh is for: the cache's monotonic clock knows
        // its age best.
        if self
            .current
            .is_some_and(|c| c.is(&stored) && !c.fresh(now, wall))
            || self.refused.is_some_and(|bad| bad.entry.is(&stored))
        {
            return None;
        }
        let entry = self
            .timing
            .entry(stored, Placement::Stored, now, wall)
            .ok()?;
        entry.fresh(now, wall).then_some(entry)
    }

    /// The refused token again, while the hold lasts and the store has no
    /// other: a new token would most likely be refused too, and count
    /// against LINE's budget. Not a token that can no longer be served.
    fn keep_refused(&self) -> Option<Obtained> {
        let refused = self.refused?;
        if self.clock.now() >= refused.issue_from {
            return None;
        }
        let mut entry = self
            .rewrap(refused.entry.issued().clone(), refused.entry.placement)
            .ok()?;
        entry.issued_here = refused.entry.issued_here;
        self.kept.store(true, Ordering::Relaxed);
        tracing::debug!("token source: a refused token is kept through the refusal hold");
        Some(Obtained::only(Ok(entry)))
    }

    /// A new token from the provider, its receipt read on the source's clock.
    async fn issue(&self) -> Result<IssuedToken, Error> {
        let mut issued = self.provider.issue().await?;
        self.issued.store(true, Ordering::Relaxed);
        issued.received_at = self.clock.carry_over(issued.received_at);
        Ok(issued)
    }

    /// Takes the store's fresh token; a token of our own it replaces is
    /// ours to retire.
    fn adopt(&self, entry: Cached) -> Obtained {
        self.link.answered();
        let replaced = self
            .own_tokens()
            .filter(|c| !c.is(entry.issued()))
            .map(Replaced::cached)
            .collect();
        Obtained {
            outcome: Ok(entry),
            unused: Vec::new(),
            replaced,
        }
    }

    /// The tokens this source issued for itself that a new token replaces:
    /// the cached one, or the one reported refused (no longer cached).
    fn own_tokens(&self) -> impl Iterator<Item = &Cached> {
        let refused = self.refused.map(|r| r.entry.as_ref());
        self.current
            .into_iter()
            .chain(refused)
            .filter(|c| c.placement == Placement::Own)
    }

    /// Under the lock: look again, then issue (or hand the store a fresh
    /// token of our own) and save. The token it replaces in the store is
    /// ours to retire, and no one else's.
    async fn rotate(&self, lease: AnyLease) -> Obtained {
        let stored = match self.link.load().await {
            Ok(stored) => stored,
            Err(error) => {
                let _ = self.link.unlock(lease, None).await;
                return self.without_store(error).await;
            }
        };
        if let Some(entry) = self.fresh(stored.clone()) {
            let _ = self.link.unlock(lease, None).await;
            return self.adopt(entry);
        }
        let issued = match self.own_fresh() {
            Some(own) => {
                self.kept.store(true, Ordering::Relaxed);
                own.issued().clone()
            }
            None => match self.issue().await {
                Ok(issued) => issued,
                Err(error) => {
                    let _ = self.link.unlock(lease, None).await;
                    return Obtained::only(Err(error));
                }
            },
        };
        let (now, wall) = (Instant::now(), self.clock.now());
        let entry = match self.timing.entry(issued, Placement::Stored, now, wall) {
            Ok(entry) => mine(entry),
            Err(unusable) => {
                let _ = self.link.unlock(lease, None).await;
                return unusable_token(unusable);
            }
        };
        let placement = match self.link.unlock(lease, Some(entry.issued())).await {
            Ok(()) => {
                tracing::debug!("token source: stored the new token for the others");
                self.link.answered();
                Placement::Stored
            }
            // Without degraded mode a token the store does not keep is not
            // served: it is retired, as unused.
            Err(error) if !self.link.degrade => {
                return Obtained {
                    outcome: Err(Error::Store(error)),
                    unused: vec![entry.issued().access_token.clone()],
                    replaced: Vec::new(),
                };
            }
            Err(error) => {
                self.link.degraded(&error);
                Placement::Own
            }
        };
        // A store that keeps nothing (a source given none) has no record
        // of the token this one replaces: the cached one, if the store's.
        let stored = stored.or_else(|| {
            self.current
                .filter(|c| c.placement == Placement::Stored)
                .map(|c| c.issued().clone())
        });
        // A token we failed to save over stays the store's.
        let mut replaced: Vec<Replaced> = stored
            .filter(|s| placement == Placement::Stored && !entry.is(s))
            .map(|s| match self.current.filter(|c| c.is(&s)) {
                Some(current) => Replaced::cached(current),
                None => Replaced::stored(&s, &self.timing, now, wall),
            })
            .into_iter()
            .collect();
        let own: Vec<Replaced> = self
            .own_tokens()
            .filter(|c| !c.is(entry.issued()) && !replaced.iter().any(|r| c.is_token(&r.token)))
            .map(Replaced::cached)
            .collect();
        replaced.extend(own);
        let outcome = match placement {
            Placement::Stored => Ok(entry),
            Placement::Own => self
                .rewrap(entry.issued().clone(), Placement::Own)
                .map(mine),
        };
        Obtained {
            outcome,
            unused: Vec::new(),
            replaced,
        }
    }

    /// Degraded mode: a fresh token of our own is kept; otherwise we issue
    /// for ourselves. Without degraded mode, the caller gets the store's
    /// error.
    async fn without_store(&self, error: StoreError) -> Obtained {
        if !self.link.degrade {
            return Obtained::only(Err(Error::Store(error)));
        }
        self.link.degraded(&error);
        if let Some(own) = self.own_fresh() {
            self.kept.store(true, Ordering::Relaxed);
            return Obtained::only(self.rewrap(own.issued().clone(), Placement::Own).map(mine));
        }
        let issued = match self.issue().await {
            Ok(issued) => issued,
            Err(error) => return Obtained::only(Err(error)),
        };
        let (now, wall) = (Instant::now(), self.clock.now());
        match self.timing.entry(issued, Placement::Own, now, wall) {
            Ok(entry) => Obtained {
                outcome: Ok(mine(entry)),
                unused: Vec::new(),
                replaced: self.own_tokens().map(Replaced::cached).collect(),
            },
            Err(unusable) => unusable_token(unusable),
        }
    }

    /// The cached token, if it is our own and fresh by the store's rules.
    /// Fresh: usable, and before the shared refresh point, not a spread
    /// point: the store may hold it (a save whose answer was lost), and
    /// other sources serve it until past that point.
    fn own_fresh(&self) -> Option<&Cached> {
        let (now, wall) = (Instant::now(), self.clock.now());
        let current = self.current.filter(|c| c.placement == Placement::Own)?;
        let due = self.timing.refresh_due(current.issued());
        (current.usable(now, wall) && wall < due).then_some(current)
    }

    /// A cache entry for `issued` placed as `placement`.
    fn rewrap(&self, issued: IssuedToken, placement: Placement) -> Result<Cached, Error> {
        self.timing
            .entry(issued, placement, Instant::now(), self.clock.now())
            .map_err(|unusable| unusable.error)
    }
}

/// `entry`, marked as issued by this source.
fn mine(mut entry: Cached) -> Cached {
    entry.issued_here = true;
    entry
}

/// A token too short-lived to serve: the callers' error, and the token to
/// retire.
fn unusable_token(Unusable { error, token }: Unusable) -> Obtained {
    Obtained {
        outcome: Err(error),
        unused: vec![token],
        replaced: Vec::new(),
    }
}

impl StoreLink {
    /// Notes that the store failed and the source issues for itself: a
    /// warning when it enters degraded mode, a debug event while it stays.
    fn degraded(&self, error: &StoreError) {
        metrics::store_fallback(self.store.name());
        if self.degraded.swap(true, Ordering::Relaxed) {
            tracing::debug!(%error, "token store: still out of reach");
        } else if error.kind() == StoreErrorKind::WrongKey {
            tracing::warn!(
                %error,
                "token store: the stored token is sealed under a key this process was not \
                 given; it uses a token of its own until it is given that key"
            );
        } else {
            tracing::warn!(
                %error,
                "token store out of reach: this process uses a token of its own until the store \
                 answers"
            );
        }
    }

    /// Whether the source is in degraded mode.
    pub(super) fn is_degraded(&self) -> bool {
        self.degraded.load(Ordering::Relaxed)
    }

    /// Notes that the store answered: out of degraded mode, if it was in it.
    fn answered(&self) {
        if self.degraded.swap(false, Ordering::Relaxed) {
            tracing::info!("token store: answers again; back to the shared token");
        }
    }
}
