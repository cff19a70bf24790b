//! The 8 endpoints of the fake, over [`State`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as Shared};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Value, json};

use super::assertion::Assertion;
use super::state::{Issued, Kind, MAX_V21_LIFETIME, State, Unverified};
use super::tokens::{self, JwsProblem};
use super::wire::Refusal;

/// The state the handlers share.
pub type SharedState = Arc<Mutex<State>>;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The fake's routes, at LINE's paths.
pub fn router(state: SharedState) -> Router {
    Router::new()
        .route("/v2/oauth/accessToken", post(issue_short_lived))
        .route("/oauth2/v2.1/token", post(issue_v21))
        .route("/oauth2/v3/token", post(issue_stateless))
        .route("/v2/oauth/verify", post(verify))
        .route("/oauth2/v2.1/verify", get(verify_v21))
        .route("/v2/oauth/revoke", post(revoke))
        .route("/oauth2/v2.1/revoke", post(revoke_v21))
        .route("/oauth2/v2.1/tokens/kid", get(v21_key_ids))
        .route("/fake/channels/{channel_id}", put(add_channel))
        .route("/fake/channels/{channel_id}/keys", post(register_key))
        .with_state(state)
}

/// `PUT /fake/channels/{id}` with the channel secret as the body: registers
/// the channel (or changes its secret). Not LINE's: for scripts.
async fn add_channel(
    Shared(state): Shared<SharedState>,
    Path(channel_id): Path<String>,
    body: Bytes,
) -> Response {
    let secret = String::from_utf8_lossy(&body).trim().to_owned();
    if channel_id.is_empty() || secret.is_empty() {
        return (StatusCode::BAD_REQUEST, "a channel ID and a secret, please").into_response();
    }
    lock(&state).add_channel(&channel_id, &secret);
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /fake/channels/{id}/keys[?kid=KID]` with a public JWK as the body:
/// registers it as an assertion signing key of the channel, as the LINE
/// Developers Console does, and answers `{"kid": ...}`. Not LINE's: for
/// scripts.
async fn register_key(
    Shared(state): Shared<SharedState>,
    Path(channel_id): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let jwk = String::from_utf8_lossy(&body);
    let wanted = Params::from_query(query).0.remove("kid");
    let mut state = lock(&state);
    let registered = match wanted {
        Some(kid) => state.register_key_as(&channel_id, &jwk, &kid).map(|()| kid),
        None => state.register_key(&channel_id, &jwk),
    };
    match registered {
        Ok(kid) => (StatusCode::OK, axum::Json(json!({ "kid": kid }))).into_response(),
        Err(why) => (StatusCode::BAD_REQUEST, why).into_response(),
    }
}

/// A handler's outcome: a JSON body, an empty 200, or a refusal.
enum Answer {
    Json(Value),
    Empty,
}

type Outcome = Result<Answer, Refusal>;

/// Sends an outcome, with an `X-Line-Request-Id` as LINE does.
fn respond(outcome: Outcome) -> Response {
    let mut response = match outcome {
        Ok(Answer::Json(body)) => (StatusCode::OK, axum::Json(body)).into_response(),
        Ok(Answer::Empty) => StatusCode::OK.into_response(),
        Err(refusal) => (refusal.status, axum::Json(refusal.body)).into_response(),
    };
    if let Ok(id) = HeaderValue::from_str(&tokens::request_id()) {
        response.headers_mut().insert("x-line-request-id", id);
    }
    response
}

/// Decoded form or query parameters.
struct Params(HashMap<String, String>);

impl Params {
    fn from_query(query: Option<String>) -> Self {
        Self::decode(query.unwrap_or_default().as_bytes())
    }

    /// A form body; anything but a form content type is a bad request.
    fn from_form(headers: &HeaderMap, body: &[u8]) -> Result<Self, Refusal> {
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if is_form {
            Ok(Self::decode(body))
        } else {
            Err(Refusal::bad_parameters())
        }
    }

    fn decode(encoded: &[u8]) -> Self {
        Self(form_urlencoded::parse(encoded).into_owned().collect())
    }

    /// A required, non-empty parameter.
    fn get(&self, key: &str) -> Result<&str, Refusal> {
        self.0
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
            .ok_or_else(Refusal::bad_parameters)
    }

    fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// A required parameter that must have one value.
    fn expect(&self, key: &str, value: &str) -> Result<(), Refusal> {
        if self.get(key)? == value {
            Ok(())
        } else {
            Err(Refusal::bad_parameters())
        }
    }

    /// The JWT-bearer assertion in these parameters, checked.
    fn assertion(&self, state: &State) -> Result<Assertion, Refusal> {
        self.expect("client_assertion_type", JWT_BEARER)?;
        state.check_assertion(self.get("client_assertion")?)
    }
}

fn lock(state: &SharedState) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What a test asked of issuance: a delay before answering, an outage, or
/// a malformed answer. `Some` is the answer to send instead of issuing.
async fn issuance_gate(state: &SharedState) -> Option<Response> {
    let delay = lock(state).note_issuance_attempt();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let mut state = lock(state);
    if state.refuse_for_outage() {
        return Some(respond(Err(Refusal::outage())));
    }
    state
        .malformed_issuance()
        .then(|| respond(Ok(Answer::Json(json!({ "access_token": 42 })))))
}

fn issued_body(issued: Issued) -> Answer {
    let mut body = json!({
        "access_token": issued.access_token,
        "expires_in": issued.expires_in.as_secs(),
        "token_type": "Bearer",
    });
    if let Some(key_id) = issued.key_id {
        body["key_id"] = key_id.into();
    }
    Answer::Json(body)
}

async fn issue_short_lived(
    Shared(state): Shared<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(answer) = issuance_gate(&state).await {
        return answer;
    }
    respond((|| {
        let form = Params::from_form(&headers, &body)?;
        form.expect("grant_type", "client_credentials")?;
        let channel_id = form.get("client_id")?;
        let mut state = lock(&state);
        state.authenticate(channel_id, form.get("client_secret")?)?;
        Ok(issued_body(state.issue_short_lived(channel_id)))
    })())
}

async fn issue_v21(
    Shared(state): Shared<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(answer) = issuance_gate(&state).await {
        return answer;
    }
    respond((|| {
        let form = Params::from_form(&headers, &body)?;
        form.expect("grant_type", "client_credentials")?;
        let mut state = lock(&state);
        let assertion = form.assertion(&state)?;
        let lifetime = assertion
            .token_exp
            .and_then(|s| u64::try_from(s).ok())
            .map(Duration::from_secs)
            .filter(|d| !d.is_zero() && *d <= MAX_V21_LIFETIME)
            .ok_or_else(|| Refusal::oauth("invalid_request", "Invalid token_exp"))?;
        Ok(issued_body(
            state.issue_v21(&assertion.channel_id, lifetime)?,
        ))
    })())
}

async fn issue_stateless(
    Shared(state): Shared<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(answer) = issuance_gate(&state).await {
        return answer;
    }
    respond((|| {
        let form = Params::from_form(&headers, &body)?;
        form.expect("grant_type", "client_credentials")?;
        let mut state = lock(&state);
        let by_assertion = form.has("client_assertion") || form.has("client_assertion_type");
        let by_secret = form.has("client_id") || form.has("client_secret");
        match (by_assertion, by_secret) {
            (true, false) => {
                form.assertion(&state)?;
            }
            (false, true) => {
                let refused = Refusal::oauth("invalid_request", "Invalid 'client_credentials'.");
                state
                    .authenticate(form.get("client_id")?, form.get("client_secret")?)
                    .map_err(|_| refused)?;
            }
            _ => return Err(Refusal::bad_parameters()),
        }
        Ok(issued_body(state.issue_stateless()))
    })())
}

async fn verify(Shared(state): Shared<SharedState>, headers: HeaderMap, body: Bytes) -> Response {
    respond((|| {
        let form = Params::from_form(&headers, &body)?;
        let token = form.get("access_token")?;
        if !tokens::is_well_formed_v2(token) {
            return Err(Refusal::oauth(
                "invalid_request",
                "access_token in invalid format",
            ));
        }
        let verified = lock(&state)
            .verify(token, Kind::ShortLived)
            .map_err(|_| Refusal::oauth("invalid_request", "access_token invalid"))?;
        Ok(verified_body(verified.client_id, verified.expires_in))
    })())
}

async fn verify_v21(Shared(state): Shared<SharedState>, RawQuery(query): RawQuery) -> Response {
    respond((|| {
        let query = Params::from_query(query);
        let token = query.get("access_token")?;
        tokens::check_jws(token).map_err(jws_refusal)?;
        let verified = lock(&state).verify(token, Kind::V21).map_err(|e| match e {
            Unverified::Expired => Refusal::oauth("invalid_request", "The access token expired"),
            Unverified::Unknown => Refusal::oauth("invalid_request", "The access token invalid"),
        })?;
        Ok(verified_body(verified.client_id, verified.expires_in))
    })())
}

fn verified_body(client_id: String, expires_in: Duration) -> Answer {
    Answer::Json(json!({ "client_id": client_id, "expires_in": expires_in.as_secs() }))
}

fn jws_refusal(problem: JwsProblem) -> Refusal {
    match problem {
        JwsProblem::NotJws => Refusal::oauth("invalid_request", "The access token not JWS"),
        JwsProblem::Malformed => Refusal::oauth("invalid_request", "The access token malformed"),
    }
}

async fn revoke(Shared(state): Shared<SharedState>, headers: HeaderMap, body: Bytes) -> Response {
    respond((|| {
        let form = Params::from_form(&headers, &body)?;
        let token = form
            .get("access_token")
            .ok()
            .filter(|t| tokens::is_well_formed_v2(t))
            .ok_or_else(|| Refusal::oauth_code_only("invalid_request"))?;
        lock(&state).revoke(token, Kind::ShortLived, None);
        Ok(Answer::Empty)
    })())
}

async fn revoke_v21(
    Shared(state): Shared<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond((|| {
        let form = Params::from_form(&headers, &body)?;
        let channel_id = form.get("client_id")?;
        let mut state = lock(&state);
        state.authenticate(channel_id, form.get("client_secret")?)?;
        let token = form.get("access_token")?;
        tokens::check_jws(token).map_err(jws_refusal)?;
        state.revoke(token, Kind::V21, Some(channel_id));
        Ok(Answer::Empty)
    })())
}

async fn v21_key_ids(Shared(state): Shared<SharedState>, RawQuery(query): RawQuery) -> Response {
    respond((|| {
        let query = Params::from_query(query);
        let state = lock(&state);
        let channel_id = query.assertion(&state)?.channel_id;
        Ok(Answer::Json(
            json!({ "kids": state.v21_key_ids(&channel_id) }),
        ))
    })())
}
