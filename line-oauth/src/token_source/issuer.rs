//! How a [`TokenSource`](super::TokenSource) gets tokens and retires them:
//! its [`TokenStrategy`] on a [`Client`].

use std::time::Duration;

use crate::assertion::AssertionSigner;
use crate::client::Client;
use crate::credentials::{ChannelCredentials, StatelessAuth};
use crate::error::Error;
use crate::secret::AccessToken;
use crate::tokens::IssuedToken;

/// Which tokens a [`TokenSource`](super::TokenSource) issues.
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
    /// the oldest beyond that). `revoke_replaced` revokes each token once its
    /// successor has been in service for the revoke delay.
    ShortLived {
        /// The channel ID and secret.
        credentials: ChannelCredentials,
        /// Revoke a token once it is replaced.
        revoke_replaced: bool,
    },
    /// v2.1 tokens of `lifetime` (LINE refuses a 31st valid one). With
    /// `revoke_with`, each token is revoked once its successor has been in
    /// service for the revoke delay, so rotation holds at most two.
    V21 {
        /// Signs the assertions.
        signer: AssertionSigner,
        /// The lifetime to ask for: 1 second to 30 days, and longer than
        /// the source's margin plus its refresh window.
        lifetime: Duration,
        /// The channel secret, to revoke replaced tokens with.
        revoke_with: Option<ChannelCredentials>,
    },
}

/// A strategy on a client: issues tokens and revokes the ones it retires.
#[derive(Debug)]
pub(super) struct Issuer {
    pub(super) client: Client,
    pub(super) strategy: TokenStrategy,
}

impl Issuer {
    /// Issues one token.
    pub(super) async fn issue(&self) -> Result<IssuedToken, Error> {
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

    /// Whether the strategy asks to revoke a token once it is replaced.
    pub(super) fn revokes_replaced(&self) -> bool {
        matches!(
            self.strategy,
            TokenStrategy::ShortLived {
                revoke_replaced: true,
                ..
            } | TokenStrategy::V21 {
                revoke_with: Some(_),
                ..
            }
        )
    }

    /// Revokes a token no caller ever got, wherever its kind can be revoked
    /// (stateless tokens cannot; v2.1 tokens need the channel secret). A
    /// failure only means the token lives until it expires.
    pub(super) async fn revoke_unused(&self, token: &AccessToken) {
        let outcome = match &self.strategy {
            TokenStrategy::ShortLived { .. } => self.client.revoke(token).await,
            TokenStrategy::V21 {
                revoke_with: Some(creds),
                ..
            } => self.client.revoke_v21(creds, token).await,
            _ => Ok(()),
        };
        if let Err(error) = outcome {
            tracing::debug!(%error, "could not revoke a token the source does not use");
        }
    }

    /// Revokes a replaced token if the strategy asks.
    pub(super) async fn revoke_replaced(&self, token: &AccessToken) {
        if self.revokes_replaced() {
            self.revoke_unused(token).await;
        }
    }
}
