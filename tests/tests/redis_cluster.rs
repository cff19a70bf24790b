//! `RedisStore` on a real Redis Cluster of three masters, made by the test
//! (`redis-cli --cluster create`): sources given one seed node share one
//! token, however the slots fall, as on a single server.

mod support;

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use line_oauth::{EncryptionKey, RedisStore, ShortLived, TokenSource, TokenStore};
use support::redis_cluster::RedisCluster;
use support::{CHANNEL, issue_through_store, setup};

/// Replicas sharing the cluster, and callers per replica.
const REPLICAS: usize = 3;
const CALLERS: usize = 20;
/// A second channel, whose keys fall in another slot.
const OTHER: &str = "2222222222";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_given_one_seed_node_share_one_token_through_the_cluster() {
    let Some(cluster) = RedisCluster::start("redis_cluster", 3) else {
        return;
    };
    let s = setup().await;
    let key = EncryptionKey::generate();
    let prefix = format!("cluster-{}", rand::random::<u32>());
    let seeds = cluster.urls();
    // As an operator would: each replica pointed at one node, not all.
    let replicas: Vec<TokenSource> = (0..REPLICAS)
        .map(|i| {
            let store = RedisStore::cluster([seeds[i % seeds.len()].as_str()], &key)
                .unwrap()
                .with_prefix(&prefix);
            TokenSource::builder(ShortLived::new(s.client.clone(), s.creds.clone()))
                .store(store)
                .build()
                .unwrap()
        })
        .collect();
    let calls = replicas
        .iter()
        .flat_map(|source| (0..CALLERS).map(move |_| source.token()));
    let tokens: Vec<_> = join_all(calls)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let first = tokens[0].access_token().expose_secret();
    assert!(
        tokens
            .iter()
            .all(|t| t.access_token().expose_secret() == first),
        "the replicas serve different tokens"
    );
    println!(
        "{} callers on {REPLICAS} replicas: {} issuance(s)",
        REPLICAS * CALLERS,
        s.fake.issued_count()
    );
    assert_eq!(s.fake.issued_count(), 1, "one issuance for the whole fleet");
    for source in &replicas {
        assert!(!source.health().is_degraded(), "a replica fell back");
    }

    // The token is in the cluster, where its slot is served, and its lock
    // was released there.
    let store = RedisStore::cluster([seeds[0].as_str()], &key)
        .unwrap()
        .with_prefix(&prefix);
    let store_key = format!("short-lived:{CHANNEL}");
    let stored = store.load(&store_key).await.unwrap().expect("stored");
    assert_eq!(stored.access_token().expose_secret(), first);
    let token_key = store.token_key(&store_key);
    let home = cluster.node_of(&token_key);
    let exists = cluster.cli(home, &["EXISTS", &token_key]);
    assert_eq!(exists.trim(), "1", "not on the node serving its slot");
    let lock_key = token_key.replace(":token", ":lock");
    assert_eq!(
        cluster.node_of(&lock_key),
        home,
        "lock and token slots differ"
    );
    assert_eq!(cluster.cli(home, &["EXISTS", &lock_key]).trim(), "0");

    // Another channel's token goes through its own slot, lock and all.
    issue_through_store(&s, &store, OTHER).await;
    assert_eq!(s.fake.issued_count(), 2);
}

/// A cluster of three masters with a replica each: the master serving the
/// channel's slot is killed, its replica takes over, and the store follows
/// the cluster there (each operation bounded by the default store timeout,
/// as a source bounds it), finding the token replicated to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_follows_the_cluster_when_the_slots_master_dies() {
    let Some(mut cluster) = RedisCluster::start_with_replicas("redis_cluster_failover", 3, 1)
    else {
        return;
    };
    let s = setup().await;
    let key = EncryptionKey::generate();
    let seeds = cluster.urls();
    let store = RedisStore::cluster(seeds.iter().map(String::as_str), &key)
        .unwrap()
        .with_prefix(&format!("failover-{}", rand::random::<u32>()));
    let source = TokenSource::builder(ShortLived::new(s.client.clone(), s.creds.clone()))
        .store(store.clone())
        .build()
        .unwrap();
    let first = source.token().await.unwrap();
    let store_key = format!("short-lived:{CHANNEL}");
    let token_key = store.token_key(&store_key);
    let master = cluster.node_of(&token_key);
    let acked = cluster.cli(master, &["WAIT", "1", "2000"]);
    assert_eq!(acked.trim(), "1", "the replica did not acknowledge");

    cluster.kill(master);
    let killed = Instant::now();
    cluster.wait_for_failover(&token_key, master);
    println!(
        "the replica took over {:?} after the kill",
        killed.elapsed()
    );

    let mut found = None;
    while found.is_none() && killed.elapsed() < Duration::from_secs(40) {
        let bounded =
            tokio::time::timeout(TokenSource::DEFAULT_STORE_TIMEOUT, store.load(&store_key));
        match bounded.await {
            Ok(Ok(token)) => found = token,
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let found = found.expect("the store reached the new master");
    println!("the store read it {:?} after the kill", killed.elapsed());
    assert_eq!(
        found.access_token().expose_secret(),
        first.access_token().expose_secret()
    );

    // And issues through it: another channel's token, locked for and saved.
    issue_through_store(&s, &store, OTHER).await;
    println!("issuances: {}", s.fake.issued_count());
}
