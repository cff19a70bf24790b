//! `TokenSource` against the fake LINE server, on tokio's paused clock:
//! single-flight issuance, refresh ahead of expiry, failures, cancellation,
//! and v2.1 rotation.

mod support;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use line_oauth::{
    AccessToken, ClientSecret, Error, IssuedToken, Stateless, TokenProvider, TokenSource, V21,
};
use line_oauth_fake::Kind;
use support::{CHANNEL, SECRET, Setup, setup};

const MARGIN: Duration = line_oauth::TokenSource::DEFAULT_MARGIN;
const MINUTE: Duration = Duration::from_secs(60);

fn stateless(s: &Setup) -> TokenSource {
    TokenSource::new(Stateless::by_signer(
        s.client_without_retries(),
        s.signer.clone(),
    ))
    .unwrap()
}

#[tokio::test(start_paused = true)]
async fn ten_thousand_cold_callers_cause_one_issuance() {
    let s = setup().await;
    let source = stateless(&s);
    let callers: Vec<_> = (0..10_000)
        .map(|_| {
            let source = source.clone();
            tokio::spawn(async move { source.token().await })
        })
        .collect();
    let mut tokens = HashSet::new();
    for caller in callers {
        let token = caller.await.unwrap().expect("every caller gets the token");
        tokens.insert(token.access_token().expose_secret().to_owned());
    }
    assert_eq!(tokens.len(), 1);
    assert_eq!(s.fake.issued_count(), 1);
}

#[tokio::test(start_paused = true)]
async fn tokens_are_refreshed_before_any_caller_sees_one_near_expiry() {
    let s = setup().await;
    let source = stateless(&s);
    let mut seen = HashSet::new();
    // Three hours of a bot calling every 10 seconds; stateless tokens live 15 minutes.
    for _ in 0..(3 * 3600 / 10) {
        let token = source.token().await.unwrap();
        let left = s.time_left(&token);
        assert!(
            left > MARGIN,
            "a token with only {left:?} left was returned"
        );
        seen.insert(token.access_token().expose_secret().to_owned());
        s.pass(Duration::from_secs(10)).await;
        support::settle().await;
    }
    // Refreshed ahead (5 minutes before expiry): about every 10 minutes, no more.
    assert!((17..=20).contains(&seen.len()), "{} tokens", seen.len());
    assert_eq!(s.fake.issued_count(), seen.len());
}

#[tokio::test(start_paused = true)]
async fn a_failing_refresh_keeps_the_valid_token_and_is_retried_with_backoff() {
    let s = setup().await;
    let source = stateless(&s);
    let first = source.token().await.unwrap();
    // Into the refresh window (5 minutes before expiry), with LINE down.
    s.fake.set_outage(true);
    s.pass(Duration::from_secs(15 * 60) - 4 * MINUTE).await;
    for _ in 0..60 {
        let token = source.token().await.unwrap();
        assert_eq!(
            token.access_token().expose_secret(),
            first.access_token().expose_secret()
        );
        s.pass(Duration::from_secs(1)).await;
        support::settle().await;
    }
    let refused = s.fake.refused_count();
    // Retried, with backoff: 1 s, 2 s, 4 s... within a minute: not every call.
    assert!((3..=8).contains(&refused), "{refused} attempts in 60 calls");

    s.fake.set_outage(false);
    s.pass(MINUTE).await;
    source.token().await.unwrap();
    support::settle().await;
    let next = source.token().await.unwrap();
    assert_ne!(
        next.access_token().expose_secret(),
        first.access_token().expose_secret()
    );
    assert_eq!(s.fake.issued_count(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_failure_with_no_valid_token_reaches_every_waiter_then_the_next_call_recovers() {
    let s = setup().await;
    let source = stateless(&s);
    s.fake.set_outage(true);
    let callers: Vec<_> = (0..100)
        .map(|_| {
            let source = source.clone();
            tokio::spawn(async move { source.token().await })
        })
        .collect();
    for caller in callers {
        let error = caller.await.unwrap().expect_err("LINE is down");
        assert!(
            matches!(&error, Error::Api(e) if e.status() == 503),
            "{error:?}"
        );
        assert_eq!(error.api().unwrap().status(), 503);
    }
    assert_eq!(s.fake.refused_count(), 1, "one attempt for all the waiters");

    s.fake.set_outage(false);
    source
        .token()
        .await
        .expect("no poisoned state: the next call issues");
    assert_eq!(s.fake.issued_count(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_driver_does_not_wedge_the_others() {
    let s = setup().await;
    let source = stateless(&s);
    s.fake.set_issuance_delay(Duration::from_secs(2));
    let driver = {
        let source = source.clone();
        tokio::spawn(async move { source.token().await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await; // the driver's request is out
    let waiter = {
        let source = source.clone();
        tokio::spawn(async move { source.token().await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    driver.abort();
    assert!(driver.await.unwrap_err().is_cancelled());
    let token = waiter
        .await
        .unwrap()
        .expect("the waiter still gets a token");
    assert!(!token.access_token().expose_secret().is_empty());
    assert_eq!(s.fake.issued_count(), 1);
}

#[tokio::test(start_paused = true)]
async fn v21_rotation_with_revoke_keeps_at_most_two_tokens_active() {
    let s = setup().await;
    let v21 = V21::new(
        s.client_without_retries(),
        s.signer.clone(),
        Duration::from_secs(3600),
    )
    .revoke_replaced(ClientSecret::new(SECRET));
    let source = TokenSource::new(v21).unwrap();
    let mut seen = HashSet::new();
    let mut minutes_with_two = 0;
    for _ in 0..(6 * 60) {
        let token = source.token().await.unwrap();
        assert!(token.key_id().is_some());
        seen.insert(token.access_token().expose_secret().to_owned());
        s.pass(MINUTE).await;
        support::settle().await;
        // Two while a replaced token waits out the revoke delay (a minute);
        // without revoking, the replaced one would live on to its expiry
        // (5 more minutes at each rotation).
        let active = s.fake.active_count(CHANNEL, Kind::V21);
        assert!(active <= 2, "{active} v2.1 tokens active");
        minutes_with_two += usize::from(active == 2);
    }
    assert!(
        minutes_with_two <= seen.len(),
        "two tokens active for {minutes_with_two} minutes over {} rotations",
        seen.len()
    );
    assert!(seen.len() >= 6, "rotated {} times in 6 hours", seen.len());
}

#[tokio::test(start_paused = true)]
async fn settings_that_leave_no_usable_life_are_refused_before_any_issuance() {
    let s = setup().await;
    // Stateless tokens live 15 minutes: a 15-minute margin leaves nothing.
    let built = TokenSource::builder(Stateless::by_signer(
        s.client_without_retries(),
        s.signer.clone(),
    ))
    .margin(Duration::from_secs(900))
    .refresh_before(Duration::from_secs(900))
    .build();
    let error = built.unwrap_err();
    assert!(error.to_string().contains("never be served"), "{error}");
    assert_eq!(s.fake.issued_count(), 0);
}

/// A provider of a user's own: the token another process keeps in a file.
#[derive(Debug)]
struct FromFile {
    path: std::path::PathBuf,
    reads: AtomicUsize,
}

impl TokenProvider for FromFile {
    async fn issue(&self) -> Result<IssuedToken, Error> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        let text = std::fs::read_to_string(&self.path)
            .map_err(|e| Error::InvalidConfig(format!("token file: {e}")))?;
        Ok(IssuedToken::new(
            AccessToken::new(text.trim()),
            Duration::from_secs(600),
        ))
    }
}

#[tokio::test(start_paused = true)]
async fn a_provider_of_your_own_plugs_into_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    std::fs::write(&path, "token-1\n").unwrap();
    let provider = FromFile {
        path: path.clone(),
        reads: AtomicUsize::new(0),
    };
    let source = TokenSource::new(provider).unwrap();
    for _ in 0..10 {
        let token = source.token().await.unwrap();
        assert_eq!(token.access_token().expose_secret(), "token-1");
    }
    // Into the refresh window (5 minutes before the 10-minute expiry).
    std::fs::write(&path, "token-2\n").unwrap();
    tokio::time::advance(Duration::from_secs(301)).await;
    let still = source.token().await.unwrap();
    assert_eq!(still.access_token().expose_secret(), "token-1");
    support::settle().await;
    let next = source.token().await.unwrap();
    assert_eq!(next.access_token().expose_secret(), "token-2");
    assert!(format!("{source:?}").contains("FromFile"));
}

#[test]
fn the_bearer_header_is_sensitive_and_debug_is_redacted() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let s = setup().await;
        let token = stateless(&s).token().await.unwrap();
        let header = token.bearer_header();
        assert!(header.is_sensitive());
        assert_eq!(
            header.to_str().unwrap(),
            format!("Bearer {}", token.access_token().expose_secret())
        );
        let printed = format!("{token:?} {header:?}");
        assert!(
            !printed.contains(token.access_token().expose_secret()),
            "{printed}"
        );
    });
}
