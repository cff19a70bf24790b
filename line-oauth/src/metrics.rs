//! What line-oauth counts and times, through the [`metrics`] facade
//! (feature `metrics`). Every metric goes through one function here, so the
//! names, units and labels live in one place; README lists them.
//!
//! Without the feature each function is empty and the crate has no metrics
//! dependency. With it and no recorder installed, a metric costs building
//! its key (its labels are static strings but a channel ID; the facade puts
//! them in a small vector) and one load of the recorder pointer: on calls,
//! refreshes and store operations, never on the cached-token path.
//!
//! Labels are bounded: operations, token kinds, store kinds, outcomes (ok
//! or an [`Error::kind`](crate::Error::kind)) and HTTP statuses (the usual
//! ones by number, any other by class). A channel ID becomes a label only
//! after [`Metrics::label_channels`]: a platform with 100,000 channels
//! does not get 100,000 series by default.

use std::time::{Duration, SystemTime};

#[cfg(feature = "metrics")]
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether channel IDs are labels.
#[cfg(feature = "metrics")]
static CHANNEL_LABELS: AtomicBool = AtomicBool::new(false);

/// The metrics line-oauth records (feature `metrics`): their names, and the
/// one setting, whether channel IDs are labels. README's table lists each
/// with its labels.
///
/// ```
/// use line_oauth::Metrics;
/// // A platform with a few channels may want a series per channel:
/// Metrics::label_channels(true);
/// assert!(Metrics::NAMES.contains(&Metrics::API_CALLS));
/// # Metrics::label_channels(false);
/// ```
#[cfg(feature = "metrics")]
#[derive(Debug)]
#[non_exhaustive]
pub struct Metrics;

#[cfg(feature = "metrics")]
impl Metrics {
    /// Counter: LINE API calls, by `operation`, `outcome` (`ok` or the
    /// error's [`kind`](crate::Error::kind)) and HTTP `status` (empty when
    /// none came).
    pub const API_CALLS: &'static str = "line_oauth_api_calls_total";
    /// Counter: attempts of a call that were tried again, by `operation`
    /// and `reason` (the status, `connect` or `transport`).
    pub const API_RETRIES: &'static str = "line_oauth_api_retries_total";
    /// Histogram, seconds: a call from start to outcome, retries included,
    /// by `operation` and `outcome`.
    pub const API_CALL_DURATION: &'static str = "line_oauth_api_call_duration_seconds";
    /// Counter: token refreshes, by token `kind`, `outcome` (`issued`,
    /// `from_store`, `kept` for a token the source already had, or the
    /// error's kind) and `channel`.
    pub const TOKEN_REFRESHES: &'static str = "line_oauth_token_refreshes_total";
    /// Histogram, seconds: a refresh from start to outcome, by `kind`.
    pub const TOKEN_REFRESH_DURATION: &'static str = "line_oauth_token_refresh_duration_seconds";
    /// Gauge, Unix seconds: when the token a refresh just cached expires,
    /// by `kind` and `channel`. Its remaining life now is `... - time()` in
    /// PromQL (a gauge of seconds left would be right only when set).
    pub const TOKEN_EXPIRY: &'static str = "line_oauth_token_expiry_timestamp_seconds";
    /// Counter: token store operations, by `store` (`memory`, `file`,
    /// `redis`, or a store's own name), `operation` (`load`, `lock`,
    /// `unlock`) and `outcome` (`ok`, `busy` for a lock someone holds, or
    /// the store error's kind).
    pub const STORE_OPERATIONS: &'static str = "line_oauth_store_operations_total";
    /// Counter: refreshes that went on without their store because it
    /// failed (degraded mode), by `store`.
    pub const STORE_FALLBACKS: &'static str = "line_oauth_store_fallbacks_total";
    /// Counter: tokens reported refused (a 401), by `outcome`: `refreshed`
    /// (dropped: the next call gets a new token), `held` (kept through
    /// repeated refusals) or `replaced` (a newer token was already there).
    pub const TOKEN_REFUSALS: &'static str = "line_oauth_token_refusals_total";
    /// Gauge: channels the process's registries hold, by `state` (`live`,
    /// or `parked` for evicted channels whose token is kept to take back).
    pub const REGISTRY_CHANNELS: &'static str = "line_oauth_registry_channels";
    /// Counter: channels evicted from a registry, by `reason` (`idle`,
    /// `capacity`).
    pub const REGISTRY_EVICTIONS: &'static str = "line_oauth_registry_evictions_total";
    /// Gauge: v2.1 tokens a channel holds, of LINE's 30, by `channel`; set
    /// at each count after a v2.1 issuance. With channel labels off it holds
    /// the last channel's count: alert on [`V21_NEAR_LIMIT`](Self::V21_NEAR_LIMIT).
    pub const V21_TOKENS: &'static str = "line_oauth_v21_tokens";
    /// Counter: counts after a v2.1 issuance that found the channel near
    /// LINE's limit (25 or more of 30), by `channel`.
    pub const V21_NEAR_LIMIT: &'static str = "line_oauth_v21_near_limit_total";

    /// Every metric name above.
    pub const NAMES: [&'static str; 13] = [
        Self::API_CALLS,
        Self::API_RETRIES,
        Self::API_CALL_DURATION,
        Self::TOKEN_REFRESHES,
        Self::TOKEN_REFRESH_DURATION,
        Self::TOKEN_EXPIRY,
        Self::STORE_OPERATIONS,
        Self::STORE_FALLBACKS,
        Self::TOKEN_REFUSALS,
        Self::REGISTRY_CHANNELS,
        Self::REGISTRY_EVICTIONS,
        Self::V21_TOKENS,
        Self::V21_NEAR_LIMIT,
    ];

    /// Whether metrics carry a `channel` label (off by default: the label
    /// is then empty). Process-wide, as the recorder is; set it before the
    /// first refresh. Each channel then gets series of its own, kept by the
    /// recorder after the channel is evicted: turn it on only where the
    /// channels are few and known (a resolver that accepts any ID lets
    /// callers make series).
    pub fn label_channels(on: bool) {
        CHANNEL_LABELS.store(on, Ordering::Relaxed);
    }
}

/// `channel` as a label value: itself when channel labels are on, else
/// empty.
#[cfg(feature = "metrics")]
fn channel_label(channel: Option<&str>) -> metrics::SharedString {
    match channel {
        Some(channel) if CHANNEL_LABELS.load(Ordering::Relaxed) => channel.to_owned().into(),
        _ => metrics::SharedString::const_str(""),
    }
}

/// `status` as a label value: the statuses LINE and proxies commonly answer
/// by number, any other by class, so a server cannot make new series.
pub(crate) fn status_label(status: u16) -> &'static str {
    match status {
        200 => "200",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        409 => "409",
        413 => "413",
        429 => "429",
        500 => "500",
        502 => "502",
        503 => "503",
        504 => "504",
        100..=199 => "1xx",
        201..=299 => "2xx",
        300..=399 => "3xx",
        402..=499 => "4xx",
        501..=599 => "5xx",
        _ => "other",
    }
}

/// A finished LINE API call.
pub(crate) fn api_call(
    operation: &'static str,
    outcome: &'static str,
    status: Option<u16>,
    took: Duration,
) {
    #[cfg(feature = "metrics")]
    {
        let status = status.map_or("", status_label);
        metrics::counter!(Metrics::API_CALLS, "operation" => operation, "outcome" => outcome, "status" => status)
            .increment(1);
        metrics::histogram!(Metrics::API_CALL_DURATION, "operation" => operation, "outcome" => outcome)
            .record(took.as_secs_f64());
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (operation, outcome, status, took);
}

/// An attempt of a call about to be tried again.
pub(crate) fn api_retry(operation: &'static str, reason: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(Metrics::API_RETRIES, "operation" => operation, "reason" => reason)
        .increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = (operation, reason);
}

/// A finished refresh of a `kind` token for `channel`, and when its new
/// token expires if it brought one.
pub(crate) fn refresh(
    kind: &'static str,
    channel: Option<&str>,
    outcome: &'static str,
    took: Duration,
    expires_at: Option<SystemTime>,
) {
    #[cfg(feature = "metrics")]
    {
        let channel = channel_label(channel);
        metrics::counter!(Metrics::TOKEN_REFRESHES, "kind" => kind, "outcome" => outcome, "channel" => channel.clone())
            .increment(1);
        metrics::histogram!(Metrics::TOKEN_REFRESH_DURATION, "kind" => kind)
            .record(took.as_secs_f64());
        if let Some(expires_at) = expires_at {
            let unix = expires_at
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default();
            metrics::gauge!(Metrics::TOKEN_EXPIRY, "kind" => kind, "channel" => channel)
                .set(unix.as_secs_f64());
        }
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (kind, channel, outcome, took, expires_at);
}

/// A store operation's outcome.
pub(crate) fn store_operation(store: &'static str, operation: &'static str, outcome: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(Metrics::STORE_OPERATIONS, "store" => store, "operation" => operation, "outcome" => outcome)
        .increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = (store, operation, outcome);
}

/// A refresh going on without its store.
pub(crate) fn store_fallback(store: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(Metrics::STORE_FALLBACKS, "store" => store).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = store;
}

/// A token reported refused, and what became of it.
pub(crate) fn token_refusal(outcome: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(Metrics::TOKEN_REFUSALS, "outcome" => outcome).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = outcome;
}

/// The channels of the process's registries, by state, kept here so that
/// the gauge is set whole: right even under a recorder installed late.
#[cfg(feature = "metrics")]
static REGISTRY_LIVE: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
#[cfg(feature = "metrics")]
static REGISTRY_PARKED: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// A registry's channels in `state` (`live`, `parked`) went up by `delta`
/// (down when negative): the gauge counts every registry of the process.
pub(crate) fn registry_channels(state: &'static str, delta: i64) {
    #[cfg(feature = "metrics")]
    {
        let total = if state == "parked" {
            &REGISTRY_PARKED
        } else {
            &REGISTRY_LIVE
        };
        let now = total
            .fetch_add(delta, Ordering::Relaxed)
            .saturating_add(delta);
        // Gauges are f64: exact for any count a registry can hold.
        #[expect(clippy::cast_precision_loss, reason = "counts far below 2^53")]
        let now = now as f64;
        metrics::gauge!(Metrics::REGISTRY_CHANNELS, "state" => state).set(now);
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (state, delta);
}

/// Channels evicted from a registry, for `reason`.
pub(crate) fn registry_evictions(reason: &'static str, count: usize) {
    #[cfg(feature = "metrics")]
    metrics::counter!(Metrics::REGISTRY_EVICTIONS, "reason" => reason)
        .increment(u64::try_from(count).unwrap_or(u64::MAX));
    #[cfg(not(feature = "metrics"))]
    let _ = (reason, count);
}

/// How many v2.1 tokens `channel` holds, and whether that is near the limit.
pub(crate) fn v21_tokens(channel: &str, count: usize, near_limit: bool) {
    #[cfg(feature = "metrics")]
    {
        #[expect(clippy::cast_precision_loss, reason = "at most LINE's 30")]
        let count = count as f64;
        let channel = channel_label(Some(channel));
        metrics::gauge!(Metrics::V21_TOKENS, "channel" => channel.clone()).set(count);
        if near_limit {
            metrics::counter!(Metrics::V21_NEAR_LIMIT, "channel" => channel).increment(1);
        }
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (channel, count, near_limit);
}
