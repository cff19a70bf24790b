//! Wire tests of the generated client: each operation against a local HTTP
//! server, asserting on the request the server actually received, and
//! decoding LINE's documented bodies.

use crate::raw::{self, Client, types};
use crate::secret::{AccessToken, ClientAssertion, ClientSecret};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const CHANNEL_ID: &str = "1234567890";
const SECRET: &str = "a1b2c3d4e5f6";
/// A short-lived token holds characters that form encoding must escape.
const TOKEN: &str = "W1TeHC+a/bc=";
const TOKEN_ENCODED: &str = "W1TeHC%2Ba%2Fbc%3D";
const ASSERTION: &str = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxMjM0In0.c2ln";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const JWT_BEARER_ENCODED: &str = "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer";
const FORM: &str = "application/x-www-form-urlencoded";

/// A server that answers `status` with `body` (JSON when not empty) on
/// `verb path`, and a raw client pointing at it.
async fn serve(verb: &str, route: &str, status: u16, body: &str) -> (MockServer, Client) {
    let server = MockServer::start().await;
    let mut response = ResponseTemplate::new(status);
    if !body.is_empty() {
        response = response.set_body_raw(body.as_bytes().to_vec(), "application/json");
    }
    Mock::given(method(verb))
        .and(path(route))
        .respond_with(response)
        .mount(&server)
        .await;
    let http = crate::client::http_client(std::time::Duration::from_secs(5), None).unwrap();
    let client = Client::new_with_client(
        &server.uri(),
        http,
        crate::raw::Endpoints::new(server.uri().parse().unwrap(), crate::raw::FIXED_PATHS),
    );
    (server, client)
}

/// The one request the server received.
async fn received(server: &MockServer) -> Request {
    let mut requests = server.received_requests().await.expect("recording is on");
    assert_eq!(requests.len(), 1, "expected exactly one request");
    requests.remove(0)
}

/// The form or query pairs, decoded and sorted by key.
fn pairs(encoded: &[u8]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(encoded).into_owned().collect();
    pairs.sort();
    pairs
}

fn owned(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = expected
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    pairs.sort();
    pairs
}

/// Asserts the request is a form POST to `route` carrying exactly `expected`
/// and only the headers LINE needs.
fn assert_form_post(request: &Request, route: &str, expected: &[(&str, &str)]) {
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.url.path(), route);
    assert_eq!(
        request.url.query(),
        None,
        "a POST carries nothing in its query"
    );
    assert_eq!(request.headers["content-type"], FORM);
    assert_eq!(
        pairs(&request.body),
        owned(expected),
        "form body of {route}"
    );
    assert_only_headers(
        request,
        &[
            "accept",
            "content-length",
            "content-type",
            "host",
            "user-agent",
        ],
    );
}

/// Asserts the request is a GET of `route` whose query is exactly `expected`.
fn assert_query_get(request: &Request, route: &str, expected: &[(&str, &str)]) {
    assert_eq!(request.method.as_str(), "GET");
    assert_eq!(request.url.path(), route);
    assert!(request.body.is_empty(), "a GET has no body");
    let query = request.url.query().expect("a query string").as_bytes();
    assert_eq!(pairs(query), owned(expected), "query of {route}");
    assert_only_headers(request, &["accept", "host", "user-agent"]);
}

fn assert_only_headers(request: &Request, allowed: &[&str]) {
    let mut names: Vec<&str> = request.headers.keys().map(|n| n.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, allowed, "headers sent");
    assert_eq!(request.headers["accept"], "application/json");
    assert_eq!(request.headers["user-agent"], crate::Client::USER_AGENT);
}

fn body_text(request: &Request) -> &str {
    std::str::from_utf8(&request.body).expect("a UTF-8 form body")
}

#[tokio::test]
async fn key_id_listing_sends_the_assertion_in_the_query() {
    let (server, client) = serve(
        "GET",
        "/oauth2/v2.1/tokens/kid",
        200,
        r#"{"kids":["U_gd","sDTO"]}"#,
    )
    .await;
    let kids = client
        .gets_all_valid_channel_access_token_key_ids(
            &ClientAssertion::new(ASSERTION),
            types::ClientAssertionType::UrnIetfParamsOauthClientAssertionTypeJwtBearer,
        )
        .await
        .unwrap();
    assert_eq!(kids.kids, ["U_gd", "sDTO"]);
    let request = received(&server).await;
    assert_query_get(
        &request,
        "/oauth2/v2.1/tokens/kid",
        &[
            ("client_assertion", ASSERTION),
            ("client_assertion_type", JWT_BEARER),
        ],
    );
    let query = request.url.query().unwrap();
    assert!(
        query.contains(&format!("client_assertion_type={JWT_BEARER_ENCODED}")),
        "{query}"
    );
}

#[tokio::test]
async fn short_lived_issuance_sends_id_and_secret() {
    let body = r#"{"access_token":"W1TeHC","expires_in":2592000,"token_type":"Bearer"}"#;
    let (server, client) = serve("POST", "/v2/oauth/accessToken", 200, body).await;
    let token = client
        .issue_channel_token(&types::IssueShortLivedChannelTokenRequest {
            grant_type: types::GrantType::ClientCredentials,
            client_id: CHANNEL_ID.to_owned().into(),
            client_secret: ClientSecret::new(SECRET),
        })
        .await
        .unwrap();
    assert_eq!(token.access_token.expose_secret(), "W1TeHC");
    assert_eq!(token.expires_in, 2_592_000);
    assert_eq!(token.token_type, "Bearer");
    assert_form_post(
        &received(&server).await,
        "/v2/oauth/accessToken",
        &[
            ("client_id", CHANNEL_ID),
            ("client_secret", SECRET),
            ("grant_type", "client_credentials"),
        ],
    );
}

#[tokio::test]
async fn v21_issuance_sends_the_assertion_encoded_once() {
    let body = r#"{"access_token":"eyJhbGciOiJIUz.....","token_type":"Bearer","expires_in":2592000,"key_id":"sDTOzw5wIfxxxxPEzcmeQA"}"#;
    let (server, client) = serve("POST", "/oauth2/v2.1/token", 200, body).await;
    let token = client
        .issue_channel_token_by_jwt(&types::IssueChannelTokenByJwtRequest {
            grant_type: types::GrantType::ClientCredentials,
            client_assertion_type:
                types::ClientAssertionType::UrnIetfParamsOauthClientAssertionTypeJwtBearer,
            client_assertion: ClientAssertion::new(ASSERTION),
        })
        .await
        .unwrap();
    assert_eq!(token.key_id, "sDTOzw5wIfxxxxPEzcmeQA");
    assert_eq!(token.expires_in, 2_592_000);
    let request = received(&server).await;
    assert_form_post(
        &request,
        "/oauth2/v2.1/token",
        &[
            ("client_assertion", ASSERTION),
            ("client_assertion_type", JWT_BEARER),
            ("grant_type", "client_credentials"),
        ],
    );
    let text = body_text(&request);
    assert!(
        text.contains(&format!("client_assertion_type={JWT_BEARER_ENCODED}")),
        "{text}"
    );
    assert!(!text.contains("%253A"), "encoded twice: {text}");
}

#[tokio::test]
async fn stateless_issuance_by_client_secret_sends_only_that_variant() {
    let body = r#"{"token_type":"Bearer","access_token":"eyJ...","expires_in":900}"#;
    let (server, client) = serve("POST", "/oauth2/v3/token", 200, body).await;
    let token = client
        .issue_stateless_channel_token(&stateless_by_secret_request())
        .await
        .unwrap();
    assert_eq!(token.expires_in, 900);
    assert_form_post(
        &received(&server).await,
        "/oauth2/v3/token",
        &[
            ("client_id", CHANNEL_ID),
            ("client_secret", SECRET),
            ("grant_type", "client_credentials"),
        ],
    );
}

#[tokio::test]
async fn stateless_issuance_by_assertion_sends_only_that_variant() {
    let body = r#"{"token_type":"Bearer","access_token":"eyJ...","expires_in":899}"#;
    let (server, client) = serve("POST", "/oauth2/v3/token", 200, body).await;
    let request_body = types::IssueStatelessChannelTokenByJwtAssertionRequest {
        grant_type: types::GrantType::ClientCredentials,
        client_assertion_type:
            types::ClientAssertionType::UrnIetfParamsOauthClientAssertionTypeJwtBearer,
        client_assertion: ClientAssertion::new(ASSERTION),
    };
    let token = client
        .issue_stateless_channel_token(&request_body.into())
        .await
        .unwrap();
    assert_eq!(token.expires_in, 899);
    let request = received(&server).await;
    assert_form_post(
        &request,
        "/oauth2/v3/token",
        &[
            ("client_assertion", ASSERTION),
            ("client_assertion_type", JWT_BEARER),
            ("grant_type", "client_credentials"),
        ],
    );
    assert!(body_text(&request).contains(JWT_BEARER_ENCODED));
}

#[tokio::test]
async fn revoke_sends_the_token_and_accepts_an_empty_200() {
    let (server, client) = serve("POST", "/v2/oauth/revoke", 200, "").await;
    let response = client
        .revoke_channel_token(&types::RevokeChannelTokenRequest {
            access_token: AccessToken::new(TOKEN),
        })
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let request = received(&server).await;
    assert_form_post(&request, "/v2/oauth/revoke", &[("access_token", TOKEN)]);
    assert_eq!(body_text(&request), format!("access_token={TOKEN_ENCODED}"));
}

#[tokio::test]
async fn v21_revoke_sends_id_secret_and_token_and_accepts_an_empty_200() {
    let (server, client) = serve("POST", "/oauth2/v2.1/revoke", 200, "").await;
    client
        .revoke_channel_token_by_jwt(&types::RevokeChannelTokenByJwtRequest {
            client_id: CHANNEL_ID.to_owned().into(),
            client_secret: ClientSecret::new(SECRET),
            access_token: AccessToken::new(TOKEN),
        })
        .await
        .unwrap();
    assert_form_post(
        &received(&server).await,
        "/oauth2/v2.1/revoke",
        &[
            ("access_token", TOKEN),
            ("client_id", CHANNEL_ID),
            ("client_secret", SECRET),
        ],
    );
}

#[tokio::test]
async fn verify_decodes_a_lifetime_beyond_32_bits() {
    let body = r#"{"client_id":"1350031035","expires_in":3138007490,"scope":"P CM"}"#;
    let (server, client) = serve("POST", "/v2/oauth/verify", 200, body).await;
    let info = client
        .verify_channel_token(&types::VerifyChannelTokenRequest {
            access_token: AccessToken::new(TOKEN),
        })
        .await
        .unwrap();
    assert_eq!(info.expires_in, 3_138_007_490);
    assert_eq!(info.client_id.as_str(), "1350031035");
    assert_eq!(info.scope.as_deref(), Some("P CM"));
    assert_form_post(
        &received(&server).await,
        "/v2/oauth/verify",
        &[("access_token", TOKEN)],
    );
}

#[tokio::test]
async fn v21_verify_sends_the_token_in_the_query_and_allows_no_scope() {
    let body = r#"{"client_id":"1573163733","expires_in":2591659}"#;
    let (server, client) = serve("GET", "/oauth2/v2.1/verify", 200, body).await;
    let info = client
        .verify_channel_token_by_jwt(&AccessToken::new(TOKEN))
        .await
        .unwrap();
    assert_eq!(info.expires_in, 2_591_659);
    assert_eq!(info.scope, None);
    let request = received(&server).await;
    assert_query_get(&request, "/oauth2/v2.1/verify", &[("access_token", TOKEN)]);
    assert_eq!(
        request.url.query(),
        Some(format!("access_token={TOKEN_ENCODED}").as_str())
    );
}

#[tokio::test]
async fn a_success_body_with_unknown_fields_still_decodes() {
    let body =
        r#"{"access_token":"abc","expires_in":900,"token_type":"Bearer","new_field":{"x":[1]}}"#;
    let (_server, client) = serve("POST", "/oauth2/v3/token", 200, body).await;
    let token = client
        .issue_stateless_channel_token(&stateless_by_secret_request())
        .await
        .unwrap();
    assert_eq!(token.access_token.expose_secret(), "abc");
}

/// The error body of an error status, decoded as the call path decodes it
/// (the generated client hands every error status back whole), or a panic
/// naming what came instead.
async fn error_body<T: std::fmt::Debug>(
    outcome: Result<T, raw::Error<()>>,
    status: u16,
) -> types::ErrorResponse {
    match outcome {
        Err(raw::Error::UnexpectedResponse(response)) => {
            assert_eq!(response.status(), status);
            let body = response.bytes().await.expect("the body");
            serde_json::from_slice(&body).expect("one of LINE's error shapes")
        }
        other => panic!("expected a {status} error response, got {other:?}"),
    }
}

fn short_lived_request() -> types::IssueShortLivedChannelTokenRequest {
    types::IssueShortLivedChannelTokenRequest {
        grant_type: types::GrantType::ClientCredentials,
        client_id: CHANNEL_ID.to_owned().into(),
        client_secret: ClientSecret::new(SECRET),
    }
}

fn stateless_by_secret_request() -> types::IssueStatelessChannelTokenRequest {
    types::IssueStatelessChannelTokenByClientSecretRequest {
        grant_type: types::GrantType::ClientCredentials,
        client_id: CHANNEL_ID.to_owned().into(),
        client_secret: ClientSecret::new(SECRET),
    }
    .into()
}

fn v21_request() -> types::IssueChannelTokenByJwtRequest {
    types::IssueChannelTokenByJwtRequest {
        grant_type: types::GrantType::ClientCredentials,
        client_assertion_type:
            types::ClientAssertionType::UrnIetfParamsOauthClientAssertionTypeJwtBearer,
        client_assertion: ClientAssertion::new(ASSERTION),
    }
}

#[tokio::test]
async fn an_oauth_shaped_400_decodes() {
    let body = r#"{"error":"invalid_client","error_description":"invalid client_secret"}"#;
    let (_server, client) = serve("POST", "/v2/oauth/accessToken", 400, body).await;
    let error = error_body(
        client.issue_channel_token(&short_lived_request()).await,
        400,
    )
    .await;
    assert_eq!(error.error.as_deref(), Some("invalid_client"));
    assert_eq!(
        error.error_description.as_deref(),
        Some("invalid client_secret")
    );
    assert_eq!(error.message, None);
}

#[tokio::test]
async fn an_oauth_shaped_400_without_description_decodes() {
    let (_server, client) = serve(
        "POST",
        "/v2/oauth/revoke",
        400,
        r#"{"error":"invalid_request"}"#,
    )
    .await;
    let outcome = client
        .revoke_channel_token(&types::RevokeChannelTokenRequest {
            access_token: AccessToken::new("x"),
        })
        .await;
    let error = error_body(outcome, 400).await;
    assert_eq!(error.error.as_deref(), Some("invalid_request"));
    assert_eq!(error.error_description, None);
}

#[tokio::test]
async fn a_message_shaped_400_decodes() {
    let body = r#"{"message":"The maximum number of access tokens has already been issued"}"#;
    let (_server, client) = serve("POST", "/oauth2/v2.1/token", 400, body).await;
    let error = error_body(client.issue_channel_token_by_jwt(&v21_request()).await, 400).await;
    assert_eq!(
        error.message.as_deref(),
        Some("The maximum number of access tokens has already been issued")
    );
    assert_eq!(error.error, None);
}

#[tokio::test]
async fn a_message_shaped_404_decodes() {
    let body = r#"{"message":"Cannot find channel key that satisfies the conditions"}"#;
    let (_server, client) = serve("POST", "/oauth2/v2.1/token", 404, body).await;
    let error = error_body(client.issue_channel_token_by_jwt(&v21_request()).await, 404).await;
    assert_eq!(
        error.message.as_deref(),
        Some("Cannot find channel key that satisfies the conditions")
    );
}

#[tokio::test]
async fn an_oauth_shaped_404_decodes() {
    let body = r#"{"error":"invalid_client","error_description":"Invalid exp"}"#;
    let (_server, client) = serve("GET", "/oauth2/v2.1/tokens/kid", 404, body).await;
    let outcome = client
        .gets_all_valid_channel_access_token_key_ids(
            &ClientAssertion::new(ASSERTION),
            types::ClientAssertionType::UrnIetfParamsOauthClientAssertionTypeJwtBearer,
        )
        .await;
    let error = error_body(outcome, 404).await;
    assert_eq!(error.error.as_deref(), Some("invalid_client"));
    assert_eq!(error.error_description.as_deref(), Some("Invalid exp"));
}

#[tokio::test]
async fn a_message_body_with_details_decodes() {
    let body = r#"{"message":"The request body has 1 error(s)","details":[{"message":"must be specified","property":"client_id"}]}"#;
    let (_server, client) = serve("POST", "/v2/oauth/accessToken", 400, body).await;
    let error = error_body(
        client.issue_channel_token(&short_lived_request()).await,
        400,
    )
    .await;
    assert_eq!(error.details.len(), 1);
    assert_eq!(error.details[0].property.as_deref(), Some("client_id"));
}

#[tokio::test]
async fn debug_of_requests_and_responses_shows_no_secret() {
    let request = short_lived_request();
    let printed = format!("{request:?} {:?}", v21_request());
    assert!(
        !printed.contains(SECRET) && !printed.contains(ASSERTION),
        "{printed}"
    );
    let body = r#"{"access_token":"W1TeHC","expires_in":2592000,"token_type":"Bearer"}"#;
    let (_server, client) = serve("POST", "/v2/oauth/accessToken", 200, body).await;
    let token = client.issue_channel_token(&request).await.unwrap();
    let printed = format!("{token:?}");
    assert!(!printed.contains("W1TeHC"), "{printed}");
}
