//! The error model a caller relies on: every variant matched with
//! line-oauth's own types only, one answer to "retry later, or fix?" for the
//! same failure whatever the token kind, and each error's text at its own
//! level with its cause behind `source()`.

mod support;

use std::error::Error as _;
use std::time::Duration;

use line_oauth::{
    AccessToken, ApiError, ChannelCredentials, Client, ClientSecret, Error, Operation,
    ProviderError, Remedy, StoreError, TransportError,
};
use line_oauth_tests::raw_server::refused_url;
use support::{CHANNEL, setup};

/// What a caller might write to report any error: a match on every
/// variant, naming no type of reqwest, http or `std::sync`.
fn describe(error: &Error) -> String {
    match error {
        Error::Api(api) => {
            let api: &ApiError = api;
            let status: u16 = api.status();
            let operation: Operation = api.operation();
            format!("{operation} refused with {status}")
        }
        Error::Timeout {
            operation, after, ..
        } => format!("{operation} timed out after {after:?}"),
        Error::Connect {
            operation, source, ..
        }
        | Error::Transport {
            operation, source, ..
        } => {
            let source: &TransportError = source;
            format!("{operation}: {source}")
        }
        Error::ResponseTooLarge {
            operation, limit, ..
        } => format!("{operation}: over {limit} bytes"),
        Error::Decode {
            operation, status, ..
        } => {
            let status: u16 = *status;
            format!("{operation}: a {status} LINE would not send")
        }
        Error::InvalidArgument {
            operation, reason, ..
        } => format!("{operation}: {reason}"),
        Error::InvalidConfig(reason) => reason.clone(),
        Error::Assertion(e) => e.to_string(),
        Error::Key(e) => e.to_string(),
        Error::Env(e) => format!("{} is wrong", e.variable()),
        Error::Store(e) => {
            let e: &StoreError = e;
            e.to_string()
        }
        Error::Provider(e) => {
            let _: &ProviderError = e;
            "the provider failed".to_owned()
        }
        Error::UnusableToken {
            lifetime, margin, ..
        } => format!("{lifetime:?} <= {margin:?}"),
        Error::RefreshAborted => "aborted".to_owned(),
        Error::UnknownChannel { channel_id, .. } => format!("no channel {channel_id}"),
        Error::NoChannel => "no channel named".to_owned(),
        _ => error.to_string(),
    }
}

#[tokio::test]
async fn every_variant_is_matched_with_line_oauth_types_only() {
    let s = setup().await;
    let refused = s
        .client
        .verify(&AccessToken::new("no-such-token"))
        .await
        .unwrap_err();
    assert!(describe(&refused).starts_with("verify refused with 400"));
    let unreachable = Client::builder().base_url(refused_url()).build().unwrap();
    let down = unreachable
        .verify(&AccessToken::new("t"))
        .await
        .unwrap_err();
    assert!(
        describe(&down).starts_with("verify: "),
        "{}",
        describe(&down)
    );
    let config = Client::builder()
        .timeout(Duration::ZERO)
        .build()
        .unwrap_err();
    assert!(describe(&config).contains("timeouts"));
}

/// A wrong channel secret is a fix to make, and a refusal of the
/// credentials, for short-lived and stateless tokens alike, though LINE's
/// codes differ (`invalid_client`, `invalid_request`).
#[tokio::test]
async fn a_wrong_secret_is_the_same_answer_for_every_token_kind() {
    let s = setup().await;
    let wrong = ChannelCredentials::new(CHANNEL, ClientSecret::new("not-the-secret"));
    let short_lived = s.client.issue_short_lived(&wrong).await.unwrap_err();
    let stateless = s.client.issue_stateless(&wrong).await.unwrap_err();
    for error in [&short_lived, &stateless] {
        assert_eq!(error.remedy(), Remedy::Fix, "{error}");
        assert!(error.is_credentials_refused(), "{error}");
    }
    assert_ne!(
        short_lived.api().unwrap().code(),
        stateless.api().unwrap().code(),
        "LINE's codes differ; the answers above do not"
    );
    // An unregistered kid is a refusal of the credentials too.
    let stranger = line_oauth::AssertionSigner::builder(
        &support::key_pair().private,
        "never-registered",
        CHANNEL,
    )
    .clock(s.fake.clock())
    .build()
    .unwrap();
    let unknown_kid = s.client.issue_stateless(&stranger).await.unwrap_err();
    assert!(unknown_kid.is_credentials_refused(), "{unknown_kid}");
    assert_eq!(unknown_kid.remedy(), Remedy::Fix);
    // A token LINE does not know is no refusal of the credentials.
    let unknown_token = s
        .client
        .verify(&AccessToken::new("no-such-token"))
        .await
        .unwrap_err();
    assert!(!unknown_token.is_credentials_refused());
}

#[tokio::test]
async fn outages_and_timeouts_are_to_retry_later() {
    let s = setup().await;
    s.fake.set_outage(true);
    let outage = s
        .client_without_retries()
        .issue_stateless(&s.creds)
        .await
        .unwrap_err();
    assert_eq!(outage.status(), Some(503));
    assert_eq!(outage.remedy(), Remedy::RetryLater, "{outage}");
    let unreachable = Client::builder().base_url(refused_url()).build().unwrap();
    let down = unreachable
        .verify(&AccessToken::new("t"))
        .await
        .unwrap_err();
    assert_eq!(down.remedy(), Remedy::RetryLater, "{down}");
    let unavailable = Error::from(StoreError::unavailable("redis: connection refused"));
    assert_eq!(unavailable.remedy(), Remedy::RetryLater);
    let setup_error = Error::from(StoreError::setup("not a directory"));
    assert_eq!(setup_error.remedy(), Remedy::Fix);
}

/// Display says what failed at its own level; the cause is the source, so
/// a reporter that prints the chain prints each part once.
#[tokio::test]
async fn each_error_says_its_own_level_and_hands_on_its_cause() {
    let unreachable = Client::builder().base_url(refused_url()).build().unwrap();
    let error = unreachable
        .verify(&AccessToken::new("t"))
        .await
        .unwrap_err();
    let shown = error.to_string();
    assert_eq!(shown, "verify: cannot connect to LINE");
    let mut chain = Vec::new();
    let mut cause = error.source();
    while let Some(e) = cause {
        chain.push(e.to_string());
        cause = e.source();
    }
    assert!(!chain.is_empty(), "the cause is reachable");
    assert!(
        chain.iter().all(|text| !text.contains(&shown)),
        "no level repeats another: {shown} / {chain:?}"
    );
    assert!(
        chain
            .iter()
            .any(|text| text.to_lowercase().contains("refused")),
        "the OS's reason is at the end of the chain: {chain:?}"
    );
}

/// Errors are cheap to clone: a source hands one to each waiter.
#[test]
fn errors_are_clone_send_sync_and_static() {
    fn assert_traits<T: Clone + Send + Sync + 'static + std::error::Error>() {}
    assert_traits::<Error>();
    assert_traits::<ApiError>();
    assert_traits::<TransportError>();
}
