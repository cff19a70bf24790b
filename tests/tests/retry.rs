//! The retry policy: what is retried, after how long, and what never is.
//! Real time (the waits are short): tokio's paused clock would jump past
//! the client timeout while the mock server, on its own thread, answers.

use std::time::Duration;

use line_oauth::{
    AccessToken, ChannelCredentials, Client, ClientAssertion, ClientSecret, Error, RetryPolicy,
};
use line_oauth_tests::raw_server::{RawServer, Script};
use tokio::time::Instant;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "W1TeHC+retry=";

fn client(url: &str) -> Client {
    Client::builder()
        .base_url(url)
        .build()
        .expect("a loopback URL is fine")
}

fn verify_body() -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_raw(r#"{"client_id":"1","expires_in":60}"#, "application/json")
}

fn rate_limited(retry_after: &str) -> ResponseTemplate {
    ResponseTemplate::new(429)
        .insert_header("Retry-After", retry_after)
        .set_body_raw(
            r#"{"message":"The API rate limit has been exceeded. Try again later."}"#,
            "application/json",
        )
}

/// A server answering `first` to the first `times` requests, then `then`.
async fn server(first: ResponseTemplate, times: u64, then: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(first)
        .up_to_n_times(times)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(any())
        .respond_with(then)
        .with_priority(2)
        .mount(&server)
        .await;
    server
}

async fn requests(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .expect("recording is on")
        .len()
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_on_a_retryable_call() {
    let server = server(rate_limited("1"), 1, verify_body()).await;
    let started = Instant::now();
    let info = client(&server.uri())
        .verify(&AccessToken::new(TOKEN))
        .await
        .unwrap();
    assert_eq!(info.client_id(), "1");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(requests(&server).await, 2);
}

#[tokio::test]
async fn a_429_on_short_lived_issuance_is_not_retried() {
    let server = server(rate_limited("1"), 1, ResponseTemplate::new(500)).await;
    let creds = ChannelCredentials::new("1", ClientSecret::new("secret"));
    let error = client(&server.uri())
        .issue_short_lived(&creds)
        .await
        .unwrap_err();
    assert_eq!(error.api().unwrap().status(), 429);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(1)));
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn three_503s_give_up_after_the_configured_attempts_with_the_last_error() {
    let unavailable =
        ResponseTemplate::new(503).set_body_raw(r#"{"message":"third"}"#, "application/json");
    let server = server(unavailable, 3, verify_body()).await;
    let error = client(&server.uri())
        .verify(&AccessToken::new(TOKEN))
        .await
        .unwrap_err();
    assert_eq!(error.api().unwrap().status(), 503);
    assert_eq!(requests(&server).await, 3);

    let patient = Client::builder()
        .base_url(server.uri())
        .retry(RetryPolicy::default().max_attempts(4))
        .build()
        .unwrap();
    assert!(
        patient.verify(&AccessToken::new(TOKEN)).await.is_ok(),
        "the 4th attempt gets the 200"
    );
}

#[tokio::test]
async fn a_retry_after_past_the_cap_ends_the_call_with_the_rate_limit_error() {
    let server = server(rate_limited("20"), 1, verify_body()).await;
    let error = client(&server.uri())
        .verify(&AccessToken::new(TOKEN))
        .await
        .unwrap_err();
    assert_eq!(error.retry_after(), Some(Duration::from_secs(20)));
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn retries_can_be_turned_off() {
    let server = server(ResponseTemplate::new(503), 1, verify_body()).await;
    let once = Client::builder()
        .base_url(server.uri())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let error = once.verify(&AccessToken::new(TOKEN)).await.unwrap_err();
    assert_eq!(error.api().unwrap().status(), 503);
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn a_reset_after_a_v21_issuance_was_sent_is_not_retried() {
    let server = RawServer::start(Script::Reset).await;
    let error = client(server.url())
        .issue_v21(
            &ClientAssertion::new("eyJ.eyJ.sig"),
            Duration::from_secs(3600),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn a_reset_on_verify_is_retried() {
    let server = RawServer::start(Script::Reset).await;
    let error = client(server.url())
        .verify(&AccessToken::new(TOKEN))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert_eq!(server.connections(), 3);
}
