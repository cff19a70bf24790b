//! What the integration tests against the fake LINE server share: a fake
//! with one channel, a client for it, and a signer whose key it knows.

#![allow(dead_code)] // Each test binary uses a different part.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use line_oauth::{
    AssertionKeyPair, AssertionSigner, ChannelCredentials, Client, ClientAssertion, ClientSecret,
    RetryPolicy,
};
use line_oauth_fake::FakeLine;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::format::FmtSpan;

pub mod redis_cluster;
pub mod redis_process;
pub mod redis_sentinel;
pub mod redis_server;

pub const CHANNEL: &str = "1234567890";
pub const SECRET: &str = "fake-channel-secret";

/// One key pair for the whole test binary: generating one takes a while.
pub fn key_pair() -> &'static AssertionKeyPair {
    static PAIR: OnceLock<AssertionKeyPair> = OnceLock::new();
    PAIR.get_or_init(|| AssertionKeyPair::generate().expect("a key pair"))
}

/// A running fake with [`CHANNEL`] and the [`key_pair`]'s public key.
pub struct Setup {
    pub fake: FakeLine,
    pub client: Client,
    pub creds: ChannelCredentials,
    /// Signs for [`CHANNEL`] with the registered key, on the fake's clock.
    pub signer: AssertionSigner,
    /// The `kid` the fake gave the registered key.
    pub kid: String,
}

pub async fn setup() -> Setup {
    let fake = FakeLine::start().await.expect("the fake starts");
    fake.add_channel(CHANNEL, SECRET);
    let client = Client::builder()
        .base_url(fake.url())
        .build()
        .expect("a loopback URL is fine");
    let creds = ChannelCredentials::new(CHANNEL, ClientSecret::new(SECRET));
    let kid = fake
        .register_key(CHANNEL, &key_pair().public.to_json())
        .expect("a valid key");
    let signer = AssertionSigner::builder(&key_pair().private, kid.clone(), CHANNEL)
        .clock(fake.clock())
        .build()
        .expect("a valid signer");
    Setup {
        fake,
        client,
        creds,
        signer,
        kid,
    }
}

impl Setup {
    /// A fresh assertion for the channel, valid 5 minutes by the fake clock,
    /// asking for a v2.1 token of `token_exp` seconds when given.
    pub fn assertion(&self, token_exp: Option<u64>) -> ClientAssertion {
        match token_exp {
            Some(seconds) => self.signer.sign_v21(Duration::from_secs(seconds)),
            None => self.signer.sign(),
        }
        .expect("a valid assertion")
    }

    /// A client of the fake that sends each request once, so the fake's
    /// counts are the caller's own attempts.
    pub fn client_without_retries(&self) -> Client {
        Client::builder()
            .base_url(self.fake.url())
            .retry(RetryPolicy::none())
            .build()
            .expect("a loopback URL is fine")
    }

    /// How long `token` has left by the fake's record of when LINE answered,
    /// on the runtime's clock (paused in tests).
    pub fn time_left(&self, token: &line_oauth::Token) -> Duration {
        let expiry = self
            .fake
            .expiry(token.access_token().expose_secret())
            .expect("the fake issued it");
        expiry.saturating_duration_since(tokio::time::Instant::now())
    }

    /// Moves tokio's clock (paused in tests), and with it the fake's (its
    /// tokens and the signer's assertions).
    pub async fn pass(&self, by: Duration) {
        tokio::time::advance(by).await;
    }
}

/// Lets spawned tasks (background refreshes, revocations) run to completion.
pub async fn settle() {
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
}

/// Everything the test binary's global subscriber wrote.
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    /// Installs the process's global subscriber at `level` (closed spans
    /// included, no colours), writing into the returned capture.
    pub fn install(level: LevelFilter) -> Self {
        let capture = Self::default();
        let writer = capture.clone();
        tracing_subscriber::fmt()
            .with_max_level(level)
            .with_span_events(FmtSpan::CLOSE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init()
            .expect("the only subscriber of this binary");
        capture
    }

    /// What was written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Issues the first token of `channel` (added to the fake) through `store`:
/// the source must not fall back to a token of its own, and the store must
/// hold the token it serves.
pub async fn issue_through_store(
    s: &Setup,
    store: &line_oauth::RedisStore,
    channel: &str,
) -> line_oauth::Token {
    use line_oauth::{ShortLived, TokenSource, TokenStore};
    s.fake.add_channel(channel, SECRET);
    let creds = ChannelCredentials::new(channel, ClientSecret::new(SECRET));
    let source = TokenSource::builder(ShortLived::new(s.client.clone(), creds))
        .store(store.clone())
        .build()
        .expect("a valid source");
    let token = source.token().await.expect("a token");
    assert!(
        !source.health().is_degraded(),
        "{channel}: the source fell back"
    );
    let stored = store
        .load(&format!("short-lived:{channel}"))
        .await
        .expect("the store answers")
        .expect("the token is stored");
    assert_eq!(
        stored.access_token().expose_secret(),
        token.access_token().expose_secret()
    );
    token
}
