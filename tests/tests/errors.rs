//! What `line_oauth::Client` makes of answers LINE does not give on a good
//! day (proxy pages, empty bodies, redirects, rate limits, stalls, refused
//! connections), and that no error ever shows a secret.

use std::time::{Duration, Instant};

use line_oauth::{
    AccessToken, ChannelCredentials, Client, ClientAssertion, ClientSecret, Error, StatelessAuth,
};
use line_oauth_tests::raw_server::{RawServer, Script, chunk_of, refused_url};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Secrets that must never show up in an error.
const TOKEN: &str = "W1TeHC+sEcReT/tOkEn=";
const CHANNEL_SECRET: &str = "channel-sEcReT-0042";
const ASSERTION: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzZWNyZXQiOjF9.c2VjcmV0LWFzc2VydGlvbg";

/// Asserts neither `Display` nor `Debug` of the error holds a secret, in
/// plain or form-encoded form.
fn assert_no_secret(error: &Error) {
    let printed = format!("{error} {error:?} {:?}", std::error::Error::source(error));
    for secret in [
        TOKEN,
        CHANNEL_SECRET,
        ASSERTION,
        "W1TeHC%2BsEcReT%2FtOkEn%3D",
        "sEcReT",
    ] {
        assert!(!printed.contains(secret), "error shows a secret: {printed}");
    }
}

fn client(base_url: &str, timeout: Duration) -> Client {
    Client::builder()
        .base_url(base_url)
        .timeout(timeout)
        .build()
        .expect("a loopback URL is fine")
}

/// A server answering `response` to every request.
async fn answering(response: ResponseTemplate) -> (MockServer, Client) {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(response)
        .mount(&server)
        .await;
    let client = client(&server.uri(), Duration::from_secs(10));
    (server, client)
}

fn api(error: &Error) -> &line_oauth::ApiError {
    error
        .api()
        .unwrap_or_else(|| panic!("expected an API error, got {error:?}"))
}

#[tokio::test]
async fn an_html_502_from_a_proxy_is_an_api_error_with_its_status() {
    let page = format!("<html><body><h1>502 Bad Gateway</h1><!-- {TOKEN} --></body></html>");
    let (_server, client) =
        answering(ResponseTemplate::new(502).set_body_raw(page, "text/html")).await;
    let error = client.verify(&AccessToken::new(TOKEN)).await.unwrap_err();
    let e = api(&error);
    assert_eq!(e.status(), 502);
    assert_eq!(e.code(), None);
    assert!(
        e.body_snippet().unwrap().contains("502 Bad Gateway"),
        "{error}"
    );
    assert!(e.body_snippet().unwrap().contains("[redacted]"), "{error}");
    assert_no_secret(&error);
}

#[tokio::test]
async fn an_empty_error_body_keeps_the_status() {
    let (_server, client) = answering(ResponseTemplate::new(400)).await;
    let error = client
        .verify_v21(&AccessToken::new(TOKEN))
        .await
        .unwrap_err();
    assert_eq!(api(&error).status(), 400);
    assert_eq!(api(&error).body_snippet(), Some(""));
    assert!(error.to_string().ends_with("with an empty body"), "{error}");
}

#[tokio::test]
async fn an_error_status_lines_spec_does_not_list_still_reads_lines_body() {
    // verify declares no 404; LINE's message shape is still read.
    let body = r#"{"message":"Not found"}"#;
    let (_server, client) =
        answering(ResponseTemplate::new(404).set_body_raw(body, "application/json")).await;
    let error = client.verify(&AccessToken::new(TOKEN)).await.unwrap_err();
    assert_eq!(api(&error).status(), 404);
    assert_eq!(api(&error).message(), Some("Not found"));
}

#[tokio::test]
async fn a_429_keeps_retry_after_and_the_request_id() {
    let response = ResponseTemplate::new(429)
        .insert_header("Retry-After", "3")
        .insert_header("X-Line-Request-Id", "abc123")
        .set_body_raw(
            r#"{"message":"The API rate limit has been exceeded. Try again later."}"#,
            "application/json",
        );
    let (_server, client) = answering(response).await;
    let creds = ChannelCredentials::new("1", ClientSecret::new(CHANNEL_SECRET));
    let error = client.issue_short_lived(&creds).await.unwrap_err();
    assert_eq!(error.retry_after(), Some(Duration::from_secs(3)));
    assert_eq!(api(&error).status(), 429);
    assert_eq!(api(&error).request_id(), Some("abc123"));
    assert!(error.to_string().contains("[request id abc123]"), "{error}");
}

#[tokio::test]
async fn a_success_body_that_does_not_decode_is_a_decode_error_with_the_status() {
    let body = format!(r#"{{"access_token":"{TOKEN}","expires_in":"soon"}}"#);
    let (_server, client) =
        answering(ResponseTemplate::new(200).set_body_raw(body, "application/json")).await;
    let creds = ChannelCredentials::new("1", ClientSecret::new(CHANNEL_SECRET));
    let error = client.issue_stateless(&creds).await.unwrap_err();
    match &error {
        Error::Decode { status, .. } => assert_eq!(*status, 200),
        other => panic!("expected a decode error, got {other:?}"),
    }
    // The body's token is a new one the call never knew: still masked.
    let printed = format!("{error}");
    assert!(printed.contains("expires_in"), "{printed}");
    assert_no_secret(&error);
}

#[tokio::test]
async fn a_negative_lifetime_is_a_decode_error() {
    let body = r#"{"client_id":"1","expires_in":-5}"#;
    let (_server, client) =
        answering(ResponseTemplate::new(200).set_body_raw(body, "application/json")).await;
    let error = client.verify(&AccessToken::new(TOKEN)).await.unwrap_err();
    assert!(
        matches!(&error, Error::Decode { reason, .. } if reason.contains("negative")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/oauth/verify"))
        .respond_with(
            ResponseTemplate::new(307).insert_header("Location", "http://127.0.0.1:9/steal"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server.uri(), Duration::from_secs(10));
    let error = client.verify(&AccessToken::new(TOKEN)).await.unwrap_err();
    assert_eq!(api(&error).status(), 307);
    assert_no_secret(&error);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn user_agent_names_the_crate_and_version() {
    let (server, client) = answering(ResponseTemplate::new(200)).await;
    client.revoke(&AccessToken::new(TOKEN)).await.unwrap();
    let request = &server.received_requests().await.unwrap()[0];
    assert_eq!(
        request.headers["user-agent"],
        line_oauth::Client::USER_AGENT
    );
    assert!(line_oauth::Client::USER_AGENT.starts_with("line-oauth/0."));
}

#[tokio::test]
async fn a_stalled_server_gives_a_timeout_within_the_configured_time() {
    let server = RawServer::start(Script::Silent).await;
    let url = server.url();
    let timeout = Duration::from_millis(300);
    let client = client(url, timeout);
    let started = Instant::now();
    let error = client
        .verify_v21(&AccessToken::new(TOKEN))
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(error, Error::Timeout { after, operation: line_oauth::Operation::VerifyV21, .. } if after == timeout),
        "{error:?}"
    );
    assert!(error.is_timeout());
    // Bounded, not measured: the call must end at its timeout, not hang.
    assert!(
        took >= timeout && took < timeout + Duration::from_secs(5),
        "{took:?}"
    );
    assert_no_secret(&error);
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error_without_the_query_string() {
    let client = client(&refused_url(), Duration::from_secs(10));
    let error = client
        .verify_v21(&AccessToken::new(TOKEN))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Connect {
                operation: line_oauth::Operation::VerifyV21,
                ..
            }
        ),
        "{error:?}"
    );
    let printed = format!("{error} {error:?}");
    assert!(
        printed.contains("/oauth2/v2.1/verify"),
        "the path stays: {printed}"
    );
    assert!(
        !printed.contains("access_token="),
        "the query goes: {printed}"
    );
    assert_no_secret(&error);

    let error = client
        .list_v21_key_ids(&ClientAssertion::new(ASSERTION))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
    assert_no_secret(&error);
}

#[tokio::test]
async fn error_bodies_echoing_the_calls_secrets_are_scrubbed() {
    let body = format!(
        r#"{{"error":"invalid_client","error_description":"bad {CHANNEL_SECRET}","message":"{TOKEN}"}}"#
    );
    let (_server, client) =
        answering(ResponseTemplate::new(400).set_body_raw(body, "application/json")).await;
    let creds = ChannelCredentials::new("1", ClientSecret::new(CHANNEL_SECRET));
    let error = client
        .revoke_v21(&creds, &AccessToken::new(TOKEN))
        .await
        .unwrap_err();
    assert_eq!(api(&error).description(), Some("bad [redacted]"));
    assert_eq!(api(&error).message(), Some("[redacted]"));
    assert_no_secret(&error);

    let body = format!(r#"{{"message":"assertion {ASSERTION} refused"}}"#);
    let (_server, client) =
        answering(ResponseTemplate::new(404).set_body_raw(body, "application/json")).await;
    let error = client
        .issue_v21(&ClientAssertion::new(ASSERTION), Duration::from_secs(3600))
        .await
        .unwrap_err();
    assert_eq!(api(&error).message(), Some("assertion [redacted] refused"));
    assert_no_secret(&error);
}

#[test]
fn public_types_never_print_secrets() {
    let creds = ChannelCredentials::new("1", ClientSecret::new(CHANNEL_SECRET));
    let assertion = ClientAssertion::new(ASSERTION);
    let token = AccessToken::new(TOKEN);
    let printed = format!(
        "{creds:?} {assertion:?} {assertion} {token:?} {token} {:?} {:?}",
        &creds,
        StatelessAuth::from(&assertion)
    );
    for secret in [TOKEN, CHANNEL_SECRET, ASSERTION] {
        assert!(!printed.contains(secret), "{printed}");
    }
}

/// A server streaming `chunk` after `head`, far past any body limit.
async fn streaming(head: &str, chunk: Vec<u8>) -> RawServer {
    let head = head.as_bytes().to_vec();
    RawServer::start(Script::Stream {
        head,
        chunk,
        at_most: 64 << 20,
    })
    .await
}

#[tokio::test]
async fn an_endless_chunked_body_stops_at_the_limit() {
    let head =
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
    let server = streaming(head, chunk_of(8192, b'a')).await;
    let error = client(server.url(), Duration::from_secs(10))
        .verify(&AccessToken::new(TOKEN))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::ResponseTooLarge { limit, .. } if limit == line_oauth::Client::RESPONSE_BODY_LIMIT),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_declared_length_over_the_limit_stops_at_the_limit() {
    let head =
        "HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html\r\ncontent-length: 100000000\r\n\r\n";
    let server = streaming(head, vec![b'<'; 8192]).await;
    let error = client(server.url(), Duration::from_secs(10))
        .verify_v21(&AccessToken::new(TOKEN))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::ResponseTooLarge { .. }), "{error:?}");
    assert_no_secret(&error);
}

#[tokio::test]
async fn a_small_chunked_body_still_decodes() {
    let answer = concat!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
        "20\r\n{\"client_id\":\"1\",\"expires_in\":5}\r\n0\r\n\r\n"
    );
    let server = RawServer::start(Script::Send(answer.as_bytes().to_vec())).await;
    let info = client(server.url(), Duration::from_secs(10))
        .verify(&AccessToken::new(TOKEN))
        .await
        .unwrap();
    assert_eq!(info.expires_in(), Duration::from_secs(5));
}
