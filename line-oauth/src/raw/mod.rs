//! The client generated from `spec/channel-access-token.yaml` by
//! `cargo xtask regen` (`generated.rs`, never edited by hand), with what it
//! needs to run: the parsed base URL its calls' URLs come from
//! ([`Endpoints`]) and the hook every request goes through (the body limit,
//! the call's span). Sealed: only [`Client`](crate::Client) sends requests
//! through it, so every request is built by the one builder (no redirects
//! followed) and every error is scrubbed of secrets. Nothing public hands it
//! out:
//!
//! ```compile_fail
//! // The generated client is not reachable from outside the crate.
//! use line_oauth::raw;
//! ```

mod endpoints;
#[rustfmt::skip]
// Field docs come from the spec, which does not describe every field;
// progenitor marks its requests `mut` for hooks that this crate does not
// need; and the crate uses only the parts its 8 calls need.
#[allow(missing_docs, unused_mut, dead_code)]
mod generated;
mod hooks;

pub(crate) use endpoints::Endpoints;
pub(crate) use generated::{Client, Error, FIXED_PATHS, types};
pub(crate) use hooks::{CALL_SPAN, REQUEST_ID_HEADER, RESPONSE_BODY_LIMIT};
