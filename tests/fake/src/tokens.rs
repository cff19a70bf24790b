//! Token strings that look like LINE's.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore;

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// A short-lived token: 172 characters of standard base64, so it holds
/// `+`, `/` and `=` that form encoding must escape.
pub fn short_lived() -> String {
    STANDARD.encode(random_bytes::<128>())
}

/// A JWS-shaped token, as v2.1 and stateless tokens are.
pub fn jws() -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256"}"#);
    format!(
        "{header}.{}.{}",
        URL_SAFE_NO_PAD.encode(random_bytes::<48>()),
        URL_SAFE_NO_PAD.encode(random_bytes::<32>())
    )
}

/// A v2.1 token's key ID: 22 characters of base64url.
pub fn key_id() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<16>())
}

/// A request ID for the `X-Line-Request-Id` header.
pub fn request_id() -> String {
    random_bytes::<16>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether a short-lived or long-lived token is well formed: non-empty, and
/// only characters of base64 (either alphabet) and `.`.
pub fn is_well_formed_v2(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=-_.".contains(&b))
}

/// Why a v2.1 token is not even worth looking up.
#[derive(Debug, PartialEq, Eq)]
pub enum JwsProblem {
    /// Not three dot-separated parts.
    NotJws,
    /// Three parts, but not base64url.
    Malformed,
}

/// Checks the shape of a v2.1 token.
pub fn check_jws(token: &str) -> Result<(), JwsProblem> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(JwsProblem::NotJws);
    }
    if parts.iter().any(|p| URL_SAFE_NO_PAD.decode(p).is_err()) {
        return Err(JwsProblem::Malformed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_pass_their_own_shape_checks() {
        let token = short_lived();
        assert_eq!(token.len(), 172);
        assert!(is_well_formed_v2(&token));
        assert_eq!(check_jws(&jws()), Ok(()));
        assert_eq!(key_id().len(), 22);
    }

    #[test]
    fn bad_shapes_are_told_apart() {
        assert!(!is_well_formed_v2(""));
        assert!(!is_well_formed_v2("has space"));
        assert_eq!(check_jws("abc"), Err(JwsProblem::NotJws));
        assert_eq!(check_jws("a..c"), Err(JwsProblem::NotJws));
        assert_eq!(check_jws("a.b!.c"), Err(JwsProblem::Malformed));
    }
}
