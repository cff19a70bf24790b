//! What `BearerMiddleware` adds to each request: a reqwest-middleware chain
//! that ends in a middleware answering at once (no network), with and
//! without the bearer layer in front, a cached token behind it. The
//! "cost of" rows give the difference directly, measured in pairs.
//!
//! ```sh
//! cargo bench -p line-oauth --features reqwest-middleware --bench bearer
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use http::Extensions;
use line_oauth::{
    BearerMiddleware, ChannelCredentials, Client, ClientSecret, ShortLived, TokenSource,
};
use line_oauth_fake::FakeLine;
use reqwest_middleware::{ClientWithMiddleware, Middleware, Next};

/// The content type as reqwest's `.json()` sets it.
const JSON: http::HeaderValue = http::HeaderValue::from_static("application/json");

/// Answers 200 without sending anything.
struct Answer;

#[async_trait::async_trait]
impl Middleware for Answer {
    async fn handle(
        &self,
        _request: reqwest::Request,
        _extensions: &mut Extensions,
        _next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        Ok(reqwest::Response::from(http::Response::new(
            reqwest::Body::from(""),
        )))
    }
}

/// Passes the request on: what any middleware costs.
struct PassOn;

#[async_trait::async_trait]
impl Middleware for PassOn {
    async fn handle(
        &self,
        request: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        next.run(request, extensions).await
    }
}

fn chains(c: &mut Criterion) {
    // One thread: no hand-offs between threads in what is measured.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let (_fake, source) = runtime.block_on(async {
        let fake = FakeLine::start().await.expect("the fake starts");
        fake.add_channel("1", "secret");
        let client = Client::builder()
            .base_url(fake.url())
            .build()
            .expect("a client");
        let creds = ChannelCredentials::new("1", ClientSecret::new("secret"));
        let source = TokenSource::new(ShortLived::new(client, creds)).expect("a source");
        source.token().await.expect("a first token");
        (fake, source)
    });
    let bare: ClientWithMiddleware = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(Answer)
        .build();
    let pass_on = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(PassOn)
        .with(Answer)
        .build();
    let bearer = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(BearerMiddleware::new(source.clone()))
        .with(Answer)
        .build();
    let header_only = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(BearerMiddleware::new(source).retry_on_401(false))
        .with(Answer)
        .build();
    for (name, client) in [
        ("bare chain", &bare),
        ("with a middleware that passes it on", &pass_on),
        ("with BearerMiddleware", &bearer),
    ] {
        c.bench_function(&format!("push request ({name})"), |b| {
            b.iter(|| black_box(push(&runtime, client)))
        });
    }
    // The figure that counts, measured in pairs: each bare request is
    // followed by one through the middleware, so the machine's drift
    // between two separate runs does not enter the difference.
    for (name, client) in [
        ("a middleware that passes it on", &pass_on),
        ("BearerMiddleware", &bearer),
        ("BearerMiddleware without the retry", &header_only),
    ] {
        c.bench_function(&format!("cost of {name} beyond the bare chain"), |b| {
            b.iter_custom(|iters| {
                let (mut without, mut with) = (Duration::ZERO, Duration::ZERO);
                for _ in 0..iters {
                    let start = Instant::now();
                    black_box(push(&runtime, &bare));
                    let middle = Instant::now();
                    black_box(push(&runtime, client));
                    without += middle - start;
                    with += middle.elapsed();
                }
                with.saturating_sub(without)
            })
        });
    }
}

/// A push request through `client`, answered at once.
fn push(runtime: &tokio::runtime::Runtime, client: &ClientWithMiddleware) -> reqwest::Response {
    let request = client
        .post("https://api.line.me/v2/bot/message/push")
        .header(http::header::CONTENT_TYPE, JSON)
        .body(r#"{"to":"U0123","messages":[{"type":"text","text":"hello"}]}"#);
    runtime.block_on(request.send()).expect("an answer")
}

criterion_group!(benches, chains);
criterion_main!(benches);
