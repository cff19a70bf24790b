//! [`Client`]: the 8 operations with Rust types.

mod builder;
mod requests;

pub use builder::ClientBuilder;
pub(crate) use builder::MAX_TIMEOUT;
#[cfg(test)]
pub(crate) use builder::http_client;
use builder::{DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, USER_AGENT};

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use crate::call::{self, Policy, Request};
use crate::credentials::{Assertion, ChannelCredentials, StatelessAuth};
use crate::error::Error;
use crate::raw::{self, types};
use crate::secret::{AccessToken, ClientAssertion};
use crate::tokens::{BEARER, IssuedToken, TokenInfo, V21Budget};
pub(crate) use requests::{JWT_BEARER, ValidV21KeyIds, VerifyV21};

/// The only grant type LINE accepts.
pub(crate) const GRANT: types::GrantType = types::GrantType::ClientCredentials;

/// A client for LINE's Channel Access Token API. Cheap to clone (one atomic
/// increment; clones share the connection pool): build one and keep it.
///
/// ```no_run
/// use line_oauth::{ChannelCredentials, Client, ClientSecret};
///
/// # async fn run() -> Result<(), line_oauth::Error> {
/// let client = Client::new();
/// let creds = ChannelCredentials::new("1234567890", ClientSecret::new("channel secret"));
/// let issued = client.issue_short_lived(&creds).await?;
/// let info = client.verify(issued.access_token()).await?;
/// assert_eq!(info.client_id(), "1234567890");
/// client.revoke(issued.access_token()).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    /// One allocation that clones share: a registry's providers hold a
    /// clone each.
    inner: Arc<Inner>,
}

/// What a client's clones share.
#[derive(Debug)]
struct Inner {
    raw: raw::Client,
    policy: Policy,
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

impl Client {
    /// A client of `raw` calling as `policy` says.
    fn from_parts(raw: raw::Client, policy: Policy) -> Self {
        Self {
            inner: Arc::new(Inner { raw, policy }),
        }
    }

    /// LINE's API host, where calls go unless the builder says otherwise.
    pub const DEFAULT_BASE_URL: &str = DEFAULT_BASE_URL;
    /// How long to wait for a connection (TCP and TLS) by default.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = DEFAULT_CONNECT_TIMEOUT;
    /// How long a whole call (connect, send, answer, body) may take by default.
    pub const DEFAULT_TIMEOUT: Duration = DEFAULT_TIMEOUT;
    /// The longest timeout a builder accepts: a token call that takes longer has failed.
    pub const MAX_TIMEOUT: Duration = MAX_TIMEOUT;
    /// The `User-Agent` of its requests.
    pub const USER_AGENT: &str = USER_AGENT;
    /// The largest response body read. LINE's bodies are under 1 KiB; a
    /// longer one is [`Error::ResponseTooLarge`], and reading stops there,
    /// however much the server sends.
    pub const RESPONSE_BODY_LIMIT: usize = crate::raw::RESPONSE_BODY_LIMIT;

    /// A client for `https://api.line.me` with the default timeouts.
    ///
    /// # Panics
    ///
    /// Only if the TLS backend cannot be initialised, as `reqwest::Client::new`.
    /// Use [`Client::builder`] to get that as an error instead.
    pub fn new() -> Self {
        Self::builder()
            .build()
            .expect("the default configuration is valid")
    }

    /// A builder to set the base URL, the timeouts, the retry policy or a
    /// proxy. The HTTP client is always the builder's own, which never
    /// follows a redirect.
    ///
    /// ```
    /// let client = line_oauth::Client::builder().base_url("http://127.0.0.1:8080").build()?;
    /// # Ok::<(), line_oauth::Error>(())
    /// ```
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The base URL requests go to, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        progenitor_client::ClientInfo::baseurl(&self.inner.raw)
    }

    /// How long one call may take, retries included.
    ///
    /// ```
    /// assert_eq!(line_oauth::Client::new().timeout(), line_oauth::Client::DEFAULT_TIMEOUT);
    /// ```
    pub fn timeout(&self) -> Duration {
        self.inner.policy.timeout
    }

    /// Issues a short-lived token (valid 30 days) from the channel ID and
    /// secret. A channel holds at most 30: issuing one more revokes the oldest.
    ///
    /// ```no_run
    /// # async fn run(client: line_oauth::Client, creds: line_oauth::ChannelCredentials) -> Result<(), line_oauth::Error> {
    /// let issued = client.issue_short_lived(&creds).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn issue_short_lived(
        &self,
        creds: &ChannelCredentials,
    ) -> Result<IssuedToken, Error> {
        let request = types::IssueShortLivedChannelTokenRequest {
            grant_type: GRANT,
            client_id: creds.channel_id().to_owned().into(),
            client_secret: creds.secret().clone(),
        };
        issued::<types::IssueShortLivedChannelTokenRequest>(self.send(&request).await?)
    }

    /// Issues a v2.1 token. A signer signs a fresh assertion asking for
    /// `lifetime` (1 second to 30 days); a ready assertion carries its own
    /// `token_exp`, which LINE reads instead. A channel holds at most 30: at
    /// the limit LINE refuses ([`Error::is_token_limit_reached`]).
    ///
    /// ```no_run
    /// # async fn run(client: line_oauth::Client, signer: line_oauth::AssertionSigner) -> Result<(), line_oauth::Error> {
    /// let day = std::time::Duration::from_secs(24 * 3600);
    /// let issued = client.issue_v21(&signer, day).await?;
    /// println!("key id {:?}", issued.key_id());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn issue_v21(
        &self,
        assertion: impl Into<Assertion<'_>>,
        lifetime: Duration,
    ) -> Result<IssuedToken, Error> {
        let request = types::IssueChannelTokenByJwtRequest {
            grant_type: GRANT,
            client_assertion_type: JWT_BEARER,
            client_assertion: assertion.into().to_send(Some(lifetime))?,
        };
        issued::<types::IssueChannelTokenByJwtRequest>(self.send(&request).await?)
    }

    /// Issues a stateless token (valid 15 minutes, no limit on how many, not
    /// revocable), by channel secret or by assertion (ready, or signed for
    /// the call).
    ///
    /// ```no_run
    /// # async fn run(client: line_oauth::Client, creds: line_oauth::ChannelCredentials, signer: line_oauth::AssertionSigner) -> Result<(), line_oauth::Error> {
    /// let by_secret = client.issue_stateless(&creds).await?;
    /// let by_assertion = client.issue_stateless(&signer).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn issue_stateless(
        &self,
        auth: impl Into<StatelessAuth<'_>>,
    ) -> Result<IssuedToken, Error> {
        let request = match auth.into() {
            StatelessAuth::ClientSecret(creds) => stateless_by_secret(creds),
            StatelessAuth::Assertion(assertion) => stateless_by_assertion(assertion.to_send(None)?),
        };
        issued::<types::IssueStatelessChannelTokenRequest>(self.send(&request).await?)
    }

    /// Verifies a short-lived or long-lived token.
    ///
    /// ```no_run
    /// # async fn run(client: line_oauth::Client, token: line_oauth::AccessToken) -> Result<(), line_oauth::Error> {
    /// let info = client.verify(&token).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn verify(&self, token: &AccessToken) -> Result<TokenInfo, Error> {
        let request = types::VerifyChannelTokenRequest {
            access_token: token.clone(),
        };
        token_info::<types::VerifyChannelTokenRequest>(self.send(&request).await?)
    }

    /// Verifies a v2.1 token.
    ///
    /// ```no_run
    /// # async fn run(client: line_oauth::Client, token: line_oauth::AccessToken) -> Result<(), line_oauth::Error> {
    /// let info = client.verify_v21(&token).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn verify_v21(&self, token: &AccessToken) -> Result<TokenInfo, Error> {
        let request = VerifyV21 {
            access_token: token,
        };
        token_info::<VerifyV21<'_>>(self.send(&request).await?)
    }

    /// Revokes a short-lived or long-lived token. LINE does not complain
    /// about a well-formed token that is not valid.
    ///
    /// ```no_run
    /// # async fn run(client: line_oauth::Client, token: line_oauth::AccessToken) -> Result<(), line_oauth::Error> {
    /// client.revoke(&token).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn revoke(&self, token: &AccessToken) -> Result<(), Error> {
        let request = types::RevokeChannelTokenRequest {
            access_token: token.clone(),
        };
        self.send(&request).await
    }

    /// Revokes a v2.1 token. LINE wants the channel secret for this.
    ///
    /// ```no_run
    /// # async fn run(client: line_oauth::Client, creds: line_oauth::ChannelCredentials, token: line_oauth::AccessToken) -> Result<(), line_oauth::Error> {
    /// client.revoke_v21(&creds, &token).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn revoke_v21(
        &self,
        creds: &ChannelCredentials,
        token: &AccessToken,
    ) -> Result<(), Error> {
        let request = types::RevokeChannelTokenByJwtRequest {
            client_id: creds.channel_id().to_owned().into(),
            client_secret: creds.secret().clone(),
            access_token: token.clone(),
        };
        self.send(&request).await
    }

    /// The key IDs of the channel's valid v2.1 tokens (the `key_id` of each
    /// [`IssuedToken`]), the channel identified by an assertion (ready, or
    /// signed for the call).
    ///
    /// ```no_run
    /// # async fn run(client: line_oauth::Client, signer: line_oauth::AssertionSigner) -> Result<(), line_oauth::Error> {
    /// let key_ids = client.list_v21_key_ids(&signer).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn list_v21_key_ids(
        &self,
        assertion: impl Into<Assertion<'_>>,
    ) -> Result<Vec<String>, Error> {
        let assertion = assertion.into().to_send(None)?;
        let request = ValidV21KeyIds {
            client_assertion: &assertion,
        };
        Ok(self.send(&request).await?.kids)
    }

    /// How many of LINE's 30 v2.1 tokens the channel holds: the key-ID
    /// listing, counted. The channel is identified as for
    /// [`list_v21_key_ids`](Self::list_v21_key_ids).
    ///
    /// ```no_run
    /// # async fn run(client: line_oauth::Client, signer: line_oauth::AssertionSigner) -> Result<(), line_oauth::Error> {
    /// let budget = client.v21_budget(&signer).await?;
    /// if budget.is_near_limit() {
    ///     eprintln!("{budget}: revoke unused ones");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn v21_budget(
        &self,
        assertion: impl Into<Assertion<'_>>,
    ) -> Result<V21Budget, Error> {
        Ok(V21Budget::new(
            self.list_v21_key_ids(assertion).await?.len(),
        ))
    }

    /// Sends one request through the call path ([`crate::call`]).
    async fn send<R: Request>(&self, request: &R) -> Result<R::Answer, Error> {
        call::send(&self.inner.raw, self.inner.policy, request).await
    }
}

/// The fields of LINE's three issuance responses.
trait IssueResponse {
    /// The token, `expires_in`, the token type and the key ID (v2.1 only).
    fn into_parts(self) -> (AccessToken, i32, String, Option<String>);
}

impl IssueResponse for types::IssueShortLivedChannelAccessTokenResponse {
    fn into_parts(self) -> (AccessToken, i32, String, Option<String>) {
        (self.access_token, self.expires_in, self.token_type, None)
    }
}

impl IssueResponse for types::IssueChannelAccessTokenResponse {
    fn into_parts(self) -> (AccessToken, i32, String, Option<String>) {
        (
            self.access_token,
            self.expires_in,
            self.token_type,
            Some(self.key_id),
        )
    }
}

impl IssueResponse for types::IssueStatelessChannelAccessTokenResponse {
    fn into_parts(self) -> (AccessToken, i32, String, Option<String>) {
        (self.access_token, self.expires_in, self.token_type, None)
    }
}

/// An [`IssuedToken`] from the answer to `R`; a negative lifetime is refused.
fn issued<R: Request>(answer: impl IssueResponse) -> Result<IssuedToken, Error> {
    let (access_token, expires_in, token_type, key_id) = answer.into_parts();
    Ok(IssuedToken {
        access_token,
        expires_in: lifetime::<R>(expires_in.into())?,
        token_type: match token_type.as_str() {
            BEARER => Cow::Borrowed(BEARER),
            _ => Cow::Owned(token_type),
        },
        key_id: key_id.map(String::into_boxed_str),
        received_at: std::time::SystemTime::now(),
    })
}

/// A [`TokenInfo`] from the answer to a verify request `R`.
fn token_info<R: Request>(
    info: types::VerifyChannelAccessTokenResponse,
) -> Result<TokenInfo, Error> {
    Ok(TokenInfo {
        expires_in: lifetime::<R>(info.expires_in)?,
        client_id: info.client_id.0,
        scopes: info.scope.unwrap_or_default(),
    })
}

/// `expires_in` seconds as a [`Duration`]; LINE never sends a negative one.
fn lifetime<R: Request>(seconds: i64) -> Result<Duration, Error> {
    u64::try_from(seconds)
        .map(Duration::from_secs)
        .map_err(|_| {
            let reason = format!("expires_in is negative ({seconds})");
            call::decode_error(R::OPERATION, 200, &reason, b"", &[])
        })
}

pub(crate) fn stateless_by_secret(
    creds: &ChannelCredentials,
) -> types::IssueStatelessChannelTokenRequest {
    types::IssueStatelessChannelTokenByClientSecretRequest {
        grant_type: GRANT,
        client_id: creds.channel_id().to_owned().into(),
        client_secret: creds.secret().clone(),
    }
    .into()
}

pub(crate) fn stateless_by_assertion(
    assertion: ClientAssertion,
) -> types::IssueStatelessChannelTokenRequest {
    types::IssueStatelessChannelTokenByJwtAssertionRequest {
        grant_type: GRANT,
        client_assertion_type: JWT_BEARER,
        client_assertion: assertion,
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(scope: Option<&str>) -> TokenInfo {
        token_info::<types::VerifyChannelTokenRequest>(types::VerifyChannelAccessTokenResponse {
            client_id: types::ChannelId("1350031035".to_owned()),
            expires_in: 60,
            scope: scope.map(str::to_owned),
        })
        .unwrap()
    }

    #[test]
    fn scopes_are_read_from_the_text_line_sends() {
        let info = info(Some(" profile  chat_message.write "));
        assert_eq!(
            info.scopes().collect::<Vec<_>>(),
            ["profile", "chat_message.write"]
        );
        assert!(info.has_scope("chat_message.write"));
        assert!(!info.has_scope("chat_message"));
        assert!(!info.has_scope(""));
        assert_eq!(info, self::info(Some("profile chat_message.write")));
        assert_ne!(info, self::info(Some("chat_message.write profile")));
    }

    #[test]
    fn no_scope_from_line_is_no_scopes() {
        for scope in [None, Some(""), Some("  ")] {
            let info = info(scope);
            assert_eq!(info.scopes().count(), 0, "{scope:?}");
            assert!(!info.has_scope("profile"));
        }
    }
}
