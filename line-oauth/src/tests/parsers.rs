//! Property tests: everything that parses what a server (or a key file)
//! sends takes arbitrary bytes without panicking, and keeps secrets out.

use proptest::prelude::*;
use reqwest::header::HeaderValue;

use crate::call::{retry_after, snippet};
use crate::key::{PrivateJwk, PublicJwk};
use crate::raw::types;

/// A JSON-ish byte soup: mostly JSON punctuation and field names, so the
/// decoders get past their first byte.
fn json_soup() -> impl Strategy<Value = Vec<u8>> {
    let pieces = prop_oneof![
        Just(b"{".to_vec()),
        Just(b"}".to_vec()),
        Just(b"[".to_vec()),
        Just(b"]".to_vec()),
        Just(b",".to_vec()),
        Just(b":".to_vec()),
        Just(b"\"access_token\"".to_vec()),
        Just(b"\"expires_in\"".to_vec()),
        Just(b"\"error\"".to_vec()),
        Just(b"\"message\"".to_vec()),
        Just(b"\"details\"".to_vec()),
        Just(b"\"kty\"".to_vec()),
        Just(b"\"RSA\"".to_vec()),
        Just(b"\"n\"".to_vec()),
        Just(b"null".to_vec()),
        Just(b"-1".to_vec()),
        Just(b"1e400".to_vec()),
        Just(b"99999999999999999999".to_vec()),
        any::<Vec<u8>>(),
    ];
    prop::collection::vec(pieces, 0..40).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn response_bodies_decode_or_fail_without_panicking(body in json_soup()) {
        let _ = serde_json::from_slice::<types::ErrorResponse>(&body);
        let _ = serde_json::from_slice::<types::VerifyChannelAccessTokenResponse>(&body);
        let _ = serde_json::from_slice::<types::IssueChannelAccessTokenResponse>(&body);
        let _ = serde_json::from_slice::<types::ChannelAccessTokenKeyIdsResponse>(&body);
    }

    #[test]
    fn jwks_parse_or_fail_without_panicking(text in json_soup()) {
        let text = String::from_utf8_lossy(&text);
        let _ = PrivateJwk::from_json(&text);
        let _ = PublicJwk::from_json(&text);
    }

    #[test]
    fn retry_after_takes_any_header_value(bytes in any::<Vec<u8>>()) {
        if let Ok(value) = HeaderValue::from_bytes(&bytes) {
            let _ = retry_after(&value);
        }
    }

    #[test]
    fn snippets_are_short_and_never_hold_the_secret(
        body in any::<Vec<u8>>(),
        secret in "[A-Za-z0-9+/=]{8,40}",
        at in 0usize..300,
    ) {
        let mut body = body;
        let at = at.min(body.len());
        body.splice(at..at, secret.bytes());
        let shown = snippet(&body, &[&secret]);
        prop_assert!(shown.chars().count() <= 201);
        prop_assert!(!shown.contains(&secret), "{shown}");
    }
}
