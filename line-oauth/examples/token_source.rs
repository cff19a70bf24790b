//! A bot's view of tokens: ask `TokenSource` before each Messaging API call.
//!
//! ```sh
//! cargo run --example token_source
//! ```
//!
//! Offline (no LINE variables) it runs against the fake LINE server. With
//! `LINE_CHANNEL_ID` and either `LINE_ASSERTION_KEY_FILE` + `LINE_ASSERTION_KID`
//! (stateless tokens by assertion, the recommended kind) or
//! `LINE_CHANNEL_SECRET` (stateless tokens by secret), it runs against
//! `LINE_API_BASE_URL` (default `https://api.line.me`).

use std::collections::HashSet;
use std::process::ExitCode;
use std::time::Instant;

use line_oauth::{
    AssertionKeyPair, AssertionSigner, ChannelCredentials, Client, Error, Stateless, TokenSource,
};
use line_oauth_fake::FakeLine;

/// How many simulated Messaging API calls ask for a token at once.
const CONCURRENT_CALLS: usize = 1000;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("token_source failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Error> {
    let (source, _fake) = source().await?;
    let started = Instant::now();
    let calls: Vec<_> = (0..CONCURRENT_CALLS)
        .map(|_| {
            let source = source.clone();
            tokio::spawn(async move { source.token().await })
        })
        .collect();
    let mut distinct = HashSet::new();
    for call in calls {
        let token = call.await.expect("a call does not panic")?;
        distinct.insert(token.access_token().expose_secret().to_owned());
    }
    println!(
        "{CONCURRENT_CALLS} concurrent calls got {} distinct token(s) in {:?}",
        distinct.len(),
        started.elapsed()
    );

    let started = Instant::now();
    for _ in 0..100_000 {
        source.token().await?;
    }
    println!("100000 cached calls took {:?} in all", started.elapsed());

    let token = source.token().await?;
    println!(
        "Authorization header for the Messaging API: {:?}",
        token.bearer_header()
    );
    Ok(())
}

/// A source for the real LINE when credentials are set, for the fake otherwise.
async fn source() -> Result<(TokenSource, Option<FakeLine>), Error> {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    if !set("LINE_CHANNEL_ID") {
        return offline().await;
    }
    let base_url = std::env::var("LINE_API_BASE_URL")
        .unwrap_or_else(|_| line_oauth::Client::DEFAULT_BASE_URL.to_owned());
    let client = Client::builder().base_url(base_url).build()?;
    // By JWT when a key is set, else by channel secret.
    let provider = if set("LINE_ASSERTION_KEY_FILE") || set("LINE_ASSERTION_KID") {
        Stateless::by_signer(client, AssertionSigner::from_env()?)
    } else {
        Stateless::by_secret(client, ChannelCredentials::from_env()?)
    };
    Ok((TokenSource::new(provider)?, None))
}

async fn offline() -> Result<(TokenSource, Option<FakeLine>), Error> {
    let fake = FakeLine::start()
        .await
        .map_err(|e| Error::InvalidConfig(format!("cannot start the fake LINE server: {e}")))?;
    fake.add_channel("1234567890", "fake-channel-secret");
    let pair = AssertionKeyPair::generate().map_err(|e| Error::InvalidConfig(e.to_string()))?;
    let kid = fake
        .register_key("1234567890", &pair.public.to_json())
        .map_err(Error::InvalidConfig)?;
    println!("offline: the fake LINE server at {}", fake.url());
    let client = Client::builder().base_url(fake.url()).build()?;
    let signer = AssertionSigner::new(&pair.private, kid, "1234567890");
    Ok((
        TokenSource::new(Stateless::by_signer(client, signer))?,
        Some(fake),
    ))
}
