//! Token stores inside one process: degraded mode when the store is out of
//! reach (Redis stopped mid-run, a store that hangs, a broken directory),
//! wrong keys, damaged files, and secrets kept out of every message.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use line_oauth::{
    Client, EncryptionKey, Error, FileStore, IssuedToken, RedisStore, ShortLived, StoreError,
    StoreErrorKind, TokenProvider, TokenSource, TokenStore,
};
use support::redis_server::RedisServer;
use support::{CHANNEL, Capture, settle, setup};
use tracing_subscriber::filter::LevelFilter;

const MARGIN: Duration = Duration::from_millis(500);

/// A short-lived token source on `store`, for tokens of a few seconds.
fn source(s: &support::Setup, store: impl TokenStore) -> TokenSource {
    // An issuance bounded well inside the lock's TTL.
    let client = Client::builder()
        .base_url(s.fake.url())
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    TokenSource::builder(ShortLived::new(client, s.creds.clone()).revoke_replaced())
        .margin(MARGIN)
        .refresh_before(Duration::from_secs(3))
        .revoke_delay(Duration::from_millis(300))
        .lock_ttl(Duration::from_secs(2))
        .store_timeout(Duration::from_millis(300))
        .store(store)
        .build()
        .unwrap()
}

/// The token each source serves now.
async fn tokens(sources: &[TokenSource]) -> Vec<String> {
    let mut tokens = Vec::new();
    for source in sources {
        let token = source.token().await.expect("a token, store or no store");
        tokens.push(token.access_token().expose_secret().to_owned());
    }
    tokens
}

#[tokio::test(flavor = "multi_thread")]
async fn callers_keep_getting_tokens_while_redis_is_down_then_converge_on_the_shared_one() {
    let Some(mut redis) = RedisServer::start("redis_outage") else {
        return;
    };
    let s = setup().await;
    s.fake.set_lifetime_override(Some(Duration::from_secs(4)));
    let key = EncryptionKey::generate();
    // Three replicas, each with its own connection.
    let sources: Vec<TokenSource> = (0..3)
        .map(|_| source(&s, RedisStore::new(&redis.url(), &key).unwrap()))
        .collect();
    let shared = tokens(&sources).await;
    assert!(shared.iter().all(|t| *t == shared[0]));
    assert_eq!(s.fake.issued_count(), 1);

    redis.stop();
    // Six seconds: each replica rotates on its own, and every call gets a
    // token that LINE still honours.
    let until = tokio::time::Instant::now() + Duration::from_secs(6);
    while tokio::time::Instant::now() < until {
        for token in tokens(&sources).await {
            let verified = s.client.verify(&line_oauth::AccessToken::new(token)).await;
            assert!(
                verified.is_ok(),
                "served a token LINE refuses: {verified:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let during = s.fake.issued_count();
    assert!(during > 1, "no replica issued during the outage");

    redis.resume();
    // Within the store re-check (5 s) plus a rotation, one shared token.
    let until = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let now = tokens(&sources).await;
        if now.iter().all(|t| *t == now[0]) && tokens(&sources).await == now {
            break;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "the replicas never converged"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A store that never answers.
#[derive(Debug)]
struct Hanging;

impl TokenStore for Hanging {
    type Lease = ();
    async fn load(&self, _: &str) -> Result<Option<IssuedToken>, StoreError> {
        std::future::pending().await
    }
    async fn lock(&self, _: &str, _: Duration) -> Result<Option<()>, StoreError> {
        std::future::pending().await
    }
    async fn unlock(&self, _: &str, _: (), _: Option<&IssuedToken>) -> Result<(), StoreError> {
        std::future::pending().await
    }
}

#[tokio::test(start_paused = true)]
async fn a_store_that_hangs_holds_a_caller_no_longer_than_the_store_timeout() {
    let s = setup().await;
    let timeout = Duration::from_secs(3);
    let source = TokenSource::builder(ShortLived::new(s.client.clone(), s.creds.clone()))
        .store(Hanging)
        .store_timeout(timeout)
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    source.token().await.expect("a token of its own");
    // One store read timed out, then the source issued for itself.
    assert_eq!(started.elapsed(), timeout);
    assert_eq!(s.fake.issued_count(), 1);
    // It serves that token meanwhile, without waiting on the store again.
    let again = tokio::time::Instant::now();
    source.token().await.unwrap();
    assert_eq!(again.elapsed(), Duration::ZERO);
}

#[tokio::test]
async fn a_token_under_another_key_degrades_with_a_warning_or_fails_without_degraded_mode() {
    let capture = Capture::install(LevelFilter::WARN);
    let s = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let writer = source(
        &s,
        FileStore::new(dir.path(), &EncryptionKey::generate()).unwrap(),
    );
    let shared = writer.token().await.unwrap();
    let stranger = FileStore::new(dir.path(), &EncryptionKey::generate()).unwrap();
    // Degraded: a token of its own, and a warning that says why.
    let own = source(&s, stranger.clone()).token().await.unwrap();
    assert_ne!(
        own.access_token().expose_secret(),
        shared.access_token().expose_secret()
    );
    assert_eq!(s.fake.issued_count(), 2);
    let logs = capture.text();
    assert!(
        logs.contains("sealed under a key this process was not given"),
        "{logs}"
    );
    assert!(logs.contains("another key"), "{logs}");
    // Without degraded mode: the store's error, and nothing issued.
    let strict = TokenSource::builder(ShortLived::new(s.client.clone(), s.creds.clone()))
        .store(stranger)
        .degraded_mode(false)
        .build()
        .unwrap();
    let error = strict.token().await.unwrap_err();
    assert!(
        matches!(&error, Error::Store(e) if e.kind() == StoreErrorKind::WrongKey),
        "{error:?}"
    );
    assert_eq!(s.fake.issued_count(), 2);
}

/// The key rotation README describes, with replicas redeployed one at a
/// time and one in the wrong order: every call of every replica gets a
/// valid token throughout; a replica that meets a token under a key it
/// was not given runs degraded (a token of its own) until it is
/// redeployed; and in the end every replica shares one token again.
#[tokio::test(start_paused = true)]
async fn the_documented_key_rotation_serves_every_call_in_any_order_of_deploys() {
    let s = setup().await;
    s.fake
        .set_lifetime_override(Some(Duration::from_secs(3600)));
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (EncryptionKey::generate(), EncryptionKey::generate());
    let deploy = |store: FileStore| {
        TokenSource::builder(ShortLived::new(s.client.clone(), s.creds.clone()).revoke_replaced())
            .store(store)
            .clock(s.fake.clock())
            .build()
            .unwrap()
    };
    let on_old = || deploy(FileStore::new(dir.path(), &old).unwrap());
    let rotating = || deploy(FileStore::rotating(dir.path(), &new, &old).unwrap());
    let on_new = || deploy(FileStore::new(dir.path(), &new).unwrap());
    let distinct = |tokens: &[String]| tokens.iter().collect::<HashSet<_>>().len();

    let mut replicas = vec![on_old(), on_old(), on_old()];
    assert_eq!(distinct(&serve(&s, &replicas).await), 1);
    // Step 1, one replica at a time; and one replica deployed with the new
    // key alone too early (the wrong order).
    replicas[0] = rotating();
    replicas[2] = on_new();
    serve(&s, &replicas).await;
    for _ in 0..12 {
        // Past the refresh point: replica 0 rewrites the token under the new key.
        s.pass(Duration::from_secs(5 * 60)).await;
        settle().await;
        serve(&s, &replicas).await;
    }
    replicas[1] = rotating();
    replicas[2] = rotating();
    serve(&s, &replicas).await;
    // Step 2, once every replica rotates and a token was written under the
    // new key: the new key alone.
    let written = FileStore::new(dir.path(), &new).unwrap();
    let key = format!("short-lived:{CHANNEL}");
    while !matches!(written.load(&key).await, Ok(Some(_))) {
        s.pass(Duration::from_secs(60)).await;
        settle().await;
        serve(&s, &replicas).await;
    }
    for i in 0..replicas.len() {
        replicas[i] = on_new();
        serve(&s, &replicas).await;
    }
    assert_eq!(
        distinct(&serve(&s, &replicas).await),
        1,
        "one shared token again"
    );
    let issued = s.fake.issued_count();
    s.pass(Duration::from_secs(60)).await;
    settle().await;
    assert_eq!(distinct(&serve(&s, &replicas).await), 1);
    assert_eq!(s.fake.issued_count(), issued, "and nothing more issued");
}

#[tokio::test]
async fn during_a_key_rotation_the_token_under_the_previous_key_is_still_used() {
    let s = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (EncryptionKey::generate(), EncryptionKey::generate());
    let before = source(&s, FileStore::new(dir.path(), &old).unwrap());
    let first = before.token().await.unwrap();
    let rotating = source(&s, FileStore::rotating(dir.path(), &new, &old).unwrap());
    let second = rotating.token().await.unwrap();
    assert_eq!(
        first.access_token().expose_secret(),
        second.access_token().expose_secret()
    );
    assert_eq!(s.fake.issued_count(), 1);
}

#[tokio::test]
async fn a_damaged_token_file_is_replaced_by_a_new_token() {
    let s = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let key = EncryptionKey::generate();
    let store = FileStore::new(dir.path(), &key).unwrap();
    let path = store.token_path(&format!("short-lived:{CHANNEL}"));
    source(&s, store.clone()).token().await.unwrap();
    let whole = std::fs::read(&path).unwrap();
    // Torn mid-write by something else, garbage, and a file too large to read.
    let huge = vec![b'x'; 64 * 1024 + 1];
    for damage in [
        whole[..whole.len() / 2].to_vec(),
        b"not a token".to_vec(),
        huge,
    ] {
        std::fs::write(&path, damage).unwrap();
        let before = s.fake.issued_count();
        source(&s, store.clone()).token().await.unwrap();
        assert_eq!(s.fake.issued_count(), before + 1);
    }
    // And the file is whole again.
    let again = FileStore::new(dir.path(), &key).unwrap();
    assert!(
        again
            .load(&format!("short-lived:{CHANNEL}"))
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn a_file_store_that_cannot_be_used_degrades_instead_of_failing() {
    let s = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path(), &EncryptionKey::generate()).unwrap();
    std::fs::create_dir(store.token_path(&format!("short-lived:{CHANNEL}"))).unwrap();
    let source = source(&s, store);
    let mut seen = HashSet::new();
    for _ in 0..3 {
        seen.insert(
            source
                .token()
                .await
                .unwrap()
                .access_token()
                .expose_secret()
                .to_owned(),
        );
    }
    assert_eq!(seen.len(), 1, "the token of its own is kept");
    assert_eq!(s.fake.issued_count(), 1);
}

/// Every replica's token now: each valid, with more than the margin left.
async fn serve(s: &support::Setup, replicas: &[TokenSource]) -> Vec<String> {
    let mut tokens = Vec::new();
    for replica in replicas {
        let token = replica.token().await.expect("every call gets a token");
        assert!(s.time_left(&token) > TokenSource::DEFAULT_MARGIN);
        tokens.push(token.access_token().expose_secret().to_owned());
    }
    tokens
}

#[test]
fn a_lock_ttl_an_issuance_could_outlast_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path(), &EncryptionKey::generate()).unwrap();
    let creds = line_oauth::ChannelCredentials::new(CHANNEL, line_oauth::ClientSecret::new("s"));
    let client = |timeout| Client::builder().timeout(timeout).build().unwrap();
    let build = |timeout, ttl| {
        TokenSource::builder(ShortLived::new(client(timeout), creds.clone()))
            .store(store.clone())
            .store_timeout(Duration::from_secs(2))
            .lock_ttl(ttl)
            .build()
    };
    // A 30 s client and three 2 s store operations need more than 36 s.
    let error = build(Duration::from_secs(30), Duration::from_secs(36)).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("could run out while a source issues"),
        "{error}"
    );
    build(Duration::from_secs(30), Duration::from_secs(37)).unwrap();
    build(Duration::from_secs(10), Duration::from_secs(17)).unwrap();
    // The longest client timeout still fits a lock.
    build(
        line_oauth::Client::MAX_TIMEOUT,
        line_oauth::Client::MAX_TIMEOUT * 2,
    )
    .unwrap();
}

/// A store that hands out its lock but cannot save.
#[derive(Debug)]
struct CannotSave;

impl TokenStore for CannotSave {
    type Lease = ();
    async fn load(&self, _: &str) -> Result<Option<IssuedToken>, StoreError> {
        Ok(None)
    }
    async fn lock(&self, _: &str, _: Duration) -> Result<Option<()>, StoreError> {
        Ok(Some(()))
    }
    async fn unlock(&self, _: &str, _: (), save: Option<&IssuedToken>) -> Result<(), StoreError> {
        match save {
            Some(_) => Err(StoreError::unavailable("disk full")),
            None => Ok(()),
        }
    }
}

/// Without degraded mode, a token the store failed to keep is not served
/// (each run of a command would issue one): the call fails, and the token
/// is revoked as unused.
#[tokio::test]
async fn without_degraded_mode_a_token_the_store_cannot_keep_is_revoked_not_served() {
    let s = setup().await;
    let strict = TokenSource::builder(ShortLived::new(s.client.clone(), s.creds.clone()))
        .store(CannotSave)
        .degraded_mode(false)
        .build()
        .unwrap();
    let error = strict.token().await.unwrap_err();
    assert!(
        matches!(&error, Error::Store(e) if e.kind() == StoreErrorKind::Unavailable),
        "{error:?}"
    );
    settle().await;
    let history = s.fake.history();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].revocations, 1, "the unkept token was revoked");
}

/// A provider that names no store key.
#[derive(Debug)]
struct Unnamed;

impl TokenProvider for Unnamed {
    async fn issue(&self) -> Result<IssuedToken, Error> {
        unreachable!("never built")
    }
}

#[test]
fn a_store_needs_a_provider_that_names_its_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path(), &EncryptionKey::generate()).unwrap();
    let error = TokenSource::builder(Unnamed)
        .store(store)
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("store key"), "{error}");
}

#[test]
fn keys_and_redis_passwords_stay_out_of_debug_and_errors() {
    let key = EncryptionKey::generate();
    let password = "hunter2-redis-password";
    let store = RedisStore::new(&format!("redis://:{password}@127.0.0.1:6379/0"), &key).unwrap();
    let source = TokenSource::builder(ShortLived::new(
        Client::new(),
        line_oauth::ChannelCredentials::new(CHANNEL, line_oauth::ClientSecret::new("s")),
    ))
    .store(store.clone())
    .build()
    .unwrap();
    let shown = format!("{key:?} {store:?} {source:?}");
    assert!(!shown.contains(password), "{shown}");
    assert!(!shown.contains(&key.to_base64()), "{shown}");
    let refused = RedisStore::new(&format!("nosuch://:{password}@host"), &key).unwrap_err();
    assert!(!refused.to_string().contains(password), "{refused}");
    let bad_key = EncryptionKey::from_base64("c2VjcmV0LWtleS10ZXh0").unwrap_err();
    assert!(!bad_key.to_string().contains("c2VjcmV0LWtleS10ZXh0"));
}
