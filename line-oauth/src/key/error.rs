//! Why a key could not be read or made, and the limits keys are held to.

use std::fmt;

/// The key size LINE requires.
pub(super) const KEY_BITS: usize = 2048;
/// The largest key file read: a 2048-bit private JWK takes under 2 KiB.
pub(super) const FILE_LIMIT: u64 = 64 * 1024;

/// Why a key could not be read or made.
///
/// ```
/// let err = line_oauth::PrivateJwk::from_json("{").unwrap_err();
/// assert!(matches!(err, line_oauth::KeyError::Json(_)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// The text is not a JSON object with the JWK fields.
    Json(String),
    /// `kty` is not `RSA` (LINE takes only RSA keys).
    WrongKeyType(String),
    /// `alg` is present and is not `RS256`.
    WrongAlgorithm(String),
    /// The JWK holds only a public key (no `d`, `p`, `q`).
    PublicOnly,
    /// The JWK has `d`, `p` and `q` but not the CRT values `dp`, `dq` and
    /// `qi`, which signing needs: export the key again with them.
    MissingCrt,
    /// The key is shorter than LINE's 2048 bits.
    TooShort {
        /// The key's size.
        bits: usize,
    },
    /// The fields do not form a valid RSA key (bad base64url, inconsistent
    /// numbers).
    Invalid(String),
    /// The key file could not be read or written.
    File(String),
    /// The key path is not a regular file (a directory, FIFO or device).
    NotRegularFile(String),
    /// The key file is larger than [`PrivateJwk::FILE_LIMIT`](crate::PrivateJwk::FILE_LIMIT).
    FileTooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// The key pair could not be generated.
    Generation(String),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Json(e) => write!(f, "not a JWK: {e}"),
            Self::WrongKeyType(kty) => write!(f, "key type {kty:?} is not RSA"),
            Self::WrongAlgorithm(alg) => write!(f, "key algorithm {alg:?} is not RS256"),
            Self::PublicOnly => f.write_str(
                "the JWK holds only a public key; a private key (with d, p, q) is needed",
            ),
            Self::MissingCrt => f.write_str(
                "the JWK lacks the CRT values dp, dq and qi; export the private key with them",
            ),
            Self::TooShort { bits } => write!(f, "the key has {bits} bits; LINE needs {KEY_BITS}"),
            Self::Invalid(e) => write!(f, "not a valid RSA key: {e}"),
            Self::File(e) => write!(f, "key file: {e}"),
            Self::NotRegularFile(path) => write!(f, "key file {path}: not a regular file"),
            Self::FileTooLarge { limit } => {
                write!(f, "the key file is larger than {limit} bytes: not a JWK")
            }
            Self::Generation(e) => write!(f, "cannot generate a key pair: {e}"),
        }
    }
}

impl std::error::Error for KeyError {}
