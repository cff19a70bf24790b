//! What LINE says about tokens: newly issued ones and verified ones.

use std::time::{Duration, Instant};

use crate::secret::AccessToken;

/// A newly issued channel access token.
///
/// ```
/// # async fn run(client: line_oauth::Client, creds: line_oauth::ChannelCredentials) -> Result<(), line_oauth::Error> {
/// let issued = client.issue_short_lived(&creds).await?;
/// println!("{} token, valid for {:?}", issued.token_type, issued.expires_in);
/// let header = format!("Bearer {}", issued.access_token.expose_secret());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IssuedToken {
    /// The token to send as `Authorization: Bearer ...` to the Messaging API.
    pub access_token: AccessToken,
    /// How long the token was valid for when LINE answered.
    pub expires_in: Duration,
    /// The token type; LINE always says `Bearer`.
    pub token_type: String,
    /// The token's key ID, for v2.1 tokens (what the key ID listing returns).
    pub key_id: Option<String>,
    /// When the answer arrived: the start of `expires_in`.
    pub received_at: Instant,
}

impl IssuedToken {
    /// When the token expires (by this process's monotonic clock).
    ///
    /// ```
    /// # fn f(t: line_oauth::IssuedToken) {
    /// assert!(t.expires_at() >= t.received_at);
    /// # }
    /// ```
    pub fn expires_at(&self) -> Instant {
        self.received_at + self.expires_in
    }

    /// How long the token stays valid from now (zero once expired).
    ///
    /// ```
    /// # fn f(t: line_oauth::IssuedToken) {
    /// if t.remaining() < std::time::Duration::from_secs(60) { /* issue a new one */ }
    /// # }
    /// ```
    pub fn remaining(&self) -> Duration {
        self.expires_at().saturating_duration_since(Instant::now())
    }
}

/// What LINE says about a valid token.
///
/// ```
/// # async fn run(client: line_oauth::Client, token: line_oauth::AccessToken) -> Result<(), line_oauth::Error> {
/// let info = client.verify(&token).await?;
/// println!("channel {} for {:?}, scopes {:?}", info.client_id, info.expires_in, info.scopes);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenInfo {
    /// The channel ID the token belongs to.
    pub client_id: String,
    /// How long the token stays valid.
    pub expires_in: Duration,
    /// The token's permissions; empty when LINE sends none.
    pub scopes: Vec<String>,
}
