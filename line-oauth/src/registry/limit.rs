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

/// `inner`, issuing only with one of `permits`.
#[derive(Debug)]
pub(super) struct Limited<P> {
    pub(super) inner: P,
    pub(super) permits: Arc<Semaphore>,
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
    /// timeout, so that the whole issuance stays within twice that (a
    /// store lock's TTL is checked against it).
    fn wait(&self) -> Duration {
        self.inner
            .issue_timeout()
            .unwrap_or(crate::Client::DEFAULT_TIMEOUT)
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
        Some(self.wait().saturating_mul(2))
    }

    fn store_key(&self) -> Option<String> {
        self.inner.store_key()
    }
}
