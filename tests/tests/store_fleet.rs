//! Token stores across OS processes: replicas of a bot (this test binary,
//! started again as the ignored `replica` test) share one token through a
//! file store or Redis, against one fake LINE server.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use line_oauth::{
    ChannelCredentials, Client, ClientSecret, EncryptionKey, FileStore, RedisStore, ShortLived,
    TokenSource,
};
use line_oauth_fake::{FakeLine, Kind, TokenRecord};
use serde::{Deserialize, Serialize};
use support::{CHANNEL, SECRET};

/// What a replica is told, as JSON in `REPLICA_CONFIG`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ReplicaConfig {
    url: String,
    /// `file:<directory>` or `redis:<url>`.
    store: String,
    /// The Redis key prefix (each test its own).
    prefix: String,
    callers: usize,
    /// How long the callers keep calling; 0 for one call each.
    run_ms: u64,
    /// When the first call starts (ms since 1970), if not at once.
    first_call_at_ms: Option<u64>,
    lock_ttl_ms: u64,
    out: PathBuf,
}

/// What a replica reports, as JSON in its `out` file.
#[derive(Debug, Serialize, Deserialize)]
struct Report {
    /// Each token served: when the first and the last call that got it
    /// started (ms since 1970), and how many calls got it.
    served: Vec<Served>,
    errors: Vec<String>,
    /// From the start of the first call to its token, in ms.
    first_token_ms: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Served {
    token: String,
    first_ms: u64,
    last_ms: u64,
    calls: u64,
}

/// The settings every replica shares. Tokens live 4 s (the fake's
/// override); a refresh is due from 1.75 s (half the usable life), and a
/// replaced token is revoked 300 ms later.
const LIFETIME: Duration = Duration::from_secs(4);
const MARGIN: Duration = Duration::from_millis(500);
const REFRESH_BEFORE: Duration = Duration::from_secs(3);
const REVOKE_DELAY: Duration = Duration::from_millis(300);
/// When a token's refresh is due, after its issuance.
const REFRESH_DUE: Duration = Duration::from_millis(1750);
/// At least how much earlier than that a replica may refresh (a tenth of
/// the 1.75 s: the spread that keeps replicas from all taking the lock at
/// one instant).
const SPREAD: Duration = Duration::from_millis(200);
/// The key every replica of a run seals with (a test key).
const STORE_KEY: &str = "bGluZS1vYXV0aCB0ZXN0IGtleSwgMzIgYnl0ZXMhISE=";

fn ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// The replica process. Run only by the tests below, with `REPLICA_CONFIG`.
#[test]
#[ignore = "a replica process, started by the other tests of this file"]
fn replica() {
    let config: ReplicaConfig = serde_json::from_str(
        &std::env::var("REPLICA_CONFIG").expect("started by a fleet test with REPLICA_CONFIG"),
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
    // An issuance bounded well inside the lock's TTL.
    let client = Client::builder()
        .base_url(&config.url)
        .timeout(Duration::from_millis(900))
        .build()
        .unwrap();
    let creds = ChannelCredentials::new(CHANNEL, ClientSecret::new(SECRET));
    let key = EncryptionKey::from_base64(STORE_KEY).unwrap();
    let builder = TokenSource::builder(ShortLived::new(client, creds).revoke_replaced())
        .margin(MARGIN)
        .refresh_before(REFRESH_BEFORE)
        .revoke_delay(REVOKE_DELAY)
        .lock_ttl(Duration::from_millis(config.lock_ttl_ms))
        .store_timeout(Duration::from_secs(1));
    let builder = match config.store.split_once(':') {
        Some(("file", dir)) => builder.store(FileStore::new(dir, &key).unwrap()),
        Some(("redis", url)) => builder.store(
            RedisStore::new(url, &key)
                .unwrap()
                .with_prefix(&config.prefix),
        ),
        _ => panic!("unknown store {}", config.store),
    };
    let source = builder.build().unwrap();
    if let Some(at) = config.first_call_at_ms {
        let wait = Duration::from_millis(at.saturating_sub(ms(SystemTime::now())));
        tokio::time::sleep(wait).await;
    }
    let started = tokio::time::Instant::now();
    let run_for = Duration::from_millis(config.run_ms);
    let first_token = Arc::new(std::sync::OnceLock::new());
    let callers: Vec<_> = (0..config.callers)
        .map(|_| {
            let (source, first_token) = (source.clone(), Arc::clone(&first_token));
            tokio::spawn(async move {
                let mut served: HashMap<String, Served> = HashMap::new();
                let mut errors = Vec::new();
                loop {
                    let at = ms(SystemTime::now());
                    match source.token().await {
                        Ok(token) => {
                            first_token.get_or_init(|| started.elapsed());
                            let value = token.access_token().expose_secret().to_owned();
                            let entry = served.entry(value.clone()).or_insert(Served {
                                token: value,
                                first_ms: at,
                                last_ms: at,
                                calls: 0,
                            });
                            entry.last_ms = at;
                            entry.calls += 1;
                        }
                        Err(error) => errors.push(error.to_string()),
                    }
                    if started.elapsed() >= run_for {
                        return (served, errors);
                    }
                    let pause = rand::random_range(5..50);
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                }
            })
        })
        .collect();
    let mut served: HashMap<String, Served> = HashMap::new();
    let mut errors = Vec::new();
    for caller in callers {
        let (theirs, their_errors) = caller.await.unwrap();
        errors.extend(their_errors);
        for (token, s) in theirs {
            let entry = served.entry(token).or_insert(Served { calls: 0, ..s });
            entry.first_ms = entry.first_ms.min(s.first_ms);
            entry.last_ms = entry.last_ms.max(s.last_ms);
            entry.calls += s.calls;
        }
    }
    // Let the revocations this replica owes land before it exits.
    tokio::time::sleep(REVOKE_DELAY + Duration::from_millis(500)).await;
    Report {
        served: served.into_values().collect(),
        errors,
        first_token_ms: first_token.get().map_or(u64::MAX, |d| d.as_millis() as u64),
    }
}

/// A started replica and where it reports.
struct Replica {
    child: Child,
    out: PathBuf,
}

impl Replica {
    fn start(config: &ReplicaConfig, dir: &Path, n: usize) -> Self {
        let out = dir.join(format!("replica-{n}.json"));
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
        Self { child, out }
    }

    /// Waits for it to exit and reads its report.
    fn report(mut self) -> Report {
        let status = self.child.wait().unwrap();
        assert!(status.success(), "a replica failed: {status}");
        serde_json::from_slice(&std::fs::read(&self.out).unwrap()).unwrap()
    }
}

fn config(fake: &FakeLine, store: String, callers: usize, run: Duration) -> ReplicaConfig {
    ReplicaConfig {
        url: fake.url(),
        store,
        prefix: format!("test-{}", rand::random::<u64>()),
        callers,
        run_ms: run.as_millis() as u64,
        first_call_at_ms: None,
        lock_ttl_ms: 4000,
        out: PathBuf::new(),
    }
}

async fn fake() -> FakeLine {
    let fake = FakeLine::start().await.unwrap();
    fake.add_channel(CHANNEL, SECRET);
    fake.set_lifetime_override(Some(LIFETIME));
    fake
}

/// Runs `n` replicas to their end; their reports.
async fn run_fleet(config: &ReplicaConfig, n: usize) -> Vec<Report> {
    let dir = tempfile::tempdir().unwrap();
    let replicas: Vec<Replica> = (0..n)
        .map(|i| Replica::start(config, dir.path(), i))
        .collect();
    tokio::task::spawn_blocking(move || replicas.into_iter().map(Replica::report).collect())
        .await
        .unwrap()
}

/// What every fleet run must show, whatever the store.
fn check_fleet(fake: &FakeLine, reports: &[Report], run: Duration) {
    let history: HashMap<String, TokenRecord> = fake
        .history()
        .into_iter()
        .map(|r| (r.access_token.clone(), r))
        .collect();
    let mut calls = 0;
    for report in reports {
        assert!(
            report.errors.is_empty(),
            "callers failed: {:?}",
            report.errors
        );
        for served in &report.served {
            calls += served.calls;
            let record = history
                .get(&served.token)
                .expect("served a token LINE issued");
            let last = UNIX_EPOCH + Duration::from_millis(served.last_ms);
            assert!(
                record.expires_at > last + MARGIN,
                "a token was served with less than the margin left"
            );
            assert!(
                record.revoked_at.is_none_or(|revoked| revoked > last),
                "a token was served after it was revoked"
            );
        }
    }
    assert!(calls >= reports.len() as u64 * 1000, "{calls} calls");

    let issued = fake.history();
    let rotations = issued.len() - 1;
    assert!(rotations >= 3, "only {rotations} rotations in {run:?}");
    // One issuance per refresh window: none before the last token's refresh
    // was due (less the spread).
    for pair in issued.windows(2) {
        let gap = pair[1].issued_at.duration_since(pair[0].issued_at).unwrap();
        assert!(
            gap + SPREAD + Duration::from_millis(50) >= REFRESH_DUE,
            "two issuances {gap:?} apart in {} issuances",
            issued.len()
        );
    }
    // Revoke on replace, once, by the replica that replaced it: at most two
    // tokens valid at a time (without it, three would be: each lives 4 s).
    assert!(fake.peak_active(CHANNEL, Kind::ShortLived) <= 2);
    let (last, replaced) = issued.split_last().unwrap();
    for record in replaced {
        assert_eq!(
            record.revocations, 1,
            "a replaced token was revoked {} times",
            record.revocations
        );
    }
    assert_eq!(last.revocations, 0);
}

const REPLICAS: usize = 8;
const CALLERS: usize = 1000;
const RUN: Duration = Duration::from_secs(8);

#[tokio::test(flavor = "multi_thread")]
async fn eight_processes_share_one_token_budget_through_a_file_store() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let store = format!("file:{}", dir.path().display());
    let reports = run_fleet(&config(&fake, store, CALLERS, RUN), REPLICAS).await;
    check_fleet(&fake, &reports, RUN);
    // At rest: no token in clear in any file of the store.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        for record in fake.history() {
            let token = record.access_token.as_bytes();
            assert!(!bytes.windows(token.len()).any(|w| w == token));
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn eight_processes_share_one_token_budget_through_redis() {
    let Some(redis) =
        support::redis_server::redis("eight_processes_share_one_token_budget_through_redis")
    else {
        return;
    };
    let fake = fake().await;
    let config = config(&fake, format!("redis:{}", redis.url), CALLERS, RUN);
    let reports = run_fleet(&config, REPLICAS).await;
    check_fleet(&fake, &reports, RUN);
    // At rest: the token key holds no token in clear.
    let client = redis::Client::open(redis.url.as_str()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}:*", config.prefix))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(
        keys,
        [format!("{}:{{short-lived:{CHANNEL}}}:token", config.prefix)]
    );
    let stored: Vec<u8> = redis::cmd("GET")
        .arg(&keys[0])
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(!stored.is_empty());
    for record in fake.history() {
        let token = record.access_token.as_bytes();
        assert!(!stored.windows(token.len()).any(|w| w == token));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restarted_process_gets_the_token_it_left_in_the_file_store() {
    let fake = FakeLine::start().await.unwrap();
    fake.add_channel(CHANNEL, SECRET);
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        &fake,
        format!("file:{}", dir.path().display()),
        1,
        Duration::ZERO,
    );
    let first = run_fleet(&config, 1).await;
    let second = run_fleet(&config, 1).await;
    let token = |reports: &[Report]| reports[0].served[0].token.clone();
    assert_eq!(token(&first), token(&second));
    assert_eq!(fake.issued_count(), 1);
}

/// Starts a replica that takes the issuance lock and hangs in LINE's
/// answer, kills it, and checks when another replica issues: once the lock
/// has run out its TTL (Redis), or at once (a file lock dies with its
/// holder).
async fn a_killed_lock_holder_is_taken_over(store: String, lock_ttl: Duration, lock_dies: bool) {
    let fake = fake().await;
    fake.set_issuance_delay(Duration::from_secs(60));
    let mut config = config(&fake, store, 1, Duration::ZERO);
    config.lock_ttl_ms = lock_ttl.as_millis() as u64;
    let dir = tempfile::tempdir().unwrap();
    let mut holder = Replica::start(&config, dir.path(), 0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while fake.issuance_attempts() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the holder never asked LINE"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The holder took the lock before it asked LINE.
    let locked_by = SystemTime::now();
    holder.child.kill().unwrap(); // SIGKILL, mid-issuance, holding the lock
    holder.child.wait().unwrap();
    let killed = SystemTime::now();
    fake.set_issuance_delay(Duration::ZERO);

    let reports = run_fleet(&config, 1).await;
    assert!(reports[0].errors.is_empty(), "{:?}", reports[0].errors);
    assert_eq!(reports[0].served.len(), 1);
    assert_eq!(fake.issuance_attempts(), 2);
    let issued_at = fake.history()[0].issued_at;
    if lock_dies {
        let after_kill = issued_at.duration_since(killed).unwrap();
        assert!(
            after_kill < Duration::from_secs(2),
            "issued {after_kill:?} after the kill"
        );
    } else {
        // Not before the lock ran out, and not much after.
        let after_lock = issued_at.duration_since(locked_by).unwrap();
        assert!(
            after_lock + Duration::from_millis(100) >= lock_ttl,
            "issued {after_lock:?} after the holder locked, inside the lock's TTL"
        );
        assert!(
            after_lock < lock_ttl + Duration::from_secs(2),
            "issued {after_lock:?} after"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_lock_holder_is_taken_over_in_redis_once_its_lock_expires() {
    let Some(redis) = support::redis_server::redis("a_killed_lock_holder_is_taken_over_in_redis")
    else {
        return;
    };
    let store = format!("redis:{}", redis.url);
    a_killed_lock_holder_is_taken_over(store, Duration::from_secs(4), false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_lock_holder_frees_the_file_store_lock_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("file:{}", dir.path().display());
    a_killed_lock_holder_is_taken_over(store, Duration::from_secs(4), true).await;
}

/// The worst case for serving a revoked token: replica B reads the token
/// from the store just before its refresh is due, while replica A goes on
/// calling, replaces it at its refresh point and revokes it after the
/// revoke delay. B must stop serving it before then: a stored token is
/// served until half the revoke delay past its refresh point, the same
/// instant for every replica.
async fn a_late_reader_never_serves_the_token_revoked(store: String) {
    let fake = fake().await;
    let a = config(&fake, store, 1, Duration::from_secs(4));
    let dir = tempfile::tempdir().unwrap();
    let early = Replica::start(&a, dir.path(), 0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let issued_at = loop {
        if let Some(first) = fake.history().first() {
            break first.issued_at;
        }
        assert!(tokio::time::Instant::now() < deadline, "A never issued");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let late = ReplicaConfig {
        callers: 20,
        run_ms: 1500,
        // Just before the earliest any replica refreshes.
        first_call_at_ms: Some(ms(issued_at + REFRESH_DUE
            - SPREAD
            - Duration::from_millis(60))),
        ..a.clone()
    };
    let late = Replica::start(&late, dir.path(), 1);
    let reports = tokio::task::spawn_blocking(move || [early.report(), late.report()])
        .await
        .unwrap();
    let history = fake.history();
    let first = &history[0].access_token;
    let late = &reports[1];
    assert!(late.errors.is_empty(), "{:?}", late.errors);
    assert!(
        late.served.iter().any(|s| &s.token == first),
        "B never read the first token: it started too late to test anything"
    );
    for report in &reports {
        for served in &report.served {
            let record = history
                .iter()
                .find(|r| r.access_token == served.token)
                .expect("served a token LINE issued");
            let last = UNIX_EPOCH + Duration::from_millis(served.last_ms);
            if let Some(revoked) = record.revoked_at {
                assert!(
                    revoked > last,
                    "a token was served {:?} after it was revoked",
                    last.duration_since(revoked).unwrap()
                );
            }
        }
    }
    assert_eq!(history[0].revocations, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_late_reader_never_serves_the_token_revoked_through_a_file_store() {
    let dir = tempfile::tempdir().unwrap();
    a_late_reader_never_serves_the_token_revoked(format!("file:{}", dir.path().display())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_late_reader_never_serves_the_token_revoked_through_redis() {
    let Some(redis) = support::redis_server::redis("a_late_reader_never_serves_the_token_revoked")
    else {
        return;
    };
    a_late_reader_never_serves_the_token_revoked(format!("redis:{}", redis.url)).await;
}
