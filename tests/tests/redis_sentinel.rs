//! `RedisStore` through Redis Sentinel, on real servers the test starts (a
//! master, its replica, three sentinels): sources share the master's token,
//! and when the master is killed and the sentinels promote the replica, the
//! store follows them to it.

mod support;

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use line_oauth::{EncryptionKey, RedisStore, ShortLived, TokenSource, TokenStore};
use support::redis_sentinel::{MASTER, RedisSentinel};
use support::{CHANNEL, issue_through_store, setup};

/// A channel whose token is first issued after the failover.
const OTHER: &str = "2222222222";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_follows_the_master_sentinel_names_through_a_failover() {
    let Some(mut redis) = RedisSentinel::start("redis_sentinel") else {
        return;
    };
    let s = setup().await;
    let key = EncryptionKey::generate();
    let prefix = format!("sentinel-{}", rand::random::<u32>());
    let urls = redis.sentinel_urls();
    let store = RedisStore::sentinel(urls.iter().map(String::as_str), MASTER, &key)
        .unwrap()
        .with_prefix(&prefix);
    let source = |store: &RedisStore| {
        TokenSource::builder(ShortLived::new(s.client.clone(), s.creds.clone()))
            .store(store.clone())
            .build()
            .unwrap()
    };
    let (a, b) = (source(&store), source(&store));
    let tokens = join_all((0..10).flat_map(|_| [a.token(), b.token()])).await;
    let first = tokens[0]
        .as_ref()
        .unwrap()
        .access_token()
        .expose_secret()
        .to_owned();
    assert!(
        tokens
            .iter()
            .all(|t| t.as_ref().unwrap().access_token().expose_secret() == first)
    );
    assert_eq!(s.fake.issued_count(), 1);
    let store_key = format!("short-lived:{CHANNEL}");
    let token_key = store.token_key(&store_key);
    let on_master = redis.cli(redis.master_port(), &["EXISTS", &token_key]);
    assert_eq!(on_master.trim(), "1", "not on the master");

    // The master dies; the sentinels promote the replica.
    redis.sync_replica();
    redis.kill_master();
    let killed = Instant::now();
    redis.wait_for_promotion();
    println!("promoted {:?} after the kill", killed.elapsed());

    // The store finds the new master (the first call may still meet the
    // dead one) and the token replicated there.
    let mut found = None;
    for _ in 0..50 {
        match store.load(&store_key).await {
            Ok(Some(token)) => {
                found = Some(token);
                break;
            }
            Ok(None) => panic!("the new master lacks the token"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let found = found.expect("the store reached the new master within 5 s");
    assert_eq!(found.access_token().expose_secret(), first);

    // Issuance goes through the new master: another channel's token is
    // locked for, issued and stored there.
    issue_through_store(&s, &store, OTHER).await;
    let other_key = format!("short-lived:{OTHER}");
    let on_new_master = redis.cli(
        redis.replica_port(),
        &["EXISTS", &store.token_key(&other_key)],
    );
    assert_eq!(on_new_master.trim(), "1");
    assert_eq!(s.fake.issued_count(), 2);
}

/// A master that hangs (SIGSTOP) answers nothing, and its connections stay
/// open: operations run into the store timeout. Each one cut off so marks
/// the store failed, and once the sentinels promote the replica the store
/// asks them and moves there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_cut_off_by_a_hung_master_send_the_store_to_the_promoted_replica() {
    let Some(redis) = RedisSentinel::start("redis_sentinel_hung") else {
        return;
    };
    let s = setup().await;
    let key = EncryptionKey::generate();
    let urls = redis.sentinel_urls();
    let store = RedisStore::sentinel(urls.iter().map(String::as_str), MASTER, &key)
        .unwrap()
        .with_prefix(&format!("hung-{}", rand::random::<u32>()));
    let source = TokenSource::builder(ShortLived::new(s.client.clone(), s.creds.clone()))
        .store(store.clone())
        .build()
        .unwrap();
    let first = source.token().await.unwrap();
    redis.sync_replica();
    redis.hang_master();
    let hung = Instant::now();
    redis.wait_for_promotion();
    println!("promoted {:?} after the hang", hung.elapsed());

    // As a source would: each operation cut off at the default store
    // timeout (2 s), until one answers from the new master.
    let store_key = format!("short-lived:{CHANNEL}");
    let mut found = None;
    while found.is_none() && hung.elapsed() < Duration::from_secs(30) {
        let bounded =
            tokio::time::timeout(TokenSource::DEFAULT_STORE_TIMEOUT, store.load(&store_key));
        if let Ok(Ok(token)) = bounded.await {
            found = token;
        }
    }
    let found = found.expect("the store reached the new master within 30 s");
    assert_eq!(
        found.access_token().expose_secret(),
        first.access_token().expose_secret()
    );
    println!("on the new master {:?} after the hang", hung.elapsed());
}
