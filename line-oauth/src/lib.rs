//! Client for LINE's Channel Access Token API.
//!
//! The API issues, verifies and revokes the channel access tokens that every
//! call to the LINE Messaging API needs. This crate covers its 8 operations.
//!
//! - [`raw`]: the client generated from the crate's OpenAPI spec, one method
//!   per operation, exactly LINE's wire format.
//! - [`secret`]: the types that hold secrets (tokens, channel secrets, JWT
//!   assertions). They never print their value.
//!
//! ```no_run
//! use line_oauth::raw::{self, types};
//! use line_oauth::secret::ClientSecret;
//!
//! # async fn run() -> Result<(), raw::Error<types::ErrorResponse>> {
//! let client = raw::Client::new("https://api.line.me");
//! let token = client
//!     .issue_channel_token(&types::IssueShortLivedChannelTokenRequest {
//!         grant_type: types::GrantType::ClientCredentials,
//!         client_id: "1234567890".to_owned().into(),
//!         client_secret: ClientSecret::new("channel secret"),
//!     })
//!     .await?;
//! println!("valid for {} s", token.expires_in);
//! # Ok(())
//! # }
//! ```

mod hooks;
pub mod secret;

/// The client generated from `spec/channel-access-token.yaml` by
/// `cargo xtask regen`: one method per operation, named after LINE's
/// operationIds, and the request and response types in [`raw::types`].
///
/// Its secret fields use the types of [`secret`](crate::secret). Requests go
/// out without progenitor's `api-version` header, which LINE does not use.
#[rustfmt::skip]
#[allow(missing_docs)]
#[path = "generated.rs"]
pub mod raw;
