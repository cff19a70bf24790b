//! `RedisStore` against a real `redis-server`: tokens with absurd
//! lifetimes are shared and their keys expire within LINE's longest
//! lifetime; values another application left under the token key are
//! damage, replaced; a store outlives the tokio runtime it first ran on.

mod support;

use std::time::Duration;

use line_oauth::{
    AccessToken, EncryptionKey, Error, IssuedToken, RedisStore, TokenProvider, TokenSource,
    TokenStore,
};
use support::redis_server::{Redis, redis};
use support::{CHANNEL, Capture};
use tracing_subscriber::filter::LevelFilter;

/// Tokens of one lifetime, counted, named like the crate's short-lived ones.
#[derive(Debug)]
struct Lifetime {
    lifetime: Duration,
    issued: std::sync::atomic::AtomicUsize,
}

impl Lifetime {
    fn new(lifetime: Duration) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self {
            lifetime,
            issued: Default::default(),
        })
    }

    fn issued(&self) -> usize {
        self.issued.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[derive(Debug)]
struct Shared(std::sync::Arc<Lifetime>);

impl TokenProvider for Shared {
    async fn issue(&self) -> Result<IssuedToken, Error> {
        let n = self
            .0
            .issued
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(IssuedToken::new(
            AccessToken::new(format!("token-{n}")),
            self.0.lifetime,
        ))
    }

    fn store_key(&self) -> Option<String> {
        Some(format!("short-lived:{CHANNEL}"))
    }
}

fn prefix() -> String {
    format!("test-{}", rand::random::<u64>())
}

fn source(
    redis: &Redis,
    prefix: &str,
    key: &EncryptionKey,
    provider: &std::sync::Arc<Lifetime>,
) -> TokenSource {
    let store = RedisStore::new(&redis.url, key)
        .unwrap()
        .with_prefix(prefix);
    TokenSource::builder(Shared(std::sync::Arc::clone(provider)))
        .store(store)
        .build()
        .unwrap()
}

async fn connection(redis: &Redis) -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis.url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

#[tokio::test]
async fn tokens_with_absurd_lifetimes_are_shared_and_their_keys_expire_within_30_days() {
    let Some(redis) = redis("absurd_lifetimes") else {
        return;
    };
    let key = EncryptionKey::generate();
    let mut db = connection(&redis).await;
    for seconds in [10_000_000_000_000_000, u64::MAX] {
        let prefix = prefix();
        let provider = Lifetime::new(Duration::from_secs(seconds));
        let first = source(&redis, &prefix, &key, &provider)
            .token()
            .await
            .unwrap();
        // Another replica finds it at once: saved, and the lock released.
        let second = source(&redis, &prefix, &key, &provider)
            .token()
            .await
            .unwrap();
        assert_eq!(
            first.access_token().expose_secret(),
            second.access_token().expose_secret()
        );
        assert_eq!(provider.issued(), 1, "{seconds} s");
        let token_key = format!("{prefix}:{{short-lived:{CHANNEL}}}:token");
        let ttl_ms: i64 = redis::cmd("PTTL")
            .arg(&token_key)
            .query_async(&mut db)
            .await
            .unwrap();
        assert!(ttl_ms > 0 && ttl_ms <= 30 * 24 * 3600 * 1000, "{ttl_ms}");
        let locked: bool = redis::cmd("EXISTS")
            .arg(format!("{prefix}:{{short-lived:{CHANNEL}}}:lock"))
            .query_async(&mut db)
            .await
            .unwrap();
        assert!(!locked);
    }
}

#[tokio::test]
async fn what_another_application_left_under_the_token_key_is_replaced() {
    let Some(redis) = redis("foreign_values") else {
        return;
    };
    let capture = Capture::install(LevelFilter::WARN);
    let key = EncryptionKey::generate();
    let mut db = connection(&redis).await;
    let prefix = prefix();
    let token_key = format!("{prefix}:{{short-lived:{CHANNEL}}}:token");
    let store = RedisStore::new(&redis.url, &key)
        .unwrap()
        .with_prefix(&prefix);
    let name = format!("short-lived:{CHANNEL}");
    // 96 MiB, made by Redis itself: read 64 KiB at most, then replaced.
    let _: () = redis::cmd("SETRANGE")
        .arg(&token_key)
        .arg(96 << 20)
        .arg("x")
        .query_async(&mut db)
        .await
        .unwrap();
    assert!(store.load(&name).await.unwrap().is_none());
    let provider = Lifetime::new(Duration::from_secs(900));
    source(&redis, &prefix, &key, &provider)
        .token()
        .await
        .unwrap();
    assert!(store.load(&name).await.unwrap().is_some());
    // A hash: damage too, replaced.
    let _: () = redis::cmd("DEL")
        .arg(&token_key)
        .query_async(&mut db)
        .await
        .unwrap();
    let _: () = redis::cmd("HSET")
        .arg(&token_key)
        .arg("field")
        .arg("value")
        .query_async(&mut db)
        .await
        .unwrap();
    assert!(store.load(&name).await.unwrap().is_none());
    source(&redis, &prefix, &key, &provider)
        .token()
        .await
        .unwrap();
    assert!(store.load(&name).await.unwrap().is_some());
    assert_eq!(provider.issued(), 2);
    let logs = capture.text();
    assert!(logs.contains("larger than 64 KiB"), "{logs}");
    assert!(logs.contains("not a string"), "{logs}");
    assert!(!logs.contains("out of reach"), "never degraded: {logs}");
}

/// An application (or a test suite) makes a runtime, uses the store, drops
/// the runtime and makes another. The store's connection ran on the first:
/// the first call on the second must not fail (and issue a token of its
/// own), but connect again.
#[test]
fn a_store_outlives_the_runtime_it_first_ran_on() {
    let Some(redis) = redis("two_runtimes") else {
        return;
    };
    let key = EncryptionKey::generate();
    let prefix = prefix();
    let store = RedisStore::new(&redis.url, &key)
        .unwrap()
        .with_prefix(&prefix);
    let provider = Lifetime::new(Duration::from_secs(900));
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    };
    let build = || {
        TokenSource::builder(Shared(std::sync::Arc::clone(&provider)))
            .store(store.clone())
            .build()
            .unwrap()
    };
    let first = runtime().block_on(async { build().token().await.unwrap() });
    // The first runtime is gone; its connection's tasks with it.
    let second = runtime().block_on(async {
        tokio::time::timeout(Duration::from_secs(5), build().token())
            .await
            .unwrap()
            .unwrap()
    });
    assert_eq!(
        first.access_token().expose_secret(),
        second.access_token().expose_secret()
    );
    assert_eq!(
        provider.issued(),
        1,
        "the second runtime read the shared token"
    );
}
