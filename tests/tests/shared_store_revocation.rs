//! Sources sharing a store never serve a token that another source revoked,
//! under the default settings: a source serves a stored token only until
//! half the revoke delay after its refresh point, and the source that
//! replaces it revokes it no sooner than the whole delay after that point,
//! whenever it replaces it, and for whatever reason (its refresh, or a 401
//! it reported). Two independent sources (each its own `FileStore` on one
//! directory) run on tokio's paused clock, which moves the fake LINE server
//! and the sources' wall clock (`fake.clock()`) with it.

mod support;

use std::time::Duration;

use line_oauth::{EncryptionKey, FileStore, ShortLived, TokenSource};
use line_oauth_fake::TokenRecord;
use support::{Setup, settle, setup};

const DAY: Duration = Duration::from_secs(24 * 3600);
/// When a 30-day token's refresh is due under the default settings: when
/// the 5-minute refresh window begins.
const REFRESH_DUE: Duration = Duration::from_secs(30 * 24 * 3600 - 5 * 60);
/// How much earlier than that a replica may refresh a 30-day token.
const SPREAD: Duration = Duration::from_secs(30);

/// A replica: short-lived tokens, replaced ones revoked, default timings,
/// its own store on `dir`, the fake's clock.
fn replica(s: &Setup, dir: &std::path::Path, key: &EncryptionKey) -> TokenSource {
    TokenSource::builder(ShortLived::new(s.client.clone(), s.creds.clone()).revoke_replaced())
        .store(FileStore::new(dir, key).unwrap())
        .clock(s.fake.clock())
        .build()
        .unwrap()
}

/// The fake's record of `token`.
fn record(s: &Setup, token: &str) -> TokenRecord {
    s.fake
        .history()
        .into_iter()
        .find(|r| r.access_token == token)
        .expect("the fake issued it")
}

fn value(token: &line_oauth::Token) -> String {
    token.access_token().expose_secret().to_owned()
}

/// Asks `replica` for its token every second for `span`, and checks each
/// against what the fake says now: never a revoked token. Returns how long
/// it served `first`.
async fn never_serves_a_revoked_token(
    s: &Setup,
    replica: &TokenSource,
    first: &str,
    span: Duration,
) -> Duration {
    let clock = s.fake.clock();
    let start = clock();
    let mut served_first = Duration::ZERO;
    while clock() < start + span {
        let token = value(&replica.token().await.unwrap());
        let now = clock();
        let revoked_at = record(s, &token).revoked_at;
        assert!(
            revoked_at.is_none_or(|at| at > now),
            "served a token {:?} after its revocation",
            revoked_at.map(|at| now.duration_since(at).unwrap())
        );
        if token == first {
            served_first = now.duration_since(start).unwrap();
        }
        s.pass(Duration::from_secs(1)).await;
        settle().await;
    }
    served_first
}

/// The worst case of the old rule: replica B reads the token from the store
/// one second before any replica's refresh can be due (the shared refresh
/// point less the spread, 30 s for a 30-day token). A, called every second,
/// replaces it at its own spread point, before the shared one, and revokes
/// it no sooner than the revoke delay past the shared point. B must have
/// stopped serving it by then.
#[tokio::test(start_paused = true)]
async fn a_replica_that_reads_the_token_just_before_its_refresh_never_serves_it_revoked() {
    let s = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let key = EncryptionKey::generate();
    let (a, b) = (replica(&s, dir.path(), &key), replica(&s, dir.path(), &key));
    let first = value(&a.token().await.unwrap());
    s.pass(REFRESH_DUE - SPREAD - Duration::from_secs(1)).await;
    assert_eq!(
        value(&b.token().await.unwrap()),
        first,
        "read from the store"
    );
    assert_eq!(s.fake.issued_count(), 1);

    // A's first call after its spread point replaces the token.
    let mut waited = Duration::ZERO;
    while s.fake.issued_count() < 2 {
        assert!(
            waited <= SPREAD + Duration::from_secs(1),
            "A never refreshed"
        );
        s.pass(Duration::from_secs(1)).await;
        waited += Duration::from_secs(1);
        assert_eq!(value(&a.token().await.unwrap()), first);
        settle().await;
    }

    let served = never_serves_a_revoked_token(&s, &b, &first, Duration::from_secs(200)).await;
    // B took A's token once it stopped serving the first: no issuance.
    assert!(served <= Duration::from_secs(30), "served {served:?}");
    assert_eq!(s.fake.issued_count(), 2);
    // And the first was revoked, once, when no one served it any more.
    let revoked = record(&s, &first);
    assert_eq!(revoked.revocations, 1);
    let revoked_after = revoked
        .revoked_at
        .unwrap()
        .duration_since(revoked.issued_at)
        .unwrap();
    assert!(revoked_after >= REFRESH_DUE + Duration::from_secs(60));
}

/// A replica that reports the token refused (a 401) replaces it long
/// before its refresh point, while B still serves it. The replaced token
/// is revoked only once B has stopped serving it, and B takes the new
/// token from the store without issuing.
#[tokio::test(start_paused = true)]
async fn a_token_one_replica_reported_refused_is_revoked_only_once_no_replica_serves_it() {
    let s = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let key = EncryptionKey::generate();
    let (a, b) = (replica(&s, dir.path(), &key), replica(&s, dir.path(), &key));
    let refused = a.token().await.unwrap();
    let first = value(&refused);
    s.pass(DAY).await;
    assert_eq!(value(&b.token().await.unwrap()), first);

    assert!(a.invalidate(&refused));
    let second = value(&a.token().await.unwrap());
    assert_ne!(second, first);
    assert_eq!(s.fake.issued_count(), 2);

    // B serves the first token on: it cannot know. Then, a day later...
    let clock = s.fake.clock();
    let replaced_at = clock();
    for _ in 0..3 {
        s.pass(Duration::from_secs(60)).await;
        settle().await;
        assert_eq!(value(&b.token().await.unwrap()), first);
        assert!(record(&s, &first).revoked_at.is_none());
    }
    // ... and up to the first token's refresh point, it is still not revoked.
    let until_due = REFRESH_DUE - DAY - (clock().duration_since(replaced_at).unwrap());
    s.pass(until_due - Duration::from_secs(5)).await;
    settle().await;
    assert!(record(&s, &first).revoked_at.is_none());
    let served = never_serves_a_revoked_token(&s, &b, &first, Duration::from_secs(120)).await;
    assert!(served <= Duration::from_secs(40), "served {served:?}");
    assert_eq!(value(&b.token().await.unwrap()), second);
    assert_eq!(
        s.fake.issued_count(),
        2,
        "B took the new token from the store"
    );
    assert_eq!(record(&s, &first).revocations, 1);
}
