//! Assertion signing keys as JWKs (RFC 7517): generating a key pair, reading
//! a private key, and the public key to register with LINE.

use std::fmt;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::error::{FILE_LIMIT, KEY_BITS, KeyError};
use super::key_file::{read_key_file, write_new_secret_file};
use super::rsa_key::{Number, Numbers, RsaKey};

/// A new assertion signing key pair: keep [`private`](Self::private) secret,
/// register [`public`](Self::public) in the LINE Developers Console (channel
/// > Basic settings > Assertion Signing Key), which then shows its `kid`.
///
/// ```no_run
/// let pair = line_oauth::AssertionKeyPair::generate()?;
/// std::fs::write("private.jwk.json", pair.private.expose_secret_json().as_bytes())?;
/// println!("register this public key: {}", pair.public.to_json());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct AssertionKeyPair {
    /// The private key, to sign assertions with.
    pub private: PrivateJwk,
    /// The public key, to register with LINE.
    pub public: PublicJwk,
}

impl AssertionKeyPair {
    /// The key size LINE requires, and the size [`generate`](Self::generate) makes.
    pub const BITS: usize = KEY_BITS;

    /// Generates an RSA-2048 key pair from the operating system's randomness.
    ///
    /// # Errors
    ///
    /// [`KeyError::Generation`] if the RSA key cannot be generated.
    pub fn generate() -> Result<Self, KeyError> {
        let private = PrivateJwk {
            key: Arc::new(RsaKey::generate()?),
        };
        let public = private.public();
        Ok(Self { private, public })
    }
}

/// The fields of an RSA JWK that line-oauth reads and writes. Other fields
/// (`kid`, `key_ops`, ...) are ignored on reading.
#[derive(Serialize, Deserialize)]
struct JwkFields {
    kty: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    alg: Option<String>,
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    use_: Option<String>,
    n: String,
    e: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    d: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    p: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    q: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dq: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    qi: Option<String>,
}

impl Drop for JwkFields {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        for secret in [
            &mut self.d,
            &mut self.p,
            &mut self.q,
            &mut self.dp,
            &mut self.dq,
            &mut self.qi,
        ] {
            secret.zeroize();
        }
    }
}

impl JwkFields {
    fn parse(text: &str) -> Result<Self, KeyError> {
        let fields: Self =
            serde_json::from_str(text).map_err(|e| KeyError::Json(json_error(&e)))?;
        if fields.kty != "RSA" {
            return Err(KeyError::WrongKeyType(fields.kty.clone()));
        }
        if let Some(alg) = fields.alg.as_deref().filter(|alg| *alg != "RS256") {
            return Err(KeyError::WrongAlgorithm(alg.to_owned()));
        }
        Ok(fields)
    }

    /// The public part, labelled for signatures with RS256.
    fn public(n: &[u8], e: &[u8]) -> Self {
        Self {
            kty: "RSA".to_owned(),
            alg: Some("RS256".to_owned()),
            use_: Some("sig".to_owned()),
            n: b64(n),
            e: b64(e),
            d: None,
            p: None,
            q: None,
            dp: None,
            dq: None,
            qi: None,
        }
    }
}

/// A serde_json error without the input it quotes (the input may be a key).
fn json_error(error: &serde_json::Error) -> String {
    format!(
        "{:?} error at line {} column {}",
        error.classify(),
        error.line(),
        error.column()
    )
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A JWK number: base64url, big-endian, read into memory zeroed when dropped.
fn number(field: &str, value: &str) -> Result<Number, KeyError> {
    URL_SAFE_NO_PAD
        .decode(value.trim_end_matches('='))
        .map(Zeroizing::new)
        .map_err(|_| KeyError::Invalid(format!("{field} is not base64url")))
}

/// A public number without leading zero bytes, as aws-lc wants `n` and `e`.
fn minimal(mut bytes: Number) -> Number {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..zeros);
    bytes
}

/// The size in bits of a big-endian number without leading zero bytes.
fn bit_length(bytes: &[u8]) -> usize {
    bytes.first().map_or(0, |first| {
        (bytes.len() - 1) * 8 + (8 - first.leading_zeros() as usize)
    })
}

/// `n`, checked to be at least [`AssertionKeyPair::BITS`] long.
fn modulus(fields: &JwkFields) -> Result<Number, KeyError> {
    let n = minimal(number("n", &fields.n)?);
    let bits = bit_length(&n);
    if bits < KEY_BITS {
        return Err(KeyError::TooShort { bits });
    }
    Ok(n)
}

/// A private assertion signing key. `Debug` shows only its size; the key
/// material leaves only through [`expose_secret_json`](Self::expose_secret_json),
/// and is zeroed when dropped.
///
/// ```
/// let pair = line_oauth::AssertionKeyPair::generate()?;
/// let json = pair.private.expose_secret_json();
/// let again = line_oauth::PrivateJwk::from_json(&json)?;
/// assert_eq!(again.public(), pair.public);
/// assert_eq!(format!("{again:?}"), "PrivateJwk { bits: 2048, .. }");
/// # Ok::<(), line_oauth::KeyError>(())
/// ```
///
/// The key lives in aws-lc's memory (C) for signing, and as its numbers in
/// Rust memory for the JWK. The Rust copies are zeroed when dropped; aws-lc
/// overwrites every allocation it frees, so its copy is cleared when the
/// last clone drops. Signing is aws-lc's constant-time, blinded RS256.
#[derive(Clone)]
pub struct PrivateJwk {
    key: Arc<RsaKey>,
}

impl PrivateJwk {
    /// The largest key file [`from_file`](Self::from_file) reads: a 2048-bit
    /// private JWK takes under 2 KiB.
    pub const FILE_LIMIT: u64 = FILE_LIMIT;

    /// Reads a private RSA JWK: the format [`AssertionKeyPair::generate`]
    /// writes, and the one other JWK tools write (`kty`, `n`, `e`, `d`, `p`,
    /// `q`, `dp`, `dq`, `qi`, optionally `alg`, `use`, `kid`, `key_ops`).
    ///
    /// # Errors
    ///
    /// [`KeyError`] for malformed JSON, a public-only key, a key without its
    /// CRT values, a key type other than RSA, an algorithm other than RS256,
    /// a key under 2048 bits, or numbers that do not form a key that signs.
    /// No error repeats key material.
    pub fn from_json(text: &str) -> Result<Self, KeyError> {
        let fields = JwkFields::parse(text)?;
        let (Some(d), Some(p), Some(q)) = (&fields.d, &fields.p, &fields.q) else {
            return Err(KeyError::PublicOnly);
        };
        let (Some(dp), Some(dq), Some(qi)) = (&fields.dp, &fields.dq, &fields.qi) else {
            return Err(KeyError::MissingCrt);
        };
        let numbers = Numbers {
            n: modulus(&fields)?,
            e: minimal(number("e", &fields.e)?),
            d: number("d", d)?,
            p: number("p", p)?,
            q: number("q", q)?,
            dp: number("dp", dp)?,
            dq: number("dq", dq)?,
            qi: number("qi", qi)?,
        };
        Ok(Self {
            key: Arc::new(RsaKey::from_numbers(numbers)?),
        })
    }

    /// Reads a private RSA JWK from a file (see [`from_json`](Self::from_json)).
    /// Only a regular file of at most [`FILE_LIMIT`](Self::FILE_LIMIT) bytes is read: a
    /// FIFO, device or huge file is refused at once, never waited on.
    ///
    /// ```no_run
    /// let key = line_oauth::PrivateJwk::from_file("private.jwk.json")?;
    /// # Ok::<(), line_oauth::KeyError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`KeyError::File`] when the file cannot be read,
    /// [`KeyError::NotRegularFile`], [`KeyError::FileTooLarge`], otherwise as
    /// [`from_json`](Self::from_json).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, KeyError> {
        Self::from_json(&read_key_file(path.as_ref())?)
    }

    /// Writes the private key as JWK JSON to a new file at `path` that only
    /// its owner may read. The write is atomic: the key goes to a temporary
    /// file beside `path`, is flushed to disk, and only then appears at
    /// `path`, so a failed write leaves nothing behind. An existing file (or
    /// symlink) at `path` is never replaced.
    ///
    /// ```no_run
    /// let pair = line_oauth::AssertionKeyPair::generate()?;
    /// pair.private.to_file("private.jwk.json")?;
    /// # Ok::<(), line_oauth::KeyError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`KeyError::File`] when `path` exists or the file cannot be written.
    pub fn to_file(&self, path: impl AsRef<Path>) -> Result<(), KeyError> {
        let json = self.expose_secret_json();
        write_new_secret_file(path.as_ref(), |file| file.write_all(json.as_bytes()))
    }

    /// The private key as JWK JSON, to store somewhere safe. The returned
    /// text is zeroed when dropped.
    pub fn expose_secret_json(&self) -> Zeroizing<String> {
        let numbers = self.key.numbers();
        let mut fields = JwkFields::public(&numbers.n, &numbers.e);
        fields.d = Some(b64(&numbers.d));
        fields.p = Some(b64(&numbers.p));
        fields.q = Some(b64(&numbers.q));
        fields.dp = Some(b64(&numbers.dp));
        fields.dq = Some(b64(&numbers.dq));
        fields.qi = Some(b64(&numbers.qi));
        Zeroizing::new(serde_json::to_string_pretty(&fields).expect("JWK fields serialize"))
    }

    /// The matching public key.
    pub fn public(&self) -> PublicJwk {
        let numbers = self.key.numbers();
        PublicJwk {
            n: numbers.n.to_vec(),
            e: numbers.e.to_vec(),
        }
    }

    /// The key size in bits.
    pub fn bits(&self) -> usize {
        bit_length(&self.key.numbers().n)
    }

    /// The RS256 signature of `message`, or `None` if the key fails to sign.
    pub(crate) fn sign_rs256(&self, message: &[u8]) -> Option<Vec<u8>> {
        self.key.sign_rs256(message)
    }
}

impl fmt::Debug for PrivateJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateJwk")
            .field("bits", &self.bits())
            .finish_non_exhaustive()
    }
}

/// A public assertion signing key, as LINE's Console takes it: a JWK with
/// `kty` RSA, `alg` RS256, `use` sig, `e` and `n`.
///
/// ```
/// let pair = line_oauth::AssertionKeyPair::generate()?;
/// let json = pair.public.to_json();
/// assert!(json.contains(r#""alg":"RS256""#) && json.contains(r#""use":"sig""#));
/// assert_eq!(line_oauth::PublicJwk::from_json(&json)?, pair.public);
/// # Ok::<(), line_oauth::KeyError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicJwk {
    /// Big-endian, without leading zero bytes.
    n: Vec<u8>,
    e: Vec<u8>,
}

impl PublicJwk {
    /// Reads a public RSA JWK (a private one is read for its public part).
    ///
    /// # Errors
    ///
    /// [`KeyError`] for malformed JSON, a key type other than RSA, an
    /// algorithm other than RS256, a key under 2048 bits, or bad numbers.
    pub fn from_json(text: &str) -> Result<Self, KeyError> {
        let fields = JwkFields::parse(text)?;
        Ok(Self {
            n: modulus(&fields)?.to_vec(),
            e: minimal(number("e", &fields.e)?).to_vec(),
        })
    }

    /// The JWK JSON to register in the LINE Developers Console.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&JwkFields::public(&self.n, &self.e)).expect("JWK fields serialize")
    }

    /// The modulus `n`, base64url without padding.
    pub fn n(&self) -> String {
        b64(&self.n)
    }

    /// The public exponent `e`, base64url without padding.
    pub fn e(&self) -> String {
        b64(&self.e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> AssertionKeyPair {
        AssertionKeyPair::generate().unwrap()
    }

    fn json_of(pair: &AssertionKeyPair) -> serde_json::Value {
        serde_json::from_str(&pair.private.expose_secret_json()).unwrap()
    }

    #[test]
    fn a_generated_pair_round_trips_and_is_2048_bits() {
        let pair = pair();
        assert_eq!(pair.private.bits(), KEY_BITS);
        let again = PrivateJwk::from_json(&pair.private.expose_secret_json()).unwrap();
        assert_eq!(again.public(), pair.public);
        let public: serde_json::Value = serde_json::from_str(&pair.public.to_json()).unwrap();
        let keys: Vec<&str> = public
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["alg", "e", "kty", "n", "use"]);
        assert_eq!(public["e"], "AQAB");
    }

    #[test]
    fn a_jwk_from_another_tool_loads_and_one_without_crt_values_is_refused() {
        // Extra fields, key_ops instead of use.
        let mut jwk = json_of(&pair());
        let object = jwk.as_object_mut().unwrap();
        object.remove("use");
        object.insert("kid".into(), "from-elsewhere".into());
        object.insert("key_ops".into(), serde_json::json!(["sign"]));
        assert!(PrivateJwk::from_json(&jwk.to_string()).is_ok());
        for crt in ["dp", "dq", "qi"] {
            let mut without = jwk.clone();
            without.as_object_mut().unwrap().remove(crt);
            let err = PrivateJwk::from_json(&without.to_string()).unwrap_err();
            assert_eq!(err, KeyError::MissingCrt, "{crt}");
        }
    }

    /// A test vector from `tests/keys/`. The published package leaves the
    /// directory out (it holds private keys): there the test says so and
    /// passes.
    fn test_key(name: &str) -> Option<String> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/keys")
            .join(name);
        let text = std::fs::read_to_string(&path).ok();
        if text.is_none() {
            eprintln!(
                "SKIPPED: no {} (tests/keys is not published)",
                path.display()
            );
        }
        text
    }

    #[test]
    fn a_key_written_before_the_move_to_aws_lc_loads_and_signs_the_same() {
        // A throwaway key and an assertion the rsa-crate signer made with it:
        // PKCS#1 v1.5 signatures are deterministic, so the bytes must match.
        let (Some(key), Some(expected)) = (
            test_key("throwaway.jwk.json"),
            test_key("throwaway.assertion.jwt"),
        ) else {
            return;
        };
        let key = PrivateJwk::from_json(&key).unwrap();
        let expected = expected.trim();
        let (message, signature) = expected.rsplit_once('.').unwrap();
        let signed = key.sign_rs256(message.as_bytes()).unwrap();
        assert_eq!(URL_SAFE_NO_PAD.encode(signed), signature);
        let reread = PrivateJwk::from_json(&key.expose_secret_json()).unwrap();
        assert_eq!(reread.public(), key.public());
    }

    #[test]
    fn bad_keys_get_clear_errors_without_key_material() {
        let pair = pair();
        let jwk = json_of(&pair);
        let with = |field: &str, value: serde_json::Value| {
            let mut changed = jwk.clone();
            changed[field] = value;
            PrivateJwk::from_json(&changed.to_string()).unwrap_err()
        };
        assert_eq!(
            PrivateJwk::from_json(&pair.public.to_json()).unwrap_err(),
            KeyError::PublicOnly
        );
        assert_eq!(
            with("kty", "EC".into()),
            KeyError::WrongKeyType("EC".into())
        );
        assert_eq!(
            with("alg", "RS512".into()),
            KeyError::WrongAlgorithm("RS512".into())
        );
        assert_eq!(
            with("d", "not base64!".into()),
            KeyError::Invalid("d is not base64url".into())
        );
        let other_d = json_of(&AssertionKeyPair::generate().unwrap())["d"].clone();
        assert!(matches!(with("d", other_d), KeyError::Invalid(_)));

        let secret_d = jwk["d"].as_str().unwrap();
        let truncated = &pair.private.expose_secret_json()[..200];
        for err in [
            PrivateJwk::from_json(truncated).unwrap_err(),
            PrivateJwk::from_json("{").unwrap_err(),
        ] {
            assert!(matches!(err, KeyError::Json(_)), "{err:?}");
            assert!(!err.to_string().contains(&secret_d[..16]), "{err}");
        }
    }

    #[test]
    fn a_key_under_2048_bits_is_refused() {
        let mut jwk = json_of(&pair());
        // A 1024-bit modulus: the size check comes before any other.
        jwk["n"] = URL_SAFE_NO_PAD.encode([0xc5; 128]).into();
        assert_eq!(
            PrivateJwk::from_json(&jwk.to_string()).unwrap_err(),
            KeyError::TooShort { bits: 1024 }
        );
        assert_eq!(
            PublicJwk::from_json(&jwk.to_string()).unwrap_err(),
            KeyError::TooShort { bits: 1024 }
        );
    }

    #[test]
    fn a_key_whose_primes_are_not_prime_is_refused_not_a_panic_later() {
        let Some(jwk) = test_key("composite-primes.jwk.json") else {
            return;
        };
        let err = PrivateJwk::from_json(&jwk).unwrap_err();
        assert!(matches!(err, KeyError::Invalid(_)), "{err:?}");
    }

    #[test]
    fn a_key_file_is_written_owner_only_and_never_over_another() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("private.jwk.json");
        let pair = pair();
        pair.private.to_file(&path).unwrap();
        assert_eq!(PrivateJwk::from_file(&path).unwrap().public(), pair.public);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let err = pair.private.to_file(&path).unwrap_err();
        assert!(matches!(err, KeyError::File(_)), "{err:?}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_missing_file_is_a_file_error() {
        let err = PrivateJwk::from_file("/nonexistent/key.json").unwrap_err();
        assert!(matches!(err, KeyError::File(_)), "{err:?}");
    }
}
