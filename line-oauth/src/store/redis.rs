//! [`RedisStore`]: one token for a fleet, in Redis.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

use super::sealed::Sealer;
use super::{EncryptionKey, StoreError, TokenStore};
use crate::error::Error;
use crate::tokens::IssuedToken;

/// How long connecting, or one command, may take.
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

/// Releases a lock only for its holder, first saving the sealed token
/// (`ARGV[2]`, unless empty) to live `ARGV[3]` milliseconds.
const UNLOCK: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] ~= '' then redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3]) end
redis.call('DEL', KEYS[1])
return 1
";

/// Tokens in Redis, encrypted: one token, and one issuance at a time, for
/// every replica of a bot (feature `redis`; `redis-tls` for `rediss://`).
///
/// - Keys are `<prefix>:<store key>:token` and `<prefix>:<store key>:lock`,
///   the prefix `line-oauth` unless set ([`RedisStore::with_prefix`]); a
///   token key expires with its token.
/// - The issuance lock is `SET NX PX` with a random value, released (by a
///   script) only by its holder: a crashed holder's lock runs out after the
///   source's lock TTL.
/// - Waiting replicas poll, with jitter and a growing interval (20 ms up to
///   500 ms), only while another holds the lock.
/// - The connection is made at first use and remade after a failure;
///   meanwhile sources issue for themselves (degraded mode).
///
/// ```no_run
/// use line_oauth::{EncryptionKey, RedisStore, ShortLived, TokenSource};
/// # fn run(provider: ShortLived) -> Result<(), Box<dyn std::error::Error>> {
/// let key = EncryptionKey::from_base64(&std::env::var("TOKEN_STORE_KEY")?)?;
/// let store = RedisStore::new("redis://redis.internal:6379/0", &key)?;
/// let source = TokenSource::builder(provider).store(store).build()?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    prefix: Arc<str>,
    shared: Arc<Shared>,
}

/// What clones share: the client, its connection, the keys.
struct Shared {
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
    sealer: Sealer,
    unlock: redis::Script,
}

impl RedisStore {
    /// A store on the Redis at `url` (`redis://[user:password@]host[:port][/db]`,
    /// or `rediss://` with feature `redis-tls`); tokens are encrypted under
    /// `key`. Nothing is connected yet.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when the URL is not a Redis URL; the
    /// message does not repeat it (it may hold a password).
    pub fn new(url: &str, key: &EncryptionKey) -> Result<Self, Error> {
        Self::build(url, Sealer::new(key, None))
    }

    /// The same store during a key rotation: it writes under `key` and also
    /// reads tokens written under `previous` (see
    /// [`FileStore::rotating`](crate::FileStore::rotating)).
    ///
    /// # Errors
    ///
    /// As [`RedisStore::new`].
    pub fn rotating(
        url: &str,
        key: &EncryptionKey,
        previous: &EncryptionKey,
    ) -> Result<Self, Error> {
        Self::build(url, Sealer::new(key, Some(previous)))
    }

    fn build(url: &str, sealer: Sealer) -> Result<Self, Error> {
        let client = redis::Client::open(url).map_err(|e| {
            Error::InvalidConfig(format!(
                "redis store: not a usable Redis URL ({:?})",
                e.kind()
            ))
        })?;
        Ok(Self {
            prefix: Arc::from("line-oauth"),
            shared: Arc::new(Shared {
                client,
                connection: OnceCell::new(),
                sealer,
                unlock: redis::Script::new(UNLOCK),
            }),
        })
    }

    /// The same store with its keys under `prefix` (default `line-oauth`),
    /// so that several bots or environments can share one Redis.
    ///
    /// ```
    /// # let key = line_oauth::EncryptionKey::generate();
    /// let store = line_oauth::RedisStore::new("redis://127.0.0.1/", &key)?.with_prefix("staging");
    /// assert_eq!(store.token_key("short-lived:1"), "staging:short-lived:1:token");
    /// # Ok::<(), line_oauth::Error>(())
    /// ```
    #[must_use]
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        self.prefix = Arc::from(prefix);
        self
    }

    /// The Redis key holding the token of `key`.
    pub fn token_key(&self, key: &str) -> String {
        format!("{}:{key}:token", self.prefix)
    }

    fn lock_key(&self, key: &str) -> String {
        format!("{}:{key}:lock", self.prefix)
    }

    async fn connection(&self) -> Result<ConnectionManager, StoreError> {
        self.shared
            .connection
            .get_or_try_init(|| {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(REDIS_TIMEOUT))
                    .set_response_timeout(Some(REDIS_TIMEOUT))
                    .set_number_of_retries(1);
                self.shared
                    .client
                    .get_connection_manager_with_config(config)
            })
            .await
            .cloned()
            .map_err(|e| unavailable(&e))
    }
}

/// A held [`RedisStore`] lock: the random value it was set with.
#[derive(Debug)]
pub struct RedisLease {
    value: String,
}

impl TokenStore for RedisStore {
    type Lease = RedisLease;

    async fn load(&self, key: &str) -> Result<Option<IssuedToken>, StoreError> {
        let name = self.token_key(key);
        let mut connection = self.connection().await?;
        let record: Option<Vec<u8>> = redis::cmd("GET")
            .arg(&name)
            .query_async(&mut connection)
            .await
            .map_err(|e| unavailable(&e))?;
        let Some(record) = record else {
            return Ok(None);
        };
        match self.shared.sealer.open(key, &record) {
            Ok(token) => Ok(Some(token)),
            Err(unsealed) => unsealed.into_store_result(&name),
        }
    }

    async fn lock(&self, key: &str, ttl: Duration) -> Result<Option<RedisLease>, StoreError> {
        let mut connection = self.connection().await?;
        let mut random = [0u8; 16];
        aws_lc_rs::rand::fill(&mut random)
            .map_err(|_| StoreError::unavailable("no random lock value"))?;
        let value: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let taken: Option<String> = redis::cmd("SET")
            .arg(self.lock_key(key))
            .arg(&value)
            .arg("NX")
            .arg("PX")
            .arg(ttl_ms)
            .query_async(&mut connection)
            .await
            .map_err(|e| unavailable(&e))?;
        Ok(taken.map(|_| RedisLease { value }))
    }

    async fn unlock(
        &self,
        key: &str,
        lease: RedisLease,
        save: Option<&IssuedToken>,
    ) -> Result<(), StoreError> {
        let (sealed, ttl_ms) = match save {
            Some(token) => {
                let left = token
                    .expires_at()
                    .duration_since(SystemTime::now())
                    .unwrap_or_default();
                let ttl_ms = u64::try_from(left.as_millis()).unwrap_or(u64::MAX).max(1);
                (self.shared.sealer.seal(key, token)?, ttl_ms)
            }
            None => (Vec::new(), 0),
        };
        let mut connection = self.connection().await?;
        let released: i64 = self
            .shared
            .unlock
            .key(self.lock_key(key))
            .key(self.token_key(key))
            .arg(&lease.value)
            .arg(sealed)
            .arg(ttl_ms)
            .invoke_async(&mut connection)
            .await
            .map_err(|e| unavailable(&e))?;
        if released == 1 {
            Ok(())
        } else {
            Err(StoreError::lock_lost(&self.lock_key(key)))
        }
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the URL: it may hold a password.
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn unavailable(error: &redis::RedisError) -> StoreError {
    StoreError::unavailable(format!("redis: {error}"))
}
