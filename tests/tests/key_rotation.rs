//! Rotating the assertion signing key with no failed issuance, by the
//! procedure README gives, against the fake: the new key deployed before
//! it is registered, then registered, then the old one removed.
//!
//! Its own binary: it installs the process's global subscriber.

mod support;

use std::time::Duration;

use line_oauth::{
    AssertionKeyPair, AssertionSigner, Client, Error, Signers, Stateless, TokenProvider, V21,
};
use line_oauth_fake::FakeLine;
use support::{CHANNEL, Capture, SECRET};
use tracing_subscriber::filter::LevelFilter;

const OLD_KID: &str = "old-signing-key";
const NEW_KID: &str = "new-signing-key";
/// How long an older key is preferred before the newest is tried again.
const RETRY_NEWEST: Duration = Duration::from_millis(300);

/// The lines of `text` that are warnings about the first test's keys (the
/// other tests of this binary, running beside it, use keys of their own).
fn warnings(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|line| line.contains("WARN") && line.contains(NEW_KID))
        .collect()
}

#[tokio::test]
async fn the_readme_procedure_rotates_the_key_with_every_issuance_succeeding() {
    let capture = Capture::install(LevelFilter::INFO);
    let old = AssertionKeyPair::generate().unwrap();
    let new = AssertionKeyPair::generate().unwrap();
    for kind in ["v2.1", "stateless"] {
        let fake = FakeLine::start().await.unwrap();
        fake.add_channel(CHANNEL, SECRET);
        fake.register_key_as(CHANNEL, &old.public.to_json(), OLD_KID)
            .unwrap();
        let client = Client::builder().base_url(fake.url()).build().unwrap();
        let signer = |pair: &AssertionKeyPair, kid: &str| {
            AssertionSigner::builder(&pair.private, kid, CHANNEL)
                .clock(fake.clock())
                .build()
                .unwrap()
        };
        // Step 2 before step 1: the new key is deployed as the newest
        // before the Console knows it.
        let signers = Signers::new(signer(&new, NEW_KID))
            .then(signer(&old, OLD_KID))
            .unwrap()
            .retry_newest_after(RETRY_NEWEST);
        let provider: Box<dyn Fn() -> _> = match kind {
            "v2.1" => {
                let v21 = V21::new(client.clone(), signers, Duration::from_secs(3600));
                Box::new(move || {
                    let v21 = v21.clone();
                    Box::pin(async move { v21.issue().await })
                        as std::pin::Pin<Box<dyn Future<Output = Result<_, Error>>>>
                })
            }
            _ => {
                let stateless = Stateless::by_signer(client.clone(), signers);
                Box::new(move || {
                    let stateless = stateless.clone();
                    Box::pin(async move { stateless.issue().await })
                        as std::pin::Pin<Box<dyn Future<Output = Result<_, Error>>>>
                })
            }
        };
        let before = warnings(&capture.text()).len();
        for _ in 0..3 {
            provider()
                .await
                .expect("an issuance during the rotation failed");
        }
        let text = capture.text();
        let new_warnings = &warnings(&text)[before..];
        assert_eq!(
            new_warnings.len(),
            1,
            "{kind}: the unknown newest key was tried again at once:\n{text}"
        );
        assert!(
            new_warnings[0].contains(NEW_KID) && new_warnings[0].contains(OLD_KID),
            "{kind}: the warning names neither kid: {}",
            new_warnings[0]
        );

        // Step 1: the Console registers the new key.
        fake.register_key_as(CHANNEL, &new.public.to_json(), NEW_KID)
            .unwrap();
        tokio::time::sleep(RETRY_NEWEST + Duration::from_millis(50)).await;
        provider()
            .await
            .expect("the first issuance with the new key");
        let taken_up = capture
            .text()
            .lines()
            .filter(|line| line.contains("the newest signing key works again"))
            .filter(|line| line.contains(NEW_KID))
            .count();
        assert_eq!(
            taken_up,
            usize::from(kind == "stateless") + 1,
            "{kind}: the newest key was not taken up again"
        );

        // Step 3: the old key is removed.
        assert!(fake.remove_key(CHANNEL, OLD_KID));
        let before = warnings(&capture.text()).len();
        for _ in 0..3 {
            provider()
                .await
                .expect("an issuance after the old key went");
        }
        assert_eq!(
            warnings(&capture.text()).len(),
            before,
            "{kind}: a warning after the rotation"
        );
    }
}

/// The new key deployed before it was registered (the old one then
/// preferred), then registered and the old one removed within the retry
/// time: the next issuance takes the newer key at once.
#[tokio::test]
async fn a_removed_preferred_key_falls_forward_to_the_newer_one() {
    let old = AssertionKeyPair::generate().unwrap();
    let new = AssertionKeyPair::generate().unwrap();
    let fake = FakeLine::start().await.unwrap();
    fake.add_channel(CHANNEL, SECRET);
    fake.register_key_as(CHANNEL, &old.public.to_json(), "second-old-key")
        .unwrap();
    let client = Client::builder().base_url(fake.url()).build().unwrap();
    let signer = |pair: &AssertionKeyPair, kid: &str| {
        AssertionSigner::builder(&pair.private, kid, CHANNEL)
            .clock(fake.clock())
            .build()
            .unwrap()
    };
    let signers = Signers::new(signer(&new, "second-new-key"))
        .then(signer(&old, "second-old-key"))
        .unwrap();
    let v21 = V21::new(client, signers, Duration::from_secs(3600));
    v21.issue()
        .await
        .expect("the old key while the new one is unknown");
    fake.register_key_as(CHANNEL, &new.public.to_json(), "second-new-key")
        .unwrap();
    assert!(fake.remove_key(CHANNEL, "second-old-key"));
    v21.issue()
        .await
        .expect("the newer key after the preferred one went");
}

#[test]
fn signers_for_another_channel_are_refused() {
    let pair = support::key_pair();
    let ours = AssertionSigner::new(&pair.private, NEW_KID, CHANNEL);
    let theirs = AssertionSigner::new(&pair.private, OLD_KID, "9999999999");
    let error = Signers::new(ours).then(theirs).unwrap_err();
    assert!(matches!(error, Error::InvalidConfig(_)), "{error:?}");
}
