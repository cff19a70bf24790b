//! Regression tests of `TokenSource`, one or more per defect an adversarial
//! review found: stale tokens after a cancelled refresh, early revocation,
//! panics that broke the source for good, token budget burnt by a
//! configuration that cannot work, and re-issue storms. All on tokio's
//! paused clock against the fake LINE server.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use line_oauth::{AssertionSigner, ClientSecret, ShortLived, Stateless, TokenSource, V21};
use line_oauth_fake::Kind;
use support::{CHANNEL, Setup, setup};
use tokio::time::{Instant, sleep, timeout};

const SECOND: Duration = Duration::from_secs(1);

fn by_secret(s: &Setup) -> Stateless {
    Stateless::by_secret(s.client_without_retries(), s.creds.clone())
}

fn short_lived(s: &Setup, revoke_replaced: bool) -> ShortLived {
    let provider = ShortLived::new(s.client_without_retries(), s.creds.clone());
    if revoke_replaced {
        provider.revoke_replaced()
    } else {
        provider
    }
}

#[tokio::test(start_paused = true)]
async fn a_refresh_no_one_waits_for_counts_expiry_from_lines_answer() {
    let s = setup().await;
    s.fake.set_lifetime_override(Some(5 * SECOND));
    s.fake.set_issuance_delay(Duration::from_millis(500));
    let margin = SECOND;
    let source = TokenSource::builder(by_secret(&s))
        .margin(margin)
        .refresh_before(margin)
        .build()
        .unwrap();
    // Caller 1 gives up before LINE answers (at 0.5 s).
    let gave_up = timeout(Duration::from_millis(100), source.token()).await;
    assert!(gave_up.is_err(), "caller 1 was meant to time out");
    sleep(Duration::from_secs(8)).await;
    // Caller 2 comes at 8.1 s: the token LINE issued at 0.5 s expired at 5.5 s.
    let token = source.token().await.unwrap();
    let left = s.time_left(&token);
    assert!(left > margin, "served a token with {left:?} truly left");
    assert_eq!(s.fake.issued_count(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_replaced_token_stays_valid_for_the_revoke_delay() {
    let s = setup().await;
    let source = TokenSource::builder(short_lived(&s, true)).build().unwrap();
    let first = source.token().await.unwrap();
    // Four minutes before expiry: served, and replaced in the background.
    let into_window = Duration::from_secs(30 * 24 * 3600 - 4 * 60);
    s.pass(into_window).await;
    let handed_out = source.token().await.unwrap();
    assert_eq!(
        handed_out.access_token().expose_secret(),
        first.access_token().expose_secret()
    );
    support::settle().await;
    assert_eq!(s.fake.issued_count(), 2, "replaced in the background");
    assert_eq!(
        s.fake.active_count(support::CHANNEL, Kind::ShortLived),
        2,
        "the token just handed out was revoked at once"
    );
    let delay = line_oauth::TokenSource::DEFAULT_REVOKE_DELAY + SECOND;
    s.pass(delay).await;
    support::settle().await;
    assert_eq!(
        s.fake.active_count(support::CHANNEL, Kind::ShortLived),
        1,
        "the replaced token is revoked after the delay"
    );
}

#[tokio::test(start_paused = true)]
async fn a_panicking_refresh_is_cleared_and_the_next_call_tries_again() {
    let s = setup().await;
    let armed = Arc::new(AtomicBool::new(true));
    let fake_clock = s.fake.clock();
    let signer = AssertionSigner::builder(&support::key_pair().private, s.kid.clone(), CHANNEL)
        .clock({
            let armed = Arc::clone(&armed);
            move || {
                assert!(!armed.swap(false, Ordering::SeqCst), "the clock broke");
                fake_clock()
            }
        })
        .build()
        .unwrap();
    let source =
        TokenSource::new(Stateless::by_signer(s.client_without_retries(), signer)).unwrap();
    let first = tokio::spawn({
        let source = source.clone();
        async move { source.token().await.map(drop) }
    })
    .await;
    let error = first
        .expect("a panic in the refresh does not reach the caller")
        .expect_err("the refresh panicked");
    assert!(error.to_string().contains("panicked"), "{error}");
    let second = tokio::spawn(async move { source.token().await.map(drop) }).await;
    second
        .expect("no panic on the next call")
        .expect("the next call issues");
    assert_eq!(s.fake.issued_count(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_v21_lifetime_that_could_never_be_served_is_refused_at_build() {
    let s = setup().await;
    for seconds in [30, 60, 360] {
        let v21 = V21::new(
            s.client_without_retries(),
            s.signer.clone(),
            Duration::from_secs(seconds),
        )
        .revoke_replaced(ClientSecret::new(support::SECRET));
        let built = TokenSource::new(v21);
        assert!(
            built.is_err(),
            "{seconds} s with a 60 s margin and 5 min window"
        );
    }
    let fine = V21::new(
        s.client_without_retries(),
        s.signer.clone(),
        Duration::from_secs(361),
    );
    assert!(TokenSource::new(fine).is_ok());
    assert_eq!(s.fake.issued_count(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_token_issued_too_short_lived_to_serve_is_revoked() {
    let s = setup().await;
    s.fake.set_lifetime_override(Some(Duration::from_secs(30)));
    let source = TokenSource::builder(short_lived(&s, false))
        .build()
        .unwrap();
    let error = source.token().await.unwrap_err();
    assert!(
        error.to_string().contains("no longer than the margin"),
        "{error}"
    );
    support::settle().await;
    assert_eq!(s.fake.issued_count(), 1);
    assert_eq!(
        s.fake.active_count(support::CHANNEL, Kind::ShortLived),
        0,
        "the unusable token still counts against LINE's 30"
    );
}

#[tokio::test(start_paused = true)]
async fn a_token_just_over_the_margin_is_refreshed_without_blocking_callers() {
    let s = setup().await;
    s.fake.set_lifetime_override(Some(Duration::from_secs(61)));
    let answer_time = Duration::from_millis(100);
    s.fake.set_issuance_delay(answer_time);
    let source = TokenSource::builder(by_secret(&s)).build().unwrap();
    source.token().await.unwrap();
    for call in 0..60 {
        sleep(Duration::from_millis(50)).await;
        let started = Instant::now();
        let token = source.token().await.unwrap();
        assert!(
            started.elapsed() < answer_time,
            "call {call} waited for an issuance"
        );
        assert!(s.time_left(&token) > line_oauth::TokenSource::DEFAULT_MARGIN);
    }
    let issued = s.fake.issued_count();
    assert!((3..=10).contains(&issued), "{issued} issuances in 3 s");
}

/// 300 calls 10 ms apart against a LINE that fails the same way each time.
async fn attempts_in_three_seconds_of_failures(s: &Setup) -> usize {
    let source = TokenSource::builder(by_secret(s)).build().unwrap();
    for _ in 0..300 {
        assert!(source.token().await.is_err());
        sleep(Duration::from_millis(10)).await;
    }
    s.fake.issuance_attempts()
}

#[tokio::test(start_paused = true)]
async fn tokens_no_longer_than_the_margin_back_off() {
    let s = setup().await;
    s.fake
        .set_lifetime_override(Some(line_oauth::TokenSource::DEFAULT_MARGIN));
    let attempts = attempts_in_three_seconds_of_failures(&s).await;
    assert!(attempts <= 5, "{attempts} issuances in 3 s");
}

#[tokio::test(start_paused = true)]
async fn undecodable_answers_back_off() {
    let s = setup().await;
    s.fake.set_malformed_issuance(true);
    let attempts = attempts_in_three_seconds_of_failures(&s).await;
    assert!(attempts <= 5, "{attempts} issuances in 3 s");
}

#[tokio::test(start_paused = true)]
async fn an_outage_backs_off() {
    let s = setup().await;
    s.fake.set_outage(true);
    let attempts = attempts_in_three_seconds_of_failures(&s).await;
    assert!(attempts <= 5, "{attempts} issuances in 3 s");
}

/// A host that refuses every token, asked every 10 seconds for three hours:
/// the refusals replace the token at once, then after holds of 1, 2, 4, 8,
/// 16 and 32 minutes, then hourly. Without the hold, each refusal issued.
#[tokio::test(start_paused = true)]
async fn refusals_replace_a_token_at_most_once_per_hold_doubling_to_an_hour() {
    let s = setup().await;
    let source = TokenSource::builder(short_lived(&s, false))
        .clock(s.fake.clock())
        .build()
        .unwrap();
    let start = Instant::now();
    let mut issued_at = Vec::new();
    for _ in 0..(3 * 360) {
        let before = s.fake.issued_count();
        let token = source.token().await.unwrap();
        source.invalidate(&token);
        source.token().await.unwrap();
        if s.fake.issued_count() > before + usize::from(before == 0) {
            issued_at.push(start.elapsed().as_secs());
        }
        s.pass(10 * SECOND).await;
    }
    assert_eq!(
        issued_at,
        [0, 60, 180, 420, 900, 1860, 3780, 7380],
        "the refusal-driven issuances, in seconds from the first"
    );
    assert_eq!(issued_at.iter().filter(|&&at| at < 3600).count(), 6);
}

/// `fake.advance` moves the fake's clock alone; a source given the fake's
/// clock moves with it, and never serves a token the fake has expired.
#[tokio::test]
async fn a_source_on_the_fakes_clock_follows_fake_advance() {
    let s = setup().await;
    s.fake.set_lifetime_override(Some(Duration::from_secs(600)));
    let source = TokenSource::builder(short_lived(&s, false))
        .clock(s.fake.clock())
        .build()
        .unwrap();
    let first = source.token().await.unwrap();
    s.fake.advance(Duration::from_secs(700));
    let second = source.token().await.unwrap();
    assert_ne!(
        second.access_token().expose_secret(),
        first.access_token().expose_secret()
    );
    s.client.verify(second.access_token()).await.unwrap();
    assert!(s.client.verify(first.access_token()).await.is_err());
    // Past the refresh point by the fake's clock: refreshed in the background.
    s.fake.advance(Duration::from_secs(310));
    assert_eq!(
        source.token().await.unwrap().access_token().expose_secret(),
        second.access_token().expose_secret()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while s.fake.issued_count() < 3 {
        assert!(Instant::now() < deadline, "no background refresh");
        sleep(Duration::from_millis(5)).await;
    }
}

/// The hold is not reset by ordinary refreshes: stateless tokens (15
/// minutes, refreshed every 10) refused every 10 seconds for two hours cost
/// the refusals' 7 issuances and the ordinary refreshes', no more.
#[tokio::test(start_paused = true)]
async fn ordinary_refreshes_do_not_reset_the_refusal_hold() {
    let s = setup().await;
    let source = TokenSource::builder(by_secret(&s))
        .clock(s.fake.clock())
        .build()
        .unwrap();
    for _ in 0..(2 * 360) {
        let token = source.token().await.unwrap();
        source.invalidate(&token);
        source.token().await.unwrap();
        s.pass(10 * SECOND).await;
    }
    let issued = s.fake.issued_count();
    println!("{issued} issuances in two hours of refusals");
    // The first token; 7 holds (1, 2, 4, 8, 16, 32, 60 minutes); and at most
    // one ordinary refresh per 10 minutes of a token's life.
    assert!(issued <= 1 + 7 + 12, "{issued} issuances");
}

/// Once refusals stop for as long as a hold, the streak is over: a later
/// refusal replaces the token at once.
#[tokio::test(start_paused = true)]
async fn the_refusal_hold_falls_back_once_refusals_stop() {
    let s = setup().await;
    let source = TokenSource::builder(short_lived(&s, false))
        .clock(s.fake.clock())
        .build()
        .unwrap();
    for _ in 0..4 {
        // Refused, replaced; refused again after each hold (1, 2, 4 minutes).
        let token = source.token().await.unwrap();
        assert!(source.invalidate(&token));
        source.token().await.unwrap();
        s.pass(Duration::from_secs(8 * 60)).await;
    }
    let before = s.fake.issued_count();
    // Quiet for a whole hold past the last one: a refusal replaces at once.
    s.pass(Duration::from_secs(20 * 60)).await;
    let token = source.token().await.unwrap();
    assert!(source.invalidate(&token));
    let after = source.token().await.unwrap();
    assert_ne!(
        after.access_token().expose_secret(),
        token.access_token().expose_secret()
    );
    assert_eq!(s.fake.issued_count(), before + 1);
    // And the replacement is held for a minute, not the streak's 16.
    assert!(!source.invalidate(&after));
    s.pass(Duration::from_secs(61)).await;
    assert!(source.invalidate(&after));
}
