//! LINE's error answers, as the fake sends them.

use axum::http::StatusCode;
use serde_json::{Value, json};

/// An error answer: status and JSON body in one of LINE's two shapes.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// The HTTP status.
    pub status: StatusCode,
    /// The JSON body.
    pub body: Value,
}

impl Refusal {
    /// A 400 in the OAuth shape, `{"error", "error_description"}`.
    pub fn oauth(code: &str, description: &str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            body: json!({ "error": code, "error_description": description }),
        }
    }

    /// A 400 in the OAuth shape without a description, as revoke v2 answers
    /// a malformed token.
    pub fn oauth_code_only(code: &str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            body: json!({ "error": code }),
        }
    }

    /// A missing or invalid parameter.
    pub fn bad_parameters() -> Self {
        Self::oauth("invalid_request", "some parameters missed or invalid")
    }

    /// A v2.1 issuance while the channel holds 30 valid v2.1 tokens.
    pub fn token_limit() -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            body: json!({ "message": "The maximum number of access tokens has already been issued" }),
        }
    }

    /// A test's simulated outage (LINE's general Messaging API shape).
    pub fn outage() -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            body: json!({ "message": "Service Unavailable" }),
        }
    }

    /// An assertion whose signing key is not registered.
    pub fn signing_key_not_found() -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            body: json!({ "message": "Cannot find channel key that satisfies the conditions" }),
        }
    }
}
