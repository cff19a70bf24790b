//! The bearer layers against a stand-in for the Messaging API (wiremock on
//! 127.0.0.1), with tokens from the fake LINE server.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use line_oauth::{
    AllowedHosts, BearerLayer, BearerMiddleware, ChannelCredentials, Client, ClientSecret,
    ShortLived, TokenSource,
};
use line_oauth_fake::FakeLine;
use tower_layer::Layer;
use tower_service::Service;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The fake LINE issuing tokens, a source of its tokens, and the stand-in.
struct Setup {
    line: FakeLine,
    source: TokenSource,
    api: MockServer,
}

async fn setup() -> Setup {
    let line = FakeLine::start().await.unwrap();
    line.add_channel("1234567890", "secret");
    let client = Client::builder().base_url(line.url()).build().unwrap();
    let creds = ChannelCredentials::new("1234567890", ClientSecret::new("secret"));
    let source = TokenSource::new(ShortLived::new(client, creds)).unwrap();
    let api = MockServer::start().await;
    Setup { line, source, api }
}

impl Setup {
    /// The current token's header value.
    async fn bearer(&self) -> String {
        format!(
            "Bearer {}",
            self.source
                .token()
                .await
                .unwrap()
                .access_token()
                .expose_secret()
        )
    }

    /// The stand-in refuses `refused` with a 401 and takes anything else.
    async fn refuse(&self, refused: &str) {
        Mock::given(header("authorization", refused))
            .respond_with(ResponseTemplate::new(401))
            .with_priority(1)
            .mount(&self.api)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .with_priority(2)
            .mount(&self.api)
            .await;
    }

    fn middleware_client(&self) -> reqwest_middleware::ClientWithMiddleware {
        self.client_with(BearerMiddleware::new(self.source.clone()))
    }

    /// A client with `middleware`, allowed to send the token to the stand-in.
    fn client_with(
        &self,
        middleware: BearerMiddleware,
    ) -> reqwest_middleware::ClientWithMiddleware {
        reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(middleware.allowed_hosts(AllowedHosts::new(["127.0.0.1"])))
            .build()
    }

    fn push_url(&self) -> String {
        format!("{}/v2/bot/message/push", self.api.uri())
    }

    /// A push request with a replayable body through the middleware.
    async fn push(&self) -> reqwest::Response {
        self.middleware_client()
            .post(self.push_url())
            .body("{}")
            .send()
            .await
            .unwrap()
    }

    /// A request that is not sent again got `status` for the token
    /// `refused`: the 401 came back, nothing was sent again and no token
    /// issued, but the source no longer serves the refused one.
    async fn assert_refused_once_and_dropped(&self, status: http::StatusCode, refused: &str) {
        assert_eq!(status, 401);
        assert_eq!(self.authorizations().await.len(), 1);
        assert_eq!(self.line.issued_count(), 1);
        assert_ne!(
            self.bearer().await,
            refused,
            "the refused token is not served again"
        );
    }

    /// The `Authorization` header of each request the stand-in received.
    async fn authorizations(&self) -> Vec<Option<String>> {
        self.api
            .received_requests()
            .await
            .unwrap()
            .iter()
            .map(|r| {
                r.headers
                    .get("authorization")
                    .map(|v| v.to_str().unwrap().to_owned())
            })
            .collect()
    }
}

#[tokio::test]
async fn the_header_is_set_from_the_source() {
    let s = setup().await;
    s.refuse("nothing").await;
    let response = s.push().await;
    assert_eq!(response.status(), 200);
    assert_eq!(s.authorizations().await, [Some(s.bearer().await)]);
}

#[tokio::test]
async fn a_401_makes_one_refresh_and_one_retry_with_the_new_token() {
    let s = setup().await;
    let first = s.bearer().await;
    s.refuse(&first).await;
    let response = s.push().await;
    assert_eq!(response.status(), 200);
    assert_eq!(s.line.issued_count(), 2);
    let sent = s.authorizations().await;
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].as_deref(), Some(first.as_str()));
    assert_eq!(sent[1], Some(s.bearer().await));
    assert_ne!(sent[1].as_deref(), Some(first.as_str()));
}

#[tokio::test]
async fn a_hundred_concurrent_401s_make_one_refresh() {
    let s = setup().await;
    let first = s.bearer().await;
    // Half the refusals come back only once the new token is cached: they
    // must not drop it.
    Mock::given(header("authorization", first.as_str()))
        .respond_with(ResponseTemplate::new(401))
        .up_to_n_times(50)
        .with_priority(1)
        .mount(&s.api)
        .await;
    Mock::given(header("authorization", first.as_str()))
        .respond_with(ResponseTemplate::new(401).set_delay(Duration::from_millis(300)))
        .with_priority(1)
        .mount(&s.api)
        .await;
    s.refuse(&first).await;
    let client = s.middleware_client();
    let requests: Vec<_> = (0..100)
        .map(|_| {
            let (client, url) = (client.clone(), s.push_url());
            tokio::spawn(async move { client.post(url).body("{}").send().await })
        })
        .collect();
    for request in requests {
        assert_eq!(request.await.unwrap().unwrap().status(), 200);
    }
    assert_eq!(s.line.issued_count(), 2, "one refresh for all 100");
}

#[tokio::test]
async fn a_body_that_cannot_be_replayed_is_not_retried_and_the_401_returns_but_the_token_goes() {
    let s = setup().await;
    let first = s.bearer().await;
    s.refuse(&first).await;
    let stream = futures_util::stream::once(async { Ok::<_, std::io::Error>("{}") });
    let response = s
        .middleware_client()
        .post(s.push_url())
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    s.assert_refused_once_and_dropped(response.status(), &first)
        .await;
}

#[tokio::test]
async fn without_the_retry_a_401_returns_but_the_token_goes() {
    let s = setup().await;
    let first = s.bearer().await;
    s.refuse(&first).await;
    let once = BearerMiddleware::new(s.source.clone()).retry_on_401(false);
    let response = s
        .client_with(once)
        .post(s.push_url())
        .body("{}")
        .send()
        .await
        .unwrap();
    s.assert_refused_once_and_dropped(response.status(), &first)
        .await;
}

#[tokio::test]
async fn a_host_not_on_the_list_gets_no_token() {
    let s = setup().await;
    s.refuse("nothing").await;
    // The same server by another name: not on the list.
    let by_name = s.push_url().replace("127.0.0.1", "localhost");
    s.middleware_client()
        .post(by_name)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(s.authorizations().await, [None]);
    assert_eq!(s.line.issued_count(), 0, "no token was even fetched");
    // LINE's hosts are the default, and plain http never carries a token.
    let line = AllowedHosts::default();
    assert!(line.allows("https", "api-data.line.me"));
    assert!(!line.allows("http", "api.line.me"));
}

#[tokio::test]
async fn a_redirect_to_another_host_is_followed_without_the_token() {
    let s = setup().await;
    let elsewhere = MockServer::start().await;
    Mock::given(path("/landing"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&elsewhere)
        .await;
    let landing = format!(
        "{}/landing",
        elsewhere.uri().replace("127.0.0.1", "localhost")
    );
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", landing.as_str()))
        .mount(&s.api)
        .await;
    let response = s.middleware_client().get(s.api.uri()).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(s.authorizations().await, [Some(s.bearer().await)]);
    let there = elsewhere.received_requests().await.unwrap();
    assert_eq!(there.len(), 1);
    assert!(there[0].headers.get("authorization").is_none());
}

/// hyper's client under [`BearerLayer`].
/// hyper's client behind a `BearerLayer` that retries after a 401 or not.
fn tower_client(
    s: &Setup,
    retry: bool,
) -> impl Service<
    http::Request<Full<Bytes>>,
    Response = http::Response<hyper::body::Incoming>,
    Error = line_oauth::BearerError<hyper_util::client::legacy::Error>,
> + Clone {
    let http = HyperClient::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    BearerLayer::new(s.source.clone())
        .allowed_hosts(AllowedHosts::new(["127.0.0.1"]))
        .retry_on_401(retry)
        .layer(http)
}

fn push(url: &str) -> http::Request<Full<Bytes>> {
    http::Request::post(url)
        .body(Full::new(Bytes::from_static(b"{}")))
        .unwrap()
}

#[tokio::test]
async fn the_tower_layer_sets_the_header_and_retries_a_401_once() {
    let s = setup().await;
    let first = s.bearer().await;
    s.refuse(&first).await;
    let mut client = tower_client(&s, true);
    std::future::poll_fn(|cx| client.poll_ready(cx))
        .await
        .unwrap();
    let response = client.call(push(&s.push_url())).await.unwrap();
    assert_eq!(response.status(), 200);
    let sent = s.authorizations().await;
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].as_deref(), Some(first.as_str()));
    assert_eq!(sent[1], Some(s.bearer().await));
    assert_eq!(s.line.issued_count(), 2);

    // Another host: no token.
    let by_name = s.push_url().replace("127.0.0.1", "localhost");
    std::future::poll_fn(|cx| client.poll_ready(cx))
        .await
        .unwrap();
    let response = client.call(push(&by_name)).await.unwrap();
    let _ = response.into_body().collect().await;
    assert_eq!(s.authorizations().await.last().unwrap(), &None);
}

#[tokio::test]
async fn the_tower_layer_without_the_retry_returns_a_401_but_the_token_goes() {
    let s = setup().await;
    let first = s.bearer().await;
    s.refuse(&first).await;
    let mut client = tower_client(&s, false);
    std::future::poll_fn(|cx| client.poll_ready(cx))
        .await
        .unwrap();
    let response = client.call(push(&s.push_url())).await.unwrap();
    s.assert_refused_once_and_dropped(response.status(), &first)
        .await;
}

#[tokio::test]
async fn the_tower_layer_does_not_retry_a_body_it_cannot_replay() {
    let s = setup().await;
    let first = s.bearer().await;
    s.refuse(&first).await;
    let http = HyperClient::builder(TokioExecutor::new())
        .build_http::<http_body_util::combinators::BoxBody<Bytes, std::convert::Infallible>>();
    let mut client = BearerLayer::new(s.source.clone())
        .allowed_hosts(AllowedHosts::new(["127.0.0.1"]))
        .layer(http);
    let body = Full::new(Bytes::from_static(b"{}")).boxed();
    let request = http::Request::post(s.push_url()).body(body).unwrap();
    std::future::poll_fn(|cx| client.poll_ready(cx))
        .await
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(10), client.call(request))
        .await
        .unwrap()
        .unwrap();
    s.assert_refused_once_and_dropped(response.status(), &first)
        .await;
}

#[tokio::test]
async fn the_layers_debug_shows_neither_the_token_nor_the_secret() {
    let s = setup().await;
    let token = s.bearer().await;
    let token = token.trim_start_matches("Bearer ");
    let middleware = BearerMiddleware::new(s.source.clone());
    let layer = BearerLayer::new(s.source.clone());
    for shown in [format!("{middleware:?}"), format!("{layer:?}")] {
        assert!(shown.contains("api.line.me"), "{shown}");
        assert!(!shown.contains(token), "{shown}");
        assert!(!shown.contains("secret\""), "{shown}");
    }
}

/// A source with no token to give fails the request; the caller gets
/// line-oauth's error back out of reqwest-middleware's, as the docs show.
#[tokio::test]
async fn a_caller_gets_line_oauths_error_back_out_of_reqwest_middleware() {
    let s = setup().await;
    s.refuse("nothing").await;
    let wrong = ChannelCredentials::new("1234567890", ClientSecret::new("not-the-secret"));
    let client = Client::builder().base_url(s.line.url()).build().unwrap();
    let source = TokenSource::new(ShortLived::new(client, wrong)).unwrap();
    let error = s
        .client_with(BearerMiddleware::new(source))
        .post(s.push_url())
        .body("{}")
        .send()
        .await
        .unwrap_err();
    let line = match &error {
        reqwest_middleware::Error::Middleware(inner) => inner.downcast_ref::<line_oauth::Error>(),
        _ => None,
    }
    .expect("line-oauth's error inside");
    assert!(line.is_credentials_refused(), "{line}");
    assert_eq!(line.remedy(), line_oauth::Remedy::Fix);
    assert!(s.authorizations().await.is_empty(), "nothing was sent");
}

/// A source with no token to give fails the tower request with
/// `BearerError::Token`, which says its own level once and hands
/// line-oauth's error on through `source()`.
#[tokio::test]
async fn the_tower_layers_error_says_each_level_once() {
    use std::error::Error as _;
    let s = setup().await;
    let wrong = ChannelCredentials::new("1234567890", ClientSecret::new("not-the-secret"));
    let client = Client::builder().base_url(s.line.url()).build().unwrap();
    let source = TokenSource::new(ShortLived::new(client, wrong)).unwrap();
    let http = HyperClient::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut service = BearerLayer::new(source)
        .allowed_hosts(AllowedHosts::new(["127.0.0.1"]))
        .layer(http);
    std::future::poll_fn(|cx| service.poll_ready(cx))
        .await
        .unwrap();
    let error = service.call(push(&s.push_url())).await.unwrap_err();
    assert_eq!(error.to_string(), "no bearer token");
    let line = error
        .source()
        .and_then(|e| e.downcast_ref::<line_oauth::Error>())
        .expect("line-oauth's error as the source");
    assert!(line.is_credentials_refused(), "{line}");
    assert!(s.authorizations().await.is_empty(), "nothing was sent");
}

/// A registry of two channels on the fake; "9999999999" is unknown.
async fn two_channels(line: &FakeLine) -> line_oauth::TokenRegistry {
    line.add_channel("2222222222", "secret-2");
    let client = Client::builder().base_url(line.url()).build().unwrap();
    line_oauth::TokenRegistry::builder(client, |channel: String, client: Client| async move {
        let secret = match channel.as_str() {
            "1234567890" => "secret",
            "2222222222" => "secret-2",
            _ => return Ok(None),
        };
        let creds = ChannelCredentials::new(channel, ClientSecret::new(secret));
        Ok(Some(ShortLived::new(client, creds)))
    })
    .build()
    .unwrap()
}

/// The middleware's error inside reqwest-middleware's.
fn line_error(error: &reqwest_middleware::Error) -> &line_oauth::Error {
    match error {
        reqwest_middleware::Error::Middleware(inner) => inner.downcast_ref(),
        _ => None,
    }
    .expect("line-oauth's error inside")
}

#[tokio::test]
async fn the_middleware_by_channel_sends_each_request_its_channels_token() {
    let s = setup().await;
    let registry = two_channels(&s.line).await;
    s.refuse("nothing").await;
    let client = s.client_with(BearerMiddleware::by_channel(registry.clone()));
    for channel in ["1234567890", "2222222222", "1234567890"] {
        let response = client
            .post(s.push_url())
            .body("{}")
            .with_extension(line_oauth::ChannelId::new(channel))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let token = |channel: &'static str| {
        let registry = registry.clone();
        async move {
            let token = registry.token(channel).await.unwrap();
            format!("Bearer {}", token.access_token().expose_secret())
        }
    };
    let (first, second) = (token("1234567890").await, token("2222222222").await);
    assert_ne!(first, second);
    let sent = s.authorizations().await;
    assert_eq!(
        sent,
        [Some(first.clone()), Some(second), Some(first)],
        "a request got another channel's token"
    );
    assert_eq!(s.line.issued_count(), 2);

    // No channel named, or an unknown one: an error, and nothing sent.
    let unnamed = client.post(s.push_url()).body("{}").send().await;
    let error = unnamed.unwrap_err();
    assert!(
        matches!(line_error(&error), line_oauth::Error::NoChannel),
        "{error:?}"
    );
    let unknown = client
        .post(s.push_url())
        .body("{}")
        .with_extension(line_oauth::ChannelId::new("9999999999"))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(line_error(&unknown), line_oauth::Error::UnknownChannel { channel_id, .. } if channel_id == "9999999999"),
        "{unknown:?}"
    );
    assert_eq!(s.authorizations().await.len(), 3, "a request went out");
}

#[tokio::test]
async fn the_tower_layer_by_channel_retries_a_401_with_the_channels_new_token() {
    let s = setup().await;
    let registry = two_channels(&s.line).await;
    let refused = format!(
        "Bearer {}",
        registry
            .token("2222222222")
            .await
            .unwrap()
            .access_token()
            .expose_secret()
    );
    s.refuse(&refused).await;
    let http = HyperClient::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut client = BearerLayer::by_channel(registry.clone())
        .allowed_hosts(AllowedHosts::new(["127.0.0.1"]))
        .layer(http);
    let mut request = push(&s.push_url());
    request
        .extensions_mut()
        .insert(line_oauth::ChannelId::new("2222222222"));
    std::future::poll_fn(|cx| client.poll_ready(cx))
        .await
        .unwrap();
    let response = client.call(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let fresh = registry.token("2222222222").await.unwrap();
    let sent = s.authorizations().await;
    assert_eq!(
        sent,
        [
            Some(refused),
            Some(format!("Bearer {}", fresh.access_token().expose_secret()))
        ]
    );
    assert_eq!(s.line.issued_count(), 2, "one issuance after the 401");

    std::future::poll_fn(|cx| client.poll_ready(cx))
        .await
        .unwrap();
    let error = client.call(push(&s.push_url())).await.unwrap_err();
    assert!(
        matches!(
            &error,
            line_oauth::BearerError::Token(line_oauth::Error::NoChannel)
        ),
        "{error:?}"
    );
    assert_eq!(s.authorizations().await.len(), 2, "a request went out");
}
