//! Misbehaving servers on 127.0.0.1: each scenario ends in its exact typed
//! outcome, within the configured timeout, with no secret in the error.

use std::time::{Duration, Instant};

use line_oauth::{AccessToken, Client, Error, RetryPolicy};
use line_oauth_tests::raw_server::{RawServer, Script, refused_url};

const TOKEN: &str = "W1TeHC+hostile/tOkEn=";
const TIMEOUT: Duration = Duration::from_secs(2);

fn client(url: &str) -> Client {
    Client::builder()
        .base_url(url)
        .timeout(TIMEOUT)
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// A complete HTTP response with `body`.
fn answer(status: &str, content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A server sending a complete response with `body`.
fn json(status: &str, content_type: &str, body: &str) -> Script {
    Script::Send(answer(status, content_type, body))
}

/// Runs verify against `script`; checks the time bound and that no secret
/// shows, and returns the outcome.
async fn verify_against(script: Script) -> Result<line_oauth::TokenInfo, Error> {
    let server = RawServer::start(script).await;
    let started = Instant::now();
    let outcome = client(server.url()).verify(&AccessToken::new(TOKEN)).await;
    assert!(
        started.elapsed() < TIMEOUT + Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    if let Err(error) = &outcome {
        let printed = format!("{error} {error:?}");
        assert!(
            !printed.contains(TOKEN) && !printed.contains("hostile"),
            "{printed}"
        );
    }
    outcome
}

fn assert_decode_error<T: std::fmt::Debug>(outcome: Result<T, Error>) {
    assert!(matches!(outcome, Err(Error::Decode { .. })), "{outcome:?}");
}

#[tokio::test]
async fn a_truncated_body_is_a_transport_error() {
    let script = Script::Send(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"client".to_vec());
    let outcome = verify_against(script).await;
    assert!(
        matches!(outcome, Err(Error::Transport { .. })),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_body_cut_mid_chunk_is_a_transport_error() {
    let script = Script::Send(
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n20\r\n{\"client_id\"".to_vec(),
    );
    let outcome = verify_against(script).await;
    assert!(
        matches!(outcome, Err(Error::Transport { .. })),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_server_dripping_one_byte_at_a_time_times_out() {
    let bytes = answer(
        "200 OK",
        "application/json",
        r#"{"client_id":"1","expires_in":5}"#,
    );
    let outcome = verify_against(Script::Drip(bytes)).await;
    assert!(
        matches!(outcome, Err(Error::Timeout { after, .. }) if after == TIMEOUT),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_closed_connection_without_an_answer_is_a_transport_error() {
    let outcome = verify_against(Script::Send(Vec::new())).await;
    assert!(
        matches!(outcome, Err(Error::Transport { .. })),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn redirects_to_http_another_host_or_a_loop_are_not_followed() {
    let elsewhere = RawServer::start(json("200 OK", "application/json", "{}")).await;
    let other_host = elsewhere.url().replace("127.0.0.1", "127.0.0.2");
    for location in [
        elsewhere.url().to_owned(),
        other_host,
        "/v2/oauth/verify".to_owned(),
    ] {
        let script = Script::Send(
            format!("HTTP/1.1 302 Found\r\nlocation: {location}\r\ncontent-length: 0\r\n\r\n")
                .into_bytes(),
        );
        let error = verify_against(script).await.unwrap_err();
        assert_eq!(error.api().map(|e| e.status()), Some(302), "{error:?}");
    }
    assert_eq!(elsewhere.connections(), 0, "no request followed a redirect");
}

#[tokio::test]
async fn deeply_nested_json_is_a_decode_error() {
    let body = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert_decode_error(verify_against(json("200 OK", "application/json", &body)).await);
}

#[tokio::test]
async fn absurd_numbers_and_nulls_are_decode_errors() {
    for body in [
        r#"{"client_id":"1","expires_in":1e400}"#,
        r#"{"client_id":"1","expires_in":99999999999999999999}"#,
        r#"{"client_id":"1","expires_in":-5}"#,
        r#"{"client_id":null,"expires_in":5}"#,
        "\u{feff}{\"client_id\":\"1\",\"expires_in\":5}",
    ] {
        assert_decode_error(verify_against(json("200 OK", "application/json", body)).await);
    }
}

#[tokio::test]
async fn valid_json_under_another_content_type_is_still_read() {
    let body = r#"{"client_id":"1","expires_in":5,"surprise":[1,{"x":null}]}"#;
    let info = verify_against(json("200 OK", "text/plain", body))
        .await
        .unwrap();
    assert_eq!(info.expires_in(), Duration::from_secs(5));
}

#[tokio::test]
async fn both_line_error_shapes_and_an_html_page_keep_their_status() {
    for (status, content_type, body) in [
        (
            "400 Bad Request",
            "application/json",
            r#"{"error":"invalid_request","error_description":"access_token invalid"}"#,
        ),
        (
            "404 Not Found",
            "application/json",
            r#"{"message":"Cannot find channel key that satisfies the conditions"}"#,
        ),
        (
            "502 Bad Gateway",
            "text/html",
            "<html><body>Bad Gateway</body></html>",
        ),
    ] {
        let error = verify_against(json(status, content_type, body))
            .await
            .unwrap_err();
        let code: u16 = status[..3].parse().unwrap();
        assert_eq!(error.api().map(|e| e.status()), Some(code), "{error:?}");
    }
}

#[tokio::test]
async fn a_redirect_of_a_get_carrying_the_token_is_not_followed_nor_printed() {
    let elsewhere = RawServer::start(json("200 OK", "application/json", "{}")).await;
    let location = format!(
        "{}/steal",
        elsewhere.url().replace("127.0.0.1", "127.0.0.2")
    );
    let server = RawServer::start(Script::Send(
        format!(
            "HTTP/1.1 307 Temporary Redirect\r\nlocation: {location}\r\ncontent-length: 0\r\n\r\n"
        )
        .into_bytes(),
    ))
    .await;
    let error = client(server.url())
        .verify_v21(&AccessToken::new(TOKEN))
        .await
        .unwrap_err();
    let printed = format!("{error} {error:?} {:?}", std::error::Error::source(&error));
    assert!(!printed.contains("hostile"), "{printed}");
    assert_eq!(elsewhere.connections(), 0, "the redirect was followed");
}

#[tokio::test]
async fn an_error_code_or_request_id_echoing_the_token_is_scrubbed() {
    let body = format!(r#"{{"error":"{TOKEN}","error_description":"bad"}}"#);
    let script = Script::Send(
        format!(
            "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nx-line-request-id: {TOKEN}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    );
    // verify_against fails on any trace of the token in Display or Debug.
    let error = verify_against(script).await.unwrap_err();
    let api = error.api().expect("an API error");
    assert_eq!(api.status(), 400);
    assert!(api.request_id().is_some() && api.code().is_some());
}

#[tokio::test]
async fn a_token_too_long_for_a_url_is_a_typed_error_sent_nowhere() {
    let server = RawServer::start(json("200 OK", "application/json", "{}")).await;
    let long = AccessToken::new(format!("{TOKEN}{}", "a".repeat(70_000)));
    let patient = Client::builder()
        .base_url(server.url())
        .timeout(TIMEOUT)
        .build()
        .unwrap();
    let error = patient.verify_v21(&long).await.unwrap_err();
    assert!(
        matches!(
            &error,
            Error::InvalidArgument {
                operation: line_oauth::Operation::VerifyV21,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(!error.to_string().contains("aaaaaaaaaa"), "{error}");
    assert_eq!(server.connections(), 0);
}

#[test]
fn an_absurd_timeout_is_refused_at_build() {
    let built = Client::builder().timeout(Duration::MAX).build();
    assert!(matches!(built, Err(Error::InvalidConfig(_))), "{built:?}");
}

#[tokio::test]
async fn an_endless_retry_after_with_the_most_patient_policy_ends_the_call() {
    let script = Script::Send(
        format!(
            "HTTP/1.1 429 Too Many Requests\r\nretry-after: {}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            u64::MAX
        )
        .into_bytes(),
    );
    let server = RawServer::start(script).await;
    let client = Client::builder()
        .base_url(server.url())
        .timeout(TIMEOUT)
        .retry(RetryPolicy::default().max_retry_after(RetryPolicy::MAX_WAIT))
        .build()
        .unwrap();
    let error = client.verify(&AccessToken::new(TOKEN)).await.unwrap_err();
    assert_eq!(error.api().map(|e| e.status()), Some(429));
}

#[tokio::test]
async fn the_longest_backoff_settings_with_a_refused_connection_end_the_call() {
    let longest = RetryPolicy::default()
        .first_backoff(RetryPolicy::MAX_WAIT)
        .max_backoff(RetryPolicy::MAX_WAIT);
    let client = Client::builder()
        .base_url(refused_url())
        .timeout(TIMEOUT)
        .retry(longest)
        .build()
        .unwrap();
    let endless = Client::builder()
        .retry(RetryPolicy::default().first_backoff(Duration::MAX))
        .build();
    assert!(
        endless.is_err(),
        "an endless wait is refused when the client is built"
    );
    let error = client.verify(&AccessToken::new(TOKEN)).await.unwrap_err();
    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
}
