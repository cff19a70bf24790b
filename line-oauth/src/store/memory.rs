//! [`MemoryStore`]: tokens in one process's memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use super::{StoreError, TokenStore};
use crate::tokens::IssuedToken;

/// Tokens in this process's memory: what a
/// [`TokenSource`](crate::TokenSource) uses when given no store (each
/// source its own). Clones share the tokens, so sources of one process can
/// share one budget; nothing survives a restart.
///
/// ```
/// use line_oauth::{ChannelCredentials, Client, ClientSecret, MemoryStore, ShortLived, TokenSource};
/// let creds = ChannelCredentials::new("1234567890", ClientSecret::new("secret"));
/// let store = MemoryStore::new();
/// // Two sources for one channel, one token between them.
/// let a = TokenSource::builder(ShortLived::new(Client::new(), creds.clone()))
///     .store(store.clone())
///     .build()?;
/// let b = TokenSource::builder(ShortLived::new(Client::new(), creds)).store(store).build()?;
/// # Ok::<(), line_oauth::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct MemoryStore {
    slots: Arc<Mutex<HashMap<String, Slot>>>,
}

/// How many keys it holds, and nothing of them: a registry's store holds
/// every channel's.
impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("keys", &self.slots().len())
            .finish()
    }
}

/// One key's token and lock.
#[derive(Default)]
struct Slot {
    token: Option<IssuedToken>,
    lock: Option<Held>,
}

/// A held lock: its lease number and when it frees itself.
struct Held {
    lease: u64,
    until: Instant,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn slots(&self) -> MutexGuard<'_, HashMap<String, Slot>> {
        // Every change is one assignment: consistent even after a panic.
        self.slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A lease on a [`MemoryStore`] lock.
#[derive(Debug)]
pub struct MemoryLease(u64);

impl TokenStore for MemoryStore {
    type Lease = MemoryLease;

    fn name(&self) -> &'static str {
        "memory"
    }

    async fn load(&self, key: &str) -> Result<Option<IssuedToken>, StoreError> {
        Ok(self.slots().get(key).and_then(|slot| slot.token.clone()))
    }

    async fn lock(&self, key: &str, ttl: Duration) -> Result<Option<MemoryLease>, StoreError> {
        static LEASES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let now = Instant::now();
        let mut slots = self.slots();
        let slot = slots.entry(key.to_owned()).or_default();
        if slot.lock.as_ref().is_some_and(|held| now < held.until) {
            return Ok(None);
        }
        let lease = LEASES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        slot.lock = Some(Held {
            lease,
            until: now.checked_add(ttl).unwrap_or(now),
        });
        Ok(Some(MemoryLease(lease)))
    }

    async fn unlock(
        &self,
        key: &str,
        lease: MemoryLease,
        save: Option<&IssuedToken>,
    ) -> Result<(), StoreError> {
        let now = Instant::now();
        let mut slots = self.slots();
        let slot = slots.entry(key.to_owned()).or_default();
        let held = slot
            .lock
            .as_ref()
            .is_some_and(|held| held.lease == lease.0 && now < held.until);
        if !held {
            return Err(StoreError::lock_lost(key));
        }
        slot.lock = None;
        if let Some(token) = save {
            slot.token = Some(token.clone());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::AccessToken;

    fn token(value: &str) -> IssuedToken {
        IssuedToken::new(AccessToken::new(value), Duration::from_secs(900))
    }

    #[tokio::test]
    async fn one_holder_at_a_time_and_a_lock_frees_itself() {
        let store = MemoryStore::new();
        let ttl = Duration::from_secs(60);
        let lease = store.lock("k", ttl).await.unwrap().unwrap();
        assert!(store.lock("k", ttl).await.unwrap().is_none());
        assert!(store.lock("other", ttl).await.unwrap().is_some());
        store.unlock("k", lease, Some(&token("t1"))).await.unwrap();
        let loaded = store.load("k").await.unwrap().unwrap();
        assert_eq!(loaded.access_token.expose_secret(), "t1");

        // A lock that lapses by itself, in real time: line-oauth's
        // dev-dependencies leave out tokio's test clock, which would slow
        // every timer of the bench example built with them.
        let short = Duration::from_millis(20);
        let stale = store.lock("k", short).await.unwrap().unwrap();
        tokio::time::sleep(short).await;
        let taker = store.lock("k", ttl).await.unwrap().unwrap();
        let lost = store.unlock("k", stale, Some(&token("t2"))).await;
        assert_eq!(
            lost.unwrap_err().kind(),
            super::super::StoreErrorKind::LockLost
        );
        store.unlock("k", taker, None).await.unwrap();
        let kept = store.load("k").await.unwrap().unwrap();
        assert_eq!(kept.access_token.expose_secret(), "t1");
    }
}
