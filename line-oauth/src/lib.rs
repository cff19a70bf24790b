//! Client for LINE's Channel Access Token API.
//!
//! The API issues, verifies and revokes the channel access tokens that every
//! call to the LINE Messaging API needs. [`Client`] covers its 8 operations
//! with Rust types and one error type, [`Error`]:
//!
//! | call | LINE operation |
//! |---|---|
//! | [`Client::issue_short_lived`] | `issueChannelToken` |
//! | [`Client::issue_v21`] | `issueChannelTokenByJWT` |
//! | [`Client::issue_stateless`] | `issueStatelessChannelToken` |
//! | [`Client::verify`] | `verifyChannelToken` |
//! | [`Client::verify_v21`] | `verifyChannelTokenByJWT` |
//! | [`Client::revoke`] | `revokeChannelToken` |
//! | [`Client::revoke_v21`] | `revokeChannelTokenByJWT` |
//! | [`Client::valid_v21_key_ids`] | `getsAllValidChannelAccessTokenKeyIds` |
//!
//! Tokens, channel secrets and assertions are [`secret`] types: they never
//! print their value, and no [`Error`] contains one. [`raw`] is the client
//! generated from the crate's OpenAPI spec, for LINE's wire types as they are.
//!
//! ```no_run
//! use line_oauth::{ChannelCredentials, Client, ClientSecret, StatelessAuth};
//!
//! # async fn run() -> Result<(), line_oauth::Error> {
//! let client = Client::new();
//! let creds = ChannelCredentials::new("1234567890", ClientSecret::new("channel secret"));
//! let issued = client.issue_stateless(StatelessAuth::ClientSecret(&creds)).await?;
//! println!("valid for {:?}", issued.expires_in);
//! # Ok(())
//! # }
//! ```

mod assertion;
mod client;
mod credentials;
mod error;
#[cfg(test)]
mod fuzz_props;
mod hooks;
mod jwk;
mod outcome;
mod redact;
mod retry;
pub mod secret;
mod token_source;
mod tokens;

pub use assertion::{
    AUDIENCE, AssertionError, AssertionSigner, DEFAULT_ASSERTION_LIFETIME, MAX_ASSERTION_LIFETIME,
    MAX_TOKEN_LIFETIME,
};
pub use client::{
    Client, ClientBuilder, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, USER_AGENT,
};
pub use credentials::{ChannelCredentials, StatelessAuth};
pub use error::{ApiError, Error, ErrorCode};
pub use hooks::RESPONSE_BODY_LIMIT;
pub use jwk::{AssertionKeyPair, KEY_BITS, KeyError, PrivateJwk, PublicJwk};
pub use retry::RetryPolicy;
pub use secret::{AccessToken, ClientAssertion, ClientSecret};
pub use token_source::{
    DEFAULT_MARGIN, DEFAULT_REFRESH_BEFORE, Token, TokenSource, TokenSourceBuilder, TokenStrategy,
};
pub use tokens::{IssuedToken, TokenInfo};

/// The client generated from `spec/channel-access-token.yaml` by
/// `cargo xtask regen`: one method per operation, named after LINE's
/// operationIds, and the request and response types in [`raw::types`].
///
/// Its secret fields use the types of [`secret`]. Requests go
/// out without progenitor's usual `api-version` header, which LINE does not
/// use (`line-oauth-gen` leaves it out).
///
/// ```no_run
/// use line_oauth::raw::{Client, types};
///
/// # async fn run() -> Result<(), line_oauth::raw::Error<types::ErrorResponse>> {
/// let client = Client::new("https://api.line.me");
/// let info = client
///     .verify_channel_token(&types::VerifyChannelTokenRequest {
///         access_token: line_oauth::AccessToken::new("..."),
///     })
///     .await?;
/// println!("{} seconds left", info.expires_in);
/// # Ok(())
/// # }
/// ```
#[rustfmt::skip]
// Field docs come from the spec, which does not describe every field; and
// without the `api-version` header the per-request header maps stay empty.
#[allow(missing_docs, unused_mut)]
#[path = "generated.rs"]
pub mod raw;

/// The README's examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExamples;
