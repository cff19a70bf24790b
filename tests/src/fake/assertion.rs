//! Reading a JWT client assertion as LINE does (claims only: signatures are
//! not checked yet).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::wire::Refusal;

/// The audience LINE requires.
pub const AUDIENCE: &str = "https://api.line.me/";
/// The longest an assertion may live: 30 minutes.
pub const MAX_ASSERTION_LIFETIME_SECS: i64 = 30 * 60;

/// The parts of an assertion the fake uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    /// The `kid` of the signing key, from the header.
    pub key_id: String,
    /// `iss`: the channel ID.
    pub issuer: String,
    /// `token_exp`: the requested v2.1 token lifetime in seconds.
    pub token_exp: Option<i64>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: String,
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: String,
    exp: i64,
    token_exp: Option<i64>,
}

/// Reads an assertion and checks its claims against `now` (UNIX seconds).
pub fn read(jwt: &str, now: i64) -> Result<Assertion, Refusal> {
    let invalid = || Refusal::oauth("invalid_request", "Invalid client_assertion");
    let mut parts = jwt.split('.');
    let (Some(header), Some(claims), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    let header: Header = decode(header).ok_or_else(invalid)?;
    let claims: Claims = decode(claims).ok_or_else(invalid)?;
    if header.alg != "RS256" {
        return Err(Refusal::oauth("invalid_client", "Invalid alg"));
    }
    if claims.iss != claims.sub {
        return Err(Refusal::oauth("invalid_client", "iss and sub do not match"));
    }
    if claims.aud != AUDIENCE {
        return Err(Refusal::oauth("invalid_client", "Invalid aud"));
    }
    if claims.exp <= now || claims.exp > now + MAX_ASSERTION_LIFETIME_SECS {
        return Err(Refusal::oauth("invalid_client", "Invalid exp"));
    }
    Ok(Assertion {
        key_id: header.kid,
        issuer: claims.iss,
        token_exp: claims.token_exp,
    })
}

fn decode<T: DeserializeOwned>(part: &str) -> Option<T> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// An unsigned assertion with the given claims, for tests and the tour
/// while the fake does not check signatures.
pub fn unsigned(channel_id: &str, key_id: &str, exp: i64, token_exp: Option<i64>) -> String {
    let header = serde_json::json!({ "alg": "RS256", "typ": "JWT", "kid": key_id });
    let mut claims = serde_json::json!({
        "iss": channel_id, "sub": channel_id, "aud": AUDIENCE, "exp": exp,
    });
    if let Some(token_exp) = token_exp {
        claims["token_exp"] = token_exp.into();
    }
    let encode = |v: &serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.{}",
        encode(&header),
        encode(&claims),
        URL_SAFE_NO_PAD.encode(b"unsigned")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_good_assertion_is_read() {
        let jwt = unsigned("123", "kid-1", NOW + 60, Some(3600));
        let assertion = read(&jwt, NOW).unwrap();
        assert_eq!(assertion.issuer, "123");
        assert_eq!(assertion.key_id, "kid-1");
        assert_eq!(assertion.token_exp, Some(3600));
    }

    #[test]
    fn exp_must_be_ahead_but_at_most_30_minutes() {
        let expired = unsigned("123", "k", NOW, None);
        let too_far = unsigned("123", "k", NOW + MAX_ASSERTION_LIFETIME_SECS + 1, None);
        for jwt in [expired, too_far] {
            assert_eq!(
                read(&jwt, NOW).unwrap_err(),
                Refusal::oauth("invalid_client", "Invalid exp")
            );
        }
    }

    #[test]
    fn garbage_is_an_invalid_request() {
        for jwt in ["", "a.b", "a.b.c.d", "e30.e30.x"] {
            let refusal = read(jwt, NOW).unwrap_err();
            assert_eq!(refusal.body["error"], "invalid_request", "{jwt}");
        }
    }
}
