//! Signing the JWT client assertions LINE takes for v2.1 tokens, stateless
//! tokens and the key ID listing.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use crate::key::PrivateJwk;
use crate::secret::ClientAssertion;
use crate::tokens::MAX_LIFETIME as MAX_TOKEN_LIFETIME;

/// The audience LINE requires in every assertion (with the trailing `/`).
const AUDIENCE: &str = "https://api.line.me/";
/// The longest an assertion may be valid: LINE refuses an `exp` further ahead.
const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);
/// How long the assertions a signer makes are valid, unless set otherwise.
/// Well under LINE's 30 minutes, so a clock a little ahead of LINE's is fine.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(5 * 60);

/// Where a signer reads the time. Tests inject a fixed clock.
type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// Why an assertion could not be made.
///
/// ```
/// # let pair = line_oauth::AssertionKeyPair::generate().unwrap();
/// let signer = line_oauth::AssertionSigner::new(&pair.private, "kid", "1234567890");
/// let too_long = std::time::Duration::from_secs(31 * 24 * 3600);
/// assert!(matches!(
///     signer.sign_v21(too_long),
///     Err(line_oauth::AssertionError::TokenLifetime(_))
/// ));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AssertionError {
    /// A v2.1 token lifetime of zero, under one second, or over 30 days.
    TokenLifetime(Duration),
    /// An assertion lifetime of zero or over 30 minutes.
    AssertionLifetime(Duration),
    /// The clock reads before 1970.
    Clock,
    /// The key failed to sign (a key the loading checks did not catch).
    Signing,
}

impl fmt::Display for AssertionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TokenLifetime(d) => write!(
                f,
                "a v2.1 token lifetime must be between 1 second and 30 days, not {d:?}"
            ),
            Self::AssertionLifetime(d) => write!(
                f,
                "an assertion lifetime must be above zero and at most 30 minutes, not {d:?}"
            ),
            Self::Clock => f.write_str("the clock reads before 1970"),
            Self::Signing => f.write_str("the key failed to sign"),
        }
    }
}

impl std::error::Error for AssertionError {}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'static str,
    kid: &'a str,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'static str,
    exp: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_exp: Option<u64>,
}

/// Signs JWT client assertions for one channel with one assertion signing
/// key: header `alg` RS256, `typ` JWT, `kid`; claims `iss` = `sub` = the
/// channel ID, `aud` = [`AUDIENCE`](Self::AUDIENCE), `exp`, and for v2.1
/// issuance `token_exp`.
///
/// ```
/// use std::time::Duration;
/// use line_oauth::{AssertionKeyPair, AssertionSigner};
///
/// let pair = AssertionKeyPair::generate()?;
/// // The kid is what the LINE Developers Console shows for the registered public key.
/// let signer = AssertionSigner::new(&pair.private, "my-kid", "1234567890");
/// let for_v21 = signer.sign_v21(Duration::from_secs(3600))?;
/// let for_stateless = signer.sign()?;
/// assert_eq!(for_v21.expose_secret().split('.').count(), 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct AssertionSigner {
    key: PrivateJwk,
    kid: String,
    channel_id: String,
    assertion_lifetime: Duration,
    clock: Clock,
}

impl AssertionSigner {
    /// The audience LINE requires in every assertion (with the trailing `/`).
    pub const AUDIENCE: &str = AUDIENCE;
    /// The longest an assertion may be valid: LINE refuses an `exp` further ahead.
    pub const MAX_LIFETIME: Duration = MAX_LIFETIME;
    /// How long assertions are valid unless the builder says otherwise: well
    /// under LINE's 30 minutes, so a clock a little ahead of LINE's is fine.
    pub const DEFAULT_LIFETIME: Duration = DEFAULT_LIFETIME;

    /// A signer for `channel_id` with `key`, registered with LINE as `kid`,
    /// with the default assertion lifetime and the system clock.
    pub fn new(key: &PrivateJwk, kid: impl Into<String>, channel_id: impl Into<String>) -> Self {
        Self {
            key: key.clone(),
            kid: kid.into(),
            channel_id: channel_id.into(),
            assertion_lifetime: DEFAULT_LIFETIME,
            clock: Arc::new(SystemTime::now),
        }
    }

    /// A builder, to set the assertion lifetime or the clock.
    ///
    /// ```
    /// # let pair = line_oauth::AssertionKeyPair::generate().unwrap();
    /// use std::time::{Duration, UNIX_EPOCH};
    /// let signer = line_oauth::AssertionSigner::builder(&pair.private, "kid", "1")
    ///     .assertion_lifetime(Duration::from_secs(60))
    ///     .clock(|| UNIX_EPOCH + Duration::from_secs(1_800_000_000))
    ///     .build()?;
    /// # Ok::<(), line_oauth::AssertionError>(())
    /// ```
    pub fn builder(
        key: &PrivateJwk,
        kid: impl Into<String>,
        channel_id: impl Into<String>,
    ) -> AssertionSignerBuilder {
        AssertionSignerBuilder {
            signer: Self::new(key, kid, channel_id),
        }
    }

    /// The channel the assertions identify.
    pub fn channel_id(&self) -> &str {
        &self.channel_id
    }

    /// The `kid` of the signing key.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// An assertion without `token_exp`: for stateless tokens and the v2.1
    /// key ID listing.
    ///
    /// # Errors
    ///
    /// [`AssertionError::Clock`] if the clock reads before 1970;
    /// [`AssertionError::Signing`] if the key fails to sign.
    pub fn sign(&self) -> Result<ClientAssertion, AssertionError> {
        self.sign_claims(None)
    }

    /// An assertion asking for a v2.1 token valid for `token_lifetime`
    /// (whole seconds, 1 second to 30 days).
    ///
    /// # Errors
    ///
    /// [`AssertionError::TokenLifetime`] outside those bounds;
    /// [`AssertionError::Clock`] if the clock reads before 1970.
    pub fn sign_v21(&self, token_lifetime: Duration) -> Result<ClientAssertion, AssertionError> {
        let seconds = token_lifetime.as_secs();
        if seconds == 0 || token_lifetime > MAX_TOKEN_LIFETIME {
            return Err(AssertionError::TokenLifetime(token_lifetime));
        }
        self.sign_claims(Some(seconds))
    }

    fn sign_claims(&self, token_exp: Option<u64>) -> Result<ClientAssertion, AssertionError> {
        let now = (self.clock)()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| AssertionError::Clock)?;
        let header = Header {
            alg: "RS256",
            typ: "JWT",
            kid: &self.kid,
        };
        let claims = Claims {
            iss: &self.channel_id,
            sub: &self.channel_id,
            aud: AUDIENCE,
            exp: (now + self.assertion_lifetime).as_secs(),
            token_exp,
        };
        let mut jwt = format!("{}.{}", encode_json(&header), encode_json(&claims));
        let signature = self
            .key
            .sign_rs256(jwt.as_bytes())
            .ok_or(AssertionError::Signing)?;
        jwt.push('.');
        jwt.push_str(&URL_SAFE_NO_PAD.encode(signature));
        Ok(ClientAssertion::new(jwt))
    }
}

fn encode_json(value: &impl Serialize) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("JWT parts serialize"))
}

/// Builds an [`AssertionSigner`]; [`build`](Self::build) checks the settings.
#[derive(Debug)]
#[must_use]
pub struct AssertionSignerBuilder {
    signer: AssertionSigner,
}

impl AssertionSignerBuilder {
    /// How long each assertion is valid (default
    /// [`AssertionSigner::DEFAULT_LIFETIME`]; above zero, at most
    /// [`AssertionSigner::MAX_LIFETIME`]).
    pub fn assertion_lifetime(mut self, lifetime: Duration) -> Self {
        self.signer.assertion_lifetime = lifetime;
        self
    }

    /// Reads the time from `clock` instead of the system clock (a test's
    /// fake clock).
    pub fn clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.signer.clock = Arc::new(clock);
        self
    }

    /// Checks the settings and builds the signer.
    ///
    /// # Errors
    ///
    /// [`AssertionError::AssertionLifetime`] for an assertion lifetime of
    /// zero or over 30 minutes.
    pub fn build(self) -> Result<AssertionSigner, AssertionError> {
        let lifetime = self.signer.assertion_lifetime;
        if lifetime.is_zero() || lifetime > MAX_LIFETIME {
            return Err(AssertionError::AssertionLifetime(lifetime));
        }
        Ok(self.signer)
    }
}

impl fmt::Debug for AssertionSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssertionSigner")
            .field("kid", &self.kid)
            .field("channel_id", &self.channel_id)
            .field("assertion_lifetime", &self.assertion_lifetime)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::AssertionKeyPair;

    const NOW: u64 = 1_800_000_000;

    fn key() -> PrivateJwk {
        AssertionKeyPair::generate().unwrap().private
    }

    fn builder() -> AssertionSignerBuilder {
        AssertionSigner::builder(&key(), "kid-1", "1234567890")
            .clock(|| UNIX_EPOCH + Duration::from_secs(NOW))
    }

    fn signer() -> AssertionSigner {
        builder().build().unwrap()
    }

    fn part(jwt: &ClientAssertion, index: usize) -> serde_json::Value {
        let part = jwt.expose_secret().split('.').nth(index).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn header_and_claims_are_what_line_wants() {
        let signer = signer();
        let jwt = signer.sign_v21(Duration::from_secs(3600)).unwrap();
        assert_eq!(
            part(&jwt, 0),
            serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": "kid-1"})
        );
        assert_eq!(
            part(&jwt, 1),
            serde_json::json!({
                "iss": "1234567890", "sub": "1234567890", "aud": "https://api.line.me/",
                "exp": NOW + 300, "token_exp": 3600,
            })
        );
        assert!(part(&signer.sign().unwrap(), 1).get("token_exp").is_none());
    }

    #[test]
    fn lifetimes_out_of_bounds_are_refused() {
        let signer = signer();
        for bad in [
            Duration::ZERO,
            Duration::from_millis(999),
            MAX_TOKEN_LIFETIME + Duration::from_secs(1),
        ] {
            assert_eq!(
                signer.sign_v21(bad).unwrap_err(),
                AssertionError::TokenLifetime(bad)
            );
        }
        assert!(signer.sign_v21(MAX_TOKEN_LIFETIME).is_ok());
        for bad in [Duration::ZERO, MAX_LIFETIME + Duration::from_secs(1)] {
            let refused = builder().assertion_lifetime(bad).build().unwrap_err();
            assert_eq!(refused, AssertionError::AssertionLifetime(bad));
        }
        let longest = builder().assertion_lifetime(MAX_LIFETIME).build().unwrap();
        assert_eq!(part(&longest.sign().unwrap(), 1)["exp"], NOW + 1800);
    }

    #[test]
    fn a_clock_before_1970_is_an_error_not_a_panic() {
        let signer = AssertionSigner::builder(&key(), "kid-1", "1")
            .clock(|| UNIX_EPOCH - Duration::from_secs(1))
            .build()
            .unwrap();
        assert_eq!(signer.sign().unwrap_err(), AssertionError::Clock);
    }

    #[test]
    fn debug_shows_no_key() {
        let printed = format!("{:?}", signer());
        assert!(
            printed.starts_with("AssertionSigner { kid: \"kid-1\""),
            "{printed}"
        );
        assert!(!printed.contains("key:"), "{printed}");
    }
}
