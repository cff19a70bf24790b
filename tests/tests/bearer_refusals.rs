//! Refusals cannot drive issuance: a host that answers 401 to every token
//! gets one new token, then the 401s go back to the callers with a warning
//! that names the host; a 401 from where a redirect led (a host that never
//! got the token) is no refusal of it. Two replicas share a real
//! `FileStore`, each behind its own bearer layer.

mod support;

use std::convert::Infallible;
use std::future::{Ready, poll_fn, ready};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::Full;
use line_oauth::{
    AllowedHosts, BearerLayer, BearerMiddleware, EncryptionKey, FileStore, ShortLived, TokenSource,
};
use support::{Capture, Setup, setup};
use tower_layer::Layer;
use tower_service::Service;
use tracing_subscriber::filter::LevelFilter;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A replica: a source on `store` behind a middleware that may send the
/// token to 127.0.0.1.
fn replica(s: &Setup, store: FileStore) -> reqwest_middleware::ClientWithMiddleware {
    let source = TokenSource::builder(ShortLived::new(s.client.clone(), s.creds.clone()))
        .store(store)
        .build()
        .unwrap();
    reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(BearerMiddleware::new(source).allowed_hosts(AllowedHosts::new(["127.0.0.1"])))
        .build()
}

/// A stand-in API that answers 401 to everything.
async fn refusing_api() -> MockServer {
    let api = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&api)
        .await;
    api
}

#[tokio::test]
async fn a_host_that_refuses_every_token_makes_two_replicas_issue_one_new_token_in_all() {
    let capture = Capture::install(LevelFilter::WARN);
    let s = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let key = EncryptionKey::generate();
    let replicas = [
        replica(&s, FileStore::new(dir.path(), &key).unwrap()),
        replica(&s, FileStore::new(dir.path(), &key).unwrap()),
    ];
    let api = refusing_api().await;
    let url = format!("{}/v2/bot/message/push", api.uri());
    for _ in 0..20 {
        for replica in &replicas {
            let response = replica.post(&url).body("{}").send().await.unwrap();
            assert_eq!(response.status(), 401);
        }
    }
    assert_eq!(
        s.fake.issued_count(),
        2,
        "the first token, and one that replaced it"
    );
    // Only the first request was sent again, with the new token: the other
    // replica took that token from the store, and kept it through refusals.
    assert_eq!(api.received_requests().await.unwrap().len(), 40 + 1);
    let logs = capture.text();
    assert!(
        logs.contains("host=\"127.0.0.1\"") || logs.contains("host=127.0.0.1"),
        "{logs}"
    );
    assert!(
        logs.contains("refused the token again during the refusal hold"),
        "{logs}"
    );
}

/// A service that answers 401 to every request, counting them.
#[derive(Clone, Default)]
struct Refuser(Arc<AtomicUsize>);

impl Service<http::Request<Full<Bytes>>> for Refuser {
    type Response = http::Response<()>;
    type Error = Infallible;
    type Future = Ready<Result<http::Response<()>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Request<Full<Bytes>>) -> Self::Future {
        self.0.fetch_add(1, Ordering::Relaxed);
        let mut response = http::Response::new(());
        *response.status_mut() = http::StatusCode::UNAUTHORIZED;
        ready(Ok(response))
    }
}

#[tokio::test]
async fn the_tower_layer_bounds_the_issuances_of_a_host_that_refuses_every_token() {
    let s = setup().await;
    let source = TokenSource::new(ShortLived::new(s.client.clone(), s.creds.clone())).unwrap();
    let calls = Refuser::default();
    let mut service = BearerLayer::new(source)
        .allowed_hosts(AllowedHosts::new(["127.0.0.1"]))
        .layer(calls.clone());
    for _ in 0..20 {
        poll_fn(|cx| service.poll_ready(cx)).await.unwrap();
        let request = http::Request::post("http://127.0.0.1/v2/bot/message/push")
            .body(Full::new(Bytes::from_static(b"{}")))
            .unwrap();
        let response = service.call(request).await.unwrap();
        assert_eq!(response.status(), 401);
    }
    assert_eq!(s.fake.issued_count(), 2);
    assert_eq!(calls.0.load(Ordering::Relaxed), 21);
}

#[tokio::test]
async fn a_401_from_where_a_redirect_led_does_not_drop_the_token() {
    let s = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path(), &EncryptionKey::generate()).unwrap();
    let client = replica(&s, store);
    let elsewhere = MockServer::start().await;
    Mock::given(path("/landing"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&elsewhere)
        .await;
    let landing = format!(
        "{}/landing",
        elsewhere.uri().replace("127.0.0.1", "localhost")
    );
    let api = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(307).insert_header("location", landing.as_str()))
        .mount(&api)
        .await;
    for _ in 0..3 {
        let response = client.post(api.uri()).body("{}").send().await.unwrap();
        assert_eq!(response.status(), 401);
    }
    assert_eq!(
        s.fake.issued_count(),
        1,
        "the token LINE's host took stands"
    );
    let there = elsewhere.received_requests().await.unwrap();
    assert_eq!(there.len(), 3);
    assert!(
        there
            .iter()
            .all(|r| r.headers.get("authorization").is_none())
    );
}
