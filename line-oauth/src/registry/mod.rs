//! [`TokenRegistry`]: the token sources of many channels, made on first use
//! from credentials a resolver looks up, sharing one client, one store and
//! one limit on issuances, with memory kept bounded.

mod channel;
mod evict;
mod limit;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::client::Client;
use crate::error::{Chain, Error, Remedy};
use crate::metrics;
use crate::store::TokenStore;
use crate::token_source::{
    CoarseNow, Health, Settings, Token, TokenProvider, TokenSource, coarse_monotonic,
};
use crate::tokens::IssuedToken;
use channel::{Channel, Next};
use limit::{Limited, STORE_KEY_PREFIX};

/// A resolver, type-erased: a channel ID to its source, or `None` for a
/// channel it does not know.
type Resolve = dyn Fn(String, Arc<Common>) -> BoxFuture<'static, Result<Option<TokenSource>, Error>>
    + Send
    + Sync;

/// What every channel's source shares.
struct Common {
    client: Client,
    settings: Settings,
    permits: Arc<Semaphore>,
}

/// When channels leave the registry.
#[derive(Debug, Clone, Copy)]
struct Policy {
    idle: Duration,
    max_channels: usize,
    unknown_for: Duration,
    resolve_timeout: Duration,
}

/// The token sources of many channels, keyed by channel ID: for platforms
/// that run a LINE channel per customer. Clones share the registry.
///
/// - A channel's source is made on its first use, from the provider your
///   resolver returns (credentials from your database or secret manager).
///   Callers that arrive together share one resolution. A failed
///   resolution reaches them all and is tried again after a backoff (1 s
///   doubling to a minute); a channel your resolver does not know
///   ([`Error::UnknownChannel`]) is remembered as such for a minute
///   ([`unknown_for`](TokenRegistryBuilder::unknown_for)).
/// - Every source shares the registry's client, store and settings, and at
///   most [`TokenRegistry::DEFAULT_MAX_ISSUANCES`] issuances run at once
///   across all channels.
/// - A cached hit takes no lock, allocates nothing and writes nothing
///   another thread reads, as with one [`TokenSource`].
/// - Memory stays bounded: a channel unused for the idle time (an hour by
///   default) is evicted, and beyond [`max_channels`](TokenRegistryBuilder::max_channels)
///   the least recently used go first. An evicted channel that comes back
///   is resolved again and takes its token from the store: eviction never
///   issues a token. Without a store of yours, the registry keeps the token
///   of each channel it evicts (about 200 bytes) until the channel comes
///   back and takes it, is removed, or the token expires. That matters for short-lived and
///   v2.1 tokens, which count against LINE's 30 per channel: re-issuing
///   them after each eviction would spend that budget, and a 31st
///   short-lived token revokes the oldest.
///
/// ```no_run
/// use line_oauth::{ChannelCredentials, Client, ClientSecret, ShortLived, TokenRegistry};
///
/// # async fn secret_of(channel: &str) -> Option<String> { None }
/// # async fn run() -> Result<(), line_oauth::Error> {
/// let registry = TokenRegistry::builder(Client::new(), |channel: String, client: Client| async move {
///     // Your database or secret manager; `None` for a channel you do not run.
///     let Some(secret) = secret_of(&channel).await else { return Ok(None) };
///     Ok(Some(ShortLived::new(client, ChannelCredentials::new(channel, ClientSecret::new(secret)))))
/// })
/// .build()?;
/// let token = registry.token("1234567890").await?; // before each Messaging API call
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TokenRegistry {
    inner: Arc<Inner>,
}

struct Inner {
    channels: papaya::HashMap<Box<str>, Arc<Channel>, foldhash::fast::RandomState>,
    resolve: Box<Resolve>,
    common: Arc<Common>,
    policy: Policy,
    /// Without a store of the user's: the tokens of evicted channels, by
    /// channel ID, until they come back or expire (the sweeper drops those).
    parked: Option<Mutex<HashMap<Box<str>, IssuedToken>>>,
    /// What channel use is counted from, on which clock.
    began: Began,
    /// The eviction sweeper, once started; started again should its
    /// runtime have gone.
    sweeper: Mutex<Option<tokio::task::AbortHandle>>,
}

/// When a registry began, on the clock its channel use is counted by: the
/// coarse monotonic clock (a few nanoseconds a read, on every hit), or
/// tokio's while it is paused (a test moves time by hand) or where there is
/// no coarse clock.
#[derive(Debug, Clone, Copy)]
enum Began {
    Coarse(Duration),
    Tokio(Instant),
}

impl Began {
    /// Now, on the same clock.
    fn now() -> Self {
        match CoarseNow::read().and(coarse_monotonic()) {
            Some(coarse) => Self::Coarse(coarse),
            None => Self::Tokio(Instant::now()),
        }
    }
}

/// The registry size gauge's states.
pub(super) const LIVE: &str = "live";
const PARKED: &str = "parked";

/// `n` channels fewer, as a gauge change.
pub(super) fn fewer(n: usize) -> i64 {
    i64::try_from(n).map_or(i64::MIN, |n| -n)
}

impl Drop for Inner {
    /// The process's registry gauges lose this registry's channels.
    fn drop(&mut self) {
        metrics::registry_channels(LIVE, fewer(self.channels.len()));
        let parked = self.parked.as_ref().map_or(0, |parked| lock(parked).len());
        metrics::registry_channels(PARKED, fewer(parked));
    }
}

impl Inner {
    /// Keeps the token of `channel`, evicted, when there is no store to
    /// take it back from.
    fn park(&self, channel_id: &str, channel: &Channel) {
        let (Some(parked), Some(source)) = (&self.parked, channel.source()) else {
            return;
        };
        if let Some(token) = source.parked()
            && lock(parked).insert(Box::from(channel_id), token).is_none()
        {
            metrics::registry_channels(PARKED, 1);
        }
    }

    /// The token `channel_id` had when it was evicted, taken back.
    fn unpark(&self, channel_id: &str) -> Option<IssuedToken> {
        let token = lock(self.parked.as_ref()?).remove(channel_id);
        if token.is_some() {
            metrics::registry_channels(PARKED, -1);
        }
        token
    }

    /// Drops the parked tokens that have expired.
    fn forget_expired(&self) {
        if let Some(parked) = &self.parked {
            let wall = SystemTime::now();
            let mut parked = lock(parked);
            let before = parked.len();
            parked.retain(|_, token| wall < token.expires_at());
            metrics::registry_channels(PARKED, fewer(before - parked.len()));
        }
    }

    /// Milliseconds since the registry began.
    fn tick(&self) -> u64 {
        let since = match self.began {
            Began::Coarse(began) => coarse_monotonic().map(|now| now.saturating_sub(began)),
            Began::Tokio(began) => Some(Instant::now().saturating_duration_since(began)),
        };
        evict::millis(since.unwrap_or_default())
    }

    /// The channel under `channel_id`, added if new (evicting beyond the cap).
    fn channel(&self, channel_id: &str) -> Arc<Channel> {
        let tick = self.tick();
        let channels = self.channels.pin();
        if let Some(channel) = channels.get(channel_id) {
            channel.touch(tick);
            return Arc::clone(channel);
        }
        let added =
            channels.try_insert_with(Box::from(channel_id), || Arc::new(Channel::new(tick)));
        let (channel, new) = match added {
            Ok(added) => (Arc::clone(added), true),
            Err(found) => (Arc::clone(found), false),
        };
        drop(channels);
        if new {
            metrics::registry_channels(LIVE, 1);
            evict::shrink(self, &channel);
        }
        channel
    }
}

impl TokenRegistry {
    /// How long a channel may go unused before it is evicted, unless set
    /// otherwise.
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(3600);
    /// How many channels the registry holds at most, unless set otherwise.
    pub const DEFAULT_MAX_CHANNELS: usize = 100_000;
    /// How long a channel the resolver did not know is answered
    /// [`Error::UnknownChannel`] without asking it again.
    pub const DEFAULT_UNKNOWN_FOR: Duration = Duration::from_secs(60);
    /// How many issuances run at once across all channels, unless set
    /// otherwise.
    pub const DEFAULT_MAX_ISSUANCES: usize = 16;
    /// How long the resolver may take for one channel, unless set
    /// otherwise: past it, the resolution fails (and is backed off).
    pub const DEFAULT_RESOLVE_TIMEOUT: Duration = Duration::from_secs(30);
    /// The longest channel ID the registry looks up: anything longer, or
    /// with characters other than visible ASCII, is an unknown channel
    /// at once, never stored nor passed to the resolver.
    pub const MAX_CHANNEL_ID: usize = 64;
    /// The default lifetime of a store's issuance lock: twice a lone
    /// source's, since an issuance may first wait for a slot as long as the
    /// issuance itself may take.
    pub const DEFAULT_LOCK_TTL: Duration = TokenSource::DEFAULT_LOCK_TTL.saturating_mul(2);

    /// A builder for a registry whose channels' providers come from
    /// `resolver`: given a channel ID and the registry's client, it returns
    /// the channel's provider, `None` for a channel you do not run, or an
    /// error (with [`Error::provider`] for one of your own).
    ///
    /// ```
    /// use line_oauth::{ChannelCredentials, Client, ClientSecret, Stateless, TokenRegistry};
    /// let registry = TokenRegistry::builder(Client::new(), |channel: String, client: Client| async move {
    ///     let secret = ClientSecret::new("looked up for this channel");
    ///     Ok(Some(Stateless::by_secret(client, ChannelCredentials::new(channel, secret))))
    /// })
    /// .max_channels(10_000)
    /// .build()?;
    /// # Ok::<(), line_oauth::Error>(())
    /// ```
    pub fn builder<F, Fut, P>(client: Client, resolver: F) -> TokenRegistryBuilder
    where
        F: Fn(String, Client) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Option<P>, Error>> + Send + 'static,
        P: TokenProvider,
    {
        let resolve = move |channel_id: String, common: Arc<Common>| {
            let asked = resolver(channel_id.clone(), common.client.clone());
            async move {
                let Some(provider) = asked.await? else {
                    return Ok(None);
                };
                // The registry always keeps tokens in a store: a provider
                // that names no key gets one naming the channel.
                let store_key = provider
                    .store_key()
                    .is_none()
                    .then(|| format!("{STORE_KEY_PREFIX}{channel_id}").into_boxed_str());
                let limited = Limited {
                    inner: provider,
                    permits: Arc::clone(&common.permits),
                    store_key,
                };
                common.settings.source(limited).map(Some)
            }
            .boxed()
        };
        let mut settings = Settings::default();
        settings.lock_ttl = Self::DEFAULT_LOCK_TTL;
        TokenRegistryBuilder {
            client,
            resolve: Box::new(resolve),
            settings,
            policy: Policy {
                idle: Self::DEFAULT_IDLE_TIMEOUT,
                max_channels: Self::DEFAULT_MAX_CHANNELS,
                unknown_for: Self::DEFAULT_UNKNOWN_FOR,
                resolve_timeout: Self::DEFAULT_RESOLVE_TIMEOUT,
            },
            max_issuances: Self::DEFAULT_MAX_ISSUANCES,
        }
    }

    /// A usable token for `channel_id`: the cached one, or one from its
    /// source, made first if the channel is new.
    ///
    /// ```no_run
    /// # async fn run(registry: line_oauth::TokenRegistry) -> Result<(), line_oauth::Error> {
    /// let token = registry.token("1234567890").await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::UnknownChannel`] when the resolver knows no such channel;
    /// the resolver's error; then as [`TokenSource::token`].
    pub async fn token(&self, channel_id: &str) -> Result<Token, Error> {
        if let Some(token) = self.cached(channel_id) {
            return Ok(token);
        }
        self.source(channel_id).await?.token().await
    }

    /// The channel's cached token, if usable.
    pub(crate) fn cached(&self, channel_id: &str) -> Option<Token> {
        let channels = self.inner.channels.pin();
        let channel = channels.get(channel_id)?;
        let token = channel.source()?.cached()?;
        channel.touch(self.inner.tick());
        Some(token)
    }

    /// The source of `channel_id`, made first if the channel is new: to
    /// [`invalidate`](TokenSource::invalidate) a refused token, or to hand
    /// one channel's source to code that takes a [`TokenSource`].
    ///
    /// ```no_run
    /// # async fn run(registry: line_oauth::TokenRegistry) -> Result<(), line_oauth::Error> {
    /// let source = registry.source("1234567890").await?;
    /// let token = source.token().await?;
    /// // ... LINE answered 401 to it:
    /// source.invalidate(&token);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::UnknownChannel`] when the resolver knows no such channel;
    /// the resolver's error, at once while a failed resolution backs off;
    /// [`Error::InvalidConfig`] outside a tokio runtime or when the settings
    /// do not fit the channel's provider; [`Error::RefreshAborted`] when the
    /// resolver panicked.
    pub async fn source(&self, channel_id: &str) -> Result<TokenSource, Error> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::InvalidConfig("a TokenRegistry resolves on a tokio runtime; none runs".into())
        })?;
        if !well_formed(channel_id) {
            let shown = channel_id.chars().take(Self::MAX_CHANNEL_ID).collect();
            return Err(Error::UnknownChannel { channel_id: shown });
        }
        evict::start_sweeper(&self.inner);
        let channel = self.inner.channel(channel_id);
        let pending = match channel.next(Instant::now(), channel_id) {
            Next::Ready(source) => return Ok(source),
            Next::Refused(error) => return Err(error),
            Next::Wait(pending) => pending,
            Next::Start { done, pending } => {
                let resolution = resolve(Arc::clone(&self.inner), channel, channel_id.to_owned());
                runtime.spawn(async move {
                    let _ = done.send(resolution.await);
                });
                pending
            }
        };
        pending.await.unwrap_or(Err(Error::RefreshAborted))
    }

    /// The source of `channel_id` if the registry holds it resolved, with
    /// no resolution.
    #[cfg(any(feature = "reqwest-middleware", feature = "tower"))]
    pub(crate) fn live_source(&self, channel_id: &str) -> Option<TokenSource> {
        let channels = self.inner.channels.pin();
        channels.get(channel_id)?.source().cloned()
    }

    /// Removes a channel (a customer left): its source goes, and its
    /// current token is retired as its provider retires a token no one will
    /// use (revoked for short-lived tokens, and for v2.1 tokens when the
    /// provider can revoke). Returns whether the channel was here.
    ///
    /// Handles to its source taken before go on working on their own.
    /// Other processes sharing the store should remove the channel too:
    /// the token they serve may be the one revoked here.
    ///
    /// Only a channel the registry holds resolved has a token to retire
    /// here: one evicted before (or never used) is not resolved again to
    /// be removed, and its token, if any, stays in the store until it
    /// expires; one removed while it resolves keeps what the resolution
    /// brings to the callers waiting for it.
    ///
    /// ```no_run
    /// # async fn run(registry: line_oauth::TokenRegistry) {
    /// registry.remove("1234567890").await;
    /// # }
    /// ```
    pub async fn remove(&self, channel_id: &str) -> bool {
        self.inner.unpark(channel_id);
        let removed = self.inner.channels.pin().remove(channel_id).cloned();
        let Some(channel) = removed else {
            return false;
        };
        metrics::registry_channels(LIVE, -1);
        if let Some(source) = channel.source() {
            source.retire_now().await;
        }
        true
    }

    /// The [`Health`] of a channel the registry holds with its source; `None`
    /// for a channel it does not hold (never used, evicted, removed, or not
    /// resolved yet). No I/O, as [`TokenSource::health`]; for a watch of
    /// changes, [`source`](Self::source) then [`TokenSource::health_changes`].
    ///
    /// ```no_run
    /// # async fn run(registry: line_oauth::TokenRegistry) -> Result<(), line_oauth::Error> {
    /// registry.token("1234567890").await?;
    /// let health = registry.health("1234567890").expect("held");
    /// println!("expires at {:?}", health.expires_at());
    /// # Ok(())
    /// # }
    /// ```
    pub fn health(&self, channel_id: &str) -> Option<Health> {
        let channels = self.inner.channels.pin();
        Some(channels.get(channel_id)?.source()?.health())
    }

    /// How many channels the registry holds now (resolved, resolving, or
    /// remembered as unknown).
    pub fn len(&self) -> usize {
        self.inner.channels.len()
    }

    /// Whether it holds no channel.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The channel a request is for, in the request's extensions: what
/// [`BearerMiddleware::by_channel`](crate::BearerMiddleware::by_channel) and
/// [`BearerLayer::by_channel`](crate::BearerLayer::by_channel) read. Cheap
/// to clone.
///
/// ```
/// let channel = line_oauth::ChannelId::new("1234567890");
/// assert_eq!(channel.as_str(), "1234567890");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChannelId(Arc<str>);

impl ChannelId {
    /// The channel with this ID.
    pub fn new(channel_id: impl Into<Arc<str>>) -> Self {
        Self(channel_id.into())
    }

    /// The ID.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Resolves `channel_id` and records the outcome on `channel`: what the
/// waiters get. A panicking resolver counts as a failure.
async fn resolve(
    inner: Arc<Inner>,
    channel: Arc<Channel>,
    channel_id: String,
) -> channel::Resolved {
    let resolve = &inner.resolve;
    let common = Arc::clone(&inner.common);
    let limit = inner.policy.resolve_timeout;
    let asked =
        AssertUnwindSafe(async { resolve(channel_id.clone(), common).await }).catch_unwind();
    let asked = match tokio::time::timeout(limit, asked).await {
        Ok(answered) => answered.unwrap_or(Err(Error::RefreshAborted)),
        Err(_) => Err(Error::provider(Remedy::RetryLater, NoAnswer(limit))),
    };
    match &asked {
        Ok(Some(source)) => {
            if let Some(token) = inner.unpark(&channel_id) {
                source.seed(token);
            }
        }
        Ok(None) => drop(inner.unpark(&channel_id)),
        Err(error) => {
            tracing::warn!(channel_id, error = %Chain(error), "token registry: resolution failed");
        }
    }
    channel.settle(asked, Instant::now(), inner.policy.unknown_for, &channel_id)
}

/// The resolver gave no answer in time.
#[derive(Debug)]
struct NoAnswer(Duration);

impl fmt::Display for NoAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the resolver gave no answer within {:?}", self.0)
    }
}

impl std::error::Error for NoAnswer {}

/// `mutex` locked, whatever a panicking holder left: each change to the
/// parked tokens is one insertion or removal.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Whether the registry looks `channel_id` up at all.
fn well_formed(channel_id: &str) -> bool {
    (1..=TokenRegistry::MAX_CHANNEL_ID).contains(&channel_id.len())
        && channel_id.bytes().all(|b| b.is_ascii_graphic())
}

impl fmt::Debug for TokenRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRegistry")
            .field("channels", &self.len())
            .field("policy", &self.inner.policy)
            .field("settings", &self.inner.common.settings)
            .finish_non_exhaustive()
    }
}

/// Builds a [`TokenRegistry`]. The source settings are those of
/// [`TokenSourceBuilder`](crate::TokenSourceBuilder), for every channel.
#[must_use]
pub struct TokenRegistryBuilder {
    client: Client,
    resolve: Box<Resolve>,
    settings: Settings,
    policy: Policy,
    max_issuances: usize,
}

impl TokenRegistryBuilder {
    /// Evicts a channel unused this long (default
    /// [`TokenRegistry::DEFAULT_IDLE_TIMEOUT`]).
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.policy.idle = idle;
        self
    }

    /// Holds at most this many channels, evicting the least recently used
    /// beyond it (default [`TokenRegistry::DEFAULT_MAX_CHANNELS`]).
    pub fn max_channels(mut self, max: usize) -> Self {
        self.policy.max_channels = max;
        self
    }

    /// How long a channel the resolver did not know is answered
    /// [`Error::UnknownChannel`] without asking again (default
    /// [`TokenRegistry::DEFAULT_UNKNOWN_FOR`]).
    pub fn unknown_for(mut self, duration: Duration) -> Self {
        self.policy.unknown_for = duration;
        self
    }

    /// How long the resolver may take for one channel (default
    /// [`TokenRegistry::DEFAULT_RESOLVE_TIMEOUT`]): past it, the callers get
    /// an error, and the channel is resolved again after a backoff.
    pub fn resolve_timeout(mut self, timeout: Duration) -> Self {
        self.policy.resolve_timeout = timeout;
        self
    }

    /// How many issuances run at once across all channels (default
    /// [`TokenRegistry::DEFAULT_MAX_ISSUANCES`]). An issuance waits for a
    /// slot at most its client's timeout, then fails to be tried again.
    pub fn max_issuances(mut self, max: usize) -> Self {
        self.max_issuances = max;
        self
    }

    /// As [`TokenSourceBuilder::margin`](crate::TokenSourceBuilder::margin).
    pub fn margin(mut self, margin: Duration) -> Self {
        self.settings.set_margin(margin);
        self
    }

    /// As [`TokenSourceBuilder::refresh_before`](crate::TokenSourceBuilder::refresh_before).
    pub fn refresh_before(mut self, refresh_before: Duration) -> Self {
        self.settings.set_refresh_before(refresh_before);
        self
    }

    /// As [`TokenSourceBuilder::revoke_delay`](crate::TokenSourceBuilder::revoke_delay).
    pub fn revoke_delay(mut self, delay: Duration) -> Self {
        self.settings.set_revoke_delay(delay);
        self
    }

    /// The store every channel's token is kept in, as
    /// [`TokenSourceBuilder::store`](crate::TokenSourceBuilder::store); each
    /// provider's [`store_key`](TokenProvider::store_key) names its channel
    /// there. Without one, the registry keeps the tokens of the channels it
    /// evicts until they come back.
    pub fn store(mut self, store: impl TokenStore) -> Self {
        self.settings.set_store(Arc::new(store));
        self
    }

    /// As [`TokenSourceBuilder::store_timeout`](crate::TokenSourceBuilder::store_timeout).
    pub fn store_timeout(mut self, timeout: Duration) -> Self {
        self.settings.store_timeout = timeout;
        self
    }

    /// As [`TokenSourceBuilder::lock_ttl`](crate::TokenSourceBuilder::lock_ttl),
    /// with a default of [`TokenRegistry::DEFAULT_LOCK_TTL`].
    pub fn lock_ttl(mut self, ttl: Duration) -> Self {
        self.settings.lock_ttl = ttl;
        self
    }

    /// As [`TokenSourceBuilder::degraded_mode`](crate::TokenSourceBuilder::degraded_mode).
    pub fn degraded_mode(mut self, degrade: bool) -> Self {
        self.settings.degrade = degrade;
        self
    }

    /// As [`TokenSourceBuilder::clock`](crate::TokenSourceBuilder::clock).
    pub fn clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.settings.set_clock(clock);
        self
    }

    /// Checks the settings and builds the registry.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for settings a
    /// [`TokenSourceBuilder`](crate::TokenSourceBuilder) refuses, a zero
    /// idle timeout, a cap of no channels, or no issuance allowed.
    pub fn build(self) -> Result<TokenRegistry, Error> {
        let invalid = |why: &str| Err(Error::InvalidConfig(format!("token registry: {why}")));
        if self.policy.idle.is_zero() {
            return invalid("the idle timeout must be above zero");
        }
        if self.policy.max_channels == 0 {
            return invalid("max_channels must be at least 1");
        }
        if self.max_issuances == 0 || self.max_issuances > Semaphore::MAX_PERMITS {
            return invalid("max_issuances must be at least 1 and at most a few billion");
        }
        if self.policy.resolve_timeout.is_zero() {
            return invalid("the resolve timeout must be above zero");
        }
        // An issuance may wait for a slot as long as it may take, both
        // under the store's lock, with the lock's answer, the load and the
        // save: the lock must outlive them all.
        let timeout = self.client.timeout();
        let takes = timeout
            .saturating_add(timeout.min(crate::Client::DEFAULT_TIMEOUT))
            .saturating_add(self.settings.store_timeout.saturating_mul(3));
        if self.settings.lock_ttl <= takes {
            return Err(Error::InvalidConfig(format!(
                "token registry: the lock TTL of {:?} could run out while a channel issues \
                 (the client's timeout of {:?} to issue, as long again, up to 30 s, to \
                 wait for a slot, and three store operations of up to {:?}); raise the lock \
                 TTL or lower the client's timeout",
                self.settings.lock_ttl,
                self.client.timeout(),
                self.settings.store_timeout
            )));
        }
        let parked = self.settings.store.is_none().then(Mutex::default);
        self.settings.check()?;
        Ok(TokenRegistry {
            inner: Arc::new(Inner {
                // Resizes finish at once: an unfinished incremental resize
                // makes every lookup search two tables until the next writes.
                channels: papaya::HashMap::builder()
                    .hasher(foldhash::fast::RandomState::default())
                    .resize_mode(papaya::ResizeMode::Blocking)
                    .build(),
                resolve: self.resolve,
                common: Arc::new(Common {
                    client: self.client,
                    settings: self.settings,
                    permits: Arc::new(Semaphore::new(self.max_issuances)),
                }),
                policy: self.policy,
                parked,
                began: Began::now(),
                sweeper: Mutex::new(None),
            }),
        })
    }
}

impl fmt::Debug for TokenRegistryBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRegistryBuilder")
            .field("policy", &self.policy)
            .field("settings", &self.settings)
            .field("max_issuances", &self.max_issuances)
            .finish_non_exhaustive()
    }
}
