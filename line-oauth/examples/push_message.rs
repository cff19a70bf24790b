//! A push message through reqwest-middleware with [`BearerMiddleware`]:
//! the token comes from a `TokenSource`, and when the Messaging API answers
//! 401 (the token was revoked elsewhere, say) the middleware gets a new one
//! and sends the message again.
//!
//! ```sh
//! cargo run --example push_message --features reqwest-middleware
//! ```
//!
//! It runs offline: tokens from the fake LINE server, and a stand-in for the
//! Messaging API on 127.0.0.1 that refuses the first request with a 401.

use std::process::ExitCode;

use line_oauth::{
    AllowedHosts, BearerMiddleware, ChannelCredentials, Client, ClientSecret, ShortLived,
    TokenSource,
};
use line_oauth_fake::FakeLine;
use wiremock::matchers::{header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("push_message failed: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let line = FakeLine::start().await?;
    line.add_channel("1234567890", "channel-secret");
    let client = Client::builder().base_url(line.url()).build()?;
    let creds = ChannelCredentials::new("1234567890", ClientSecret::new("channel-secret"));
    let source = TokenSource::new(ShortLived::new(client, creds))?;

    // The Messaging API stand-in: a 401 first, then 200 for the retry.
    let messaging = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/bot/message/push"))
        .respond_with(ResponseTemplate::new(401))
        .up_to_n_times(1)
        .mount(&messaging)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/bot/message/push"))
        .and(header_exists("authorization"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .mount(&messaging)
        .await;

    let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        // Real code keeps the default hosts (api.line.me, api-data.line.me).
        .with(BearerMiddleware::new(source).allowed_hosts(AllowedHosts::new(["127.0.0.1"])))
        .build();
    let message =
        r#"{"to":"U0123456789abcdef0123456789abcdef","messages":[{"type":"text","text":"hello"}]}"#;
    let response = http
        .post(format!("{}/v2/bot/message/push", messaging.uri()))
        .header("content-type", "application/json")
        .body(message)
        .send()
        .await?;
    println!("push message: {}", response.status());
    println!(
        "tokens issued: {} (the first was refused with a 401, the retry carried a new one)",
        line.issued_count()
    );
    Ok(())
}
