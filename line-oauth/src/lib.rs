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
//! | [`Client::list_v21_key_ids`] | `getsAllValidChannelAccessTokenKeyIds` |
//!
//! Tokens, channel secrets and assertions are secret types ([`AccessToken`],
//! [`ClientSecret`], [`ClientAssertion`]): they never
//! print their value, and no [`Error`] contains one. Underneath is a client
//! generated from the crate's OpenAPI spec (`spec/channel-access-token.yaml`);
//! it is sealed, so that no request bypasses those guarantees.
//!
//! ```no_run
//! use line_oauth::{ChannelCredentials, Client, ClientSecret};
//!
//! # async fn run() -> Result<(), line_oauth::Error> {
//! let client = Client::new();
//! let creds = ChannelCredentials::new("1234567890", ClientSecret::new("channel secret"));
//! let issued = client.issue_stateless(&creds).await?;
//! println!("valid for {:?}", issued.expires_in());
//! # Ok(())
//! # }
//! ```
//!
//! For a token that is always valid, cached and refreshed ahead of expiry,
//! use a [`TokenSource`] over a [`TokenProvider`]:
//!
//! ```no_run
//! # async fn run(signer: line_oauth::AssertionSigner) -> Result<(), line_oauth::Error> {
//! use line_oauth::{Client, Stateless, TokenSource};
//! let source = TokenSource::new(Stateless::by_signer(Client::new(), signer))?;
//! let bearer = source.token().await?.bearer_header();
//! # Ok(())
//! # }
//! ```
//!
//! Several replicas, or a bot that restarts, share one token (and LINE's
//! budget of 30) through a [`TokenStore`]: a [`FileStore`] on one host, a
//! `RedisStore` (feature `redis`) for a fleet, both encrypted at rest:
//!
//! ```no_run
//! # fn run(provider: line_oauth::ShortLived) -> Result<(), Box<dyn std::error::Error>> {
//! use line_oauth::{EncryptionKey, FileStore, TokenSource};
//! let key = EncryptionKey::from_base64(&std::env::var("TOKEN_STORE_KEY")?)?;
//! let store = FileStore::new("/var/lib/my-bot/tokens", &key)?;
//! let source = TokenSource::builder(provider).store(store).build()?;
//! # Ok(())
//! # }
//! ```
//!
//! Assertion key pairs ([`AssertionKeyPair`]) and signed assertions
//! ([`AssertionSigner`]) are here too, and the `line-oauth` command (feature
//! `cli`) does all of it from a shell. To test your bot's token handling
//! without LINE, run it against the `line-oauth-fake` crate.
//!
//! # Features
//!
//! `rustls` (default) or `native-tls` for TLS; `system-proxy` to follow the
//! OS and `HTTPS_PROXY`; `schemars` for the secret types' JSON
//! Schemas; `redis` and `redis-tls` for `RedisStore`; `cli`
//! for the command; `reqwest-middleware` and `tower` for the bearer layers
//! that set `Authorization` from a [`TokenSource`] on Messaging API requests;
//! `metrics` for counters, histograms and gauges through the `metrics`
//! facade (`Metrics` lists them).
//!
//! # How the crate is put together
//!
//! For whoever works on it next, in layers from the bottom up; a module
//! imports only from the layers below it (`cargo xtask layers` checks it):
//! - Foundation: `src/secret.rs` (the secret newtypes), `src/error.rs`
//!   ([`Error`], which wraps the domain errors of `key`, `assertion` and
//!   `store` without their importing it back) and `src/raw/` (the client
//!   generated from the spec, its request hook, its prebuilt URLs, the
//!   call's span), and `src/metrics.rs` (every metric, named in one place;
//!   empty without the feature).
//! - `src/call/`: what happens in one call, in one place: the request's
//!   checks and secrets (read from the request type itself), the deadline
//!   and attempts, the retry decision, the classification of each response
//!   and the redaction of every error.
//! - `src/client/`: [`Client`], whose methods each build a request, send it
//!   through the call path and convert the answer.
//! - `src/key/`, `src/assertion.rs`: keys as JWKs, the aws-lc key behind
//!   them ([`KeyError`] for what goes wrong), and the assertions they sign.
//! - `src/token_source/`: [`TokenSource`]: when to issue (the cache, the
//!   refresh task, its [`Health`]) apart from how ([`TokenProvider`], with [`Stateless`],
//!   [`ShortLived`] and [`V21`] as its implementations); `src/store/`:
//!   [`TokenStore`], where sources keep their token beyond their own
//!   memory ([`MemoryStore`], [`FileStore`], `RedisStore`), and the
//!   encryption of what they keep ([`EncryptionKey`]).
//! - `src/bearer/`: one bearer flow, with the reqwest-middleware and tower
//!   adapters over it.
//! - `src/tests/`: tests of the crate's private parts across modules (the
//!   sealed client on the wire, every request's secret fields, property
//!   tests of the parsers); README's maintainers section says where every
//!   other kind of test lives.

// docs.rs (nightly) marks feature-gated items.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod assertion;
mod backoff;
#[cfg(any(feature = "reqwest-middleware", feature = "tower"))]
mod bearer;
mod call;
mod client;
mod credentials;
mod env;
mod error;
mod key;
mod metrics;
mod raw;
mod registry;
mod secret;
mod store;
#[cfg(test)]
mod tests;
mod token_source;
mod tokens;

pub use assertion::{AssertionError, AssertionSigner, AssertionSignerBuilder};
#[cfg(any(feature = "reqwest-middleware", feature = "tower"))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(feature = "reqwest-middleware", feature = "tower")))
)]
pub use bearer::AllowedHosts;
#[cfg(feature = "reqwest-middleware")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest-middleware")))]
pub use bearer::BearerMiddleware;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub use bearer::{BearerError, BearerLayer, BearerService, ReplayBody};
pub use call::RetryPolicy;
pub use client::{Client, ClientBuilder};
pub use credentials::{Assertion, ChannelCredentials, StatelessAuth};
pub use env::EnvError;
pub use error::{ApiError, Error, ErrorCode, Operation, ProviderError, Remedy, TransportError};
pub use key::{AssertionKeyPair, KeyError, PrivateJwk, PublicJwk};
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub use metrics::Metrics;
pub use registry::{ChannelId, TokenRegistry, TokenRegistryBuilder};
pub use secret::{AccessToken, ClientAssertion, ClientSecret};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use store::RedisStore;
#[cfg(feature = "redis-tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis-tls")))]
pub use store::RedisTls;
pub use store::{EncryptionKey, FileStore, MemoryStore, StoreError, StoreErrorKind, TokenStore};
pub use token_source::{
    Health, Retired, ShortLived, Signers, Stateless, Token, TokenProvider, TokenSource,
    TokenSourceBuilder, V21,
};
pub use tokens::{IssuedToken, TokenInfo, V21Budget};

/// Entry points for the cargo-fuzz targets in `fuzz/` (built with
/// `--cfg fuzzing` only): the decoders of the sealed generated client.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing {
    use crate::raw::types;

    /// Decodes `body` as each of LINE's response bodies; never panics.
    pub fn decode_response_bodies(body: &[u8]) {
        let _ = serde_json::from_slice::<types::ErrorResponse>(body);
        let _ = serde_json::from_slice::<types::VerifyChannelAccessTokenResponse>(body);
        let _ = serde_json::from_slice::<types::IssueChannelAccessTokenResponse>(body);
        let _ = serde_json::from_slice::<types::IssueShortLivedChannelAccessTokenResponse>(body);
        let _ = serde_json::from_slice::<types::ChannelAccessTokenKeyIdsResponse>(body);
    }
}
