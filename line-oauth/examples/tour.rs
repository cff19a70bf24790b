//! A tour of every operation of LINE's Channel Access Token API.
//!
//! ```sh
//! cargo run --example tour
//! ```
//!
//! With no LINE variables set, it starts the fake LINE server on 127.0.0.1,
//! generates an assertion signing key pair, registers the public key there,
//! and runs everything offline. With `LINE_CHANNEL_ID` and
//! `LINE_CHANNEL_SECRET` set, it runs against `LINE_API_BASE_URL` (default
//! `https://api.line.me`); the assertion-based flows (v2.1 tokens, stateless
//! by JWT) then run when `LINE_ASSERTION_KEY_FILE` (the private JWK) and
//! `LINE_ASSERTION_KID` (its kid from the LINE Developers Console) are set.
//! The registry part runs with three channels offline, with the one
//! channel of the variables against LINE. Secrets are never printed. A failing call ends the tour with its error
//! and a non-zero exit.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use line_oauth::{
    AccessToken, AssertionKeyPair, AssertionSigner, ChannelCredentials, Client, ClientSecret,
    Error, IssuedToken, Stateless, TokenInfo, TokenRegistry, TokenSource,
};
use line_oauth_fake::FakeLine;

/// The channel the offline tour registers on the fake server.
const FAKE_CHANNEL_ID: &str = "1234567890";
const FAKE_CHANNEL_SECRET: &str = "fake-channel-secret";
/// The v2.1 token lifetime the tour asks for.
const V21_LIFETIME: Duration = Duration::from_secs(3600);

/// Two more channels the offline tour adds, for the registry.
const FAKE_MORE_CHANNELS: [(&str, &str); 2] = [
    ("2345678901", "second-channel-secret"),
    ("3456789012", "third-channel-secret"),
];

/// Where the tour runs and with what.
struct Target {
    client: Client,
    creds: ChannelCredentials,
    signer: Option<AssertionSigner>,
    /// Every channel the tour may use, the first `creds`'s: three offline.
    channels: Vec<ChannelCredentials>,
    /// Keeps the fake server running for the offline tour.
    _fake: Option<FakeLine>,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tour failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The whole tour, on LINE or the fake (the Prometheus example runs it too).
pub async fn run() -> Result<(), Error> {
    let target = target().await?;
    println!("LINE at {}", target.client.base_url());
    short_lived(&target).await?;
    stateless(&target).await?;
    match &target.signer {
        Some(signer) => v21(&target, signer).await?,
        None => println!(
            "
== v2.1 tokens, stateless by JWT ==
skipped: set LINE_ASSERTION_KEY_FILE (private JWK) and LINE_ASSERTION_KID to run them"
        ),
    }
    token_source(&target).await?;
    registry(&target).await?;
    typed_errors(&target).await?;
    println!("\ntour done");
    Ok(())
}

/// The real LINE (or any server speaking its API) when credentials are
/// set, the fake otherwise.
async fn target() -> Result<Target, Error> {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    if !set("LINE_CHANNEL_ID") && !set("LINE_CHANNEL_SECRET") {
        return offline().await;
    }
    let creds = ChannelCredentials::from_env()?;
    let base_url = std::env::var("LINE_API_BASE_URL")
        .unwrap_or_else(|_| line_oauth::Client::DEFAULT_BASE_URL.to_owned());
    println!("running against LINE with channel {}", creds.channel_id());
    let signer = if set("LINE_ASSERTION_KEY_FILE") || set("LINE_ASSERTION_KID") {
        Some(AssertionSigner::from_env()?)
    } else {
        None
    };
    Ok(Target {
        client: Client::builder().base_url(base_url).build()?,
        channels: vec![creds.clone()],
        creds,
        signer,
        _fake: None,
    })
}

async fn offline() -> Result<Target, Error> {
    let fake = FakeLine::start()
        .await
        .map_err(|e| Error::InvalidConfig(format!("cannot start the fake LINE server: {e}")))?;
    fake.add_channel(FAKE_CHANNEL_ID, FAKE_CHANNEL_SECRET);
    let mut channels = vec![ChannelCredentials::new(
        FAKE_CHANNEL_ID,
        ClientSecret::new(FAKE_CHANNEL_SECRET),
    )];
    for (id, secret) in FAKE_MORE_CHANNELS {
        fake.add_channel(id, secret);
        channels.push(ChannelCredentials::new(id, ClientSecret::new(secret)));
    }
    println!("no LINE_CHANNEL_ID set: running offline against the fake LINE server");
    let pair = AssertionKeyPair::generate().map_err(|e| Error::InvalidConfig(e.to_string()))?;
    println!(
        "generated an assertion signing key pair; public key: {}",
        pair.public.to_json()
    );
    let kid = fake
        .register_key(FAKE_CHANNEL_ID, &pair.public.to_json())
        .map_err(Error::InvalidConfig)?;
    println!("registered it with the fake LINE, which gave kid {kid}");
    Ok(Target {
        client: Client::builder().base_url(fake.url()).build()?,
        creds: ChannelCredentials::new(FAKE_CHANNEL_ID, ClientSecret::new(FAKE_CHANNEL_SECRET)),
        signer: Some(AssertionSigner::new(&pair.private, kid, FAKE_CHANNEL_ID)),
        channels,
        _fake: Some(fake),
    })
}

async fn short_lived(t: &Target) -> Result<(), Error> {
    println!("\n== short-lived token (30 days, at most 30 per channel) ==");
    let issued = t.client.issue_short_lived(&t.creds).await?;
    show_issued("issue_short_lived", &issued);
    show_info("verify", &t.client.verify(issued.access_token()).await?);
    t.client.revoke(issued.access_token()).await?;
    println!("revoke: done");
    show_refusal(
        "verify after revoke",
        t.client.verify(issued.access_token()).await,
    );
    Ok(())
}

async fn stateless(t: &Target) -> Result<(), Error> {
    println!("\n== stateless token (15 minutes, no limit, not revocable) ==");
    let issued = t.client.issue_stateless(&t.creds).await?;
    show_issued("issue_stateless by channel secret", &issued);
    Ok(())
}

async fn v21(t: &Target, signer: &AssertionSigner) -> Result<(), Error> {
    println!(
        "
== v2.1 token (lifetime from the assertion, at most 30 per channel) =="
    );
    let issued = t.client.issue_v21(signer, V21_LIFETIME).await?;
    show_issued("issue_v21 with a signer (1 hour)", &issued);
    show_info(
        "verify_v21",
        &t.client.verify_v21(issued.access_token()).await?,
    );
    let key_ids = t.client.list_v21_key_ids(signer).await?;
    println!(
        "list_v21_key_ids: {} valid v2.1 token(s): {}",
        key_ids.len(),
        key_ids.join(", ")
    );
    t.client.revoke_v21(&t.creds, issued.access_token()).await?;
    println!("revoke_v21: done");
    show_refusal(
        "verify_v21 after revoke",
        t.client.verify_v21(issued.access_token()).await,
    );

    println!("\n== stateless token by JWT assertion ==");
    let issued = t.client.issue_stateless(signer).await?;
    show_issued("issue_stateless by signed assertion", &issued);
    Ok(())
}

async fn token_source(t: &Target) -> Result<(), Error> {
    println!("\n== TokenSource: an always-valid token, cached and issued once ==");
    let provider = match &t.signer {
        Some(signer) => Stateless::by_signer(t.client.clone(), signer.clone()),
        None => Stateless::by_secret(t.client.clone(), t.creds.clone()),
    };
    let source = TokenSource::new(provider)?;
    let callers: Vec<_> = (0..100)
        .map(|_| {
            let source = source.clone();
            tokio::spawn(async move { source.token().await })
        })
        .collect();
    let mut distinct = std::collections::HashSet::new();
    for caller in callers {
        let token = caller.await.expect("a caller does not panic")?;
        distinct.insert(token.access_token().expose_secret().to_owned());
    }
    println!(
        "100 concurrent token() calls: {} issuance(s), the rest served from the cache",
        distinct.len()
    );
    let token = source.token().await?;
    println!(
        "Authorization header value: {:?} (marked sensitive)",
        token.bearer_header()
    );
    Ok(())
}

async fn registry(t: &Target) -> Result<(), Error> {
    println!("\n== TokenRegistry: many channels, each source made on first use ==");
    // What a platform keeps in its database or secret manager.
    let secrets: HashMap<String, ClientSecret> = t
        .channels
        .iter()
        .map(|c| (c.channel_id().to_owned(), c.secret().clone()))
        .collect();
    let resolved = Arc::new(AtomicUsize::new(0));
    let asked = Arc::clone(&resolved);
    let registry = TokenRegistry::builder(t.client.clone(), move |channel: String, client| {
        asked.fetch_add(1, Ordering::Relaxed);
        let secret = secrets.get(&channel).cloned();
        async move {
            let creds = secret.map(|secret| ChannelCredentials::new(channel, secret));
            Ok(creds.map(|creds| Stateless::by_secret(client, creds)))
        }
    })
    .build()?;
    for creds in &t.channels {
        let channel = creds.channel_id();
        let callers: Vec<_> = (0..20)
            .map(|_| {
                let (registry, channel) = (registry.clone(), channel.to_owned());
                tokio::spawn(async move { registry.token(&channel).await })
            })
            .collect();
        let mut distinct = std::collections::HashSet::new();
        for caller in callers {
            let token = caller.await.expect("a caller does not panic")?;
            distinct.insert(token.access_token().expose_secret().to_owned());
        }
        println!(
            "channel {channel}: 20 concurrent token() calls, {} issuance(s)",
            distinct.len()
        );
    }
    println!(
        "{} channel(s) live, {} resolver call(s)",
        registry.len(),
        resolved.load(Ordering::Relaxed)
    );
    show_refusal(
        "token for a channel the resolver does not know",
        registry.token("9999999999").await,
    );
    Ok(())
}

async fn typed_errors(t: &Target) -> Result<(), Error> {
    println!("\n== typed errors ==");
    let wrong = ChannelCredentials::new(t.creds.channel_id(), ClientSecret::new("not-the-secret"));
    show_refusal(
        "issue_short_lived with a wrong secret",
        t.client.issue_short_lived(&wrong).await,
    );
    show_refusal(
        "verify of a malformed token",
        t.client.verify(&AccessToken::new("not a token")).await,
    );
    Ok(())
}

fn show_issued(call: &str, issued: &IssuedToken) {
    let key_id = issued
        .key_id()
        .map(|k| format!(", key id {k}"))
        .unwrap_or_default();
    println!(
        "{call}: {} {} token valid for {}{key_id}",
        issued.access_token(),
        issued.token_type(),
        human(issued.expires_in())
    );
}

fn show_info(call: &str, info: &TokenInfo) {
    let scopes = match info.scopes().collect::<Vec<_>>().join(" ") {
        scopes if scopes.is_empty() => "none".to_owned(),
        scopes => scopes,
    };
    println!(
        "{call}: channel {}, {} left, scopes: {scopes}",
        info.client_id(),
        human(info.expires_in())
    );
}

/// Shows the outcome of a call that LINE is expected to refuse.
fn show_refusal<T>(call: &str, outcome: Result<T, Error>) {
    match outcome {
        Err(e) => println!("{call}: refused: {e}"),
        Ok(_) => println!("{call}: accepted (this server does not refuse it)"),
    }
}

/// A lifetime as days, hours, minutes and seconds, largest two units.
fn human(d: Duration) -> String {
    let s = d.as_secs();
    let (days, hours, minutes, seconds) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{seconds}s"),
        (0, 0, _) => format!("{minutes}m {seconds}s"),
        (0, _, _) => format!("{hours}h {minutes}m"),
        _ => format!("{days}d {hours}h"),
    }
}
