//! Where a [`TokenSource`](crate::TokenSource) keeps its token beyond its
//! own memory: the [`TokenStore`] seam, and the stores the crate ships.
//!
//! A store keeps the current token of each provider (named by
//! [`TokenProvider::store_key`](crate::TokenProvider::store_key)) and a
//! lock, so that of all the sources sharing it only one issues at a time:
//! - none given: the source's own cache, and nothing more;
//! - [`MemoryStore`]: one process's memory, for sources that share it;
//! - [`FileStore`]: a directory on one host, for restarts and for several
//!   processes on it;
//! - `RedisStore` (feature `redis`): a fleet.
//!
//! The persistent stores encrypt what they keep with an [`EncryptionKey`].

mod file;
mod memory;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis-tls")]
mod redis_tls;
mod sealed;
mod unshared;

pub use file::FileStore;
pub use memory::MemoryStore;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::RedisStore;
#[cfg(feature = "redis-tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis-tls")))]
pub use redis_tls::RedisTls;
pub use sealed::EncryptionKey;
pub(crate) use unshared::Unshared;

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::tokens::IssuedToken;

/// Where a [`TokenSource`](crate::TokenSource) keeps the current token of
/// its provider, and how the sources sharing it take turns to issue one.
///
/// The source calls it only when its own cache has no fresh token. It
/// loads the stored token; when that is not fresh either, it takes the
/// lock, loads again (another holder may just have saved one), and only
/// then issues, saving the new token as it releases the lock. A source that
/// finds the lock taken polls, with jitter, until a fresh token is stored or
/// the lock is free.
///
/// Every method is bounded by the source's store timeout; a store that
/// fails or times out puts the source in degraded mode (it issues for
/// itself) until the store answers again.
///
/// ```
/// use std::time::Duration;
/// use line_oauth::{IssuedToken, StoreError, TokenStore};
///
/// /// A store that keeps nothing: every source issues for itself.
/// #[derive(Debug)]
/// struct Nowhere;
///
/// impl TokenStore for Nowhere {
///     type Lease = ();
///     async fn load(&self, _key: &str) -> Result<Option<IssuedToken>, StoreError> {
///         Ok(None)
///     }
///     async fn lock(&self, _key: &str, _ttl: Duration) -> Result<Option<()>, StoreError> {
///         Ok(Some(()))
///     }
///     async fn unlock(
///         &self,
///         _key: &str,
///         _lease: (),
///         _save: Option<&IssuedToken>,
///     ) -> Result<(), StoreError> {
///         Ok(())
///     }
/// }
/// ```
pub trait TokenStore: fmt::Debug + Send + Sync + 'static {
    /// Proof of holding the lock of one key.
    type Lease: Send + Sync + 'static;

    /// The token stored under `key`, if any. A damaged record reads as none
    /// (and is logged); a record under another encryption key is
    /// [`StoreErrorKind::WrongKey`].
    fn load(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<IssuedToken>, StoreError>> + Send;

    /// Takes the issuance lock of `key` if no one holds it: `None` when
    /// someone does. The lock frees itself after `ttl` (or when its holder
    /// dies), so a crashed holder never blocks the others for longer.
    fn lock(
        &self,
        key: &str,
        ttl: Duration,
    ) -> impl Future<Output = Result<Option<Self::Lease>, StoreError>> + Send;

    /// Releases the lock, first storing `save` under `key` if given. If the
    /// lock expired meanwhile, nothing is stored and the answer is
    /// [`StoreErrorKind::LockLost`].
    fn unlock(
        &self,
        key: &str,
        lease: Self::Lease,
        save: Option<&IssuedToken>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// What metrics call this store (their `store` label): the crate's
    /// stores say `memory`, `file` and `redis`; `custom` by default.
    fn name(&self) -> &'static str {
        "custom"
    }
}

/// Why a store could not answer.
///
/// ```
/// use line_oauth::{StoreError, StoreErrorKind};
/// let error = StoreError::unavailable("connection refused");
/// assert_eq!(error.kind(), StoreErrorKind::Unavailable);
/// assert_eq!(error.to_string(), "token store unavailable: connection refused");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError {
    kind: StoreErrorKind,
    detail: String,
}

/// The kinds of [`StoreError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The store cannot be reached or used now (I/O, network, timeout): the
    /// source degrades and tries the store again later.
    Unavailable,
    /// The stored token was encrypted under a key this store was not given:
    /// the processes sharing the store disagree on the key (during a key
    /// rotation, or by mistake). The source degrades, and never overwrites
    /// the record.
    WrongKey,
    /// The lock expired before its holder released it; nothing was saved.
    LockLost,
    /// The store cannot be set up as given: a directory others can write,
    /// a URL that is not a Redis URL, an encryption key that is not one.
    /// Fix the setting; retrying does not help.
    Setup,
}

impl StoreErrorKind {
    /// Its name in metrics and logs: `unavailable`, `wrong_key`,
    /// `lock_lost`, `setup`.
    ///
    /// ```
    /// assert_eq!(line_oauth::StoreErrorKind::WrongKey.as_str(), "wrong_key");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unavailable => "unavailable",
            Self::WrongKey => "wrong_key",
            Self::LockLost => "lock_lost",
            Self::Setup => "setup",
        }
    }
}

impl StoreError {
    /// The store cannot be reached or used now. `detail` must hold no
    /// secret.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self {
            kind: StoreErrorKind::Unavailable,
            detail: detail.into(),
        }
    }

    /// The record `name` was sealed under a key this store does not have.
    pub fn wrong_key(name: &str) -> Self {
        Self {
            kind: StoreErrorKind::WrongKey,
            detail: format!(
                "{name} was encrypted under another key; every process sharing the store needs \
                 that key (during a key rotation, the new key and the one before it)"
            ),
        }
    }

    /// The store cannot be set up as given. `detail` must hold no secret.
    ///
    /// ```
    /// let error = line_oauth::StoreError::setup("not a directory");
    /// assert_eq!(error.kind(), line_oauth::StoreErrorKind::Setup);
    /// ```
    pub fn setup(detail: impl Into<String>) -> Self {
        Self {
            kind: StoreErrorKind::Setup,
            detail: detail.into(),
        }
    }

    /// The lock of `name` expired before its holder released it.
    pub fn lock_lost(name: &str) -> Self {
        Self {
            kind: StoreErrorKind::LockLost,
            detail: format!("the issuance lock of {name} expired before it was released"),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            StoreErrorKind::Unavailable => "token store unavailable",
            StoreErrorKind::WrongKey => "token store: wrong encryption key",
            StoreErrorKind::LockLost => "token store: lock lost",
            StoreErrorKind::Setup => "token store cannot be set up",
        };
        write!(f, "{what}: {}", self.detail)
    }
}

impl std::error::Error for StoreError {}

/// A boxed future, for the object-safe face of a store.
type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
/// A lease of any store.
pub(crate) type AnyLease = Box<dyn Any + Send + Sync>;

/// [`TokenStore`] as an object, so that a source is one type whatever its
/// store.
pub(crate) trait DynStore: fmt::Debug + Send + Sync {
    fn load<'a>(&'a self, key: &'a str) -> Boxed<'a, Result<Option<IssuedToken>, StoreError>>;
    fn lock<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> Boxed<'a, Result<Option<AnyLease>, StoreError>>;
    fn unlock<'a>(
        &'a self,
        key: &'a str,
        lease: AnyLease,
        save: Option<&'a IssuedToken>,
    ) -> Boxed<'a, Result<(), StoreError>>;
    fn name(&self) -> &'static str;
}

impl<S: TokenStore> DynStore for S {
    fn load<'a>(&'a self, key: &'a str) -> Boxed<'a, Result<Option<IssuedToken>, StoreError>> {
        Box::pin(TokenStore::load(self, key))
    }

    fn lock<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> Boxed<'a, Result<Option<AnyLease>, StoreError>> {
        Box::pin(async move {
            let lease = TokenStore::lock(self, key, ttl).await?;
            Ok(lease.map(|lease| Box::new(lease) as AnyLease))
        })
    }

    fn unlock<'a>(
        &'a self,
        key: &'a str,
        lease: AnyLease,
        save: Option<&'a IssuedToken>,
    ) -> Boxed<'a, Result<(), StoreError>> {
        Box::pin(async move {
            // Leases come only from this store's `lock`.
            let Ok(lease) = lease.downcast::<S::Lease>() else {
                return Err(StoreError::lock_lost(key));
            };
            TokenStore::unlock(self, key, *lease, save).await
        })
    }

    fn name(&self) -> &'static str {
        TokenStore::name(self)
    }
}
