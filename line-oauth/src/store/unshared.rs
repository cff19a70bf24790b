//! [`Unshared`]: the store of a source given none. It keeps nothing and its
//! lock is always free: a lone source's cache is all the memory it needs,
//! and one instance serves the whole process.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::{DynStore, StoreError, TokenStore};
use crate::tokens::IssuedToken;

/// A store that keeps nothing.
#[derive(Debug)]
pub(crate) struct Unshared;

impl Unshared {
    /// The process's one instance.
    pub(crate) fn shared() -> Arc<dyn DynStore> {
        Arc::clone(Self::instance())
    }

    /// Whether `store` is it (metrics leave it out: it is no store of the
    /// user's).
    pub(crate) fn is(store: &Arc<dyn DynStore>) -> bool {
        Arc::ptr_eq(store, Self::instance())
    }

    fn instance() -> &'static Arc<dyn DynStore> {
        static UNSHARED: OnceLock<Arc<dyn DynStore>> = OnceLock::new();
        UNSHARED.get_or_init(|| Arc::new(Unshared))
    }
}

impl TokenStore for Unshared {
    type Lease = ();

    fn name(&self) -> &'static str {
        "unshared"
    }

    async fn load(&self, _key: &str) -> Result<Option<IssuedToken>, StoreError> {
        Ok(None)
    }

    async fn lock(&self, _key: &str, _ttl: Duration) -> Result<Option<()>, StoreError> {
        Ok(Some(()))
    }

    async fn unlock(
        &self,
        _key: &str,
        _lease: (),
        _save: Option<&IssuedToken>,
    ) -> Result<(), StoreError> {
        Ok(())
    }
}
