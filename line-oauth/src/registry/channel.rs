//! One channel's place in a registry: its source once resolved, when it was
//! last used, and the resolution that makes the source. One resolution at a
//! time (every caller that arrives meanwhile waits for it); an unknown
//! channel is remembered for a while; a failed resolution is retried after
//! a backoff.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::Shared;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::backoff;
use crate::error::Error;
use crate::token_source::TokenSource;

/// The first wait after a failed resolution, doubling per failure.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait after failed resolutions.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// What a resolution ends with: the source, or why there is none.
pub(super) type Resolved = Result<TokenSource, Error>;
/// A resolution in flight, shared by every caller that waits for it.
pub(super) type Pending = Shared<oneshot::Receiver<Resolved>>;

/// A channel in the registry.
pub(super) struct Channel {
    /// Its source, once resolved: what a cached hit reads.
    source: OnceLock<TokenSource>,
    /// When it was last used, in milliseconds since the registry began.
    used: AtomicU64,
    /// The resolution's state, for calls that find no source.
    resolution: Mutex<Resolution>,
}

/// Where a channel's resolution stands.
enum Resolution {
    /// Never resolved, or resolvable again.
    Open,
    /// Running: wait for it. `failures`: the failed resolutions in a row
    /// before it, for the backoff should it fail too.
    Running { pending: Pending, failures: u32 },
    /// The resolver knows no such channel; asked again after `until`.
    Unknown { until: Instant },
    /// The last resolution failed; tried again after a backoff. Boxed: a
    /// registry holds many channels, and few fail.
    Failed(Box<Failure>),
}

/// A failed resolution.
struct Failure {
    error: Error,
    /// Tried again from then.
    retry_at: Instant,
    /// Failures in a row.
    failures: u32,
}

/// What a caller that found no source does next.
pub(super) enum Next {
    /// The source, resolved meanwhile.
    Ready(TokenSource),
    /// The answer for now: an unknown channel, or a failure backing off.
    Refused(Error),
    /// Wait for the resolution in flight.
    Wait(Pending),
    /// Resolve: send the outcome through `done`, then wait with the rest.
    Start {
        done: oneshot::Sender<Resolved>,
        pending: Pending,
    },
}

impl Channel {
    /// A channel not yet resolved, used at `tick`.
    pub(super) fn new(tick: u64) -> Self {
        Self {
            source: OnceLock::new(),
            used: AtomicU64::new(tick),
            resolution: Mutex::new(Resolution::Open),
        }
    }

    /// Its source, if resolved.
    pub(super) fn source(&self) -> Option<&TokenSource> {
        self.source.get()
    }

    /// Records a use at `tick`. Written only when the tick moved, so that
    /// threads hitting one channel rarely write the same cache line.
    pub(super) fn touch(&self, tick: u64) {
        if self.used.load(Ordering::Relaxed) < tick {
            self.used.store(tick, Ordering::Relaxed);
        }
    }

    /// When it was last used.
    pub(super) fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// Whether its resolution is running.
    pub(super) fn resolving(&self) -> bool {
        matches!(*self.resolution(), Resolution::Running { .. })
    }

    /// Whether it holds only a remembered "unknown", expired at `now`.
    pub(super) fn forgotten(&self, now: Instant) -> bool {
        matches!(*self.resolution(), Resolution::Unknown { until } if until <= now)
    }

    fn resolution(&self) -> MutexGuard<'_, Resolution> {
        // Every change is one assignment: consistent even after a panic.
        self.resolution
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// What a caller that found no source does next, at `now`.
    pub(super) fn next(&self, now: Instant, channel_id: &str) -> Next {
        let mut resolution = self.resolution();
        if let Some(source) = self.source.get() {
            return Next::Ready(source.clone());
        }
        match &*resolution {
            // A resolution whose task is gone (its runtime shut down)
            // left no outcome: start anew.
            Resolution::Running { pending, .. }
                if !pending.peek().is_some_and(|outcome| outcome.is_err()) =>
            {
                return Next::Wait(pending.clone());
            }
            Resolution::Unknown { until } if now < *until => {
                return Next::Refused(unknown(channel_id));
            }
            Resolution::Failed(failure) if now < failure.retry_at => {
                return Next::Refused(failure.error.clone());
            }
            _ => {}
        }
        let failures = match &*resolution {
            Resolution::Failed(failure) => failure.failures,
            Resolution::Running { failures, .. } => *failures,
            _ => 0,
        };
        let (done, pending) = oneshot::channel();
        let pending = pending.shared();
        *resolution = Resolution::Running {
            pending: pending.clone(),
            failures,
        };
        Next::Start { done, pending }
    }

    /// Records how the resolution ended, at `now`: `Ok(None)` for a channel
    /// the resolver does not know, kept for `unknown_for`. Returns what the
    /// waiters get.
    pub(super) fn settle(
        &self,
        outcome: Result<Option<TokenSource>, Error>,
        now: Instant,
        unknown_for: Duration,
        channel_id: &str,
    ) -> Resolved {
        let mut resolution = self.resolution();
        let failures = match &*resolution {
            Resolution::Running { failures, .. } => *failures,
            Resolution::Failed(failure) => failure.failures,
            _ => 0,
        };
        match outcome {
            Ok(Some(source)) => {
                let source = self.source.get_or_init(|| source).clone();
                *resolution = Resolution::Open;
                Ok(source)
            }
            Ok(None) => {
                *resolution = Resolution::Unknown {
                    until: now.checked_add(unknown_for).unwrap_or(now),
                };
                Err(unknown(channel_id))
            }
            Err(error) => {
                let failures = failures.saturating_add(1);
                let wait = backoff::exponential(FIRST_BACKOFF, MAX_BACKOFF, failures);
                *resolution = Resolution::Failed(Box::new(Failure {
                    error: error.clone(),
                    retry_at: now.checked_add(wait).unwrap_or(now),
                    failures,
                }));
                Err(error)
            }
        }
    }
}

/// The error for a channel the resolver does not know.
fn unknown(channel_id: &str) -> Error {
    Error::UnknownChannel {
        channel_id: channel_id.to_owned(),
    }
}
