//! Memory per channel: the peak resident set a process adds for 10,000
//! channels, each holding a short-lived token, in one `TokenRegistry` or
//! in 10,000 hand-made `TokenSource`s sharing one `Client`. Measured twice:
//! with LINE's own tokens from the fake (172 characters), and with 50-byte
//! tokens from a provider in the process (as `ShortLived`, holding a client
//! and the channel's credentials, but issuing at once).
//!
//! ```sh
//! cargo run --release -p line-oauth-tests --example registry_memory
//! ```
//!
//! The fake LINE server runs in a child process (this example, started
//! again), so that its own tokens do not count. Each way is measured in a
//! process of its own, since the peak (`VmHWM`) only grows: the peak after
//! one channel's first token, then after all 10,000, on a runtime with two
//! workers, filling 32 channels at a time.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use futures_util::{StreamExt, stream};
use line_oauth::{
    AccessToken, ChannelCredentials, Client, ClientSecret, IssuedToken, ShortLived, TokenProvider,
    TokenRegistry, TokenSource,
};
use line_oauth_fake::FakeLine;

const CHANNELS: u64 = 10_000;

fn channel(i: u64) -> String {
    (5_000_000_000 + i).to_string()
}

fn main() {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("fake") => serve_fake(),
        Some(way @ ("registry" | "sources")) => {
            measure(way, &args.next().expect("the fake's URL or `local`"))
        }
        _ => compare(),
    }
}

/// Runs the fake with every channel until standard input closes.
fn serve_fake() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let fake = FakeLine::start().await.unwrap();
        for i in 0..CHANNELS {
            fake.add_channel(&channel(i), "secret");
        }
        println!("{}", fake.url());
        tokio::task::spawn_blocking(|| std::io::stdin().lines().count())
            .await
            .unwrap();
    });
}

/// Both ways, each in a process of its own, against one fake.
fn compare() {
    let me = std::env::current_exe().unwrap();
    let mut fake = Command::new(&me)
        .arg("fake")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(fake.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    for tokens in [url.trim(), "local"] {
        for way in ["registry", "sources"] {
            let status = Command::new(&me).args([way, tokens]).status().unwrap();
            assert!(status.success(), "{way} failed");
        }
    }
    drop(fake.stdin.take());
    fake.wait().unwrap();
}

/// This process's peak resident set, in KiB.
fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// `ShortLived`'s fields, issuing 50-byte tokens at once.
#[derive(Debug)]
struct Local {
    _client: Client,
    creds: ChannelCredentials,
}

impl TokenProvider for Local {
    async fn issue(&self) -> Result<IssuedToken, line_oauth::Error> {
        let token = format!("{:0>50}", self.creds.channel_id());
        Ok(IssuedToken::new(AccessToken::new(token), LIFETIME))
    }

    fn lifetime(&self) -> Option<Duration> {
        Some(LIFETIME)
    }

    fn store_key(&self) -> Option<String> {
        Some(format!("short-lived:{}", self.creds.channel_id()))
    }
}

/// A short-lived token's lifetime.
const LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);

/// The provider for channel `i`: `ShortLived` on the fake at `url`, or
/// [`Local`].
fn provider(url: &str, client: Client, creds: ChannelCredentials) -> Provider {
    match url {
        "local" => Provider::Local(Local {
            _client: client,
            creds,
        }),
        _ => Provider::Fake(ShortLived::new(client, creds)),
    }
}

/// Either provider, as one type.
#[derive(Debug)]
enum Provider {
    Fake(ShortLived),
    Local(Local),
}

impl TokenProvider for Provider {
    async fn issue(&self) -> Result<IssuedToken, line_oauth::Error> {
        match self {
            Self::Fake(p) => p.issue().await,
            Self::Local(p) => p.issue().await,
        }
    }

    fn lifetime(&self) -> Option<Duration> {
        Some(LIFETIME)
    }

    fn store_key(&self) -> Option<String> {
        match self {
            Self::Fake(p) => p.store_key(),
            Self::Local(p) => p.store_key(),
        }
    }
}

fn measure(way: &str, url: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let base_url = if url == "local" { "http://127.0.0.1:9" } else { url };
        let client = Client::builder().base_url(base_url).build().unwrap();
        let url = url.to_owned();
        let creds = |i| ChannelCredentials::new(channel(i), ClientSecret::new("secret"));
        let (before, after) = match way {
            "registry" => {
                let resolved_on = url.clone();
                let registry = TokenRegistry::builder(client, move |id: String, client: Client| {
                    let creds = ChannelCredentials::new(id, ClientSecret::new("secret"));
                    let provider = provider(&resolved_on, client, creds);
                    async move { Ok(Some(provider)) }
                })
                .max_channels(CHANNELS as usize)
                .build()
                .unwrap();
                registry.token(&channel(0)).await.unwrap();
                let before = peak_kib();
                stream::iter(1..CHANNELS)
                    .for_each_concurrent(32, |i| {
                        let registry = registry.clone();
                        async move {
                            registry.token(&channel(i)).await.unwrap();
                        }
                    })
                    .await;
                assert_eq!(registry.len(), CHANNELS as usize);
                (before, peak_kib())
            }
            _ => {
                let first = TokenSource::new(provider(&url, client.clone(), creds(0))).unwrap();
                first.token().await.unwrap();
                let before = peak_kib();
                let mut sources = vec![first];
                let rest: Vec<TokenSource> = stream::iter(1..CHANNELS)
                    .map(|i| {
                        let source =
                            TokenSource::new(provider(&url, client.clone(), creds(i))).unwrap();
                        async move {
                            source.token().await.unwrap();
                            source
                        }
                    })
                    .buffer_unordered(32)
                    .collect()
                    .await;
                sources.extend(rest);
                assert_eq!(sources.len(), CHANNELS as usize);
                (before, peak_kib())
            }
        };
        let added = after.saturating_sub(before);
        let tokens = if url == "local" { "50-byte" } else { "LINE's" };
        println!(
            "{way:>8}, {tokens} tokens: {CHANNELS} channels add {:.1} MiB of peak RSS ({} bytes a channel)",
            added as f64 / 1024.0,
            added * 1024 / CHANNELS
        );
    });
}
