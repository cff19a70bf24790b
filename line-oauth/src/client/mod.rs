//! [`Client`]: the 8 operations with Rust types.

mod builder;

pub use builder::{
    ClientBuilder, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, MAX_TIMEOUT,
    USER_AGENT,
};

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use progenitor_client::ResponseValue;

use crate::assertion::AssertionSigner;
use crate::credentials::{ChannelCredentials, StatelessAuth};
use crate::error::Error;
use crate::hooks::capture_response_meta;
use crate::outcome::CallContext;
use crate::raw::{self, types};
use crate::retry::{self, Idempotency, RetryPolicy};
use crate::secret::{AccessToken, ClientAssertion};
use crate::tokens::{IssuedToken, TokenInfo};

/// The only grant type and client assertion type LINE accepts.
const GRANT: types::GrantType = types::GrantType::ClientCredentials;
const JWT_BEARER: types::ClientAssertionType =
    types::ClientAssertionType::UrnIetfParamsOauthClientAssertionTypeJwtBearer;

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
/// let info = client.verify(&issued.access_token).await?;
/// assert_eq!(info.client_id, "1234567890");
/// client.revoke(&issued.access_token).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    raw: Arc<raw::Client>,
    timeout: Duration,
    retry: RetryPolicy,
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

impl Client {
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

    /// A builder to set the base URL, timeouts or HTTP client.
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
        progenitor_client::ClientInfo::baseurl(self.raw.as_ref())
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
        let call = CallContext {
            operation: "issue_short_lived",
            secrets: &[creds.secret().expose_secret()],
            idempotency: Idempotency::UnlessSent,
        };
        check_channel_id(call.operation, creds)?;
        let body = types::IssueShortLivedChannelTokenRequest {
            grant_type: GRANT,
            client_id: creds.channel_id().to_owned().into(),
            client_secret: creds.secret().clone(),
        };
        let response = self
            .run(call, || self.raw.issue_channel_token(&body))
            .await?;
        issued(call, response)
    }

    /// Issues a v2.1 token, valid for the `token_exp` the assertion asks (at
    /// most 30 days). A channel holds at most 30: at the limit LINE refuses
    /// ([`Error::is_token_limit_reached`]).
    ///
    /// ```no_run
    /// # async fn run(client: line_oauth::Client, assertion: line_oauth::ClientAssertion) -> Result<(), line_oauth::Error> {
    /// let issued = client.issue_v21(&assertion).await?;
    /// println!("key id {:?}", issued.key_id);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn issue_v21(&self, assertion: &ClientAssertion) -> Result<IssuedToken, Error> {
        let call = CallContext {
            operation: "issue_v21",
            secrets: &[assertion.expose_secret()],
            idempotency: Idempotency::UnlessSent,
        };
        check_assertion(call.operation, assertion)?;
        let body = types::IssueChannelTokenByJwtRequest {
            grant_type: GRANT,
            client_assertion_type: JWT_BEARER,
            client_assertion: assertion.clone(),
        };
        let response = self
            .run(call, || self.raw.issue_channel_token_by_jwt(&body))
            .await?;
        issued(call, response)
    }

    /// Issues a stateless token (valid 15 minutes, no limit on how many, not
    /// revocable), by channel secret or by assertion.
    ///
    /// ```no_run
    /// # async fn run(client: line_oauth::Client, creds: line_oauth::ChannelCredentials) -> Result<(), line_oauth::Error> {
    /// use line_oauth::StatelessAuth;
    /// let issued = client.issue_stateless(StatelessAuth::ClientSecret(&creds)).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn issue_stateless(&self, auth: StatelessAuth<'_>) -> Result<IssuedToken, Error> {
        const OPERATION: &str = "issue_stateless";
        let signed;
        let (secret, body) = match auth {
            StatelessAuth::ClientSecret(creds) => {
                check_channel_id(OPERATION, creds)?;
                (creds.secret().expose_secret(), stateless_by_secret(creds))
            }
            StatelessAuth::Assertion(assertion) => {
                check_assertion(OPERATION, assertion)?;
                (assertion.expose_secret(), stateless_by_assertion(assertion))
            }
            StatelessAuth::Signer(signer) => {
                signed = signer.sign()?;
                (signed.expose_secret(), stateless_by_assertion(&signed))
            }
        };
        let call = CallContext {
            operation: OPERATION,
            secrets: &[secret],
            idempotency: Idempotency::Safe,
        };
        let response = self
            .run(call, || self.raw.issue_stateless_channel_token(&body))
            .await?;
        issued(call, response)
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
        let call = CallContext {
            operation: "verify",
            secrets: &[token.expose_secret()],
            idempotency: Idempotency::Safe,
        };
        check_token(call.operation, token)?;
        let body = types::VerifyChannelTokenRequest {
            access_token: token.clone(),
        };
        let info = self
            .run(call, || self.raw.verify_channel_token(&body))
            .await?;
        token_info(call, info)
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
        let call = CallContext {
            operation: "verify_v21",
            secrets: &[token.expose_secret()],
            idempotency: Idempotency::Safe,
        };
        check_token(call.operation, token)?;
        let info = self
            .run(call, || self.raw.verify_channel_token_by_jwt(token))
            .await?;
        token_info(call, info)
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
        let call = CallContext {
            operation: "revoke",
            secrets: &[token.expose_secret()],
            idempotency: Idempotency::Safe,
        };
        check_token(call.operation, token)?;
        let body = types::RevokeChannelTokenRequest {
            access_token: token.clone(),
        };
        self.run(call, || self.raw.revoke_channel_token(&body))
            .await?;
        Ok(())
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
        let call = CallContext {
            operation: "revoke_v21",
            secrets: &[creds.secret().expose_secret(), token.expose_secret()],
            idempotency: Idempotency::Safe,
        };
        check_channel_id(call.operation, creds)?;
        check_token(call.operation, token)?;
        let body = types::RevokeChannelTokenByJwtRequest {
            client_id: creds.channel_id().to_owned().into(),
            client_secret: creds.secret().clone(),
            access_token: token.clone(),
        };
        self.run(call, || self.raw.revoke_channel_token_by_jwt(&body))
            .await?;
        Ok(())
    }

    /// The key IDs of the channel's valid v2.1 tokens (the `key_id` of each
    /// [`IssuedToken`]), the channel identified by an assertion.
    ///
    /// ```no_run
    /// # async fn run(client: line_oauth::Client, assertion: line_oauth::ClientAssertion) -> Result<(), line_oauth::Error> {
    /// let key_ids = client.valid_v21_key_ids(&assertion).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn valid_v21_key_ids(
        &self,
        assertion: &ClientAssertion,
    ) -> Result<Vec<String>, Error> {
        let call = CallContext {
            operation: "valid_v21_key_ids",
            secrets: &[assertion.expose_secret()],
            idempotency: Idempotency::Safe,
        };
        check_assertion(call.operation, assertion)?;
        let request = || {
            self.raw
                .gets_all_valid_channel_access_token_key_ids(assertion, JWT_BEARER)
        };
        Ok(self.run(call, request).await?.kids)
    }

    /// Issues a v2.1 token valid for `lifetime` (1 second to 30 days), with
    /// a fresh assertion from `signer`.
    ///
    /// ```no_run
    /// # async fn run(client: line_oauth::Client, signer: line_oauth::AssertionSigner) -> Result<(), line_oauth::Error> {
    /// let issued = client.issue_v21_signed(&signer, std::time::Duration::from_secs(3600)).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn issue_v21_signed(
        &self,
        signer: &AssertionSigner,
        lifetime: Duration,
    ) -> Result<IssuedToken, Error> {
        self.issue_v21(&signer.sign_v21(lifetime)?).await
    }

    /// The key IDs of the channel's valid v2.1 tokens, with a fresh
    /// assertion from `signer`.
    ///
    /// ```no_run
    /// # async fn run(client: line_oauth::Client, signer: line_oauth::AssertionSigner) -> Result<(), line_oauth::Error> {
    /// let key_ids = client.valid_v21_key_ids_signed(&signer).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn valid_v21_key_ids_signed(
        &self,
        signer: &AssertionSigner,
    ) -> Result<Vec<String>, Error> {
        self.valid_v21_key_ids(&signer.sign()?).await
    }

    /// Runs one generated call, retrying as the policy allows, all within
    /// the timeout; maps its errors and returns the decoded body.
    async fn run<T, F>(&self, call: CallContext<'_>, request: impl Fn() -> F) -> Result<T, Error>
    where
        F: Future<Output = Result<ResponseValue<T>, raw::Error<types::ErrorResponse>>>,
    {
        // The builder caps the timeout, so this holds; checked all the same.
        let deadline = Instant::now().checked_add(self.timeout);
        let in_time = |wait: Duration| {
            let resume = Instant::now().checked_add(wait);
            matches!((resume, deadline), (Some(resume), Some(deadline)) if resume < deadline)
        };
        let work = async {
            let mut attempts = 1;
            loop {
                let error = match self.attempt(call, request()).await {
                    Ok(value) => return Ok(value),
                    Err(error) => error,
                };
                let wait = self.retry.wait(call.idempotency, attempts, &error);
                match wait.filter(|wait| in_time(*wait)) {
                    Some(wait) => {
                        tracing::debug!(
                            operation = call.operation,
                            attempt = attempts,
                            wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                            reason = %retry::reason(&error),
                            "retrying a LINE call"
                        );
                        tokio::time::sleep(wait).await;
                        attempts += 1;
                    }
                    None => return Err(error),
                }
            }
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .unwrap_or(Err(Error::Timeout {
                operation: call.operation,
                after: self.timeout,
            }))
    }

    /// One attempt of a generated call.
    async fn attempt<T>(
        &self,
        call: CallContext<'_>,
        request: impl Future<Output = Result<ResponseValue<T>, raw::Error<types::ErrorResponse>>>,
    ) -> Result<T, Error> {
        // Boxed once here: each async layer above would otherwise hold its
        // own copy of this large future, and every move copies them all.
        match capture_response_meta(Box::pin(request)).await {
            (Ok(value), _) => Ok(value.into_inner()),
            // Boxed: the error path is rare and its future large.
            (Err(error), meta) => Err(Box::pin(call.error(error, meta)).await),
        }
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

/// An [`IssuedToken`] from a decoded body; a negative lifetime is refused.
fn issued(call: CallContext<'_>, response: impl IssueResponse) -> Result<IssuedToken, Error> {
    let (access_token, expires_in, token_type, key_id) = response.into_parts();
    Ok(IssuedToken {
        access_token,
        expires_in: lifetime(call, expires_in.into())?,
        token_type,
        key_id,
        received_at: std::time::Instant::now(),
    })
}

/// A [`TokenInfo`] from a decoded verify body.
fn token_info(
    call: CallContext<'_>,
    info: types::VerifyChannelAccessTokenResponse,
) -> Result<TokenInfo, Error> {
    Ok(TokenInfo {
        expires_in: lifetime(call, info.expires_in)?,
        client_id: info.client_id.0,
        scopes: info
            .scope
            .as_deref()
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
    })
}

/// `expires_in` seconds as a [`Duration`]; LINE never sends a negative one.
fn lifetime(call: CallContext<'_>, seconds: i64) -> Result<Duration, Error> {
    u64::try_from(seconds)
        .map(Duration::from_secs)
        .map_err(|_| {
            call.decode_error(
                reqwest::StatusCode::OK,
                format!("expires_in is negative ({seconds})"),
                b"",
            )
        })
}

fn invalid_argument(operation: &str, what: &str) -> Error {
    Error::InvalidConfig(format!("{operation}: {what} is empty"))
}

fn check_channel_id(operation: &str, creds: &ChannelCredentials) -> Result<(), Error> {
    if creds.channel_id().is_empty() {
        return Err(invalid_argument(operation, "the channel ID"));
    }
    if creds.secret().expose_secret().is_empty() {
        return Err(invalid_argument(operation, "the channel secret"));
    }
    Ok(())
}

fn check_token(operation: &str, token: &AccessToken) -> Result<(), Error> {
    if token.expose_secret().is_empty() {
        return Err(invalid_argument(operation, "the access token"));
    }
    Ok(())
}

fn check_assertion(operation: &str, assertion: &ClientAssertion) -> Result<(), Error> {
    if assertion.expose_secret().is_empty() {
        return Err(invalid_argument(operation, "the client assertion"));
    }
    Ok(())
}

fn stateless_by_secret(creds: &ChannelCredentials) -> types::IssueStatelessChannelTokenRequest {
    types::IssueStatelessChannelTokenByClientSecretRequest {
        grant_type: GRANT,
        client_id: creds.channel_id().to_owned().into(),
        client_secret: creds.secret().clone(),
    }
    .into()
}

fn stateless_by_assertion(assertion: &ClientAssertion) -> types::IssueStatelessChannelTokenRequest {
    types::IssueStatelessChannelTokenByJwtAssertionRequest {
        grant_type: GRANT,
        client_assertion_type: JWT_BEARER,
        client_assertion: assertion.clone(),
    }
    .into()
}
