//! [`RedisTls`]: what a [`RedisStore`](super::RedisStore) trusts and
//! presents over TLS beyond the system's roots.

use std::fmt;
use std::path::Path;

use zeroize::Zeroizing;

use super::StoreError;
use crate::key::{SmallFileError, read_small_file};

/// TLS to Redis beyond the defaults (feature `redis-tls`): a CA to trust
/// instead of the system's roots, and a client certificate to present
/// (for a server with `tls-auth-clients yes`). For
/// [`RedisStore::new_tls`](super::RedisStore::new_tls), with a
/// `rediss://` URL. `Debug` shows what is set, never a key.
///
/// ```no_run
/// # fn run() -> Result<(), line_oauth::StoreError> {
/// let tls = line_oauth::RedisTls::new()
///     .ca_file("/etc/redis/ca.pem")?
///     .client_files("/etc/bot/redis-client.pem", "/etc/bot/redis-client.key")?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Default)]
pub struct RedisTls {
    pub(super) ca: Option<Vec<u8>>,
    pub(super) client: Option<ClientIdentity>,
}

/// A client certificate and its private key, both PEM.
#[derive(Clone)]
pub(super) struct ClientIdentity {
    pub(super) cert: Vec<u8>,
    pub(super) key: Zeroizing<Vec<u8>>,
}

impl RedisTls {
    /// The defaults: the system's roots, no client certificate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts the CA certificates (PEM) in `pem` instead of the system's.
    #[must_use]
    pub fn ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca = Some(pem.into());
        self
    }

    /// Trusts the CA certificates in the PEM file at `path` instead of the
    /// system's.
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Setup`](crate::StoreErrorKind::Setup) when the
    /// file cannot be read, is not a regular file, or is over 64 KiB.
    pub fn ca_file(self, path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let pem = read(path.as_ref())?;
        Ok(self.ca_pem(pem.to_vec()))
    }

    /// Presents the client certificate `cert` with its private key `key`
    /// (both PEM).
    #[must_use]
    pub fn client_pem(mut self, cert: impl Into<Vec<u8>>, key: impl Into<Vec<u8>>) -> Self {
        self.client = Some(ClientIdentity {
            cert: cert.into(),
            key: Zeroizing::new(key.into()),
        });
        self
    }

    /// Presents the client certificate and private key in the PEM files at
    /// `cert` and `key`.
    ///
    /// # Errors
    ///
    /// As [`ca_file`](Self::ca_file), for either file.
    pub fn client_files(
        self,
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, StoreError> {
        let (cert, key) = (read(cert.as_ref())?, read(key.as_ref())?);
        Ok(self.client_pem(cert.to_vec(), key.to_vec()))
    }

    /// The redis crate's form of it. Its copy of the key is not zeroed.
    pub(super) fn certificates(&self) -> redis::TlsCertificates {
        redis::TlsCertificates {
            client_tls: self.client.as_ref().map(|c| redis::ClientTlsConfig {
                client_cert: c.cert.clone(),
                client_key: c.key.to_vec(),
            }),
            root_cert: self.ca.clone(),
        }
    }
}

/// The largest PEM file read: a CA bundle of a few hundred certificates.
const PEM_LIMIT: u64 = 1024 * 1024;

/// A PEM file's bytes: a regular file of at most [`PEM_LIMIT`], zeroed
/// after use (a private key's).
fn read(path: &Path) -> Result<Zeroizing<Vec<u8>>, StoreError> {
    read_small_file(path, PEM_LIMIT).map_err(|e| {
        let path = path.display();
        StoreError::setup(match e {
            SmallFileError::Io(e) => format!("PEM file {path}: {e}"),
            SmallFileError::NotRegular => format!("PEM file {path}: not a regular file"),
            SmallFileError::TooLarge => format!("PEM file {path}: larger than {PEM_LIMIT} bytes"),
        })
    })
}

impl fmt::Debug for RedisTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisTls")
            .field("ca", &self.ca.is_some())
            .field("client_certificate", &self.client.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_what_is_set_and_no_key() {
        let tls = RedisTls::new()
            .ca_pem("-----BEGIN CERTIFICATE-----")
            .client_pem("cert", "SECRET-KEY-MATERIAL");
        let debug = format!("{tls:?}");
        assert_eq!(debug, "RedisTls { ca: true, client_certificate: true }");
        let certificates = tls.certificates();
        assert!(certificates.root_cert.is_some() && certificates.client_tls.is_some());
    }

    #[test]
    fn a_missing_file_is_a_setup_error_naming_it() {
        let error = RedisTls::new().ca_file("/nonexistent/ca.pem").unwrap_err();
        assert_eq!(error.kind(), crate::StoreErrorKind::Setup);
        assert!(error.to_string().contains("/nonexistent/ca.pem"), "{error}");
    }
}
