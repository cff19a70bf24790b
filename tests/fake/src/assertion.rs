//! Checking a JWT client assertion as LINE does: the signing key registered
//! under its `kid`, the RS256 signature, and the claims.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::wire::Refusal;

/// The audience LINE requires.
pub const AUDIENCE: &str = "https://api.line.me/";
/// The longest an assertion may live: 30 minutes.
pub const MAX_ASSERTION_LIFETIME_SECS: i64 = 30 * 60;
/// The size LINE requires of an assertion signing key.
const MIN_KEY_BYTES: usize = 2048 / 8;

/// What an accepted assertion says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    /// The channel: `iss`, which is also `sub` and the key's channel.
    pub channel_id: String,
    /// `token_exp`: the requested v2.1 token lifetime in seconds.
    pub token_exp: Option<i64>,
}

/// A public key registered for a channel.
struct RegisteredKey {
    channel_id: String,
    key: DecodingKey,
}

/// The assertion signing keys of all channels, by `kid`.
#[derive(Default)]
pub struct SigningKeys {
    keys: HashMap<String, RegisteredKey>,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.keys.keys()).finish()
    }
}

#[derive(Deserialize)]
struct PublicJwk {
    kty: String,
    alg: Option<String>,
    n: String,
    e: String,
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: String,
    exp: i64,
    token_exp: Option<i64>,
}

impl SigningKeys {
    /// Registers a public RSA JWK under `kid` for a channel, as the LINE
    /// Developers Console does; refuses what the Console would.
    pub fn register(
        &mut self,
        channel_id: &str,
        kid: &str,
        public_jwk: &str,
    ) -> Result<(), String> {
        let jwk: PublicJwk =
            serde_json::from_str(public_jwk).map_err(|e| format!("not a JWK: {e}"))?;
        if jwk.kty != "RSA" || jwk.alg.as_deref().is_some_and(|alg| alg != "RS256") {
            return Err("not an RS256 RSA key".to_owned());
        }
        let modulus = URL_SAFE_NO_PAD
            .decode(&jwk.n)
            .map_err(|_| "n is not base64url")?;
        if modulus.len() < MIN_KEY_BYTES {
            return Err("the key is shorter than 2048 bits".to_owned());
        }
        let key = DecodingKey::from_rsa_components(&jwk.n, &jwk.e).map_err(|e| e.to_string())?;
        let channel_id = channel_id.to_owned();
        self.keys
            .insert(kid.to_owned(), RegisteredKey { channel_id, key });
        Ok(())
    }

    /// Deletes the key registered under `kid` for a channel; whether there
    /// was one.
    pub fn remove(&mut self, channel_id: &str, kid: &str) -> bool {
        let owned = self
            .keys
            .get(kid)
            .is_some_and(|key| key.channel_id == channel_id);
        owned && self.keys.remove(kid).is_some()
    }

    /// Whether a key is registered under `kid`.
    pub fn has(&self, kid: &str) -> bool {
        self.keys.contains_key(kid)
    }

    /// Checks an assertion against `now` (UNIX seconds), with LINE's
    /// answers for each failure.
    pub fn check(&self, jwt: &str, now: i64) -> Result<Assertion, Refusal> {
        let malformed = || Refusal::oauth("invalid_request", "Invalid client_assertion");
        let header = jsonwebtoken::decode_header(jwt).map_err(|_| malformed())?;
        if header.alg != Algorithm::RS256 {
            return Err(Refusal::oauth("invalid_client", "Invalid alg"));
        }
        let registered = header
            .kid
            .and_then(|kid| self.keys.get(&kid))
            .ok_or_else(Refusal::signing_key_not_found)?;
        let claims = jsonwebtoken::decode::<Claims>(jwt, &registered.key, &signature_only())
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature => {
                    Refusal::oauth("invalid_client", "Invalid signature")
                }
                _ => malformed(),
            })?
            .claims;
        if claims.iss != registered.channel_id || claims.sub != claims.iss {
            return Err(Refusal::oauth(
                "invalid_client",
                "iss and clientId of key do not match",
            ));
        }
        if claims.aud != AUDIENCE {
            return Err(Refusal::oauth("invalid_client", "Invalid aud"));
        }
        if claims.exp <= now || claims.exp > now + MAX_ASSERTION_LIFETIME_SECS {
            return Err(Refusal::oauth("invalid_client", "Invalid exp"));
        }
        Ok(Assertion {
            channel_id: claims.iss,
            token_exp: claims.token_exp,
        })
    }
}

/// Checks the RS256 signature only; the claims are checked by hand, against
/// the fake clock and with LINE's answers.
fn signature_only() -> Validation {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    validation
}
