//! The crate's [`TokenProvider`]s: LINE's three token kinds on a [`Client`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::provider::{Retired, TokenProvider};
use super::signers::Signers;
use crate::client::Client;
use crate::credentials::ChannelCredentials;
use crate::error::{Chain, Error};
use crate::metrics;
use crate::secret::{AccessToken, ClientSecret};
use crate::tokens::MAX_LIFETIME;
use crate::tokens::{IssuedToken, V21Budget};

/// How long LINE's stateless tokens live.
const STATELESS_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// What identifies the channel to a stateless issuance.
#[derive(Debug, Clone)]
enum StatelessKey {
    Signer(Signers),
    Secret(ChannelCredentials),
}

/// Stateless tokens: 15 minutes, no limit on how many, nothing to revoke.
/// The recommended kind, by assertion signer.
///
/// ```
/// # let pair = line_oauth::AssertionKeyPair::generate().unwrap();
/// use line_oauth::{AssertionSigner, Client, Stateless, TokenSource};
/// let signer = AssertionSigner::new(&pair.private, "kid", "1234567890");
/// let source = TokenSource::new(Stateless::by_signer(Client::new(), signer))?;
/// # Ok::<(), line_oauth::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Stateless {
    client: Client,
    key: StatelessKey,
}

impl Stateless {
    /// Stateless tokens by a fresh assertion from `signer` each time: one
    /// [`AssertionSigner`](crate::AssertionSigner), or [`Signers`] during a
    /// key rotation.
    pub fn by_signer(client: Client, signer: impl Into<Signers>) -> Self {
        Self {
            client,
            key: StatelessKey::Signer(signer.into()),
        }
    }

    /// Stateless tokens by channel ID and secret.
    pub fn by_secret(client: Client, credentials: ChannelCredentials) -> Self {
        Self {
            client,
            key: StatelessKey::Secret(credentials),
        }
    }
}

impl TokenProvider for Stateless {
    async fn issue(&self) -> Result<IssuedToken, Error> {
        match &self.key {
            StatelessKey::Signer(signers) => {
                let client = &self.client;
                signers
                    .sign_with(|signer| client.issue_stateless(signer))
                    .await
            }
            StatelessKey::Secret(creds) => self.client.issue_stateless(creds).await,
        }
    }

    fn lifetime(&self) -> Option<Duration> {
        Some(STATELESS_LIFETIME)
    }

    /// The client's timeout for each signer an issuance may try.
    fn issue_timeout(&self) -> Option<Duration> {
        let tries = match &self.key {
            StatelessKey::Signer(signers) => signers.len(),
            StatelessKey::Secret(_) => 1,
        };
        Some(each_try(&self.client, tries))
    }

    fn store_key(&self) -> Option<String> {
        let channel_id = match &self.key {
            StatelessKey::Signer(signer) => signer.channel_id(),
            StatelessKey::Secret(creds) => creds.channel_id(),
        };
        Some(format!("stateless:{channel_id}"))
    }

    fn token_kind(&self) -> &'static str {
        "stateless"
    }

    fn channel_id(&self) -> Option<&str> {
        Some(match &self.key {
            StatelessKey::Signer(signer) => signer.channel_id(),
            StatelessKey::Secret(creds) => creds.channel_id(),
        })
    }
}

/// Short-lived tokens: 30 days, from the channel ID and secret. LINE keeps
/// 30 per channel and silently revokes the oldest beyond that.
///
/// ```
/// use line_oauth::{ChannelCredentials, Client, ClientSecret, ShortLived, TokenSource};
/// let creds = ChannelCredentials::new("1234567890", ClientSecret::new("secret"));
/// let source = TokenSource::new(ShortLived::new(Client::new(), creds).revoke_replaced())?;
/// # Ok::<(), line_oauth::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ShortLived {
    client: Client,
    credentials: ChannelCredentials,
    revoke_replaced: bool,
}

impl ShortLived {
    /// Short-lived tokens for the channel; replaced ones are left to expire.
    pub fn new(client: Client, credentials: ChannelCredentials) -> Self {
        Self {
            client,
            credentials,
            revoke_replaced: false,
        }
    }

    /// Revokes each replaced token once the source's revoke delay has
    /// passed, so that rotation does not use up LINE's 30.
    #[must_use]
    pub fn revoke_replaced(mut self) -> Self {
        self.revoke_replaced = true;
        self
    }
}

impl TokenProvider for ShortLived {
    async fn issue(&self) -> Result<IssuedToken, Error> {
        self.client.issue_short_lived(&self.credentials).await
    }

    async fn retire(&self, token: &AccessToken, why: Retired) {
        if why == Retired::Unused || self.revoke_replaced {
            revoked(self.client.revoke(token).await);
        }
    }

    fn lifetime(&self) -> Option<Duration> {
        Some(MAX_LIFETIME)
    }

    fn issue_timeout(&self) -> Option<Duration> {
        Some(self.client.timeout())
    }

    fn store_key(&self) -> Option<String> {
        Some(format!("short-lived:{}", self.credentials.channel_id()))
    }

    fn token_kind(&self) -> &'static str {
        "short_lived"
    }

    fn channel_id(&self) -> Option<&str> {
        Some(self.credentials.channel_id())
    }
}

/// v2.1 tokens of a lifetime you choose, by assertion signer. LINE refuses
/// a 31st valid one ([`Error::is_token_limit_reached`]).
///
/// ```
/// # let pair = line_oauth::AssertionKeyPair::generate().unwrap();
/// use std::time::Duration;
/// use line_oauth::{AssertionSigner, Client, ClientSecret, TokenSource, V21};
/// let signer = AssertionSigner::new(&pair.private, "kid", "1234567890");
/// let day = Duration::from_secs(24 * 3600);
/// let v21 = V21::new(Client::new(), signer, day).revoke_replaced(ClientSecret::new("secret"));
/// let source = TokenSource::new(v21)?;
/// # Ok::<(), line_oauth::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct V21 {
    client: Client,
    signer: Signers,
    lifetime: Duration,
    /// The channel's credentials, to revoke with.
    revoke_with: Option<ChannelCredentials>,
    /// Whether each issuance is followed by a count of the channel's tokens.
    count_tokens: bool,
    /// Whether a count runs: issuances meanwhile start none of their own.
    counting: Arc<AtomicBool>,
}

impl V21 {
    /// v2.1 tokens of `lifetime` (1 second to 30 days, and longer than the
    /// source's margin plus its refresh window), signed for by `signer`.
    /// Replaced ones are left to expire.
    pub fn new(client: Client, signer: impl Into<Signers>, lifetime: Duration) -> Self {
        Self {
            client,
            signer: signer.into(),
            lifetime,
            revoke_with: None,
            count_tokens: true,
            counting: Arc::default(),
        }
    }

    /// Whether each issuance is followed by a count of the channel's v2.1
    /// tokens (the key-ID listing: one more call to LINE per issuance, none
    /// while one runs) for the `line_oauth_v21_tokens` metric and the
    /// warning from [`V21Budget::WARN_AT`] in use. On by default.
    ///
    /// ```
    /// # let pair = line_oauth::AssertionKeyPair::generate().unwrap();
    /// # let signer = line_oauth::AssertionSigner::new(&pair.private, "kid", "1234567890");
    /// use std::time::Duration;
    /// let quiet = line_oauth::V21::new(line_oauth::Client::new(), signer, Duration::from_secs(86_400))
    ///     .count_tokens(false);
    /// ```
    #[must_use]
    pub fn count_tokens(mut self, count: bool) -> Self {
        self.count_tokens = count;
        self
    }

    /// Revokes each replaced token once the source's revoke delay has
    /// passed (LINE wants the channel secret for that), so rotation holds
    /// at most two of LINE's 30. Tokens no caller ever got are then revoked
    /// too.
    #[must_use]
    pub fn revoke_replaced(mut self, secret: ClientSecret) -> Self {
        let channel_id = self.signer.channel_id().to_owned();
        self.revoke_with = Some(ChannelCredentials::new(channel_id, secret));
        self
    }
}

/// Marks a count done when dropped: made before its task, so that the task
/// dropped at any point (even before it first runs) clears the mark.
struct CountDone(Arc<AtomicBool>);

impl Drop for CountDone {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl V21 {
    /// Counts the channel's v2.1 tokens: the count goes to the metrics, and
    /// a warning naming the channel (never a token) when
    /// [`V21Budget::WARN_AT`] or more are in use. A failed count is only
    /// logged: the issuance it follows stands.
    async fn check_budget(&self, done: CountDone) {
        let channel_id = self.signer.channel_id();
        // With the signer the issuance just worked with.
        let counted = self.client.v21_budget(self.signer.preferred()).await;
        drop(done);
        match counted {
            Ok(budget) => {
                metrics::v21_tokens(channel_id, budget.in_use, budget.is_near_limit());
                if budget.is_near_limit() {
                    tracing::warn!(
                        channel_id,
                        in_use = budget.in_use,
                        limit = V21Budget::LIMIT,
                        "v2.1 tokens: the channel is near LINE's limit of 30; a 31st issuance \
                         will be refused: revoke the tokens no one uses"
                    );
                }
            }
            Err(error) => {
                tracing::info!(channel_id, error = %Chain(&error), "v2.1 tokens: could not count them")
            }
        }
    }
}

impl TokenProvider for V21 {
    /// Issues, then counts the channel's v2.1 tokens in a task of its own,
    /// so the token is not kept waiting: the count goes to the metrics, with
    /// a warning from [`V21Budget::WARN_AT`].
    async fn issue(&self) -> Result<IssuedToken, Error> {
        let (client, lifetime) = (&self.client, self.lifetime);
        let issued = self
            .signer
            .sign_with(|signer| client.issue_v21(signer, lifetime))
            .await?;
        let runtime = tokio::runtime::Handle::try_current().ok();
        if let Some(runtime) = runtime.filter(|_| self.count_tokens)
            && !self.counting.swap(true, Ordering::AcqRel)
        {
            let done = CountDone(Arc::clone(&self.counting));
            let provider = self.clone();
            runtime.spawn(async move { provider.check_budget(done).await });
        }
        Ok(issued)
    }

    async fn retire(&self, token: &AccessToken, _why: Retired) {
        if let Some(creds) = &self.revoke_with {
            revoked(self.client.revoke_v21(creds, token).await);
        }
    }

    fn lifetime(&self) -> Option<Duration> {
        Some(self.lifetime)
    }

    /// The client's timeout for each signer an issuance may try.
    fn issue_timeout(&self) -> Option<Duration> {
        Some(each_try(&self.client, self.signer.len()))
    }

    fn store_key(&self) -> Option<String> {
        Some(format!("v21:{}", self.signer.channel_id()))
    }

    fn token_kind(&self) -> &'static str {
        "v21"
    }

    fn channel_id(&self) -> Option<&str> {
        Some(self.signer.channel_id())
    }
}

/// Logs a failed revocation: the token then lives until it expires.
/// The longest `tries` calls of `client` take.
fn each_try(client: &Client, tries: usize) -> Duration {
    let tries = u32::try_from(tries).unwrap_or(u32::MAX);
    client.timeout().saturating_mul(tries)
}

fn revoked(outcome: Result<(), Error>) {
    if let Err(error) = outcome {
        tracing::debug!(error = %Chain(&error), "could not revoke a token the source retired");
    }
}
