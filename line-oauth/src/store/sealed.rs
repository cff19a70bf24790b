//! Encryption at rest: tokens sealed with AES-256-GCM under a key the
//! application gives, so that a store file or a Redis dump holds no usable
//! token.
//!
//! A sealed record is `LOT1 | key id (8) | nonce (12) | ciphertext | tag`.
//! The key id (an HMAC of a fixed label under the key) tells a record sealed
//! under another key (a clear error) from a damaged one (read as absent).
//! The record's name in the store is authenticated with it, so a record
//! copied under another channel's name does not open.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::StoreError;
use crate::secret::AccessToken;
use crate::tokens::IssuedToken;

/// Marks a sealed record, and its format's version.
const MAGIC: &[u8; 4] = b"LOT1";
/// Length of the key id in a record.
const KEY_ID_LEN: usize = 8;
/// Where the ciphertext starts.
const HEADER_LEN: usize = MAGIC.len() + KEY_ID_LEN + NONCE_LEN;

/// A 256-bit key that store records are encrypted with. It comes from the
/// application (a secret manager, an environment variable); every process
/// that shares a store needs the same key. Redacted in `Debug`.
///
/// ```
/// use line_oauth::EncryptionKey;
/// // Once: make a key and keep it with your other secrets.
/// let text = EncryptionKey::generate().to_base64();
/// // At start-up: read it back.
/// let key = EncryptionKey::from_base64(&text)?;
/// assert_eq!(format!("{key:?}"), "EncryptionKey([redacted])");
/// # Ok::<(), line_oauth::Error>(())
/// ```
#[derive(Clone)]
pub struct EncryptionKey {
    bytes: Zeroizing<[u8; 32]>,
}

impl EncryptionKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self {
            bytes: Zeroizing::new(bytes),
        }
    }

    /// A key from the standard base64 of its 32 bytes (what
    /// [`to_base64`](Self::to_base64) gives); surrounding whitespace is
    /// ignored.
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Setup`](crate::StoreErrorKind::Setup) when the text
    /// is not base64 of 32 bytes; the
    /// message does not repeat the text.
    pub fn from_base64(text: &str) -> Result<Self, StoreError> {
        let decoded = Zeroizing::new(
            STANDARD
                .decode(text.trim())
                .map_err(|_| StoreError::setup("store encryption key: not standard base64"))?,
        );
        let bytes: [u8; 32] = decoded.as_slice().try_into().map_err(|_| {
            StoreError::setup(format!(
                "store encryption key: {} bytes, not 32",
                decoded.len()
            ))
        })?;
        Ok(Self::from_bytes(bytes))
    }

    /// A new random key.
    ///
    /// # Panics
    ///
    /// Only if the operating system's random source fails.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        aws_lc_rs::rand::fill(bytes.as_mut()).expect("the system random source works");
        Self { bytes }
    }

    /// The key as standard base64, to keep it where your secrets live. A
    /// secret: keep it out of logs.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.bytes.as_ref())
    }

    /// What records sealed under this key carry to name it.
    fn id(&self) -> [u8; KEY_ID_LEN] {
        let key = hmac::Key::new(hmac::HMAC_SHA256, self.bytes.as_ref());
        let tag = hmac::sign(&key, b"line-oauth token store key id");
        let mut id = [0; KEY_ID_LEN];
        id.copy_from_slice(&tag.as_ref()[..KEY_ID_LEN]);
        id
    }
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncryptionKey([redacted])")
    }
}

/// One key, ready to seal and open.
struct Sealing {
    id: [u8; KEY_ID_LEN],
    key: RandomizedNonceKey,
}

impl Sealing {
    fn new(key: &EncryptionKey) -> Self {
        Self {
            id: key.id(),
            key: RandomizedNonceKey::new(&AES_256_GCM, key.bytes.as_ref())
                .expect("a 32-byte key fits AES-256"),
        }
    }

    /// The plaintext of `ciphertext`, sealed under this key and the
    /// record's `name`.
    fn open(
        &self,
        name: &str,
        nonce: &[u8],
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, Unsealed> {
        let nonce =
            Nonce::try_assume_unique_for_key(nonce).map_err(|_| Unsealed::Corrupt("bad nonce"))?;
        let mut buffer = Zeroizing::new(ciphertext.to_vec());
        let length = self
            .key
            .open_in_place(nonce, Aad::from(name.as_bytes()), &mut buffer)
            .map_err(|_| Unsealed::Corrupt("does not authenticate"))?
            .len();
        buffer.truncate(length);
        Ok(buffer)
    }
}

/// Seals records under the current key; opens records sealed under it or
/// under the previous one (during a key rotation).
pub(super) struct Sealer {
    current: Sealing,
    previous: Option<Sealing>,
}

/// Why a record did not open.
#[derive(Debug)]
pub(super) enum Unsealed {
    /// Sealed under a key this store does not have.
    WrongKey,
    /// Torn, truncated or altered: read as no record at all.
    Corrupt(&'static str),
}

impl Unsealed {
    /// What a store does with a record that did not open: a wrong key is
    /// the caller's error; a damaged record is logged and read as absent.
    pub(super) fn into_store_result(self, name: &str) -> Result<Option<IssuedToken>, StoreError> {
        match self {
            Self::WrongKey => Err(StoreError::wrong_key(name)),
            Self::Corrupt(why) => {
                tracing::warn!(
                    record = name,
                    why,
                    "token store: the stored token is damaged; a new one will be issued"
                );
                Ok(None)
            }
        }
    }
}

impl Sealer {
    pub(super) fn new(current: &EncryptionKey, previous: Option<&EncryptionKey>) -> Self {
        Self {
            current: Sealing::new(current),
            previous: previous.map(Sealing::new),
        }
    }

    /// `token`, sealed and bound to the record's `name`.
    pub(super) fn seal(&self, name: &str, token: &IssuedToken) -> Result<Vec<u8>, StoreError> {
        let mut text = Zeroizing::new(Record::of(token).to_json());
        let nonce = self
            .current
            .key
            .seal_in_place_append_tag(Aad::from(name.as_bytes()), &mut *text)
            .map_err(|_| StoreError::unavailable("could not encrypt the token"))?;
        let mut sealed = Vec::with_capacity(HEADER_LEN + text.len());
        sealed.extend_from_slice(MAGIC);
        sealed.extend_from_slice(&self.current.id);
        sealed.extend_from_slice(nonce.as_ref());
        sealed.extend_from_slice(&text);
        Ok(sealed)
    }

    /// The token sealed in `record` under the name `name`.
    pub(super) fn open(&self, name: &str, record: &[u8]) -> Result<IssuedToken, Unsealed> {
        if record.len() < HEADER_LEN || !record.starts_with(MAGIC) {
            return Err(Unsealed::Corrupt("not a sealed token record"));
        }
        let (id, rest) = record[MAGIC.len()..].split_at(KEY_ID_LEN);
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let keys = || {
            [Some(&self.current), self.previous.as_ref()]
                .into_iter()
                .flatten()
        };
        let Some(sealing) = keys().find(|s| s.id == id) else {
            // The key id is not authenticated: a record that opens under one
            // of our keys all the same is ours, its id damaged.
            let ours = keys().any(|s| s.open(name, nonce, ciphertext).is_ok());
            return Err(if ours {
                Unsealed::Corrupt("a damaged key id")
            } else {
                Unsealed::WrongKey
            });
        };
        let text = sealing.open(name, nonce, ciphertext)?;
        Record::from_json(&text)
            .map(Record::into_token)
            .ok_or(Unsealed::Corrupt("not a token record"))
    }
}

/// What a record holds, before sealing.
#[derive(Serialize, Deserialize)]
struct Record {
    access_token: AccessToken,
    token_type: String,
    key_id: Option<String>,
    /// When LINE's answer arrived, in milliseconds since 1970.
    received_at_ms: u64,
    expires_in_ms: u64,
}

impl Record {
    fn of(token: &IssuedToken) -> Self {
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Self {
            access_token: token.access_token.clone(),
            token_type: token.token_type.clone().into_owned(),
            key_id: token.key_id.as_deref().map(str::to_owned),
            received_at_ms: millis(
                token
                    .received_at
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default(),
            ),
            expires_in_ms: millis(token.expires_in),
        }
    }

    fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a record serialises")
    }

    fn from_json(text: &[u8]) -> Option<Self> {
        serde_json::from_slice(text).ok()
    }

    fn into_token(self) -> IssuedToken {
        let received_at = UNIX_EPOCH
            .checked_add(Duration::from_millis(self.received_at_ms))
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let mut token =
            IssuedToken::new(self.access_token, Duration::from_millis(self.expires_in_ms))
                .with_received_at(received_at);
        if self.token_type != token.token_type {
            token.token_type = self.token_type.into();
        }
        token.key_id = self.key_id.map(String::into_boxed_str);
        token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> IssuedToken {
        IssuedToken::new(AccessToken::new("a-token-value"), Duration::from_secs(900))
            .with_key_id("kid-1")
    }

    #[test]
    fn a_sealed_token_opens_to_the_same_token_and_hides_its_value() {
        let key = EncryptionKey::generate();
        let sealer = Sealer::new(&key, None);
        let sealed = sealer.seal("name", &token()).unwrap();
        assert!(!sealed.windows(13).any(|w| w == b"a-token-value"));
        let opened = sealer.open("name", &sealed).unwrap();
        assert_eq!(opened.access_token.expose_secret(), "a-token-value");
        assert_eq!(opened.key_id.as_deref(), Some("kid-1"));
        assert_eq!(opened.expires_in, Duration::from_secs(900));
        let drift = opened
            .received_at
            .duration_since(token().received_at)
            .unwrap_or_else(|e| e.duration());
        assert!(drift < Duration::from_secs(1));
    }

    #[test]
    fn a_record_under_another_key_is_a_wrong_key_not_damage() {
        let sealed = Sealer::new(&EncryptionKey::generate(), None)
            .seal("name", &token())
            .unwrap();
        let other = Sealer::new(&EncryptionKey::generate(), None);
        assert!(matches!(
            other.open("name", &sealed),
            Err(Unsealed::WrongKey)
        ));
    }

    #[test]
    fn during_a_rotation_records_under_the_previous_key_open() {
        let (old, new) = (EncryptionKey::generate(), EncryptionKey::generate());
        let sealed = Sealer::new(&old, None).seal("name", &token()).unwrap();
        let rotating = Sealer::new(&new, Some(&old));
        assert!(rotating.open("name", &sealed).is_ok());
    }

    #[test]
    fn a_record_of_ours_with_a_damaged_key_id_is_damage_not_a_wrong_key() {
        let sealer = Sealer::new(&EncryptionKey::generate(), None);
        let mut sealed = sealer.seal("name", &token()).unwrap();
        sealed[MAGIC.len()] ^= 1;
        assert!(matches!(
            sealer.open("name", &sealed),
            Err(Unsealed::Corrupt(_))
        ));
    }

    #[test]
    fn damaged_or_moved_records_are_corrupt() {
        let sealer = Sealer::new(&EncryptionKey::generate(), None);
        let sealed = sealer.seal("name", &token()).unwrap();
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        for bad in [&sealed[..sealed.len() / 2], &flipped[..], b"", b"LOT1"] {
            assert!(matches!(
                sealer.open("name", bad),
                Err(Unsealed::Corrupt(_))
            ));
        }
        assert!(matches!(
            sealer.open("another-name", &sealed),
            Err(Unsealed::Corrupt(_))
        ));
    }

    #[test]
    fn a_key_is_read_back_from_its_base64_and_bad_text_is_refused() {
        let key = EncryptionKey::generate();
        let again = EncryptionKey::from_base64(&format!(" {}\n", key.to_base64())).unwrap();
        assert_eq!(key.id(), again.id());
        for bad in ["", "not base64!", "AAAA"] {
            let error = EncryptionKey::from_base64(bad).unwrap_err().to_string();
            assert!(error.contains("store encryption key"), "{error}");
        }
    }
}
