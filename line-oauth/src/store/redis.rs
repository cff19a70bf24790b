//! [`RedisStore`]: one token for a fleet, in Redis.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{SentinelClient, SentinelServerType};
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::{Mutex, oneshot};

use super::sealed::{Sealer, Unsealed};
use super::{EncryptionKey, StoreError, TokenStore};
use crate::tokens::{IssuedToken, MAX_LIFETIME};

/// How long connecting, or one command, may take.
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);
/// How often, at most, the sentinels are asked for the master.
const SENTINEL_ASK_EVERY: Duration = Duration::from_secs(1);
/// Largest token record read: a sealed token is well under 4 KiB.
const RECORD_LIMIT: usize = 64 * 1024;
/// Longest a token key lives: LINE's longest token, whatever a server says.
const MAX_TTL: Duration = MAX_LIFETIME;

/// Releases a lock only for its holder, first saving the sealed token
/// (`ARGV[2]`, unless empty) to live `ARGV[3]` milliseconds. The lock goes
/// even when the save fails: 1 when saved (or nothing to save), 2 when the
/// save failed, 0 when the lock was not the caller's.
const UNLOCK: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local saved = true
if ARGV[2] ~= '' then saved = pcall(redis.call, 'SET', KEYS[2], ARGV[2], 'PX', ARGV[3]) end
redis.call('DEL', KEYS[1])
if saved then return 1 end
return 2
";

/// Tokens in Redis, encrypted: one token, and one issuance at a time, for
/// every replica of a bot (feature `redis`; `redis-tls` for `rediss://`).
///
/// - Keys are `<prefix>:{<store key>}:token` and `<prefix>:{<store key>}:lock`,
///   the prefix `line-oauth` unless set ([`RedisStore::with_prefix`]); a
///   token key expires with its token. The braces are a hash tag: a
///   channel's two keys live in one hash slot, as the script that touches
///   both needs on Redis Cluster (a prefix holding `{}`, or an empty store
///   key, would defeat it).
/// - The issuance lock is `SET NX PX` with a random value, released (by a
///   script) only by its holder: a crashed holder's lock runs out after the
///   source's lock TTL.
/// - Waiting replicas poll, with jitter and a growing interval (20 ms up to
///   500 ms), only while another holds the lock.
/// - The connection is made at first use and remade after a failure;
///   meanwhile sources issue for themselves (degraded mode). It runs on the
///   tokio runtime that made it; once that runtime is gone, the next call
///   makes a new one on its own runtime.
/// - A record is read 64 KiB at most: a larger value under the token key
///   (or a value of another type) is damage, logged and replaced.
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
    target: Target,
    connection: Mutex<Option<Connection>>,
    /// Set while the last operation has not succeeded (it failed, timed
    /// out or runs): with Sentinel, the next call asks the sentinels for the
    /// master again (it may have moved).
    failed: AtomicBool,
    /// When the sentinels were last asked.
    asked_at: std::sync::Mutex<Option<std::time::Instant>>,
    sealer: Sealer,
}

/// Where the store's Redis is.
enum Target {
    /// One server (or an endpoint in front of several).
    Node(redis::Client),
    /// A Redis Cluster, known by some of its nodes: the client follows its
    /// redirections (`MOVED`, `ASK`) and its failovers.
    Cluster(ClusterClient),
    /// The master that Redis Sentinel names, asked again after a failure.
    Sentinel(Mutex<SentinelClient>),
}

/// A connection, and a sign that the runtime it runs on lives: a task of
/// that runtime holds the other end, and is dropped with it (or ends when
/// the store does).
struct Connection {
    link: Link,
    runtime: oneshot::Sender<()>,
}

/// A live connection to the target; clones share it.
#[derive(Clone)]
enum Link {
    Node(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Link {
    fn req_packed_command<'a>(
        &'a mut self,
        cmd: &'a redis::Cmd,
    ) -> redis::RedisFuture<'a, redis::Value> {
        match self {
            Self::Node(node) => node.req_packed_command(cmd),
            Self::Cluster(cluster) => cluster.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match self {
            Self::Node(node) => node.req_packed_commands(pipeline, offset, count),
            Self::Cluster(cluster) => cluster.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Node(node) => node.get_db(),
            Self::Cluster(cluster) => cluster.get_db(),
        }
    }
}

impl RedisStore {
    /// A store on the Redis at `url` (`redis://[user:password@]host[:port][/db]`,
    /// or `rediss://` with feature `redis-tls`); tokens are encrypted under
    /// `key`. Nothing is connected yet.
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Setup`](crate::StoreErrorKind::Setup) when the URL
    /// is not a Redis URL; the message does not repeat it (it may hold a
    /// password).
    pub fn new(url: &str, key: &EncryptionKey) -> Result<Self, StoreError> {
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
    ) -> Result<Self, StoreError> {
        Self::build(url, Sealer::new(key, Some(previous)))
    }

    /// A store on a Redis Cluster, known by the URLs of some of its nodes
    /// (one is enough; more let it start while some are down). Redirections
    /// and failovers inside the cluster are followed. Tokens are encrypted
    /// under `key`.
    ///
    /// ```no_run
    /// # let key = line_oauth::EncryptionKey::generate();
    /// let nodes = ["redis://10.0.0.1:6379", "redis://10.0.0.2:6379", "redis://10.0.0.3:6379"];
    /// let store = line_oauth::RedisStore::cluster(nodes, &key)?;
    /// # Ok::<(), line_oauth::StoreError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Setup`](crate::StoreErrorKind::Setup) when no URL
    /// is given or one is not a Redis URL (the message repeats none).
    pub fn cluster<'a>(
        nodes: impl IntoIterator<Item = &'a str>,
        key: &EncryptionKey,
    ) -> Result<Self, StoreError> {
        let nodes = nodes
            .into_iter()
            .map(redis::IntoConnectionInfo::into_connection_info)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| not_a_url(&e))?;
        if nodes.is_empty() {
            return Err(StoreError::setup(
                "a Redis Cluster needs at least one node's URL",
            ));
        }
        let client = ClusterClient::builder(nodes)
            .connection_timeout(REDIS_TIMEOUT)
            .response_timeout(REDIS_TIMEOUT)
            .build()
            .map_err(|e| not_a_url(&e))?;
        Ok(Self::on(Target::Cluster(client), Sealer::new(key, None)))
    }

    /// A store on the master of the Redis that Sentinel watches under
    /// `master`, found through the sentinels at `sentinels` (their URLs:
    /// one is enough, more let it start while some are down). After a
    /// failed or timed-out operation the store asks them again (at most
    /// once a second), so a failover moves it to the new master. Tokens are
    /// encrypted under `key`. The master is reached in plain Redis, without
    /// a password, on database 0.
    ///
    /// ```no_run
    /// # let key = line_oauth::EncryptionKey::generate();
    /// let sentinels = ["redis://10.0.0.1:26379", "redis://10.0.0.2:26379", "redis://10.0.0.3:26379"];
    /// let store = line_oauth::RedisStore::sentinel(sentinels, "bot-tokens", &key)?;
    /// # Ok::<(), line_oauth::StoreError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Setup`](crate::StoreErrorKind::Setup) when no URL
    /// is given or one is not a Redis URL (the message repeats none).
    pub fn sentinel<'a>(
        sentinels: impl IntoIterator<Item = &'a str>,
        master: &str,
        key: &EncryptionKey,
    ) -> Result<Self, StoreError> {
        let sentinels: Vec<&str> = sentinels.into_iter().collect();
        if sentinels.is_empty() {
            return Err(StoreError::setup(
                "Sentinel needs at least one sentinel's URL",
            ));
        }
        let client = SentinelClient::build(
            sentinels,
            String::from(master),
            None,
            SentinelServerType::Master,
        )
        .map_err(|e| not_a_url(&e))?;
        Ok(Self::on(
            Target::Sentinel(Mutex::new(client)),
            Sealer::new(key, None),
        ))
    }

    /// A store on the Redis at `url` (`rediss://`) with TLS set by `tls`:
    /// a CA of your own, a client certificate (feature `redis-tls`).
    ///
    /// ```no_run
    /// # fn run(key: &line_oauth::EncryptionKey) -> Result<(), line_oauth::StoreError> {
    /// let tls = line_oauth::RedisTls::new().ca_file("/etc/redis/ca.pem")?;
    /// let store = line_oauth::RedisStore::new_tls("rediss://redis.internal:6380/", key, &tls)?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`RedisStore::new`]; also when the PEM in `tls` does not parse.
    #[cfg(feature = "redis-tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis-tls")))]
    pub fn new_tls(
        url: &str,
        key: &EncryptionKey,
        tls: &super::RedisTls,
    ) -> Result<Self, StoreError> {
        let client = redis::Client::build_with_tls(url, tls.certificates()).map_err(|e| {
            StoreError::setup(format!(
                "not a usable Redis URL or TLS certificates ({:?})",
                e.kind()
            ))
        })?;
        Ok(Self::on(Target::Node(client), Sealer::new(key, None)))
    }

    fn build(url: &str, sealer: Sealer) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(|e| not_a_url(&e))?;
        Ok(Self::on(Target::Node(client), sealer))
    }

    fn on(target: Target, sealer: Sealer) -> Self {
        Self {
            prefix: Arc::from("line-oauth"),
            shared: Arc::new(Shared {
                target,
                connection: Mutex::new(None),
                failed: AtomicBool::new(false),
                asked_at: std::sync::Mutex::new(None),
                sealer,
            }),
        }
    }

    /// The same store with its keys under `prefix` (default `line-oauth`),
    /// so that several bots or environments can share one Redis.
    ///
    /// ```
    /// # let key = line_oauth::EncryptionKey::generate();
    /// let store = line_oauth::RedisStore::new("redis://127.0.0.1/", &key)?.with_prefix("staging");
    /// assert_eq!(store.token_key("short-lived:1"), "staging:{short-lived:1}:token");
    /// # Ok::<(), line_oauth::Error>(())
    /// ```
    #[must_use]
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        self.prefix = Arc::from(prefix);
        self
    }

    /// The Redis key holding the token of `key`; its lock's key differs
    /// only in its last part, and shares its hash tag (`{key}`).
    pub fn token_key(&self, key: &str) -> String {
        format!("{}:{{{key}}}:token", self.prefix)
    }

    fn lock_key(&self, key: &str) -> String {
        format!("{}:{{{key}}}:lock", self.prefix)
    }

    /// Marks the store failed until `Attempt::succeeded`: an operation that
    /// errs, or is dropped (a store timeout on a master that hangs), leaves
    /// the mark, and with Sentinel the next call asks for the master again.
    fn attempt(&self) -> Attempt<'_> {
        Attempt(&self.shared.failed)
    }

    /// `error`, as the store reports it.
    fn failed(&self, error: &redis::RedisError) -> StoreError {
        unavailable(error)
    }

    /// The connection, made on the current runtime when there is none or
    /// the runtime it ran on is gone (or, with Sentinel, after a failure).
    async fn connection(&self) -> Result<Link, StoreError> {
        let mut slot = self.shared.connection.lock().await;
        let live = slot
            .as_ref()
            .filter(|c| !c.runtime.is_closed())
            .map(|c| c.link.clone());
        let ask_again = matches!(self.shared.target, Target::Sentinel(_))
            && self.shared.failed.load(Ordering::Acquire)
            && self.may_ask_sentinels();
        match live {
            Some(link) if !ask_again => Ok(link),
            live => match self.connect().await {
                Ok(link) => {
                    let (runtime, lives) = oneshot::channel::<()>();
                    tokio::spawn(async move {
                        let _ = lives.await;
                    });
                    *slot = Some(Connection {
                        link: link.clone(),
                        runtime,
                    });
                    self.shared.failed.store(false, Ordering::Release);
                    Ok(link)
                }
                // The sentinels did not answer: the master we have may
                // still be the master.
                Err(error) => live.filter(|_| ask_again).ok_or(error),
            },
        }
    }

    /// Whether the sentinels may be asked now: at most once a second,
    /// so that a store whose sentinels are down does not ask on every call.
    fn may_ask_sentinels(&self) -> bool {
        let mut asked = self
            .shared
            .asked_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = std::time::Instant::now();
        if asked.is_some_and(|at| now.duration_since(at) < SENTINEL_ASK_EVERY) {
            return false;
        }
        *asked = Some(now);
        true
    }

    /// A new connection to the target (for Sentinel, to the master the
    /// sentinels name now).
    async fn connect(&self) -> Result<Link, StoreError> {
        let node_config = || {
            ConnectionManagerConfig::new()
                .set_connection_timeout(Some(REDIS_TIMEOUT))
                .set_response_timeout(Some(REDIS_TIMEOUT))
                .set_number_of_retries(1)
        };
        Ok(match &self.shared.target {
            Target::Node(client) => {
                let manager = client
                    .get_connection_manager_with_config(node_config())
                    .await;
                Link::Node(manager.map_err(|e| unavailable(&e))?)
            }
            Target::Cluster(client) => {
                let cluster = client.get_async_connection().await;
                Link::Cluster(cluster.map_err(|e| unavailable(&e))?)
            }
            Target::Sentinel(sentinel) => {
                let master = sentinel.lock().await.async_get_client().await;
                let master = master.map_err(|e| unavailable(&e))?;
                let manager = master
                    .get_connection_manager_with_config(node_config())
                    .await;
                Link::Node(manager.map_err(|e| unavailable(&e))?)
            }
        })
    }
}

/// An operation on the store in progress: marks the store failed unless it
/// ends in [`succeeded`](Self::succeeded).
struct Attempt<'a>(&'a AtomicBool);

impl Attempt<'_> {
    /// The store answered.
    fn succeeded(self) {
        self.0.store(false, Ordering::Release);
        std::mem::forget(self);
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// A held [`RedisStore`] lock: the random value it was set with.
#[derive(Debug)]
pub struct RedisLease {
    value: String,
}

impl TokenStore for RedisStore {
    type Lease = RedisLease;

    fn name(&self) -> &'static str {
        "redis"
    }

    async fn load(&self, key: &str) -> Result<Option<IssuedToken>, StoreError> {
        let name = self.token_key(key);
        let attempt = self.attempt();
        let mut connection = self.connection().await?;
        // One byte more than a record may have: a longer value is damage.
        let read: Result<Vec<u8>, _> = redis::cmd("GETRANGE")
            .arg(&name)
            .arg(0)
            .arg(RECORD_LIMIT)
            .query_async(&mut connection)
            .await;
        let record = match read {
            Ok(record) => record,
            Err(e) if e.code() == Some("WRONGTYPE") => {
                attempt.succeeded();
                return Unsealed::Corrupt("not a string").into_store_result(&name);
            }
            Err(e) => return Err(self.failed(&e)),
        };
        attempt.succeeded();
        if record.is_empty() {
            return Ok(None);
        }
        if record.len() > RECORD_LIMIT {
            return Unsealed::Corrupt("larger than 64 KiB").into_store_result(&name);
        }
        match self.shared.sealer.open(key, &record) {
            Ok(token) => Ok(Some(token)),
            Err(unsealed) => unsealed.into_store_result(&name),
        }
    }

    async fn lock(&self, key: &str, ttl: Duration) -> Result<Option<RedisLease>, StoreError> {
        let attempt = self.attempt();
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
            .map_err(|e| self.failed(&e))?;
        if taken.is_some() {
            attempt.succeeded();
            return Ok(Some(RedisLease { value }));
        }
        // Refused: someone holds it, unless a client retry resent our SET
        // after the first one had taken it.
        let holder: Option<String> = redis::cmd("GET")
            .arg(self.lock_key(key))
            .query_async(&mut connection)
            .await
            .map_err(|e| self.failed(&e))?;
        attempt.succeeded();
        Ok((holder.as_deref() == Some(value.as_str())).then_some(RedisLease { value }))
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
                    .unwrap_or_default()
                    .min(MAX_TTL);
                let ttl_ms = u64::try_from(left.as_millis()).unwrap_or(u64::MAX).max(1);
                (self.shared.sealer.seal(key, token)?, ttl_ms)
            }
            None => (Vec::new(), 0),
        };
        let attempt = self.attempt();
        let mut connection = self.connection().await?;
        // EVAL, not EVALSHA: on a cluster, a node that never saw the script
        // would need it loaded on every node, which fails while one is down.
        let released: i64 = redis::cmd("EVAL")
            .arg(UNLOCK)
            .arg(2)
            .arg(self.lock_key(key))
            .arg(self.token_key(key))
            .arg(&lease.value)
            .arg(sealed)
            .arg(ttl_ms)
            .query_async(&mut connection)
            .await
            .map_err(|e| self.failed(&e))?;
        attempt.succeeded();
        match released {
            1 => Ok(()),
            2 => Err(StoreError::unavailable(format!(
                "redis refused to save {}",
                self.token_key(key)
            ))),
            _ => Err(StoreError::lock_lost(&self.lock_key(key))),
        }
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the URL: it may hold a password.
        let target = match self.shared.target {
            Target::Node(_) => "node",
            Target::Cluster(_) => "cluster",
            Target::Sentinel(_) => "sentinel",
        };
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("target", &target)
            .finish_non_exhaustive()
    }
}

/// A URL the client refused, named by the kind of fault only: a URL may
/// hold a password.
fn not_a_url(error: &redis::RedisError) -> StoreError {
    StoreError::setup(format!("not a usable Redis URL ({:?})", error.kind()))
}

fn unavailable(error: &redis::RedisError) -> StoreError {
    StoreError::unavailable(format!("redis: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Redis Cluster hashes of `key`: the part between the first `{`
    /// and the next `}`, when that is not empty; else the whole key.
    fn hashed(key: &str) -> &str {
        key.find('{')
            .and_then(|open| {
                let rest = &key[open + 1..];
                rest.find('}')
                    .filter(|&close| close > 0)
                    .map(|close| &rest[..close])
            })
            .unwrap_or(key)
    }

    #[test]
    fn a_channels_token_and_lock_keys_hash_to_one_slot_whatever_the_names() {
        let key = EncryptionKey::generate();
        for prefix in ["line-oauth", "staging", "a{b}c", "x{y"] {
            let store = RedisStore::new("redis://127.0.0.1/", &key)
                .unwrap()
                .with_prefix(prefix);
            for name in ["short-lived:1234567890", "v21:1", "odd{key}", "a}b"] {
                let (token, lock) = (store.token_key(name), store.lock_key(name));
                assert_ne!(token, lock);
                assert_eq!(hashed(&token), hashed(&lock), "{token} / {lock}");
            }
        }
        let store = RedisStore::new("redis://127.0.0.1/", &key).unwrap();
        assert_eq!(hashed(&store.token_key("v21:42")), "v21:42");
    }
}
