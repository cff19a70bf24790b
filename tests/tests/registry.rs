//! `TokenRegistry`: many channels behind one registry, against the fake
//! LINE server (issuances, single-flight, removal) and against a counting
//! provider on tokio's paused clock (eviction, the LRU cap, backoffs).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::future::join_all;
use line_oauth::{
    AccessToken, ChannelCredentials, Client, ClientSecret, Error, IssuedToken, MemoryStore, Remedy,
    ShortLived, TokenProvider, TokenRegistry, TokenRegistryBuilder,
};
use line_oauth_fake::FakeLine;

/// A counter of calls, shared with a resolver or provider.
#[derive(Debug, Clone, Default)]
struct Count(Arc<AtomicUsize>);

impl Count {
    fn bump(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

fn secret_of(channel: &str) -> String {
    format!("secret-of-{channel}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_channels_with_fifty_callers_each_issue_and_resolve_once_per_channel() {
    let fake = FakeLine::start().await.unwrap();
    let channels: Vec<String> = (0..1000)
        .map(|i| format!("{}", 2_000_000_000 + i))
        .collect();
    for channel in &channels {
        fake.add_channel(channel, &secret_of(channel));
    }
    let client = Client::builder().base_url(fake.url()).build().unwrap();
    let resolved = Count::default();
    let counted = resolved.clone();
    let registry = TokenRegistry::builder(client, move |channel: String, client: Client| {
        counted.bump();
        async move {
            // A database answering a little later.
            tokio::time::sleep(Duration::from_millis(5)).await;
            let secret = ClientSecret::new(secret_of(&channel));
            Ok(Some(ShortLived::new(
                client,
                ChannelCredentials::new(channel, secret),
            )))
        }
    })
    .build()
    .unwrap();
    let calls = channels.iter().flat_map(|channel| {
        (0..50).map(|_| {
            let (registry, channel) = (registry.clone(), channel.clone());
            tokio::spawn(async move { registry.token(&channel).await.map(|t| (channel, t)) })
        })
    });
    let tokens = join_all(calls).await;
    let mut by_channel = std::collections::HashMap::new();
    for outcome in tokens {
        let (channel, token) = outcome.unwrap().unwrap();
        let value = token.access_token().expose_secret().to_owned();
        let first = by_channel.entry(channel).or_insert_with(|| value.clone());
        assert_eq!(*first, value, "two tokens for one channel");
    }
    assert_eq!(by_channel.len(), 1000);
    assert_eq!(fake.issued_count(), 1000, "one issuance per channel");
    assert_eq!(resolved.get(), 1000, "one resolution per channel");
    assert_eq!(registry.len(), 1000);
}

#[tokio::test]
async fn removing_a_channel_revokes_its_short_lived_token() {
    let fake = FakeLine::start().await.unwrap();
    fake.add_channel("1111111111", "s1");
    let client = Client::builder().base_url(fake.url()).build().unwrap();
    let registry = TokenRegistry::builder(client, |channel: String, client: Client| async move {
        let creds = ChannelCredentials::new(channel, ClientSecret::new("s1"));
        Ok(Some(ShortLived::new(client, creds)))
    })
    .build()
    .unwrap();
    let token = registry.token("1111111111").await.unwrap();
    assert!(registry.remove("1111111111").await);
    assert!(!registry.remove("1111111111").await, "removed twice");
    assert!(registry.is_empty());
    let record = fake
        .history()
        .into_iter()
        .find(|r| r.access_token == token.access_token().expose_secret())
        .unwrap();
    assert!(
        record.revoked_at.is_some(),
        "the removed channel's token lives on"
    );
    // Back again: a new token, not the revoked one from the registry's memory.
    let again = registry.token("1111111111").await.unwrap();
    assert_ne!(
        again.access_token().expose_secret(),
        token.access_token().expose_secret()
    );
}

/// A provider that counts its issuances: each token lives an hour.
#[derive(Debug, Clone)]
struct Counting {
    channel: String,
    issued: Count,
}

impl TokenProvider for Counting {
    async fn issue(&self) -> Result<IssuedToken, Error> {
        self.issued.bump();
        let value = format!("{}-{}", self.channel, self.issued.get());
        Ok(IssuedToken::new(
            AccessToken::new(value),
            Duration::from_secs(3600),
        ))
    }

    fn store_key(&self) -> Option<String> {
        Some(format!("counting:{}", self.channel))
    }
}

/// A registry of counting providers: every channel but "unknown" exists,
/// and "flaky" fails its first `fail_first` resolutions.
struct Counted {
    resolved: Count,
    issued: Count,
}

fn counted(fail_first: usize) -> (Counted, TokenRegistryBuilder) {
    let (resolved, issued) = (Count::default(), Count::default());
    let counts = Counted {
        resolved: resolved.clone(),
        issued: issued.clone(),
    };
    let builder = TokenRegistry::builder(Client::new(), move |channel: String, _| {
        resolved.bump();
        let (issued, asked) = (issued.clone(), resolved.get());
        async move {
            match channel.as_str() {
                "unknown" => Ok(None),
                "flaky" if asked <= fail_first => Err(Error::provider(
                    Remedy::RetryLater,
                    std::io::Error::other("the database is down"),
                )),
                _ => Ok(Some(Counting { channel, issued })),
            }
        }
    });
    (counts, builder)
}

#[tokio::test(start_paused = true)]
async fn an_idle_channel_is_evicted_and_comes_back_without_an_issuance() {
    for store in [None, Some(MemoryStore::new())] {
        let (counts, builder) = counted(0);
        let builder = builder.idle_timeout(Duration::from_secs(600));
        let with_store = store.is_some();
        let registry = match store {
            Some(store) => builder.store(store),
            None => builder,
        }
        .build()
        .unwrap();
        let first = registry.token("1").await.unwrap();
        tokio::time::advance(Duration::from_secs(300)).await;
        registry.token("1").await.unwrap();
        tokio::time::advance(Duration::from_secs(590)).await;
        assert_eq!(registry.len(), 1, "evicted before its idle time");
        tokio::time::advance(Duration::from_secs(20)).await;
        tokio::task::yield_now().await;
        assert_eq!(
            registry.len(),
            0,
            "idle past its time (store: {with_store})"
        );
        let back = registry.token("1").await.unwrap();
        assert_eq!(counts.resolved.get(), 2, "resolved again");
        assert_eq!(counts.issued.get(), 1, "issued again (store: {with_store})");
        assert_eq!(
            back.access_token().expose_secret(),
            first.access_token().expose_secret()
        );
    }
}

#[tokio::test(start_paused = true)]
async fn beyond_the_cap_the_least_recently_used_channel_goes_first() {
    let (counts, builder) = counted(0);
    let registry = builder.max_channels(3).build().unwrap();
    for channel in ["a", "b", "c"] {
        registry.token(channel).await.unwrap();
        tokio::time::advance(Duration::from_millis(10)).await;
    }
    registry.token("a").await.unwrap();
    tokio::time::advance(Duration::from_millis(10)).await;
    registry.token("d").await.unwrap();
    assert_eq!(registry.len(), 3);
    assert_eq!(counts.resolved.get(), 4);
    for channel in ["a", "c", "d"] {
        registry.token(channel).await.unwrap();
    }
    assert_eq!(
        counts.resolved.get(),
        4,
        "a kept channel was resolved again"
    );
    registry.token("b").await.unwrap();
    assert_eq!(counts.resolved.get(), 5, "b was not the one evicted");
    assert_eq!(counts.issued.get(), 4, "b's token came back from memory");
}

#[tokio::test(start_paused = true)]
async fn an_unknown_channel_is_a_typed_error_remembered_for_a_while() {
    let (counts, builder) = counted(0);
    let registry = builder
        .unknown_for(Duration::from_secs(60))
        .build()
        .unwrap();
    for _ in 0..20 {
        let error = registry.token("unknown").await.unwrap_err();
        assert!(
            matches!(&error, Error::UnknownChannel { channel_id, .. } if channel_id == "unknown"),
            "{error:?}"
        );
        assert_eq!(error.remedy(), Remedy::Fix);
    }
    assert_eq!(counts.resolved.get(), 1, "the resolver was asked again");
    tokio::time::advance(Duration::from_secs(61)).await;
    registry.token("unknown").await.unwrap_err();
    assert_eq!(counts.resolved.get(), 2, "never asked again");
    assert_eq!(counts.issued.get(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_failed_resolution_reaches_every_waiter_and_is_retried_after_a_backoff() {
    let (counts, builder) = counted(1);
    let registry = builder.build().unwrap();
    let waiters = (0..10).map(|_| registry.token("flaky"));
    for outcome in join_all(waiters).await {
        let error = outcome.unwrap_err();
        assert_eq!(error.remedy(), Remedy::RetryLater);
        assert!(matches!(error, Error::Provider(_)), "{error:?}");
    }
    assert_eq!(counts.resolved.get(), 1, "one resolution for all waiters");
    registry.token("flaky").await.unwrap_err();
    assert_eq!(counts.resolved.get(), 1, "retried with no backoff");
    tokio::time::advance(Duration::from_millis(1001)).await;
    registry.token("flaky").await.unwrap();
    assert_eq!(counts.resolved.get(), 2);
    assert_eq!(counts.issued.get(), 1);
}

#[tokio::test]
async fn a_panicking_resolver_fails_its_callers_and_the_next_call_asks_again() {
    let asked = Count::default();
    let counted = asked.clone();
    let registry = TokenRegistry::builder(Client::new(), move |channel: String, _| {
        counted.bump();
        let first = counted.get() == 1;
        async move {
            assert!(!first, "a resolver bug");
            let issued = Count::default();
            Ok(Some(Counting { channel, issued }))
        }
    })
    .build()
    .unwrap();
    let error = registry.token("1").await.unwrap_err();
    assert!(matches!(error, Error::RefreshAborted), "{error:?}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    registry.token("1").await.unwrap();
    assert_eq!(asked.get(), 2);
}

#[test]
fn settings_that_cannot_work_are_refused_at_build() {
    for builder in [
        counted(0).1.idle_timeout(Duration::ZERO),
        counted(0).1.max_channels(0),
        counted(0).1.max_issuances(0),
        counted(0).1.margin(Duration::from_secs(600)),
    ] {
        let error = builder.build().unwrap_err();
        assert!(matches!(error, Error::InvalidConfig(_)), "{error:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn failed_resolutions_in_a_row_back_off_longer_each_time() {
    let (counts, builder) = counted(3);
    let registry = builder.build().unwrap();
    registry.token("flaky").await.unwrap_err();
    // Each wait: 1 s, then 2 s, then 4 s, less up to a quarter at random.
    for (failures, wait_ms) in [(1, 1000), (2, 2000)] {
        tokio::time::advance(Duration::from_millis(wait_ms * 3 / 4 - 10)).await;
        registry.token("flaky").await.unwrap_err();
        assert_eq!(counts.resolved.get(), failures, "asked again too soon");
        tokio::time::advance(Duration::from_millis(wait_ms / 4 + 20)).await;
        registry.token("flaky").await.unwrap_err();
        assert_eq!(counts.resolved.get(), failures + 1, "not asked again");
    }
    tokio::time::advance(Duration::from_millis(2990)).await;
    registry.token("flaky").await.unwrap_err();
    assert_eq!(counts.resolved.get(), 3, "the third wait was not longer");
    tokio::time::advance(Duration::from_millis(1020)).await;
    registry.token("flaky").await.unwrap();
    assert_eq!(counts.resolved.get(), 4);
}

#[tokio::test(start_paused = true)]
async fn a_resolver_that_never_answers_fails_its_callers_after_the_timeout() {
    let asked = Count::default();
    let counted = asked.clone();
    let registry = TokenRegistry::builder(Client::new(), move |channel: String, _| {
        counted.bump();
        let first = counted.get() == 1;
        async move {
            if first {
                std::future::pending::<()>().await;
            }
            let issued = Count::default();
            Ok(Some(Counting { channel, issued }))
        }
    })
    .resolve_timeout(Duration::from_secs(5))
    .build()
    .unwrap();
    let error = registry.token("1").await.unwrap_err();
    assert_eq!(error.remedy(), Remedy::RetryLater, "{error:?}");
    assert!(
        std::error::Error::source(&error).is_some_and(|e| e.to_string().contains("no answer")),
        "{error:?}"
    );
    tokio::time::advance(Duration::from_millis(1100)).await;
    registry.token("1").await.unwrap();
    assert_eq!(asked.get(), 2);
}

#[tokio::test]
async fn malformed_channel_ids_are_unknown_at_once_and_never_kept() {
    let (counts, builder) = counted(0);
    let registry = builder.build().unwrap();
    let long = "9".repeat(TokenRegistry::MAX_CHANNEL_ID + 1);
    for id in ["", "with space", "ünïcode", long.as_str()] {
        let error = registry.token(id).await.unwrap_err();
        let Error::UnknownChannel { channel_id, .. } = &error else {
            panic!("{error:?}");
        };
        assert!(channel_id.len() <= TokenRegistry::MAX_CHANNEL_ID * 4);
    }
    assert_eq!(counts.resolved.get(), 0, "the resolver was asked");
    assert!(registry.is_empty(), "a malformed ID was kept");
}

#[test]
fn a_lock_ttl_the_issuances_could_outlast_is_refused_at_build() {
    // 100 s to issue, 30 s for a slot, 6 s of store: past 120 s.
    let slow = Client::builder()
        .timeout(Duration::from_secs(100))
        .build()
        .unwrap();
    let builder = TokenRegistry::builder(slow, |channel: String, _| async move {
        let issued = Count::default();
        Ok(Some(Counting { channel, issued }))
    });
    let error = builder.build().unwrap_err();
    assert!(
        matches!(&error, Error::InvalidConfig(why) if why.contains("lock TTL")),
        "{error:?}"
    );
}

/// A provider of the user's that names no store key.
#[derive(Debug)]
struct Unnamed;

impl TokenProvider for Unnamed {
    async fn issue(&self) -> Result<IssuedToken, Error> {
        let token = AccessToken::new(format!("unnamed-{}", rand::random::<u64>()));
        Ok(IssuedToken::new(token, Duration::from_secs(3600)))
    }
}

#[tokio::test]
async fn a_provider_naming_no_store_key_gets_one_per_channel() {
    let registry = TokenRegistry::builder(Client::new(), |_, _| async { Ok(Some(Unnamed)) })
        .build()
        .unwrap();
    let a = registry.token("1").await.unwrap();
    let b = registry.token("2").await.unwrap();
    assert_ne!(
        a.access_token().expose_secret(),
        b.access_token().expose_secret(),
        "two channels share a token"
    );
}
