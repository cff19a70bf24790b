//! `line_oauth::Client` against the fake LINE server: every operation's
//! success path and every error LINE documents, as typed values.

mod support;

use std::time::Duration;

use support::{CHANNEL, SECRET, setup};

use line_oauth::{
    AccessToken, ChannelCredentials, ClientAssertion, ClientSecret, Error, ErrorCode,
};
use line_oauth_fake::Kind;

const DAY: Duration = Duration::from_secs(24 * 3600);
const HOUR: Duration = Duration::from_secs(3600);
const MINUTE: Duration = Duration::from_secs(60);

/// The API error of a failed call, or a panic naming what came instead.
fn api_error<T: std::fmt::Debug>(outcome: Result<T, Error>) -> line_oauth::ApiError {
    match outcome {
        Err(Error::Api(e)) => e,
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn assert_oauth_error<T: std::fmt::Debug>(
    outcome: Result<T, Error>,
    code: ErrorCode,
    description: Option<&str>,
) {
    let e = api_error(outcome);
    assert_eq!(e.status(), 400, "{e}");
    assert_eq!(e.code(), Some(&code), "{e}");
    assert_eq!(e.description(), description, "{e}");
    assert!(
        e.request_id().is_some_and(|id| id.len() == 32),
        "LINE's request id is kept: {e}"
    );
}

#[tokio::test]
async fn short_lived_token_issue_verify_revoke() {
    let s = setup().await;
    let issued = s.client.issue_short_lived(&s.creds).await.unwrap();
    assert_eq!(issued.expires_in(), 30 * DAY);
    assert_eq!(issued.token_type(), "Bearer");
    assert_eq!(issued.key_id(), None);
    assert!(issued.remaining() > 29 * DAY);

    s.fake.advance(DAY);
    let info = s.client.verify(issued.access_token()).await.unwrap();
    assert_eq!(info.client_id(), CHANNEL);
    assert!(
        info.expires_in() <= 29 * DAY && info.expires_in() > 29 * DAY - Duration::from_secs(5),
        "{info:?}"
    );
    assert_eq!(info.scopes().count(), 0);

    s.client.revoke(issued.access_token()).await.unwrap();
    let outcome = s.client.verify(issued.access_token()).await;
    assert_oauth_error(
        outcome,
        ErrorCode::InvalidRequest,
        Some("access_token invalid"),
    );
}

#[tokio::test]
async fn short_lived_token_expires_after_30_days() {
    let s = setup().await;
    let issued = s.client.issue_short_lived(&s.creds).await.unwrap();
    s.fake.advance(30 * DAY);
    let outcome = s.client.verify(issued.access_token()).await;
    assert_oauth_error(
        outcome,
        ErrorCode::InvalidRequest,
        Some("access_token invalid"),
    );
}

#[tokio::test]
async fn the_31st_short_lived_token_revokes_the_oldest() {
    let s = setup().await;
    let first = s.client.issue_short_lived(&s.creds).await.unwrap();
    for _ in 0..30 {
        s.client.issue_short_lived(&s.creds).await.unwrap();
    }
    assert_eq!(s.fake.active_count(CHANNEL, Kind::ShortLived), 30);
    assert!(s.client.verify(first.access_token()).await.is_err());
}

#[tokio::test]
async fn short_lived_issuance_with_a_wrong_secret_or_id_is_invalid_client() {
    let s = setup().await;
    let wrong_secret = ChannelCredentials::new(CHANNEL, ClientSecret::new("wrong"));
    let outcome = s.client.issue_short_lived(&wrong_secret).await;
    assert_oauth_error(
        outcome,
        ErrorCode::InvalidClient,
        Some("invalid client_secret"),
    );
    let wrong_id = ChannelCredentials::new("999", ClientSecret::new(SECRET));
    let outcome = s.client.issue_short_lived(&wrong_id).await;
    assert_oauth_error(outcome, ErrorCode::InvalidClient, Some("invalid client_id"));
}

#[tokio::test]
async fn revoking_an_unknown_token_is_fine_and_a_malformed_one_is_not() {
    let s = setup().await;
    s.client
        .revoke(&AccessToken::new("W1TeHCunknown+/="))
        .await
        .unwrap();
    let outcome = s.client.revoke(&AccessToken::new("not a token")).await;
    assert_oauth_error(outcome, ErrorCode::InvalidRequest, None);
}

#[tokio::test]
async fn verifying_a_malformed_token_says_so() {
    let s = setup().await;
    let outcome = s.client.verify(&AccessToken::new("bad token!")).await;
    assert_oauth_error(
        outcome,
        ErrorCode::InvalidRequest,
        Some("access_token in invalid format"),
    );
}

#[tokio::test]
async fn stateless_token_by_client_secret() {
    let s = setup().await;
    let issued = s.client.issue_stateless(&s.creds).await.unwrap();
    assert_eq!(issued.expires_in(), Duration::from_secs(900));
    assert_eq!(issued.key_id(), None);
    let wrong = ChannelCredentials::new(CHANNEL, ClientSecret::new("wrong"));
    let outcome = s.client.issue_stateless(&wrong).await;
    assert_oauth_error(
        outcome,
        ErrorCode::InvalidRequest,
        Some("Invalid 'client_credentials'."),
    );
}

#[tokio::test]
async fn stateless_token_by_assertion() {
    let s = setup().await;
    let assertion = s.assertion(None);
    let issued = s.client.issue_stateless(&assertion).await.unwrap();
    assert_eq!(issued.expires_in(), Duration::from_secs(900));
    assert_eq!(s.fake.issued_count(), 1);
}

#[tokio::test]
async fn v21_token_issue_list_verify_revoke() {
    let s = setup().await;
    let issued = s
        .client
        .issue_v21(&s.assertion(Some(3600)), HOUR)
        .await
        .unwrap();
    assert_eq!(issued.expires_in(), Duration::from_secs(3600));
    let key_id = issued.key_id().expect("a v2.1 token has a key id");

    let kids = s.client.list_v21_key_ids(&s.assertion(None)).await.unwrap();
    assert_eq!(kids, [key_id]);

    let info = s.client.verify_v21(issued.access_token()).await.unwrap();
    assert_eq!(info.client_id(), CHANNEL);
    assert!(
        info.expires_in() <= Duration::from_secs(3600)
            && info.expires_in() >= Duration::from_secs(3595)
    );

    s.client
        .revoke_v21(&s.creds, issued.access_token())
        .await
        .unwrap();
    assert!(
        s.client
            .list_v21_key_ids(&s.assertion(None))
            .await
            .unwrap()
            .is_empty()
    );
    let outcome = s.client.verify_v21(issued.access_token()).await;
    assert_oauth_error(
        outcome,
        ErrorCode::InvalidRequest,
        Some("The access token invalid"),
    );
}

#[tokio::test]
async fn an_expired_v21_token_says_so() {
    let s = setup().await;
    let issued = s
        .client
        .issue_v21(&s.assertion(Some(60)), MINUTE)
        .await
        .unwrap();
    s.fake.advance(Duration::from_secs(61));
    let outcome = s.client.verify_v21(issued.access_token()).await;
    assert_oauth_error(
        outcome,
        ErrorCode::InvalidRequest,
        Some("The access token expired"),
    );
}

#[tokio::test]
async fn the_31st_v21_token_is_refused_with_the_token_limit_error() {
    let s = setup().await;
    for _ in 0..30 {
        s.client
            .issue_v21(&s.assertion(Some(3600)), HOUR)
            .await
            .unwrap();
    }
    let error = s
        .client
        .issue_v21(&s.assertion(Some(3600)), HOUR)
        .await
        .unwrap_err();
    assert!(error.is_token_limit_reached(), "{error}");
    assert_eq!(error.api().unwrap().code(), None);
    assert_eq!(s.fake.active_count(CHANNEL, Kind::V21), 30);
}

#[tokio::test]
async fn revoking_a_v21_token_that_is_not_jws_says_so() {
    let s = setup().await;
    let outcome = s
        .client
        .revoke_v21(&s.creds, &AccessToken::new("abc"))
        .await;
    assert_oauth_error(
        outcome,
        ErrorCode::InvalidRequest,
        Some("The access token not JWS"),
    );
    let wrong = ChannelCredentials::new(CHANNEL, ClientSecret::new("wrong"));
    let outcome = s
        .client
        .revoke_v21(&wrong, &AccessToken::new("a.b.c"))
        .await;
    assert_oauth_error(
        outcome,
        ErrorCode::InvalidClient,
        Some("invalid client_secret"),
    );
}

#[tokio::test]
async fn empty_arguments_are_refused_before_anything_is_sent() {
    let s = setup().await;
    let empty = AccessToken::new("");
    for outcome in [
        s.client.verify(&empty).await,
        s.client.verify_v21(&empty).await,
    ] {
        assert!(
            matches!(outcome, Err(Error::InvalidArgument { .. })),
            "{outcome:?}"
        );
    }
    let no_id = ChannelCredentials::new("", ClientSecret::new(SECRET));
    let error = s.client.issue_short_lived(&no_id).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "issue_short_lived: the request cannot be built (client_id is empty); nothing was sent"
    );
    let error = s
        .client
        .issue_v21(&ClientAssertion::new(""), HOUR)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidArgument { .. }), "{error:?}");
    assert_eq!(s.fake.issued_count(), 0);
}

#[tokio::test]
async fn an_explicit_proxy_carries_every_request() {
    let s = setup().await;
    // A host that resolves nowhere: only the proxy (the fake itself, which
    // serves absolute-form requests as a forward proxy would pass them on)
    // can answer.
    let through = |proxy: Option<String>| {
        let builder = line_oauth::Client::builder()
            .base_url("http://line.invalid")
            .allow_plain_http(true)
            .retry(line_oauth::RetryPolicy::none());
        match proxy {
            Some(proxy) => builder.proxy(proxy),
            None => builder,
        }
        .build()
        .unwrap()
    };
    let proxied = through(Some(s.fake.url()));
    let issued = proxied.issue_short_lived(&s.creds).await.unwrap();
    proxied.verify(issued.access_token()).await.unwrap();
    let direct = through(None).issue_short_lived(&s.creds).await;
    assert!(matches!(direct, Err(Error::Connect { .. })), "{direct:?}");
}

#[test]
fn a_proxy_password_stays_out_of_debug_and_errors() {
    let builder =
        line_oauth::Client::builder().proxy("http://user:hunter2-proxy@proxy.internal:3128");
    assert!(!format!("{builder:?}").contains("hunter2-proxy"));
    let refused = line_oauth::Client::builder()
        .proxy("http://user:hunter2-proxy@[not a host")
        .build()
        .unwrap_err();
    assert!(!refused.to_string().contains("hunter2-proxy"), "{refused}");
}
