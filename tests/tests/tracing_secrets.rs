//! Everything line-oauth and the crates under it log, at TRACE for every
//! target (`log` records included), while every operation succeeds and
//! fails and a token source refreshes and loses its store: the spans say
//! what was called, and no secret appears, plain or form-encoded.
//!
//! One test in its own binary: it installs the process's global subscriber.

mod support;

use std::time::Duration;

use line_oauth::{
    AccessToken, ChannelCredentials, Client, ClientSecret, EncryptionKey, FileStore, RetryPolicy,
    ShortLived, TokenSource,
};
use line_oauth_tests::raw_server::refused_url;
use support::{CHANNEL, Capture, SECRET, key_pair, setup};
use tracing_subscriber::filter::LevelFilter;

#[test]
fn every_operation_is_traced_and_no_secret_is_logged() {
    let capture = Capture::install(LevelFilter::TRACE);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let secrets = runtime.block_on(run_everything());
    drop(runtime);

    let text = capture.text();
    for expected in [
        "line_oauth.call",
        r#"operation="issue_short_lived""#,
        r#"method="POST""#,
        r#"path="/v2/oauth/accessToken""#,
        r#"path="/oauth2/v2.1/verify""#,
        r#"path="/oauth2/v2.1/tokens/kid""#,
        "attempt=1",
        "status=200",
        "status=400",
        "request_id=",
        "LINE call failed",
        "token source: new token",
        "token store out of reach",
        "starting new connection", // reqwest's own log records reach it
    ] {
        assert!(text.contains(expected), "{expected:?} not traced:\n{text}");
    }
    for operation in [
        "issue_short_lived",
        "issue_v21",
        "issue_stateless",
        "verify",
        "verify_v21",
        "revoke",
        "revoke_v21",
        "list_v21_key_ids",
    ] {
        let field = format!("operation=\"{operation}\"");
        assert!(text.contains(&field), "{operation} not traced");
    }
    for (n, secret) in secrets.iter().enumerate() {
        let encoded: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        for shown in [secret.as_str(), encoded.as_str()] {
            assert!(!text.contains(shown), "secret {n} of the list was logged");
        }
    }
    assert!(!text.contains("access_token="), "a query string was logged");
    assert!(
        !text.contains("client_assertion="),
        "a query string was logged"
    );
}

/// Runs every operation's success and failure paths and a token source's
/// refresh and degraded mode; the secrets involved.
async fn run_everything() -> Vec<String> {
    let s = setup().await;
    let mut secrets = vec![SECRET.to_owned(), "wrong-secret-value".to_owned()];
    let private = key_pair().private.expose_secret_json();
    let private: serde_json::Value = serde_json::from_str(&private).unwrap();
    for field in ["d", "p", "q", "dp", "dq", "qi"] {
        secrets.push(private[field].as_str().unwrap().to_owned());
    }
    let wrong = ChannelCredentials::new(CHANNEL, ClientSecret::new("wrong-secret-value"));
    let client = &s.client;

    // Successes, with assertions signed here so that they can be looked for.
    let assertion = s.assertion(Some(3600));
    secrets.push(assertion.expose_secret().to_owned());
    let v21 = client
        .issue_v21(&assertion, Duration::from_secs(3600))
        .await
        .unwrap();
    let listing = s.assertion(None);
    secrets.push(listing.expose_secret().to_owned());
    client.list_v21_key_ids(&listing).await.unwrap();
    client.verify_v21(v21.access_token()).await.unwrap();
    client
        .revoke_v21(&s.creds, v21.access_token())
        .await
        .unwrap();
    let short = client.issue_short_lived(&s.creds).await.unwrap();
    client.verify(short.access_token()).await.unwrap();
    client.revoke(short.access_token()).await.unwrap();
    let stateless_assertion = s.assertion(None);
    secrets.push(stateless_assertion.expose_secret().to_owned());
    let stateless = client.issue_stateless(&stateless_assertion).await.unwrap();
    let by_secret = client.issue_stateless(&s.creds).await.unwrap();
    for token in [&v21, &short, &stateless, &by_secret] {
        secrets.push(token.access_token().expose_secret().to_owned());
    }

    // LINE's refusals.
    assert!(client.issue_short_lived(&wrong).await.is_err());
    assert!(client.issue_stateless(&wrong).await.is_err());
    let bad_exp = s.assertion(None); // a v2.1 issuance needs token_exp
    secrets.push(bad_exp.expose_secret().to_owned());
    assert!(
        client
            .issue_v21(&bad_exp, Duration::from_secs(60))
            .await
            .is_err()
    );
    assert!(client.verify(short.access_token()).await.is_err());
    assert!(client.verify_v21(v21.access_token()).await.is_err());
    assert!(client.revoke_v21(&wrong, v21.access_token()).await.is_err());
    let unknown_kid = line_oauth::AssertionSigner::new(&key_pair().private, "no-such-kid", CHANNEL)
        .sign()
        .unwrap();
    secrets.push(unknown_kid.expose_secret().to_owned());
    assert!(client.list_v21_key_ids(&unknown_kid).await.is_err());

    // The network failing, for every operation.
    let nowhere = Client::builder()
        .base_url(refused_url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let token = AccessToken::new(short.access_token().expose_secret());
    assert!(nowhere.issue_short_lived(&s.creds).await.is_err());
    assert!(
        nowhere
            .issue_v21(&assertion, Duration::from_secs(60))
            .await
            .is_err()
    );
    assert!(nowhere.issue_stateless(&s.creds).await.is_err());
    assert!(nowhere.verify(&token).await.is_err());
    assert!(nowhere.verify_v21(&token).await.is_err());
    assert!(nowhere.revoke(&token).await.is_err());
    assert!(nowhere.revoke_v21(&s.creds, &token).await.is_err());
    assert!(nowhere.list_v21_key_ids(&listing).await.is_err());

    // A token source: a refresh, then a store out of reach.
    let dir = tempfile::tempdir().unwrap();
    let key = EncryptionKey::generate();
    secrets.push(key.to_base64());
    let store = FileStore::new(dir.path(), &key).unwrap();
    let provider = ShortLived::new(client.clone(), s.creds.clone());
    let source = TokenSource::builder(provider.clone())
        .store(store.clone())
        .build()
        .unwrap();
    secrets.push(
        source
            .token()
            .await
            .unwrap()
            .access_token()
            .expose_secret()
            .to_owned(),
    );
    std::fs::remove_file(store.token_path(&format!("short-lived:{CHANNEL}"))).unwrap();
    std::fs::create_dir(store.token_path(&format!("short-lived:{CHANNEL}"))).unwrap();
    let degraded = TokenSource::builder(provider).store(store).build().unwrap();
    secrets.push(
        degraded
            .token()
            .await
            .unwrap()
            .access_token()
            .expose_secret()
            .to_owned(),
    );
    secrets
}
