//! [`TokenSource`]: an always-valid channel access token for one channel,
//! cached, refreshed ahead of expiry, issued once however many callers ask.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use reqwest::header::HeaderValue;
use tokio::time::Instant;

use crate::assertion::AssertionSigner;
use crate::client::Client;
use crate::credentials::{ChannelCredentials, StatelessAuth};
use crate::error::Error;
use crate::secret::AccessToken;
use crate::tokens::IssuedToken;

/// Default safety margin: a token with less than this left is never returned.
pub const DEFAULT_MARGIN: Duration = Duration::from_secs(60);
/// Default refresh window: a background refresh starts when this much is
/// left (or at half the token's lifetime, for tokens shorter than twice this).
pub const DEFAULT_REFRESH_BEFORE: Duration = Duration::from_secs(5 * 60);
/// First wait after a failed background refresh; it doubles per failure.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// Longest wait between background refresh attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Which tokens a [`TokenSource`] issues.
///
/// ```
/// # let pair = line_oauth::AssertionKeyPair::generate().unwrap();
/// use line_oauth::{AssertionSigner, TokenStrategy};
/// let signer = AssertionSigner::new(&pair.private, "kid", "1234567890");
/// let strategy = TokenStrategy::StatelessByAssertion(signer);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum TokenStrategy {
    /// Stateless tokens (15 minutes, no issuance limit) by signed assertion:
    /// the recommended choice.
    StatelessByAssertion(AssertionSigner),
    /// Stateless tokens by channel secret.
    StatelessBySecret(ChannelCredentials),
    /// Short-lived tokens (30 days; LINE keeps 30 per channel and revokes
    /// the oldest beyond that). `revoke_replaced` revokes each token when
    /// its successor arrives.
    ShortLived {
        /// The channel ID and secret.
        credentials: ChannelCredentials,
        /// Revoke a token once it is replaced.
        revoke_replaced: bool,
    },
    /// v2.1 tokens of `lifetime` (LINE refuses a 31st valid one). With
    /// `revoke_with`, each token is revoked when its successor arrives, so
    /// rotation holds at most two.
    V21 {
        /// Signs the assertions.
        signer: AssertionSigner,
        /// The lifetime to ask for (1 second to 30 days).
        lifetime: Duration,
        /// The channel secret, to revoke replaced tokens with.
        revoke_with: Option<ChannelCredentials>,
    },
}

/// A token from a [`TokenSource`]: cheap to clone, redacted in `Debug`.
///
/// ```no_run
/// # async fn run(source: line_oauth::TokenSource) -> Result<(), line_oauth::Error> {
/// let token = source.token().await?;
/// let http = reqwest::Client::new();
/// http.post("https://api.line.me/v2/bot/message/push")
///     .header(reqwest::header::AUTHORIZATION, token.bearer_header())
///     .send()
///     .await;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Token(Arc<Cached>);

impl Token {
    /// The access token.
    pub fn access_token(&self) -> &AccessToken {
        &self.0.access_token
    }

    /// `Bearer <token>` as an `Authorization` header value, marked sensitive
    /// (HTTP clients then keep it out of their logs).
    pub fn bearer_header(&self) -> HeaderValue {
        self.0.bearer.clone()
    }

    /// When the token expires.
    pub fn expires_at(&self) -> Instant {
        self.0.expires_at
    }

    /// The token's key ID, for v2.1 tokens.
    pub fn key_id(&self) -> Option<&str> {
        self.0.key_id.as_deref()
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("access_token", &self.0.access_token)
            .field("expires_at", &self.0.expires_at)
            .field("key_id", &self.0.key_id)
            .finish()
    }
}

/// A cached token with the instants that govern it.
struct Cached {
    access_token: AccessToken,
    bearer: HeaderValue,
    key_id: Option<String>,
    expires_at: Instant,
    /// Returned until then; never later.
    usable_until: Instant,
    /// A background refresh starts from then.
    refresh_from: Instant,
}

type Refresh = Shared<BoxFuture<'static, Result<Arc<Cached>, Arc<Error>>>>;

/// The refresh in flight and the backoff of failed background refreshes.
#[derive(Default)]
struct RefreshState {
    in_flight: Option<Refresh>,
    failures: u32,
    retry_at: Option<Instant>,
}

struct Inner {
    client: Client,
    strategy: TokenStrategy,
    margin: Duration,
    refresh_before: Duration,
    cache: ArcSwapOption<Cached>,
    refresh: Mutex<RefreshState>,
}

/// An always-valid channel access token for one channel. Clones share the
/// cache.
///
/// How it works:
/// - The cached token is read without a lock (an atomic pointer swap) and
///   without allocating. It is returned only while more than the safety
///   margin is left before it expires.
/// - Refresh is on demand, in the background: the first call that finds the
///   token inside the refresh window (but still usable) gets the cached token
///   at once and starts one refresh in a spawned task. No call, no issuance:
///   an idle bot does not issue tokens (LINE asks not to issue needlessly),
///   and there is no task to shut down.
/// - A call that finds no usable token waits for the one refresh in flight,
///   or starts it (single-flight). All waiters share its outcome; a waiter
///   that is cancelled does not stop it for the others.
/// - A failed background refresh keeps the still-usable token in service and
///   is retried after an exponential backoff with jitter. A failed refresh
///   with no usable token fails all its waiters with its error; the next
///   call tries again.
///
/// ```no_run
/// use line_oauth::{AssertionSigner, Client, PrivateJwk, TokenSource, TokenStrategy};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let key = PrivateJwk::from_file("private.jwk.json")?;
/// let signer = AssertionSigner::new(&key, "kid", "1234567890");
/// let source = TokenSource::new(Client::new(), TokenStrategy::StatelessByAssertion(signer));
/// let token = source.token().await?; // before each Messaging API call
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TokenSource {
    inner: Arc<Inner>,
}

impl TokenSource {
    /// A source with the default margin and refresh window.
    pub fn new(client: Client, strategy: TokenStrategy) -> Self {
        Self::builder(client, strategy)
            .build()
            .expect("the default margin and refresh window are valid")
    }

    /// A builder to set the margin and refresh window.
    ///
    /// ```
    /// # let creds = line_oauth::ChannelCredentials::new("1", line_oauth::ClientSecret::new("s"));
    /// use std::time::Duration;
    /// let source = line_oauth::TokenSource::builder(
    ///     line_oauth::Client::new(),
    ///     line_oauth::TokenStrategy::StatelessBySecret(creds),
    /// )
    /// .margin(Duration::from_secs(120))
    /// .build()?;
    /// # Ok::<(), line_oauth::Error>(())
    /// ```
    pub fn builder(client: Client, strategy: TokenStrategy) -> TokenSourceBuilder {
        TokenSourceBuilder {
            client,
            strategy,
            margin: DEFAULT_MARGIN,
            refresh_before: DEFAULT_REFRESH_BEFORE,
        }
    }

    /// A usable token: the cached one, or a new one when there is none.
    ///
    /// # Errors
    ///
    /// When no usable token exists and issuing one fails: the error of that
    /// issuance, shared by every caller that waited for it
    /// ([`Error::Shared`]), or [`Error::InvalidConfig`] when LINE's tokens
    /// live no longer than the margin.
    pub async fn token(&self) -> Result<Token, Error> {
        if let Some(token) = self.cached() {
            return Ok(token);
        }
        self.refresh_and_wait().await
    }

    /// The cached token if usable; starts a background refresh when it is
    /// inside the refresh window.
    fn cached(&self) -> Option<Token> {
        let now = Instant::now();
        let guard = self.inner.cache.load();
        let cached = guard.as_ref().filter(|c| now < c.usable_until)?;
        if now >= cached.refresh_from {
            self.refresh_in_background(now);
        }
        Some(Token(Arc::clone(cached)))
    }

    async fn refresh_and_wait(&self) -> Result<Token, Error> {
        let refresh = match self.in_flight_or_start() {
            Ok(refresh) => refresh,
            Err(token) => return Ok(token),
        };
        refresh.await.map(Token).map_err(Error::Shared)
    }

    /// Starts a refresh in a spawned task unless one is in flight or a
    /// failed one is backing off.
    fn refresh_in_background(&self, now: Instant) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let mut state = self.inner.state();
        if state.in_flight.is_some() || state.retry_at.is_some_and(|at| now < at) {
            return;
        }
        let refresh = self.start(&mut state);
        drop(state);
        runtime.spawn(refresh.map(drop));
    }

    /// The refresh in flight (joined), a usable token that arrived
    /// meanwhile, or a new refresh.
    fn in_flight_or_start(&self) -> Result<Refresh, Token> {
        let mut state = self.inner.state();
        if let Some(refresh) = &state.in_flight {
            return Ok(refresh.clone());
        }
        // A refresh may have completed since the cache was read.
        let now = Instant::now();
        if let Some(cached) = self
            .inner
            .cache
            .load_full()
            .filter(|c| now < c.usable_until)
        {
            return Err(Token(cached));
        }
        Ok(self.start(&mut state))
    }

    fn start(&self, state: &mut RefreshState) -> Refresh {
        let refresh = refresh(Arc::clone(&self.inner)).boxed().shared();
        state.in_flight = Some(refresh.clone());
        refresh
    }
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, RefreshState> {
        // The state stays consistent even if a holder panicked.
        self.refresh
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn issue(&self) -> Result<IssuedToken, Error> {
        match &self.strategy {
            TokenStrategy::StatelessByAssertion(signer) => {
                self.client
                    .issue_stateless(StatelessAuth::Signer(signer))
                    .await
            }
            TokenStrategy::StatelessBySecret(creds) => {
                self.client
                    .issue_stateless(StatelessAuth::ClientSecret(creds))
                    .await
            }
            TokenStrategy::ShortLived { credentials, .. } => {
                self.client.issue_short_lived(credentials).await
            }
            TokenStrategy::V21 {
                signer, lifetime, ..
            } => self.client.issue_v21_signed(signer, *lifetime).await,
        }
    }

    /// Revokes a replaced token if the strategy asks; a failure only means
    /// the token lives until it expires.
    async fn revoke_replaced(&self, old: &Cached) {
        let _ = match &self.strategy {
            TokenStrategy::ShortLived {
                revoke_replaced: true,
                ..
            } => self.client.revoke(&old.access_token).await,
            TokenStrategy::V21 {
                revoke_with: Some(creds),
                ..
            } => self.client.revoke_v21(creds, &old.access_token).await,
            _ => Ok(()),
        };
    }

    /// The cache entry for a newly issued token.
    fn cached(&self, issued: IssuedToken, received_at: Instant) -> Result<Cached, Error> {
        let lifetime = issued.expires_in;
        if lifetime <= self.margin {
            return Err(Error::InvalidConfig(format!(
                "token source: LINE issued a token valid for {lifetime:?}, no longer than the margin of {:?}",
                self.margin
            )));
        }
        let expires_at = received_at + lifetime;
        let mut bearer =
            HeaderValue::try_from(format!("Bearer {}", issued.access_token.expose_secret()))
                .map_err(|_| {
                    Error::InvalidConfig(
                        "token source: the token is not a valid header value".to_owned(),
                    )
                })?;
        bearer.set_sensitive(true);
        Ok(Cached {
            access_token: issued.access_token,
            bearer,
            key_id: issued.key_id,
            expires_at,
            usable_until: expires_at - self.margin,
            refresh_from: expires_at
                .checked_sub(self.refresh_before)
                .unwrap_or(received_at)
                .max(received_at + lifetime / 2),
        })
    }
}

/// One refresh: issue, cache, revoke the replaced token, and settle the
/// backoff. Its outcome is shared by every caller that waits for it.
async fn refresh(inner: Arc<Inner>) -> Result<Arc<Cached>, Arc<Error>> {
    let outcome = inner
        .issue()
        .await
        .and_then(|issued| inner.cached(issued, Instant::now()))
        .map(Arc::new);
    let replaced = match &outcome {
        Ok(new) => inner.cache.swap(Some(Arc::clone(new))),
        Err(_) => None,
    };
    {
        let mut state = inner.state();
        state.in_flight = None;
        if outcome.is_ok() {
            state.failures = 0;
            state.retry_at = None;
        } else {
            state.failures = state.failures.saturating_add(1);
            state.retry_at = Some(Instant::now() + backoff(state.failures));
        }
    }
    if let Some(old) = replaced {
        inner.revoke_replaced(&old).await;
    }
    outcome.map_err(Arc::new)
}

/// The wait after `failures` failed background refreshes: doubling from
/// [`FIRST_BACKOFF`] up to [`MAX_BACKOFF`], less up to a quarter at random.
fn backoff(failures: u32) -> Duration {
    let exponential = FIRST_BACKOFF.saturating_mul(1 << failures.saturating_sub(1).min(16));
    let capped = exponential.min(MAX_BACKOFF);
    capped - capped.mul_f64(rand::random::<f64>() / 4.0)
}

/// Builds a [`TokenSource`].
#[derive(Debug)]
#[must_use]
pub struct TokenSourceBuilder {
    client: Client,
    strategy: TokenStrategy,
    margin: Duration,
    refresh_before: Duration,
}

impl TokenSourceBuilder {
    /// A token with less than this left is never returned (default
    /// [`DEFAULT_MARGIN`]).
    pub fn margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// A background refresh starts when this much is left (default
    /// [`DEFAULT_REFRESH_BEFORE`]; at least the margin).
    pub fn refresh_before(mut self, refresh_before: Duration) -> Self {
        self.refresh_before = refresh_before;
        self
    }

    /// Checks the settings and builds the source.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when the refresh window is shorter than the margin.
    pub fn build(self) -> Result<TokenSource, Error> {
        if self.refresh_before < self.margin {
            return Err(Error::InvalidConfig(
                "token source: refresh_before must be at least the margin".to_owned(),
            ));
        }
        Ok(TokenSource {
            inner: Arc::new(Inner {
                client: self.client,
                strategy: self.strategy,
                margin: self.margin,
                refresh_before: self.refresh_before,
                cache: ArcSwapOption::empty(),
                refresh: Mutex::new(RefreshState::default()),
            }),
        })
    }
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("strategy", &self.inner.strategy)
            .field("margin", &self.inner.margin)
            .field("refresh_before", &self.inner.refresh_before)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_cap_with_jitter() {
        for (failures, full) in [(1, 1), (2, 2), (3, 4), (7, 60), (40, 60)] {
            let wait = backoff(failures);
            let full = Duration::from_secs(full);
            assert!(
                wait <= full && wait >= full.mul_f64(0.75),
                "{failures}: {wait:?}"
            );
        }
    }
}
