//! Peak memory while reading a 96 MiB value another application left under
//! a token key: the store reads 64 KiB at most. One test in this file, so
//! the process's high-water mark is this scenario's.

#![cfg(target_os = "linux")]

mod support;

use line_oauth::{EncryptionKey, RedisStore, TokenStore};
use line_oauth_tests::peak_rss_kib;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_value_under_the_token_key_keeps_peak_memory_under_50_mib() {
    let Some(redis) = support::redis_server::redis("huge_redis_value") else {
        return;
    };
    let prefix = format!("test-{}", rand::random::<u64>());
    let name = "short-lived:1234567890";
    // Made by Redis itself, so this process never holds it.
    let mut db = redis::Client::open(redis.url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = redis::cmd("SETRANGE")
        .arg(format!("{prefix}:{{{name}}}:token"))
        .arg(96 << 20)
        .arg("x")
        .query_async(&mut db)
        .await
        .unwrap();
    let store = RedisStore::new(&redis.url, &EncryptionKey::generate())
        .unwrap()
        .with_prefix(&prefix);
    assert!(store.load(name).await.unwrap().is_none(), "read as damage");
    let peak = peak_rss_kib();
    println!("peak RSS while reading a 96 MiB token value: {peak} KiB");
    assert!(peak < 50 * 1024, "peak RSS {peak} KiB");
}
