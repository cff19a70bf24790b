//! One refresh: a spawned task that issues a token, publishes it, and
//! retires the one it replaces. It runs to its end whether or not anyone
//! waits for it, and holds the source only weakly, so dropping the last
//! [`TokenSource`](super::TokenSource) handle frees the source at once.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use futures_util::FutureExt;
use futures_util::future::Shared;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use super::cache::{Cached, Placement, Replaced, Timing, later};
use super::clock::Clock;
use super::coordinate::{Coordinator, Obtained, StoreLink};
use super::health::Health;
use super::provider::{DynProvider, Retired};
use super::refusal::{Refusals, Refused};
use crate::backoff;
use crate::error::{Chain, Error};
use crate::metrics;

/// First wait after the second failed refresh in a row; it doubles per
/// failure. The first failure is retried by the next call at once.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// Longest wait between refresh attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// The target of the events that report a refresh's outcome: a program
/// that reports the outcome itself (the `line-oauth` command) leaves them
/// out by it.
const OUTCOME_TARGET: &str = "line_oauth::refresh";

/// What a refresh ends with, shared by every caller that waited for it.
pub(super) type Outcome = Result<Arc<Cached>, Error>;
/// A refresh in flight, as its waiters see it.
pub(super) type Pending = Shared<oneshot::Receiver<Outcome>>;

/// The refresh in flight and the backoff after failed ones.
#[derive(Default)]
pub(super) struct RefreshState {
    pub(super) in_flight: Option<Pending>,
    /// Counts refreshes, so a task clears only its own in-flight mark.
    generation: u64,
    /// The failed refreshes in a row, if the last one failed. Boxed, as is
    /// what refusals keep: most sources never need either, and a registry
    /// holds many sources.
    pub(super) failing: Option<Box<Failing>>,
    /// The bound on the issuances refusals cause, and the token refused
    /// last, from the first refusal.
    pub(super) refusals: Option<Box<Refusals>>,
    /// Tells watchers of each change of the source's health, from the
    /// first ask to watch until no one watches.
    pub(super) watch: Option<Box<Watch>>,
}

/// The watch of a source's health, and the number of the last health sent:
/// sent after the state lock is released, a health never overwrites a
/// later one.
pub(super) struct Watch {
    pub(super) sender: watch::Sender<Health>,
    sent: u64,
}

impl Watch {
    /// A watch starting at `health`.
    pub(super) fn new(health: Health) -> (Box<Self>, watch::Receiver<Health>) {
        let (sender, changes) = watch::channel(health);
        (Box::new(Self { sender, sent: 0 }), changes)
    }
}

/// Failed refreshes in a row, and the backoff they set.
pub(super) struct Failing {
    failures: u32,
    /// Until then no refresh starts, and a call with no usable token gets
    /// `last_error` at once.
    retry_at: Instant,
    last_error: Error,
}

impl RefreshState {
    /// The last refresh's error, while its backoff lasts at `now`.
    pub(super) fn backing_off(&self, now: Instant) -> Option<&Error> {
        let failing = self.failing.as_deref()?;
        (now < failing.retry_at).then_some(&failing.last_error)
    }
}

/// A source's timing and clock: shared, unchanged, by every source built
/// from the same settings (a registry's many).
#[derive(Debug, Clone)]
pub(super) struct Config {
    pub(super) timing: Timing,
    pub(super) clock: Clock,
}

/// What the handles of one source share.
pub(super) struct Core {
    pub(super) provider: Arc<dyn DynProvider>,
    pub(super) link: Arc<StoreLink>,
    pub(super) config: Arc<Config>,
    pub(super) cache: ArcSwapOption<Cached>,
    pub(super) state: Mutex<RefreshState>,
}

impl Core {
    pub(super) fn state(&self) -> MutexGuard<'_, RefreshState> {
        // The state stays consistent even if a holder panicked.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The source's health now; `state` is its locked refresh state.
    pub(super) fn health(&self, state: &RefreshState) -> Health {
        let cached = self.cache.load();
        Health {
            expires_at: cached.as_ref().map(|c| c.expires_at_wall()),
            refreshed_at: cached.as_ref().map(|c| c.issued().received_at),
            last_error: state.failing.as_ref().map(|f| f.last_error.clone()),
            degraded: self.link.is_degraded(),
            refreshing: state.in_flight.is_some(),
            sent: 0,
        }
    }

    /// Tells the watchers, if any, of the health now, once the state lock
    /// (`state`) is released: a watcher holding a borrow of the watch never
    /// holds up the source. A watch no one holds any more is dropped.
    pub(super) fn publish(&self, mut state: MutexGuard<'_, RefreshState>) {
        let Some(watch) = state.watch.as_deref() else {
            return;
        };
        if watch.sender.receiver_count() == 0 {
            state.watch = None;
            return;
        }
        let mut health = self.health(&state);
        let Some(watch) = state.watch.as_deref_mut() else {
            return;
        };
        watch.sent = watch.sent.wrapping_add(1);
        health.sent = watch.sent;
        let sender = watch.sender.clone();
        drop(state);
        sender.send_if_modified(|current| {
            let newer = current.sent < health.sent;
            if newer {
                *current = health;
            }
            newer
        });
    }

    /// Starts a refresh in a task of the current tokio runtime.
    pub(super) fn start(
        self: &Arc<Self>,
        state: &mut RefreshState,
        runtime: &tokio::runtime::Handle,
    ) -> Pending {
        let (done, pending) = oneshot::channel();
        let pending = pending.shared();
        state.generation = state.generation.wrapping_add(1);
        state.in_flight = Some(pending.clone());
        let refresh = Refresh {
            provider: Arc::clone(&self.provider),
            link: Arc::clone(&self.link),
            core: Arc::downgrade(self),
            timing: self.config.timing,
            clock: self.config.clock.clone(),
            generation: state.generation,
            refused: state.refusals.as_ref().and_then(|r| r.invalidated.clone()),
        };
        // Made before the task, so that it clears the mark even if the task
        // is dropped before it first runs (its runtime shutting down).
        let unsettled = Unsettled {
            core: Some(Arc::downgrade(self)),
            generation: state.generation,
        };
        runtime.spawn(refresh.run(done, unsettled));
        pending
    }

    /// Publishes a refresh's outcome and settles the backoff.
    fn settle(&self, outcome: &Outcome, generation: u64) {
        let mut state = self.state();
        // Under the state lock: a caller sees either the refresh in flight
        // or its outcome in the cache, never neither.
        if let Ok(new) = outcome {
            self.cache.store(Some(Arc::clone(new)));
            // The refresh for a refused token (whichever refresh brings a
            // token first) ends the refusal.
            if let Some(refusals) = state.refusals.as_mut()
                && let Some(refused) = refusals.invalidated.take()
            {
                refusals.settle(&refused, new, self.config.clock.now());
            }
        }
        if state.generation == generation {
            state.in_flight = None;
        }
        match outcome {
            Ok(_) => state.failing = None,
            Err(error) => {
                let failures = state
                    .failing
                    .as_ref()
                    .map_or(1, |f| f.failures.saturating_add(1));
                let wait = match failures {
                    1 => Duration::ZERO,
                    n => backoff::exponential(FIRST_BACKOFF, MAX_BACKOFF, n - 1),
                };
                state.failing = Some(Box::new(Failing {
                    failures,
                    retry_at: later(Instant::now(), wait),
                    last_error: error.clone(),
                }));
            }
        }
    }
}

/// Where a refresh's token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// The provider issued it.
    Issued,
    /// The store had it.
    Store,
    /// The source had it: its own, or one reported refused and held.
    Kept,
}

/// One refresh task's inputs. It shares the provider, and sees the source
/// only through a weak reference: nothing the source holds keeps it alive.
struct Refresh {
    provider: Arc<dyn DynProvider>,
    link: Arc<StoreLink>,
    core: Weak<Core>,
    timing: Timing,
    clock: Clock,
    generation: u64,
    refused: Option<Refused>,
}

impl Refresh {
    async fn run(self, done: oneshot::Sender<Outcome>, unsettled: Unsettled) {
        let started = Instant::now();
        let core = self.core.upgrade();
        // Watchers learn that a refresh runs.
        if let Some(core) = &core {
            core.publish(core.state());
        }
        let current = core.and_then(|core| core.cache.load_full());
        let coordinator = Coordinator {
            provider: self.provider.as_ref(),
            link: &self.link,
            timing: self.timing,
            clock: &self.clock,
            current: current.as_deref(),
            refused: self.refused.as_ref(),
            issued: AtomicBool::new(false),
            kept: AtomicBool::new(false),
        };
        let Obtained {
            outcome,
            unused,
            replaced,
        } = AssertUnwindSafe(coordinator.obtain())
            .catch_unwind()
            .await
            .unwrap_or_else(|_panic| Obtained::only(Err(Error::RefreshAborted)));
        let origin = match (
            coordinator.issued.load(Ordering::Relaxed),
            coordinator.kept.load(Ordering::Relaxed),
        ) {
            (true, _) => Origin::Issued,
            (false, true) => Origin::Kept,
            (false, false) => Origin::Store,
        };
        drop(current);
        let outcome: Outcome = outcome.map(Arc::new);
        self.measure(&outcome, origin, started.elapsed());
        match &outcome {
            Ok(entry) => tracing::info!(
                target: OUTCOME_TARGET,
                seconds_left = entry.seconds_left(self.clock.now()),
                from_store = origin == Origin::Store && self.timing.shared,
                "token source: new token"
            ),
            Err(error) => {
                tracing::warn!(target: OUTCOME_TARGET, error = %Chain(error), "token source: refresh failed")
            }
        }
        let Some(core) = self.core.upgrade() else {
            // Every handle is gone: no one here will use this token, nor
            // anyone else unless it is in a shared store.
            if let Ok(entry) = &outcome
                && !(self.timing.shared && entry.placement == Placement::Stored)
            {
                self.retire(&entry.issued().access_token, Retired::Unused)
                    .await;
            }
            for token in &unused {
                self.retire(token, Retired::Unused).await;
            }
            return;
        };
        core.settle(&outcome, self.generation);
        unsettled.disarm();
        // The waiters first: a watcher holding a borrow of the watch holds
        // up only this task.
        let _ = done.send(outcome);
        core.publish(core.state());
        drop(core);
        for token in &unused {
            self.retire(token, Retired::Unused).await;
        }
        self.retire_replaced(replaced).await;
    }

    /// Records the refresh's outcome and duration in the metrics.
    fn measure(&self, outcome: &Outcome, origin: Origin, took: Duration) {
        let (kind, channel) = (self.provider.token_kind(), self.provider.channel_id());
        match outcome {
            Ok(entry) => {
                let how = match origin {
                    Origin::Issued => "issued",
                    // A source with no store of its own takes nothing from one.
                    Origin::Store if self.timing.shared => "from_store",
                    Origin::Store | Origin::Kept => "kept",
                };
                metrics::refresh(kind, channel, how, took, Some(entry.expires_at_wall()));
            }
            Err(error) => metrics::refresh(kind, channel, error.kind(), took, None),
        }
    }

    /// Retires the tokens this refresh replaced once no caller may still
    /// use them ([`Timing::revoke_at`]), but for those that expire sooner.
    async fn retire_replaced(&self, replaced: Vec<Replaced>) {
        let now = Instant::now();
        let mut due: Vec<(Instant, Replaced)> = replaced
            .into_iter()
            .filter_map(|r| Some((self.timing.revoke_at(&r, now)?, r)))
            .collect();
        due.sort_by_key(|(at, _)| *at);
        for (at, replaced) in &due {
            tokio::time::sleep_until(*at).await;
            self.retire(&replaced.token, Retired::Replaced).await;
        }
    }

    /// Lets the provider retire a token; a panic there only ends this task.
    async fn retire(&self, token: &crate::secret::AccessToken, why: Retired) {
        let _ = AssertUnwindSafe(self.provider.retire(token, why))
            .catch_unwind()
            .await;
    }
}

/// Clears the in-flight mark of a refresh task that ends without settling
/// (its runtime shut down, before or while it ran), so the next call starts
/// a new one.
struct Unsettled {
    /// `None` once the task settled.
    core: Option<Weak<Core>>,
    generation: u64,
}

impl Unsettled {
    /// The task settled: nothing to clear.
    fn disarm(mut self) {
        self.core = None;
    }
}

impl Drop for Unsettled {
    fn drop(&mut self) {
        if let Some(core) = self.core.take().and_then(|core| core.upgrade()) {
            let mut state = core.state();
            if state.generation == self.generation {
                state.in_flight = None;
                core.publish(state);
            }
        }
    }
}
