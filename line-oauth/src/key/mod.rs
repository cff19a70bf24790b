//! Assertion signing keys: RSA key pairs as JWKs ([`PrivateJwk`],
//! [`PublicJwk`], [`AssertionKeyPair`]), read from and written to files
//! safely, on aws-lc; and why one could not be read or made ([`KeyError`]).

mod error;
mod jwk;
mod key_file;
mod rsa_key;

pub use error::KeyError;
pub use jwk::{AssertionKeyPair, PrivateJwk, PublicJwk};
#[cfg(feature = "redis-tls")]
pub(crate) use key_file::{SmallFileError, read_small_file};
