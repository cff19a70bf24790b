//! JWT client assertions end to end: a generated key pair registered with
//! the fake LINE server, v2.1 and stateless flows signed per call, every bad
//! assertion refused as LINE does, and signed claims checked by an
//! independent JWT library.

mod support;

use std::time::{Duration, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use line_oauth::{AssertionError, AssertionSigner, ClientAssertion, Error, ErrorCode};
use line_oauth_fake::Kind;
use proptest::prelude::*;
use rsa::pkcs1::EncodeRsaPrivateKey;
use serde_json::{Value, json};
use support::{CHANNEL, Setup, key_pair, setup};

const HOUR: Duration = Duration::from_secs(3600);

fn assert_refused<T: std::fmt::Debug>(
    outcome: Result<T, Error>,
    code: ErrorCode,
    description: &str,
) {
    let error = outcome.expect_err("LINE should refuse the assertion");
    let api = error
        .api()
        .unwrap_or_else(|| panic!("expected an API error, got {error:?}"));
    assert_eq!(api.status(), 400, "{error}");
    assert_eq!(api.code(), Some(&code), "{error}");
    assert_eq!(api.description(), Some(description), "{error}");
}

/// An assertion with any header `kid` and claims, signed with the registered
/// key by another JWT library: for claims [`AssertionSigner`] never makes.
fn signed_by_hand(kid: &str, claims: &Value) -> ClientAssertion {
    let jwk: Value = serde_json::from_str(&key_pair().private.expose_secret_json()).unwrap();
    let number = |field: &str| {
        let bytes = base64_url(jwk[field].as_str().unwrap());
        rsa::BigUint::from_bytes_be(&bytes)
    };
    let key = rsa::RsaPrivateKey::from_components(
        number("n"),
        number("e"),
        number("d"),
        vec![number("p"), number("q")],
    )
    .unwrap();
    let der = key.to_pkcs1_der().unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    let jwt =
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_der(der.as_bytes())).unwrap();
    ClientAssertion::new(jwt)
}

fn base64_url(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

/// The claims a good v2.1 assertion carries now, by the fake clock.
fn good_claims(s: &Setup) -> Value {
    let now = s.fake.unix_now();
    json!({ "iss": CHANNEL, "sub": CHANNEL, "aud": AssertionSigner::AUDIENCE, "exp": now + 300, "token_exp": 3600 })
}

#[tokio::test]
async fn v21_token_lifecycle_with_a_generated_key() {
    let s = setup().await;
    let issued = s.client.issue_v21(&s.signer, HOUR).await.unwrap();
    assert_eq!(issued.expires_in(), HOUR);
    let key_id = issued.key_id().unwrap();

    let info = s.client.verify_v21(issued.access_token()).await.unwrap();
    assert!(
        info.expires_in() <= HOUR && info.expires_in() > HOUR - Duration::from_secs(5),
        "{info:?}"
    );
    assert_eq!(info.client_id(), CHANNEL);
    assert!(
        s.client
            .list_v21_key_ids(&s.signer)
            .await
            .unwrap()
            .iter()
            .any(|id| id == key_id)
    );

    s.client
        .revoke_v21(&s.creds, issued.access_token())
        .await
        .unwrap();
    let outcome = s.client.verify_v21(issued.access_token()).await;
    assert_refused(
        outcome,
        ErrorCode::InvalidRequest,
        "The access token invalid",
    );
    assert!(
        !s.client
            .list_v21_key_ids(&s.signer)
            .await
            .unwrap()
            .iter()
            .any(|id| id == key_id)
    );
}

#[tokio::test]
async fn the_31st_active_v21_token_fails_with_the_token_limit_error() {
    let s = setup().await;
    for _ in 0..30 {
        s.client.issue_v21(&s.signer, HOUR).await.unwrap();
    }
    let error = s.client.issue_v21(&s.signer, HOUR).await.unwrap_err();
    assert!(error.is_token_limit_reached(), "{error}");
    assert_eq!(s.fake.active_count(CHANNEL, Kind::V21), 30);
}

#[tokio::test]
async fn stateless_token_by_signer_and_by_ready_assertion() {
    let s = setup().await;
    let issued = s.client.issue_stateless(&s.signer).await.unwrap();
    assert_eq!(issued.expires_in(), Duration::from_secs(900));
    let assertion = s.assertion(None);
    s.client.issue_stateless(&assertion).await.unwrap();
    assert_eq!(s.fake.issued_count(), 2);
}

#[tokio::test]
async fn a_tampered_signature_is_refused() {
    let s = setup().await;
    let good = s.assertion(Some(3600));
    let (rest, signature) = good.expose_secret().rsplit_once('.').unwrap();
    let flipped = if signature.starts_with('A') { 'B' } else { 'A' };
    let tampered = ClientAssertion::new(format!("{rest}.{flipped}{}", &signature[1..]));
    let outcome = s.client.issue_v21(&tampered, HOUR).await;
    assert_refused(outcome, ErrorCode::InvalidClient, "Invalid signature");
}

#[tokio::test]
async fn an_unknown_kid_is_signing_key_not_found() {
    let s = setup().await;
    let signer = AssertionSigner::builder(&key_pair().private, "never-registered", CHANNEL)
        .clock(s.fake.clock())
        .build()
        .unwrap();
    let error = s.client.issue_v21(&signer, HOUR).await.unwrap_err();
    assert!(error.is_signing_key_not_found(), "{error}");
    let error = s.client.list_v21_key_ids(&signer).await.unwrap_err();
    assert!(error.is_signing_key_not_found(), "{error}");
    let error = s.client.issue_stateless(&signer).await.unwrap_err();
    assert!(error.is_signing_key_not_found(), "{error}");
}

#[tokio::test]
async fn another_channels_iss_is_invalid_client() {
    let s = setup().await;
    s.fake.add_channel("2222222222", "other-secret");
    let signer = AssertionSigner::builder(&key_pair().private, s.kid.clone(), "2222222222")
        .clock(s.fake.clock())
        .build()
        .unwrap();
    let outcome = s.client.issue_v21(&signer, HOUR).await;
    assert_refused(
        outcome,
        ErrorCode::InvalidClient,
        "iss and clientId of key do not match",
    );
}

#[tokio::test]
async fn a_wrong_audience_is_invalid_client() {
    let s = setup().await;
    let mut claims = good_claims(&s);
    claims["aud"] = "https://api.line.me".into(); // no trailing slash
    let outcome = s
        .client
        .issue_v21(&signed_by_hand(&s.kid, &claims), HOUR)
        .await;
    assert_refused(outcome, ErrorCode::InvalidClient, "Invalid aud");
}

#[tokio::test]
async fn an_expired_assertion_is_invalid_client() {
    let s = setup().await;
    let assertion = s.assertion(Some(3600));
    s.fake.advance(Duration::from_secs(301));
    let outcome = s.client.issue_v21(&assertion, HOUR).await;
    assert_refused(outcome, ErrorCode::InvalidClient, "Invalid exp");
}

#[tokio::test]
async fn an_exp_more_than_30_minutes_ahead_is_invalid_client() {
    let s = setup().await;
    let mut claims = good_claims(&s);
    claims["exp"] = (s.fake.unix_now() + 31 * 60).into();
    let outcome = s
        .client
        .issue_v21(&signed_by_hand(&s.kid, &claims), HOUR)
        .await;
    assert_refused(outcome, ErrorCode::InvalidClient, "Invalid exp");
    // The signer cannot make one: its longest assertion lifetime is 30 minutes.
    assert!(
        AssertionSigner::builder(&key_pair().private, s.kid.clone(), CHANNEL)
            .assertion_lifetime(Duration::from_secs(31 * 60))
            .build()
            .is_err()
    );
}

#[tokio::test]
async fn a_token_exp_over_30_days_is_refused_here_and_by_line() {
    let s = setup().await;
    let too_long = Duration::from_secs(30 * 24 * 3600 + 1);
    let error = s.client.issue_v21(&s.signer, too_long).await.unwrap_err();
    assert!(
        matches!(error, Error::Assertion(AssertionError::TokenLifetime(d)) if d == too_long),
        "{error:?}"
    );
    assert_eq!(s.fake.issued_count(), 0, "nothing was sent");

    let mut claims = good_claims(&s);
    claims["token_exp"] = (30 * 24 * 3600 + 1).into();
    let outcome = s
        .client
        .issue_v21(&signed_by_hand(&s.kid, &claims), HOUR)
        .await;
    assert_refused(outcome, ErrorCode::InvalidRequest, "Invalid token_exp");
}

#[tokio::test]
async fn v21_issuance_without_token_exp_is_refused() {
    let s = setup().await;
    let outcome = s.client.issue_v21(&s.assertion(None), HOUR).await;
    assert_refused(outcome, ErrorCode::InvalidRequest, "Invalid token_exp");
}

#[tokio::test]
async fn a_hand_signed_good_assertion_is_accepted() {
    // The fake accepts what another JWT library signs: it checks the format,
    // not line-oauth's way of writing it.
    let s = setup().await;
    let issued = s
        .client
        .issue_v21(&signed_by_hand(&s.kid, &good_claims(&s)), HOUR)
        .await
        .unwrap();
    let info = s.client.verify_v21(issued.access_token()).await.unwrap();
    assert_eq!(info.client_id(), CHANNEL);
}

#[test]
fn errors_and_debug_of_signers_and_keys_show_no_key_material() {
    let private = key_pair().private.expose_secret_json();
    let jwk: Value = serde_json::from_str(&private).unwrap();
    let d = jwk["d"].as_str().unwrap();
    let signer = AssertionSigner::new(&key_pair().private, "kid", CHANNEL);
    let printed = format!("{signer:?} {:?} {:?}", key_pair().private, key_pair());
    assert!(!printed.contains(&d[..20]), "{printed}");
    let assertion = signer.sign().unwrap();
    assert!(!format!("{assertion:?} {assertion}").contains(assertion.expose_secret()));
}

/// A fixed signing time, so the claims are known exactly.
const SIGNED_AT: u64 = 1_800_000_000;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn assertions_verify_with_the_public_jwk_alone(
        channel_id in "[1-9][0-9]{0,11}",
        kid in "[A-Za-z0-9_-]{1,40}",
        token_exp in 1u64..=30 * 24 * 3600,
        assertion_minutes in 1u64..=30,
    ) {
        let signer = AssertionSigner::builder(&key_pair().private, kid.clone(), channel_id.clone())
            .clock(|| UNIX_EPOCH + Duration::from_secs(SIGNED_AT))
            .assertion_lifetime(Duration::from_secs(assertion_minutes * 60))
            .build()
            .unwrap();
        let jwt = signer.sign_v21(Duration::from_secs(token_exp)).unwrap();

        let public = &key_pair().public;
        let key = DecodingKey::from_rsa_components(&public.n(), &public.e()).unwrap();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[AssertionSigner::AUDIENCE]);
        validation.validate_exp = false;
        let decoded = jsonwebtoken::decode::<Value>(jwt.expose_secret(), &key, &validation).unwrap();

        prop_assert_eq!(decoded.header.kid.as_deref(), Some(kid.as_str()));
        prop_assert_eq!(decoded.header.typ.as_deref(), Some("JWT"));
        prop_assert_eq!(
            decoded.claims,
            json!({
                "iss": channel_id, "sub": channel_id, "aud": AssertionSigner::AUDIENCE,
                "exp": SIGNED_AT + assertion_minutes * 60, "token_exp": token_exp,
            })
        );
    }
}
