//! [`TokenSource`]: an always-valid channel access token for one channel,
//! cached, refreshed ahead of expiry, issued once however many callers ask.

mod cache;
mod clock;
mod coordinate;
mod health;
mod provider;
mod refresh;
mod refusal;
mod signers;
mod strategies;
mod token;

pub use health::Health;
pub use provider::{Retired, TokenProvider};
pub use signers::Signers;
pub use strategies::{ShortLived, Stateless, V21};
pub use token::Token;

pub(crate) use clock::{CoarseNow, coarse_monotonic};

use std::fmt;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwapOption;
use tokio::time::Instant;

use crate::client::MAX_TIMEOUT;
use crate::error::Error;
use crate::metrics;
use crate::store::{DynStore, TokenStore, Unshared};
use crate::tokens::{IssuedToken, MAX_LIFETIME};
use cache::{Hit, Placement, Timing};
use clock::Clock;
use coordinate::StoreLink;
use provider::DynProvider;
use refresh::{Config, Core, Pending, RefreshState, Watch};
use refusal::Verdict;

/// Default safety margin: a token with less than this left is never returned.
const DEFAULT_MARGIN: Duration = Duration::from_secs(60);
/// Default refresh window: a background refresh starts when this much is
/// left (or halfway through the token's usable life, if that is later).
const DEFAULT_REFRESH_BEFORE: Duration = Duration::from_secs(5 * 60);
/// Default revoke delay: how long a replaced token stays unrevoked (when the
/// provider revokes replaced tokens), so that a caller handed it just before
/// it was replaced can still use it for the margin.
const DEFAULT_REVOKE_DELAY: Duration = DEFAULT_MARGIN;
/// Default store timeout: how long one store operation may take before the
/// source issues for itself (degraded mode).
const DEFAULT_STORE_TIMEOUT: Duration = Duration::from_secs(2);
/// Default lifetime of a store's issuance lock: longer than an issuance
/// takes with the client's default timeout, so that only a crashed holder's
/// lock runs out.
const DEFAULT_LOCK_TTL: Duration = Duration::from_secs(60);

/// An always-valid channel access token for one channel. Clones share the
/// cache.
///
/// The source decides when to get a token; its [`TokenProvider`] decides
/// how: [`Stateless`], [`ShortLived`], [`V21`], or your own.
///
/// How it works:
/// - The cached token is read without a lock (an atomic pointer swap) and
///   without allocating. It is returned only while more than the safety
///   margin is left before it expires, by the monotonic clock and by the
///   wall clock both (the monotonic clock stops while the machine sleeps).
///   Expiry counts from when LINE's answer arrived.
/// - Refresh is on demand, in the background: the first call that finds the
///   token inside the refresh window (but still usable) gets the cached token
///   at once and starts one refresh. No call, no issuance: an idle bot does
///   not issue tokens (LINE asks not to issue needlessly).
/// - A call that finds no usable token waits for the one refresh in flight,
///   or starts it (single-flight). Every refresh runs in a spawned task: it
///   finishes whether or not anyone still waits for it, and a cancelled
///   caller stops nothing. All waiters share its outcome.
/// - A failed refresh (an error, a panic, a token too short-lived to serve)
///   is cleared: the next call tries again at once. After a second failure
///   in a row, calls with no usable token get the last error at once, with
///   no request, until a backoff passes (1 s doubling to 60 s, with jitter);
///   a still-usable token stays in service meanwhile.
/// - A replaced token is retired ([`TokenProvider::retire`]: revoked, when
///   the provider is set to) only after the revoke delay (default
///   [`TokenSource::DEFAULT_REVOKE_DELAY`]), and not at all if it expires first. A token
///   the source cannot serve is retired at once.
/// - Dropping the last handle frees the source. A refresh then in flight
///   runs on, detached, until its answer (within the client's timeout), and
///   retires the token it brings: no one will use it. A retirement waiting
///   out its delay keeps the provider (and its client) until then.
/// - The wall clock is trusted only to shorten a token's life: a clock set
///   back does not extend it, since the monotonic clock must agree too.
/// - With a store ([`TokenSourceBuilder::store`]), a refresh first looks for
///   a fresh token there, and sources sharing the store take turns to issue
///   (its lock); a cached hit never touches the store. A store out of reach
///   makes the source issue for itself until the store answers again.
///
/// ```no_run
/// use line_oauth::{AssertionSigner, Client, PrivateJwk, Stateless, TokenSource};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let key = PrivateJwk::from_file("private.jwk.json")?;
/// let signer = AssertionSigner::new(&key, "kid", "1234567890");
/// let source = TokenSource::new(Stateless::by_signer(Client::new(), signer))?;
/// let token = source.token().await?; // before each Messaging API call
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TokenSource {
    core: Arc<Core>,
}

/// What became of a token reported refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Invalidation {
    /// Dropped: the next call gets a new token.
    Dropped,
    /// Already replaced by a newer token.
    Replaced,
    /// Kept, with no refresh: the source is holding it through refusals.
    /// `first` for the first refusal of this hold.
    Held { first: bool },
}

/// What a caller without a usable cached token does next.
enum Next {
    /// A usable token arrived meanwhile.
    Ready(Token),
    /// Wait for this refresh.
    Wait(Pending),
}

impl TokenSource {
    /// Default safety margin: a token with less than this left is never returned.
    pub const DEFAULT_MARGIN: Duration = DEFAULT_MARGIN;
    /// Default refresh window: a background refresh starts when this much
    /// is left (or halfway through the token's usable life, if that is later).
    pub const DEFAULT_REFRESH_BEFORE: Duration = DEFAULT_REFRESH_BEFORE;
    /// Default revoke delay: how long a replaced token stays unrevoked (when
    /// the provider revokes replaced tokens), so that a caller handed it just
    /// before it was replaced can still use it for the margin.
    pub const DEFAULT_REVOKE_DELAY: Duration = DEFAULT_REVOKE_DELAY;
    /// Default store timeout: how long one store operation may take before
    /// the source issues for itself (degraded mode).
    pub const DEFAULT_STORE_TIMEOUT: Duration = DEFAULT_STORE_TIMEOUT;
    /// Default lifetime of a store's issuance lock: longer than an issuance
    /// takes with the client's default timeout, so that only a crashed
    /// holder's lock runs out.
    pub const DEFAULT_LOCK_TTL: Duration = DEFAULT_LOCK_TTL;

    /// A source with the default margin, refresh window and revoke delay.
    ///
    /// # Errors
    ///
    /// As [`TokenSourceBuilder::build`].
    pub fn new(provider: impl TokenProvider) -> Result<Self, Error> {
        Self::builder(provider).build()
    }

    /// A builder to set the margin, refresh window and revoke delay.
    ///
    /// ```
    /// # let creds = line_oauth::ChannelCredentials::new("1", line_oauth::ClientSecret::new("s"));
    /// use std::time::Duration;
    /// let source = line_oauth::TokenSource::builder(
    ///     line_oauth::Stateless::by_secret(line_oauth::Client::new(), creds),
    /// )
    /// .margin(Duration::from_secs(120))
    /// .build()?;
    /// # Ok::<(), line_oauth::Error>(())
    /// ```
    pub fn builder(provider: impl TokenProvider) -> TokenSourceBuilder {
        TokenSourceBuilder {
            provider: Arc::new(provider),
            settings: Settings::default(),
        }
    }

    /// A usable token: the cached one, or a new one when there is none.
    ///
    /// Its errors are a [`Client`](crate::Client)'s errors, matched the same way:
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use tokio::io::{AsyncReadExt, AsyncWriteExt};
    /// use line_oauth::{Client, Error, TokenSource, V21};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # // A LINE that refuses every v2.1 issuance: the channel holds 30 already.
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// # let url = format!("http://{}", listener.local_addr().unwrap());
    /// # tokio::spawn(async move {
    /// #     let body = r#"{"message":"The maximum number of access tokens has already been issued"}"#;
    /// #     let answer = format!("HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n\
    /// #         content-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
    /// #     while let Ok((mut socket, _)) = listener.accept().await {
    /// #         let _ = socket.read(&mut [0; 8192]).await;
    /// #         let _ = socket.write_all(answer.as_bytes()).await;
    /// #     }
    /// # });
    /// # let pair = line_oauth::AssertionKeyPair::generate().unwrap();
    /// # let signer = line_oauth::AssertionSigner::new(&pair.private, "kid", "1234567890");
    /// let client = Client::builder().base_url(url).build().unwrap();
    /// let lifetime = Duration::from_secs(24 * 3600);
    /// let source = TokenSource::new(V21::new(client, signer, lifetime)).unwrap();
    /// match source.token().await {
    ///     Err(Error::Api(e)) if e.is_token_limit_reached() => eprintln!("revoke an old v2.1 token"),
    ///     other => panic!("expected LINE's token limit, got {other:?}"),
    /// }
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// When no usable token exists and issuing one fails: the error of that
    /// issuance, a clone for every caller that waited for it, matched just
    /// as a [`Client`](crate::Client)'s; [`Error::UnusableToken`] when LINE's token lives
    /// no longer than the margin; [`Error::RefreshAborted`] when the refresh
    /// panicked. During the backoff after repeated failures, the last error
    /// at once. [`Error::InvalidConfig`] outside a tokio runtime.
    pub async fn token(&self) -> Result<Token, Error> {
        if let Some(token) = self.cached() {
            return Ok(token);
        }
        let pending = match self.join_or_start()? {
            Next::Ready(token) => return Ok(token),
            Next::Wait(pending) => pending,
        };
        let cached = pending.await.unwrap_or(Err(Error::RefreshAborted))?;
        // A waiter resumed late must not serve a token that aged meanwhile.
        let now = Instant::now();
        if cached.usable(now, self.core.config.clock.coarse_now()) {
            return Ok(cached.token());
        }
        Err(Error::UnusableToken {
            lifetime: cached.expires_at.saturating_duration_since(now),
            margin: self.core.config.timing.margin,
        })
    }

    /// Drops `token` from the cache if it is still the cached one, so that
    /// the next [`token`](Self::token) gets a new one: for a token LINE
    /// refused (a 401), revoked elsewhere or replaced by a 31st short-lived
    /// token. Many callers reporting the same token cause one refresh; a
    /// token already replaced is left alone. The refresh will not take the
    /// same token from the store again.
    ///
    /// Refusals cannot drive issuance without bound. A refusal leads to a
    /// refresh, which may always take another token from the store, but
    /// issues only outside the source's hold. Each refresh for a refused
    /// token that brings a new one starts a hold twice as long as the last
    /// (1 minute, doubling to an hour), counted from when that token was
    /// issued; during it, refusals leave the token in service, with no
    /// refresh. Ordinary refreshes do not end a hold; once refusals stop for
    /// as long as a hold, the streak is over. A host that refuses every
    /// token thus causes at most 6 issuances in its first hour, then one an
    /// hour, besides the ordinary refreshes. Sources sharing a store step
    /// through the holds together, and a token another source issued less
    /// than a minute ago is kept too (it may be that source's replacement
    /// of a refused token); a process that starts anew starts at a minute.
    ///
    /// Returns whether this call dropped the token: `false` when it was
    /// already replaced (the next [`token`](Self::token) gives the newer
    /// one) or is held. A dropped token may still come back from the next
    /// refresh, kept as above.
    ///
    /// ```no_run
    /// # async fn run(source: line_oauth::TokenSource, http: reqwest::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let token = source.token().await?;
    /// let response = http
    ///     .get("https://api.line.me/v2/bot/info")
    ///     .header(reqwest::header::AUTHORIZATION, token.bearer_header())
    ///     .send()
    ///     .await?;
    /// if response.status() == reqwest::StatusCode::UNAUTHORIZED {
    ///     source.invalidate(&token);
    ///     let fresh = source.token().await?; // then send again with it, unless it is `token`
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn invalidate(&self, token: &Token) -> bool {
        self.report_refused(token) == Invalidation::Dropped
    }

    /// The source's health now: its token's expiry, its last refresh, the
    /// error of a failing one, whether it runs degraded. No I/O: a few
    /// loads under the source's state lock, which no one holds across I/O.
    ///
    /// ```no_run
    /// # async fn run(source: line_oauth::TokenSource) -> Result<(), line_oauth::Error> {
    /// source.token().await?;
    /// let health = source.health();
    /// assert!(health.is_serving(std::time::SystemTime::now()));
    /// # Ok(())
    /// # }
    /// ```
    pub fn health(&self) -> Health {
        self.core.health(&self.core.state())
    }

    /// A watch of the source's [`health`](Self::health): it changes when a
    /// refresh starts and ends, and when a refused token is dropped. A
    /// health endpoint or readiness probe can wait on it; it closes when
    /// the source is dropped.
    ///
    /// ```no_run
    /// # async fn run(source: line_oauth::TokenSource) {
    /// let mut health = source.health_changes();
    /// while health.changed().await.is_ok() {
    ///     if let Some(error) = health.borrow().last_error() {
    ///         eprintln!("token refresh failing: {error}");
    ///     }
    /// }
    /// # }
    /// ```
    pub fn health_changes(&self) -> tokio::sync::watch::Receiver<Health> {
        let mut state = self.core.state();
        if let Some(watch) = &state.watch {
            return watch.sender.subscribe();
        }
        let (watch, changes) = Watch::new(self.core.health(&state));
        state.watch = Some(watch);
        changes
    }

    /// [`invalidate`](Self::invalidate), telling a held token from a
    /// replaced one; counted in the metrics.
    pub(crate) fn report_refused(&self, token: &Token) -> Invalidation {
        let invalidation = self.judge_refused(token);
        metrics::token_refusal(match invalidation {
            Invalidation::Dropped => "refreshed",
            Invalidation::Held { .. } => "held",
            Invalidation::Replaced => "replaced",
        });
        invalidation
    }

    /// What becomes of `token`, reported refused.
    fn judge_refused(&self, token: &Token) -> Invalidation {
        // Under the state lock, as a refresh publishes: the check and the
        // drop see one cache.
        let mut state = self.core.state();
        let cached = self.core.cache.load();
        let Some(cached) = cached.as_ref().filter(|c| c.handed_out(token)) else {
            return Invalidation::Replaced;
        };
        let refusals = state.refusals.get_or_insert_with(Box::default);
        match refusals.report(cached, self.core.config.clock.now()) {
            Verdict::Hold { first } => Invalidation::Held { first },
            Verdict::Refresh(refused) => {
                self.core.cache.store(None);
                refusals.invalidated = Some(refused);
                self.core.publish(state);
                Invalidation::Dropped
            }
        }
    }

    /// The cached token if usable; starts a background refresh when it is
    /// inside the refresh window.
    pub(crate) fn cached(&self) -> Option<Token> {
        let wall = self.core.config.clock.coarse_now();
        let guard = self.core.cache.load();
        let cached = guard.as_ref()?;
        match cached.hit(wall) {
            Hit::Unusable => return None,
            Hit::Due => self.refresh_in_background(Instant::now()),
            Hit::Fresh => {}
        }
        Some(cached.token())
    }

    /// Drops the cached token and retires it at once, as a token no one
    /// will use: for a channel removed from a registry.
    pub(crate) async fn retire_now(&self) {
        let cached = {
            let state = self.core.state();
            let cached = self.core.cache.swap(None);
            self.core.publish(state);
            cached
        };
        if let Some(cached) = cached {
            let token = &cached.issued().access_token;
            self.core.provider.retire(token, Retired::Unused).await;
        }
    }

    /// The cached token, if still usable: what a registry keeps of a
    /// channel it evicts, when there is no store to take it back from.
    pub(crate) fn parked(&self) -> Option<IssuedToken> {
        let wall = self.core.config.clock.coarse_now();
        let cached = self.core.cache.load();
        let usable = cached.as_ref()?.hit(wall) != Hit::Unusable;
        usable.then(|| cached.as_ref().map(|c| c.issued().clone()))?
    }

    /// Caches `issued`, a token this source's channel had before it was
    /// evicted, unless the source holds one already or it is no longer
    /// usable.
    pub(crate) fn seed(&self, issued: IssuedToken) {
        let (now, wall) = (Instant::now(), self.core.config.clock.now());
        let Ok(entry) = self
            .core
            .config
            .timing
            .entry(issued, Placement::Stored, now, wall)
        else {
            return;
        };
        let state = self.core.state();
        if self.core.cache.load().is_none() {
            self.core.cache.store(Some(Arc::new(entry)));
            self.core.publish(state);
        }
    }

    /// Starts a refresh unless one is in flight or a failed one is backing
    /// off. Outside a tokio runtime there is nothing to run it on: the
    /// token is served until it is no longer usable.
    fn refresh_in_background(&self, now: Instant) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let mut state = self.core.state();
        if state.in_flight.is_none() && state.backing_off(now).is_none() {
            // No one waits for it: the task publishes the token in the cache.
            drop(self.core.start(&mut state, &runtime));
        }
    }

    /// A usable token that arrived meanwhile, the refresh in flight, the
    /// last error while backing off, or a new refresh.
    fn join_or_start(&self) -> Result<Next, Error> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::InvalidConfig("a TokenSource refreshes on a tokio runtime; none runs".into())
        })?;
        let now = Instant::now();
        let mut state = self.core.state();
        if let Some(cached) = self
            .core
            .cache
            .load_full()
            .filter(|c| c.usable(now, self.core.config.clock.coarse_now()))
        {
            return Ok(Next::Ready(cached.token()));
        }
        if let Some(pending) = &state.in_flight {
            return Ok(Next::Wait(pending.clone()));
        }
        if let Some(error) = state.backing_off(now) {
            return Err(error.clone());
        }
        Ok(Next::Wait(self.core.start(&mut state, &runtime)))
    }
}

/// Builds a [`TokenSource`].
#[derive(Debug)]
#[must_use]
pub struct TokenSourceBuilder {
    provider: Arc<dyn DynProvider>,
    settings: Settings,
}

/// Everything a source is built with but its provider: what the sources
/// of a [`TokenRegistry`](crate::TokenRegistry) share.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) store: Option<Arc<dyn DynStore>>,
    pub(crate) store_timeout: Duration,
    pub(crate) lock_ttl: Duration,
    pub(crate) degrade: bool,
    /// Shared by every source these settings build (a registry's many).
    config: Arc<Config>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            store: None,
            store_timeout: DEFAULT_STORE_TIMEOUT,
            lock_ttl: DEFAULT_LOCK_TTL,
            degrade: true,
            config: Arc::new(Config {
                timing: Timing {
                    margin: DEFAULT_MARGIN,
                    refresh_before: DEFAULT_REFRESH_BEFORE,
                    revoke_delay: DEFAULT_REVOKE_DELAY,
                    shared: false,
                },
                clock: Clock::System,
            }),
        }
    }
}

impl Settings {
    /// See [`TokenSourceBuilder::margin`].
    pub(crate) fn set_margin(&mut self, margin: Duration) {
        Arc::make_mut(&mut self.config).timing.margin = margin;
    }

    /// See [`TokenSourceBuilder::refresh_before`].
    pub(crate) fn set_refresh_before(&mut self, refresh_before: Duration) {
        Arc::make_mut(&mut self.config).timing.refresh_before = refresh_before;
    }

    /// See [`TokenSourceBuilder::revoke_delay`].
    pub(crate) fn set_revoke_delay(&mut self, delay: Duration) {
        Arc::make_mut(&mut self.config).timing.revoke_delay = delay;
    }

    /// See [`TokenSourceBuilder::store`].
    pub(crate) fn set_store(&mut self, store: Arc<dyn DynStore>) {
        self.store = Some(store);
        Arc::make_mut(&mut self.config).timing.shared = true;
    }

    /// See [`TokenSourceBuilder::clock`].
    pub(crate) fn set_clock(&mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) {
        Arc::make_mut(&mut self.config).clock = Clock::Custom(Arc::new(clock));
    }

    /// Checks what does not depend on the provider.
    pub(crate) fn check(&self) -> Result<(), Error> {
        let Timing {
            margin,
            refresh_before,
            revoke_delay,
            ..
        } = self.config.timing;
        let invalid = |why: String| Err(Error::InvalidConfig(format!("token source: {why}")));
        if margin >= MAX_LIFETIME {
            return invalid(format!(
                "a margin of {margin:?} leaves nothing of a 30-day token"
            ));
        }
        if refresh_before < margin {
            return invalid("refresh_before must be at least the margin".to_owned());
        }
        if revoke_delay > MAX_LIFETIME {
            return invalid("the revoke delay must be at most 30 days".to_owned());
        }
        if self.store_timeout.is_zero() || self.store_timeout > MAX_TIMEOUT {
            return invalid("the store timeout must be above zero and at most an hour".to_owned());
        }
        // Room for the longest client timeout and two store operations.
        let longest = MAX_TIMEOUT.saturating_mul(2);
        if self.lock_ttl < Duration::from_millis(10) || self.lock_ttl > longest {
            return invalid("the lock TTL must be 10 ms to two hours".to_owned());
        }
        Ok(())
    }

    /// A source of `provider` with these settings.
    pub(crate) fn source(&self, provider: impl TokenProvider) -> Result<TokenSource, Error> {
        self.build(Arc::new(provider))
    }

    fn build(&self, provider: Arc<dyn DynProvider>) -> Result<TokenSource, Error> {
        self.check()?;
        let Timing {
            margin,
            refresh_before,
            ..
        } = self.config.timing;
        let invalid = |why: String| Err(Error::InvalidConfig(format!("token source: {why}")));
        if let Some(lifetime) = provider.lifetime() {
            let needed = margin.saturating_add(refresh_before);
            if lifetime < Duration::from_secs(1) || lifetime > MAX_LIFETIME {
                return invalid(format!(
                    "a token lifetime must be 1 second to 30 days, not {lifetime:?}"
                ));
            }
            if lifetime <= needed {
                return invalid(format!(
                    "a token lifetime of {lifetime:?} is not longer than the margin plus the \
                     refresh window ({needed:?}): its tokens could never be served"
                ));
            }
        }
        let link = self.link(provider.as_ref())?;
        Ok(TokenSource {
            core: Arc::new(Core {
                provider,
                link,
                config: Arc::clone(&self.config),
                cache: ArcSwapOption::empty(),
                state: Mutex::new(RefreshState::default()),
            }),
        })
    }
}

impl TokenSourceBuilder {
    /// A token with less than this left is never returned (default
    /// [`TokenSource::DEFAULT_MARGIN`]; under 30 days).
    pub fn margin(mut self, margin: Duration) -> Self {
        self.settings.set_margin(margin);
        self
    }

    /// A background refresh starts when this much is left (default
    /// [`TokenSource::DEFAULT_REFRESH_BEFORE`]; at least the margin).
    pub fn refresh_before(mut self, refresh_before: Duration) -> Self {
        self.settings.set_refresh_before(refresh_before);
        self
    }

    /// How long a replaced token stays unrevoked, for strategies that revoke
    /// replaced tokens (default [`TokenSource::DEFAULT_REVOKE_DELAY`]). A token that
    /// expires sooner is not revoked at all.
    pub fn revoke_delay(mut self, delay: Duration) -> Self {
        self.settings.set_revoke_delay(delay);
        self
    }

    /// Keeps the token in `store`, shared with every source on the same
    /// store whose provider names the same
    /// [`store_key`](TokenProvider::store_key): a token that survives
    /// restarts ([`FileStore`](crate::FileStore)), one token for a fleet
    /// (`RedisStore`). Without it, the source keeps its token in its own
    /// memory.
    ///
    /// Sources sharing a store should have the same margin, refresh window
    /// and revoke delay, on hosts whose clocks agree (NTP) within half the
    /// revoke delay: a source serves the stored token from its cache only
    /// until half the revoke delay past its refresh point (which counts
    /// from when the token was issued), and a source that replaces it
    /// revokes it no sooner than the whole delay past that point.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let creds = line_oauth::ChannelCredentials::new("1", line_oauth::ClientSecret::new("s"));
    /// use line_oauth::{Client, EncryptionKey, FileStore, ShortLived, TokenSource};
    /// let store = FileStore::new(dir.path(), &EncryptionKey::generate())?;
    /// let source = TokenSource::builder(ShortLived::new(Client::new(), creds).revoke_replaced())
    ///     .store(store)
    ///     .build()?;
    /// # Ok::<(), line_oauth::Error>(())
    /// ```
    pub fn store(mut self, store: impl TokenStore) -> Self {
        self.settings.set_store(Arc::new(store));
        self
    }

    /// How long one store operation may take (default
    /// [`TokenSource::DEFAULT_STORE_TIMEOUT`]). A store that fails or takes longer puts
    /// the source in degraded mode: it issues a token for itself, logs a
    /// warning, and asks the store again a few seconds later.
    pub fn store_timeout(mut self, timeout: Duration) -> Self {
        self.settings.store_timeout = timeout;
        self
    }

    /// How long a store's issuance lock lives unless released (default
    /// [`TokenSource::DEFAULT_LOCK_TTL`]): more than an issuance takes, since a holder
    /// whose lock ran out may see another issue beside it. [`build`](Self::build)
    /// refuses a TTL not longer than the provider's
    /// [`issue_timeout`](TokenProvider::issue_timeout) plus three store
    /// timeouts (the lock's own answer, the load under it, the save). A source waits at most this long for another's lock, then
    /// issues for itself.
    pub fn lock_ttl(mut self, ttl: Duration) -> Self {
        self.settings.lock_ttl = ttl;
        self
    }

    /// Whether a store failure puts the source in degraded mode (the
    /// default): it issues a token for itself, logs a warning, and asks
    /// the store again a few seconds later. With `false` the call fails
    /// instead, with [`Error::Store`], and nothing is issued: for a
    /// process that must never spend LINE's budget on a token of its own,
    /// such as a command run once per request.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let creds = line_oauth::ChannelCredentials::new("1", line_oauth::ClientSecret::new("s"));
    /// use line_oauth::{Client, EncryptionKey, FileStore, ShortLived, TokenSource};
    /// let store = FileStore::new(dir.path(), &EncryptionKey::generate())?;
    /// let source = TokenSource::builder(ShortLived::new(Client::new(), creds))
    ///     .store(store)
    ///     .degraded_mode(false)
    ///     .build()?;
    /// # Ok::<(), line_oauth::Error>(())
    /// ```
    pub fn degraded_mode(mut self, degrade: bool) -> Self {
        self.settings.degrade = degrade;
        self
    }

    /// Reads the wall clock from `clock` instead of the system clock: for
    /// tests, with a clock they move, such as `line_oauth_fake::FakeLine::clock`.
    /// A token's age, its refresh and when it stops being served follow
    /// it (the source's monotonic clock can only bring them sooner). The
    /// provider's tokens are stamped on the system clock as they arrive;
    /// the source carries each stamp over to `clock`, age kept. Timers (the
    /// revoke delay, backoffs, store polling) stay on tokio's clock, which
    /// `#[tokio::test(start_paused = true)]` pauses and `tokio::time::advance`
    /// moves.
    ///
    /// Sources sharing a store need the same clock, as replicas need
    /// clocks that agree.
    ///
    /// ```
    /// # let creds = line_oauth::ChannelCredentials::new("1", line_oauth::ClientSecret::new("s"));
    /// use std::sync::{Arc, Mutex};
    /// use std::time::{Duration, SystemTime};
    /// use line_oauth::{Client, Stateless, TokenSource};
    ///
    /// let offset = Arc::new(Mutex::new(Duration::ZERO)); // the test moves it
    /// let moved = Arc::clone(&offset);
    /// let source = TokenSource::builder(Stateless::by_secret(Client::new(), creds))
    ///     .clock(move || SystemTime::now() + *moved.lock().unwrap())
    ///     .build()?;
    /// # Ok::<(), line_oauth::Error>(())
    /// ```
    pub fn clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.settings.set_clock(clock);
        self
    }

    /// Checks the settings and builds the source.
    ///
    /// ```
    /// # let pair = line_oauth::AssertionKeyPair::generate().unwrap();
    /// # let signer = line_oauth::AssertionSigner::new(&pair.private, "kid", "1");
    /// use std::time::Duration;
    /// use line_oauth::{Client, TokenSource, V21};
    /// // A 30-second v2.1 token could never be served with a 60-second margin.
    /// let too_short = V21::new(Client::new(), signer, Duration::from_secs(30));
    /// assert!(TokenSource::new(too_short).is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when the lock TTL could run out during an
    /// issuance (see [`lock_ttl`](Self::lock_ttl)), when the revoke delay is
    /// over 30 days, when the margin is 30 days or more (no LINE
    /// token lives longer), when the refresh window is shorter than the
    /// margin, or when the provider's token lifetime is outside 1 second to
    /// 30 days or not longer than the margin plus the refresh window (each
    /// token would be issued, counted against LINE's budget, and never
    /// served).
    pub fn build(self) -> Result<TokenSource, Error> {
        self.settings.build(self.provider)
    }
}

impl Settings {
    /// The store and the provider's name in it: a store that keeps nothing
    /// when none was given.
    fn link(&self, provider: &dyn DynProvider) -> Result<Arc<StoreLink>, Error> {
        let invalid = |why: &str| Err(Error::InvalidConfig(format!("token source: {why}")));
        if let Some(issuance) = provider.issue_timeout().filter(|_| self.store.is_some()) {
            // The lock's own answer, the load under it, the issuance, the save.
            let takes = issuance.saturating_add(self.store_timeout.saturating_mul(3));
            if self.lock_ttl <= takes {
                return Err(Error::InvalidConfig(format!(
                    "token source: the lock TTL of {:?} could run out while a source issues \
                     (the client's timeout of {issuance:?} and three store operations of up to \
                     {:?}): another source could issue beside it; raise the lock TTL or lower \
                     the client's timeout",
                    self.lock_ttl, self.store_timeout
                )));
            }
        }
        let Some(store) = &self.store else {
            // Nothing to share and nothing that fails: one link for all.
            return Ok(unshared_link());
        };
        let key = match provider.store_key() {
            Some(key) if !key.is_empty() => key,
            _ => return invalid("its provider names no store key (TokenProvider::store_key)"),
        };
        Ok(Arc::new(StoreLink {
            store: Arc::clone(store),
            key,
            timeout: self.store_timeout,
            lock_ttl: self.lock_ttl,
            degrade: self.degrade,
            degraded: AtomicBool::new(false),
        }))
    }
}

/// The link of every source given no store: a store that keeps nothing
/// and never fails, so its timeouts and degraded mode never come into
/// play.
fn unshared_link() -> Arc<StoreLink> {
    static LINK: std::sync::OnceLock<Arc<StoreLink>> = std::sync::OnceLock::new();
    Arc::clone(LINK.get_or_init(|| {
        Arc::new(StoreLink {
            store: Unshared::shared(),
            key: String::new(),
            timeout: DEFAULT_STORE_TIMEOUT,
            lock_ttl: DEFAULT_LOCK_TTL,
            degrade: true,
            degraded: AtomicBool::new(false),
        })
    }))
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let timing = &self.core.config.timing;
        f.debug_struct("TokenSource")
            .field("provider", &self.core.provider)
            .field("store", &self.core.link.store)
            .field("margin", &timing.margin)
            .field("refresh_before", &timing.refresh_before)
            .field("revoke_delay", &timing.revoke_delay)
            .field("clock", &self.core.config.clock)
            .finish_non_exhaustive()
    }
}
