//! A source's health through each state, by `health()` and by the watch
//! of `health_changes()`: fresh, refreshing, failed with its error kept,
//! degraded, recovered; and a registry's per channel.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use line_oauth::{
    ChannelCredentials, Client, ClientSecret, Health, IssuedToken, MemoryStore, ShortLived,
    StoreError, TokenRegistry, TokenSource, TokenStore,
};
use support::{CHANNEL, SECRET, setup};
use tokio::sync::watch;

/// A memory store that can be taken down.
#[derive(Debug, Clone, Default)]
struct Switchable {
    inner: MemoryStore,
    down: Arc<AtomicBool>,
}

impl Switchable {
    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::unavailable("down for the test"));
        }
        Ok(())
    }
}

impl TokenStore for Switchable {
    type Lease = <MemoryStore as TokenStore>::Lease;

    async fn load(&self, key: &str) -> Result<Option<IssuedToken>, StoreError> {
        self.check()?;
        self.inner.load(key).await
    }

    async fn lock(&self, key: &str, ttl: Duration) -> Result<Option<Self::Lease>, StoreError> {
        self.check()?;
        self.inner.lock(key, ttl).await
    }

    async fn unlock(
        &self,
        key: &str,
        lease: Self::Lease,
        save: Option<&IssuedToken>,
    ) -> Result<(), StoreError> {
        self.check()?;
        self.inner.unlock(key, lease, save).await
    }
}

/// The next health the watch shows, within 5 s.
async fn next(changes: &mut watch::Receiver<Health>) -> Health {
    tokio::time::timeout(Duration::from_secs(5), changes.changed())
        .await
        .expect("a change within 5 s")
        .expect("the source lives");
    changes.borrow_and_update().clone()
}

#[tokio::test]
async fn health_follows_a_source_through_every_state() {
    let setup = setup().await;
    let store = Switchable::default();
    let client = setup.client_without_retries();
    // The source's wall clock, moved ahead to end a refusal hold.
    let ahead = Arc::new(AtomicU64::new(0));
    let clock = {
        let ahead = Arc::clone(&ahead);
        move || SystemTime::now() + Duration::from_secs(ahead.load(Ordering::SeqCst))
    };
    let source = TokenSource::builder(ShortLived::new(client, setup.creds.clone()))
        .store(store.clone())
        .clock(clock.clone())
        .build()
        .unwrap();
    let mut changes = source.health_changes();
    let now = clock;

    // Fresh: nothing yet.
    let fresh = source.health();
    assert!(fresh.expires_at().is_none() && fresh.refreshed_at().is_none());
    assert!(!fresh.is_refreshing() && !fresh.is_degraded() && fresh.last_error().is_none());
    assert!(!fresh.is_serving(now()));

    // Refreshing: the first issuance takes a while.
    setup.fake.set_issuance_delay(Duration::from_millis(300));
    let first = tokio::spawn({
        let source = source.clone();
        async move { source.token().await }
    });
    let refreshing = next(&mut changes).await;
    assert!(refreshing.is_refreshing(), "{refreshing:?}");
    assert!(source.health().is_refreshing());
    let token = first.await.unwrap().unwrap();
    let served = next(&mut changes).await;
    assert!(
        !served.is_refreshing() && served.is_serving(now()),
        "{served:?}"
    );
    assert_eq!(served.expires_at(), Some(token.expires_at()));
    let received = served.refreshed_at().expect("received");
    assert!(received <= now() && received > now() - Duration::from_secs(5));
    setup.fake.set_issuance_delay(Duration::ZERO);

    // Failed, the error kept: LINE is down, and the token was refused.
    setup.fake.set_outage(true);
    assert!(source.invalidate(&token));
    let dropped = next(&mut changes).await;
    assert!(dropped.expires_at().is_none() && !dropped.is_serving(now()));
    assert!(source.token().await.is_err());
    let failed = source.health();
    let error = failed.last_error().expect("the error is kept");
    assert_eq!(error.status(), Some(503), "{error}");
    assert!(failed.is_failing() && !failed.is_serving(now()));
    let watched = next(&mut changes).await;
    assert_eq!(watched.last_error().map(|e| e.kind()), Some("api"));
    let json = serde_json::to_value(&watched).unwrap();
    assert_eq!(
        (
            &json["failing"],
            &json["last_error_kind"],
            &json["last_error_status"]
        ),
        (
            &serde_json::json!(true),
            &serde_json::json!("api"),
            &serde_json::json!(503)
        )
    );
    assert!(
        json.get("last_error").is_none(),
        "the message is not served"
    );

    // Degraded: LINE is back, the store is not. (The first failure sets no
    // backoff: the next call tries again at once.)
    setup.fake.set_outage(false);
    store.down.store(true, Ordering::SeqCst);
    let degraded_token = source.token().await.unwrap();
    let degraded = source.health();
    assert!(
        degraded.is_degraded() && degraded.is_serving(now()),
        "{degraded:?}"
    );
    assert!(!degraded.is_failing());
    let watched = next(&mut changes).await;
    assert!(watched.is_degraded() && !watched.is_failing());

    // Recovered: the store answers again, and the next refresh uses it
    // (refused once the hold after the last refusal is over).
    store.down.store(false, Ordering::SeqCst);
    ahead.store(180, Ordering::SeqCst);
    assert!(source.invalidate(&degraded_token));
    source.token().await.unwrap();
    let recovered = source.health();
    assert!(
        !recovered.is_degraded() && recovered.is_serving(now()),
        "{recovered:?}"
    );
    assert!(!recovered.is_failing());
    let watched = next(&mut changes).await;
    assert!(!watched.is_degraded() && watched.is_serving(now()));

    // The watch closes with the source.
    drop(source);
    assert!(changes.changed().await.is_err());
}

#[tokio::test]
async fn a_registry_answers_health_per_channel_it_holds() {
    let setup = setup().await;
    let registry = TokenRegistry::builder(setup.client.clone(), |id: String, client: Client| {
        let creds = ChannelCredentials::new(id, ClientSecret::new(SECRET));
        async move { Ok(Some(ShortLived::new(client, creds))) }
    })
    .build()
    .unwrap();
    assert!(registry.health(CHANNEL).is_none(), "never used");
    let token = registry.token(CHANNEL).await.unwrap();
    let health = registry.health(CHANNEL).expect("held");
    assert_eq!(health.expires_at(), Some(token.expires_at()));
    assert!(health.is_serving(SystemTime::now()));
    assert!(registry.health("999").is_none());
    let json = serde_json::to_value(&health).unwrap();
    assert_eq!(json["degraded"], false);
    assert_eq!(json["failing"], false);
    assert!(json["last_error_kind"].is_null() && json.get("last_error_kind").is_some());
    assert!(json["expires_at"].as_u64().unwrap() > 1_700_000_000);
}
