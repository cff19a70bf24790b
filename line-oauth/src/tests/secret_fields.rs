//! For each of the 8 operations: a server that echoes the whole request back
//! into every part of an error answer, and a refused connection. No secret
//! field of the request (as the request type itself reports them) may appear
//! in the error's `Display`, `Debug` or source chain, plain or form-encoded.

use std::time::Duration;

use wiremock::{Mock, MockServer, Request as Received, Respond, ResponseTemplate};

use crate::call::{self, Policy, Request, RetryPolicy};
use crate::client::{
    GRANT, JWT_BEARER, ValidV21KeyIds, VerifyV21, stateless_by_assertion, stateless_by_secret,
};
use crate::credentials::ChannelCredentials;
use crate::error::Error;
use crate::raw::{self, types};
use crate::secret::{AccessToken, ClientAssertion, ClientSecret};

/// Secrets with characters that form encoding changes.
const SECRET: &str = "s3cret+channel/secret=";
const TOKEN: &str = "t0ken+access/token=";
const ASSERTION: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln+/=";

/// Echoes the request (query and body, as received) into the status, every
/// field of both of LINE's error shapes, and the request ID header.
struct Echo;

impl Respond for Echo {
    fn respond(&self, request: &Received) -> ResponseTemplate {
        let echoed = format!(
            "{} {}",
            request.url.query().unwrap_or_default(),
            String::from_utf8_lossy(&request.body)
        );
        let decoded: String = form_urlencoded::parse(echoed.as_bytes())
            .map(|(k, v)| format!("{k}={v} "))
            .collect();
        let body = serde_json::json!({
            "error": decoded,
            "error_description": echoed,
            "message": decoded,
        });
        ResponseTemplate::new(400)
            .insert_header("x-line-request-id", decoded.trim())
            .set_body_json(body)
    }
}

fn everything_printed(error: &Error) -> String {
    let mut printed = format!("{error} {error:?}");
    let mut cause = std::error::Error::source(error);
    while let Some(e) = cause {
        printed.push_str(&format!(" {e} {e:?}"));
        cause = e.source();
    }
    printed
}

/// Sends `request` to an echoing server and to a closed port; checks that
/// neither error shows any of the request's secret fields.
async fn assert_no_secret_escapes<R: Request>(request: R) {
    let secrets = call::secrets(&request);
    assert!(
        !secrets.is_empty(),
        "{}: no secret field found",
        R::OPERATION
    );
    let echo = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(Echo)
        .mount(&echo)
        .await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let refused = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let policy = Policy {
        timeout: Duration::from_secs(5),
        retry: RetryPolicy::none(),
    };
    let http = crate::client::http_client(Duration::from_secs(5), None).unwrap();
    for url in [echo.uri(), refused] {
        let endpoints = crate::raw::Endpoints::new(url.parse().unwrap(), crate::raw::FIXED_PATHS);
        let raw = raw::Client::new_with_client(&url, http.clone(), endpoints);
        let error = match call::send(&raw, policy, &request).await {
            Ok(_) => panic!("{}: expected an error from {url}", R::OPERATION),
            Err(error) => error,
        };
        let printed = everything_printed(&error);
        for secret in &secrets {
            let encoded: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
            assert!(
                !printed.contains(secret.as_str()) && !printed.contains(&encoded),
                "{}: a secret field shows in {printed}",
                R::OPERATION
            );
        }
    }
    assert!(!echo.received_requests().await.unwrap().is_empty());
}

fn creds() -> ChannelCredentials {
    ChannelCredentials::new("1234567890", ClientSecret::new(SECRET))
}

#[tokio::test]
async fn no_operation_lets_a_secret_field_into_its_errors() {
    let token = AccessToken::new(TOKEN);
    let assertion = ClientAssertion::new(ASSERTION);
    assert_no_secret_escapes(types::IssueShortLivedChannelTokenRequest {
        grant_type: GRANT,
        client_id: "1234567890".to_owned().into(),
        client_secret: ClientSecret::new(SECRET),
    })
    .await;
    assert_no_secret_escapes(types::IssueChannelTokenByJwtRequest {
        grant_type: GRANT,
        client_assertion_type: JWT_BEARER,
        client_assertion: assertion.clone(),
    })
    .await;
    assert_no_secret_escapes(stateless_by_secret(&creds())).await;
    assert_no_secret_escapes(stateless_by_assertion(assertion.clone())).await;
    assert_no_secret_escapes(types::VerifyChannelTokenRequest {
        access_token: token.clone(),
    })
    .await;
    assert_no_secret_escapes(VerifyV21 {
        access_token: &token,
    })
    .await;
    assert_no_secret_escapes(types::RevokeChannelTokenRequest {
        access_token: token.clone(),
    })
    .await;
    assert_no_secret_escapes(types::RevokeChannelTokenByJwtRequest {
        client_id: "1234567890".to_owned().into(),
        client_secret: ClientSecret::new(SECRET),
        access_token: token.clone(),
    })
    .await;
    assert_no_secret_escapes(ValidV21KeyIds {
        client_assertion: &assertion,
    })
    .await;
}
