//! Registries across OS processes: replicas of a platform (this test
//! binary, started again as the ignored `replica` test), each with a
//! registry of the same 1,000 channels, share their tokens through a real
//! redis-server, against one fake LINE server.

mod support;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::future::join_all;
use line_oauth::{
    ChannelCredentials, Client, ClientSecret, EncryptionKey, RedisStore, ShortLived, TokenRegistry,
};
use line_oauth_fake::FakeLine;
use serde::{Deserialize, Serialize};

const CHANNELS: u64 = 1000;
const REPLICAS: usize = 4;
/// Concurrent callers per channel in each replica.
const CALLERS: usize = 5;
/// The key every replica seals with (a test key).
const STORE_KEY: &str = "bGluZS1vYXV0aCB0ZXN0IGtleSwgMzIgYnl0ZXMhISE=";

/// What a replica is told, as JSON in `REPLICA_CONFIG`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ReplicaConfig {
    url: String,
    redis: String,
    prefix: String,
    /// When the first calls start (ms since 1970).
    start_at_ms: u64,
    out: PathBuf,
}

/// What a replica reports: the token each channel's callers got.
#[derive(Debug, Serialize, Deserialize)]
struct Report {
    tokens: HashMap<String, String>,
    errors: Vec<String>,
}

fn channel(i: u64) -> String {
    (3_000_000_000 + i).to_string()
}

fn secret_of(channel: &str) -> String {
    format!("secret-of-{channel}")
}

fn ms_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The replica process. Run only by the test below, with `REPLICA_CONFIG`.
#[test]
#[ignore = "a replica process, started by the test of this file"]
fn replica() {
    let config: ReplicaConfig = serde_json::from_str(
        &std::env::var("REPLICA_CONFIG").expect("started by the fleet test with REPLICA_CONFIG"),
    )
    .unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = runtime.block_on(run_replica(&config));
    std::fs::write(&config.out, serde_json::to_vec(&report).unwrap()).unwrap();
}

async fn run_replica(config: &ReplicaConfig) -> Report {
    let client = Client::builder().base_url(&config.url).build().unwrap();
    let key = EncryptionKey::from_base64(STORE_KEY).unwrap();
    let store = RedisStore::new(&config.redis, &key)
        .unwrap()
        .with_prefix(&config.prefix);
    let registry = TokenRegistry::builder(client, |channel: String, client: Client| async move {
        let secret = ClientSecret::new(secret_of(&channel));
        Ok(Some(ShortLived::new(
            client,
            ChannelCredentials::new(channel, secret),
        )))
    })
    .store(store)
    .build()
    .unwrap();
    let wait = config.start_at_ms.saturating_sub(ms_now());
    tokio::time::sleep(Duration::from_millis(wait)).await;
    let calls = (0..CHANNELS).flat_map(|i| {
        (0..CALLERS).map(move |_| channel(i)).map(|channel| {
            let registry = registry.clone();
            tokio::spawn(async move {
                let token = registry.token(&channel).await;
                (
                    channel,
                    token.map(|t| t.access_token().expose_secret().to_owned()),
                )
            })
        })
    });
    let mut report = Report {
        tokens: HashMap::new(),
        errors: Vec::new(),
    };
    for outcome in join_all(calls).await {
        match outcome.unwrap() {
            (channel, Ok(token)) => {
                let first = report
                    .tokens
                    .entry(channel.clone())
                    .or_insert(token.clone());
                if *first != token {
                    report.errors.push(format!("two tokens for {channel}"));
                }
            }
            (channel, Err(error)) => report.errors.push(format!("{channel}: {error}")),
        }
    }
    report
}

#[tokio::test(flavor = "multi_thread")]
async fn four_processes_with_a_thousand_channels_each_issue_once_per_channel_through_redis() {
    let Some(redis) = support::redis_server::redis(
        "four_processes_with_a_thousand_channels_each_issue_once_per_channel_through_redis",
    ) else {
        return;
    };
    let fake = FakeLine::start().await.unwrap();
    for i in 0..CHANNELS {
        let channel = channel(i);
        fake.add_channel(&channel, &secret_of(&channel));
    }
    let dir = tempfile::tempdir().unwrap();
    let config = ReplicaConfig {
        url: fake.url(),
        redis: redis.url.clone(),
        prefix: format!("registry-fleet-{}", rand::random::<u64>()),
        // Time for every process to start and connect first.
        start_at_ms: ms_now() + 1500,
        out: PathBuf::new(),
    };
    let children: Vec<_> = (0..REPLICAS)
        .map(|n| {
            let out = dir.path().join(format!("replica-{n}.json"));
            let config = ReplicaConfig {
                out: out.clone(),
                ..config.clone()
            };
            let child = Command::new(std::env::current_exe().unwrap())
                .args(["--ignored", "--exact", "replica", "--test-threads=1"])
                .env("REPLICA_CONFIG", serde_json::to_string(&config).unwrap())
                .stdout(Stdio::null())
                .spawn()
                .expect("the replica starts");
            (child, out)
        })
        .collect();
    let reports: Vec<Report> = tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|(mut child, out)| {
                assert!(child.wait().unwrap().success(), "a replica failed");
                serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap()
            })
            .collect()
    })
    .await
    .unwrap();
    for report in &reports {
        assert!(
            report.errors.is_empty(),
            "{:?}",
            &report.errors[..3.min(report.errors.len())]
        );
        assert_eq!(report.tokens.len(), CHANNELS as usize);
    }
    for (channel, token) in &reports[0].tokens {
        for other in &reports[1..] {
            assert_eq!(
                other.tokens.get(channel),
                Some(token),
                "replicas disagree on {channel}"
            );
        }
    }
    assert_eq!(
        fake.issued_count(),
        CHANNELS as usize,
        "one issuance per channel across the fleet"
    );
}
