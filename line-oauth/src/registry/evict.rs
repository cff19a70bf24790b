//! Keeping a registry's memory bounded: idle channels go after the idle
//! time, and beyond the cap the least recently used go first.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::time::Instant;

use super::{Inner, LIVE, fewer};
use crate::metrics;

/// How often the sweeper looks for idle channels: a quarter of the idle
/// time, between a second and a minute.
fn period(idle: Duration) -> Duration {
    (idle / 4).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

/// Starts the sweeper on the current runtime, unless it runs: once per
/// registry, and again should the runtime it ran on have shut down. It
/// holds the registry weakly and ends when the registry is dropped.
pub(super) fn start_sweeper(inner: &Arc<Inner>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let mut sweeper = inner
        .sweeper
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if sweeper.as_ref().is_some_and(|task| !task.is_finished()) {
        return;
    }
    let registry: Weak<Inner> = Arc::downgrade(inner);
    let every = period(inner.policy.idle);
    let task = runtime.spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let Some(inner) = registry.upgrade() else {
                return;
            };
            sweep(&inner, Instant::now());
        }
    });
    *sweeper = Some(task.abort_handle());
}

/// Evicts the channels idle for the idle time, and forgets unknown
/// channels remembered long enough.
pub(super) fn sweep(inner: &Inner, now: Instant) {
    // A registry younger than the idle time has no idle channel yet.
    let idle_since = inner.tick().checked_sub(millis(inner.policy.idle));
    let channels = inner.channels.pin();
    let (mut evicted, mut forgotten) = (0_usize, 0_usize);
    for (id, channel) in channels.iter() {
        let idle = idle_since.is_some_and(|since| channel.used() <= since) && !channel.resolving();
        let forget = channel.forgotten(now);
        if idle || forget {
            let gone = channels.remove_if(id, |_, current| Arc::ptr_eq(current, channel));
            if matches!(gone, Ok(Some(_))) {
                inner.park(id, channel);
                // A remembered unknown channel is forgotten, not evicted.
                if forget {
                    forgotten += 1;
                } else {
                    evicted += 1;
                }
            }
        }
    }
    drop(channels);
    inner.forget_expired();
    if evicted > 0 {
        metrics::registry_evictions("idle", evicted);
        tracing::debug!(evicted, "token registry: idle channels evicted");
    }
    metrics::registry_channels(LIVE, fewer(evicted + forgotten));
}

/// Evicts the least recently used channels while there are more than the
/// cap: a sixteenth of the cap at once (at least one), so that a registry at
/// its cap scans its channels once per that many new ones, not per one.
pub(super) fn shrink(inner: &Inner, added: &Arc<super::Channel>) {
    let cap = inner.policy.max_channels;
    let channels = inner.channels.pin();
    let len = channels.len();
    if len <= cap {
        return;
    }
    let excess = len - cap + (cap / 16).max(1) - 1;
    // Never the channel just added, nor one being resolved: its callers
    // wait for it, and a new one would resolve it again beside it.
    let mut by_use: Vec<(u64, &str, &Arc<super::Channel>)> = channels
        .iter()
        .filter(|(_, channel)| !Arc::ptr_eq(channel, added) && !channel.resolving())
        .map(|(id, channel)| (channel.used(), &**id, channel))
        .collect();
    let excess = excess.min(by_use.len());
    if excess < by_use.len() {
        by_use.select_nth_unstable_by_key(excess, |(used, ..)| *used);
    }
    let mut evicted = 0_usize;
    for (_, id, channel) in &by_use[..excess] {
        let gone = channels.remove_if(*id, |_, current| Arc::ptr_eq(current, channel));
        if matches!(gone, Ok(Some(_))) {
            inner.park(id, channel);
            evicted += 1;
        }
    }
    metrics::registry_evictions("capacity", evicted);
    metrics::registry_channels(LIVE, fewer(evicted));
    tracing::debug!(
        evicted = excess,
        "token registry: least recently used channels evicted"
    );
}

/// `duration` in whole milliseconds, saturating.
pub(super) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
