//! The test line-oauth-fake's README shows, run as it is written: it must
//! see a refresh, and fail without one. A second test keeps the README's
//! copy the same as this one.

// README: from here
use std::time::Duration;

use line_oauth::{ChannelCredentials, Client, ClientSecret, ShortLived, TokenSource};
use line_oauth_fake::FakeLine;

#[tokio::test(start_paused = true)]
async fn the_bot_refreshes_its_token_before_it_expires() {
    let fake = FakeLine::start().await.unwrap();
    fake.add_channel("1234567890", "channel-secret");
    // Tokens of 10 minutes instead of 30 days.
    fake.set_lifetime_override(Some(Duration::from_secs(600)));

    let client = Client::builder().base_url(fake.url()).build().unwrap();
    let creds = ChannelCredentials::new("1234567890", ClientSecret::new("channel-secret"));
    let source = TokenSource::new(ShortLived::new(client.clone(), creds)).unwrap();
    let first = source.token().await.unwrap();
    let value = |token: &line_oauth::Token| token.access_token().expose_secret().to_owned();

    // Past the refresh point (5 minutes before expiry) the source still
    // serves the token, and refreshes it in the background.
    tokio::time::sleep(Duration::from_secs(310)).await;
    assert_eq!(value(&source.token().await.unwrap()), value(&first));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(fake.issued_count(), 2, "refreshed before expiry");
    let second = source.token().await.unwrap();
    assert_ne!(value(&second), value(&first));

    // Once the first token has expired, LINE refuses it and honours the second.
    tokio::time::sleep(Duration::from_secs(300)).await;
    assert!(client.verify(first.access_token()).await.is_err());
    let info = client.verify(second.access_token()).await.unwrap();
    assert!(info.expires_in() > Duration::from_secs(60));
}
// README: to here

#[test]
fn the_fake_readme_shows_this_test_word_for_word() {
    let this = include_str!("fake_readme.rs");
    let shown = this
        .split_once("// README: from here\n")
        .and_then(|(_, rest)| rest.split_once("// README: to here"))
        .map(|(shown, _)| shown)
        .unwrap();
    let readme = include_str!("../fake/README.md");
    assert!(
        readme.contains(&format!("```rust,no_run\n{shown}```")),
        "tests/fake/README.md's test differs from tests/tests/fake_readme.rs: copy the test \
         between the README markers into the README's first rust block"
    );
}
