//! The registry's limit on issuances in flight across all its channels: a
//! provider that waits for a permit before it issues.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::error::{Error, Remedy};
use crate::secret::AccessToken;
use crate::token_source::{Retired, TokenProvider};
use crate::tokens::IssuedToken;

/// `inner`, issuing only with one of `permits`; stored under `store_key`
/// when `inner` names no key of its own.
/// What the store key the registry gives a provider that names none
/// starts with; the channel ID follows.
pub(super) const STORE_KEY_PREFIX: &str = "registry:";

#[derive(Debug)]
pub(super) struct Limited<P> {
    pub(super) inner: P,
    pub(super) permits: Arc<Semaphore>,
    pub(super) store_key: Option<Box<str>>,
}

/// No permit came within the wait: the registry's other channels kept
/// every issuance slot busy.
#[derive(Debug)]
struct Busy(Duration);

impl fmt::Display for Busy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the registry's other channels kept every issuance slot busy for {:?}",
            self.0
        )
    }
}

impl std::error::Error for Busy {}

impl<P: TokenProvider> Limited<P> {
    /// How long an issuance waits for a permit: the inner provider's own
    /// timeout, at most a client's default timeout (a store lock's TTL is
    /// checked against the wait and the issuance together).
    fn wait(&self) -> Duration {
        self.inner
            .issue_timeout()
            .unwrap_or(crate::Client::DEFAULT_TIMEOUT)
            .min(crate::Client::DEFAULT_TIMEOUT)
    }
}

impl<P: TokenProvider> TokenProvider for Limited<P> {
    async fn issue(&self) -> Result<IssuedToken, Error> {
        let wait = self.wait();
        let permit = tokio::time::timeout(wait, self.permits.acquire()).await;
        let Ok(Ok(_permit)) = permit else {
            return Err(Error::provider(Remedy::RetryLater, Busy(wait)));
        };
        self.inner.issue().await
    }

    async fn retire(&self, token: &AccessToken, why: Retired) {
        self.inner.retire(token, why).await;
    }

    fn lifetime(&self) -> Option<Duration> {
        self.inner.lifetime()
    }

    fn issue_timeout(&self) -> Option<Duration> {
        let issue = self
            .inner
            .issue_timeout()
            .unwrap_or(crate::Client::DEFAULT_TIMEOUT);
        Some(self.wait().saturating_add(issue))
    }

    /// The provider's own, or the one the registry gave it.
    fn store_key(&self) -> Option<String> {
        self.inner
            .store_key()
            .or_else(|| self.store_key.as_deref().map(str::to_owned))
    }

    fn token_kind(&self) -> &'static str {
        self.inner.token_kind()
    }

    fn channel_id(&self) -> Option<&str> {
        let named = self
            .store_key
            .as_deref()
            .and_then(|key| key.strip_prefix(STORE_KEY_PREFIX));
        self.inner.channel_id().or(named)
    }
}
