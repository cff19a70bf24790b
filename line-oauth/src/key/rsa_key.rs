//! The RSA key behind a [`PrivateJwk`](crate::PrivateJwk), on aws-lc:
//! constant-time, blinded RS256 signing and key generation.
//!
//! The key lives twice. In aws-lc's (C) memory, for signing: aws-lc
//! overwrites every allocation it frees (`OPENSSL_free` cleanses), so the
//! numbers are cleared there when the last handle drops. And as its numbers
//! in Rust memory, for the JWK: [`Numbers`] zeroes them when dropped.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeyPairComponents, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256};
use zeroize::Zeroizing;

use super::error::KeyError;

/// A number of the key: big-endian, zeroed when dropped.
pub(crate) type Number = Zeroizing<Vec<u8>>;

/// The numbers of a two-prime RSA private key, as a JWK names them.
pub(crate) struct Numbers {
    pub(crate) n: Number,
    pub(crate) e: Number,
    pub(crate) d: Number,
    pub(crate) p: Number,
    pub(crate) q: Number,
    pub(crate) dp: Number,
    pub(crate) dq: Number,
    pub(crate) qi: Number,
}

/// An RSA private key that signs RS256.
pub(crate) struct RsaKey {
    pair: KeyPair,
    numbers: Numbers,
}

impl RsaKey {
    /// A new RSA-2048 key from the operating system's randomness.
    pub(crate) fn generate() -> Result<Self, KeyError> {
        let failed = |what: &str| KeyError::Generation(what.to_owned());
        let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| failed("aws-lc refused"))?;
        let pkcs8 = pair.as_der().map_err(|_| failed("cannot encode the key"))?;
        let numbers = numbers_of_pkcs8(pkcs8.as_ref()).ok_or_else(|| failed("cannot read it"))?;
        Ok(Self { pair, numbers })
    }

    /// The key with these numbers. aws-lc checks that they are consistent
    /// (`n = p q`, the exponents, the CRT values); as it does not test that
    /// `p` and `q` are prime, the key must also sign a probe that verifies.
    pub(crate) fn from_numbers(numbers: Numbers) -> Result<Self, KeyError> {
        let components = KeyPairComponents {
            public_key: PublicKeyComponents {
                n: numbers.n.as_slice(),
                e: numbers.e.as_slice(),
            },
            d: numbers.d.as_slice(),
            p: numbers.p.as_slice(),
            q: numbers.q.as_slice(),
            dP: numbers.dp.as_slice(),
            dQ: numbers.dq.as_slice(),
            qInv: numbers.qi.as_slice(),
        };
        let pair =
            KeyPair::from_components(&components).map_err(|e| KeyError::Invalid(e.to_string()))?;
        let key = Self { pair, numbers };
        key.check_signs()?;
        Ok(key)
    }

    /// The RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signature of `message`.
    pub(crate) fn sign_rs256(&self, message: &[u8]) -> Option<Vec<u8>> {
        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message,
                &mut signature,
            )
            .ok()?;
        Some(signature)
    }

    /// The key's numbers.
    pub(crate) fn numbers(&self) -> &Numbers {
        &self.numbers
    }

    fn check_signs(&self) -> Result<(), KeyError> {
        const PROBE: &[u8] = b"line-oauth key check";
        let not_signing =
            || KeyError::Invalid("the numbers do not sign (p or q is not prime)".into());
        let signature = self.sign_rs256(PROBE).ok_or_else(not_signing)?;
        let public = PublicKeyComponents {
            n: self.numbers.n.as_slice(),
            e: self.numbers.e.as_slice(),
        };
        public
            .verify(&RSA_PKCS1_2048_8192_SHA256, PROBE, &signature)
            .map_err(|_| not_signing())
    }
}

/// The numbers of a PKCS#8 RSA private key, as aws-lc writes one.
fn numbers_of_pkcs8(der: &[u8]) -> Option<Numbers> {
    let info = pkcs8::PrivateKeyInfo::try_from(der).ok()?;
    let key = pkcs1::RsaPrivateKey::try_from(info.private_key).ok()?;
    let number = |value: pkcs1::UintRef<'_>| Zeroizing::new(value.as_bytes().to_vec());
    Some(Numbers {
        n: number(key.modulus),
        e: number(key.public_exponent),
        d: number(key.private_exponent),
        p: number(key.prime1),
        q: number(key.prime2),
        dp: number(key.exponent1),
        dq: number(key.exponent2),
        qi: number(key.coefficient),
    })
}
