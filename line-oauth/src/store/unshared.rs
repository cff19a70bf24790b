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
    /// Its [`name`](TokenStore::name): metrics leave it out.
    pub(crate) const NAME: &'static str = "unshared";

    /// The process's one instance.
    pub(crate) fn shared() -> Arc<dyn DynStore> {
        static UNSHARED: OnceLock<Arc<dyn DynStore>> = OnceLock::new();
        Arc::clone(UNSHARED.get_or_init(|| Arc::new(Unshared)))
    }
}

impl TokenStore for Unshared {
    type Lease = ();

    fn name(&self) -> &'static str {
        Self::NAME
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
