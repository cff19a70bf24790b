//! The one error type of [`Client`](crate::Client) calls.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;

use crate::assertion::AssertionError;
use crate::store::StoreError;

/// What went wrong in a call. Never contains a secret: tokens, channel
/// secrets and assertions are scrubbed from every text it holds, and URLs
/// lose their query string (where the GET calls put tokens and assertions).
///
/// Cheap to clone (its large parts are shared), and the same whether it
/// came from a [`Client`](crate::Client) call or a
/// [`TokenSource`](crate::TokenSource), which hands each of the callers that
/// waited for one issuance a clone of its error.
///
/// ```
/// # async fn run(client: line_oauth::Client, token: line_oauth::AccessToken) {
/// match client.verify(&token).await {
///     Ok(info) => println!("valid for {:?}", info.expires_in),
///     Err(line_oauth::Error::Api(e)) if e.status() == 400 => println!("not valid: {e}"),
///     Err(e) => eprintln!("could not ask LINE: {e}"),
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Error {
    /// LINE (or something between) answered with an error status.
    Api(Arc<ApiError>),
    /// No complete answer within the configured timeout.
    #[non_exhaustive]
    Timeout {
        /// The call, such as `verify_v21`.
        operation: &'static str,
        /// The timeout that ran out.
        after: Duration,
    },
    /// The connection could not be made (refused, DNS, TLS handshake).
    #[non_exhaustive]
    Connect {
        /// The call, such as `verify_v21`.
        operation: &'static str,
        /// The transport's error, its URL stripped of the query string.
        source: Arc<reqwest::Error>,
    },
    /// The connection broke while sending or receiving.
    #[non_exhaustive]
    Transport {
        /// The call, such as `verify_v21`.
        operation: &'static str,
        /// The transport's error, its URL stripped of the query string.
        source: Arc<reqwest::Error>,
    },
    /// The response body went past
    /// [`Client::RESPONSE_BODY_LIMIT`](crate::Client::RESPONSE_BODY_LIMIT); reading stopped there.
    #[non_exhaustive]
    ResponseTooLarge {
        /// The call, such as `verify_v21`.
        operation: &'static str,
        /// The limit, in bytes.
        limit: usize,
    },
    /// A success status with a body that is not what LINE documents.
    #[non_exhaustive]
    Decode {
        /// The call, such as `verify_v21`.
        operation: &'static str,
        /// The status of the response.
        status: StatusCode,
        /// Why the body was refused.
        reason: String,
        /// The start of the body, secrets scrubbed.
        snippet: String,
    },
    /// The request could not be built: an empty argument, or a token too
    /// long to fit in a URL. Nothing was sent, and it is not retried.
    #[non_exhaustive]
    InvalidRequest {
        /// The call, such as `verify_v21`.
        operation: &'static str,
        /// What was wrong, secrets scrubbed.
        reason: String,
    },
    /// A client or token source was set up wrongly (an `http` base URL, a bad
    /// timeout, a v2.1 lifetime its tokens could never be served with...).
    /// Nothing was sent.
    InvalidConfig(String),
    /// An assertion could not be signed (a token lifetime out of bounds, a
    /// clock before 1970). Nothing was sent.
    Assertion(AssertionError),
    /// A [`TokenSource`](crate::TokenSource) got a token from LINE that
    /// lives no longer than its margin, so it could never be served. The
    /// token was revoked where its kind allows.
    #[non_exhaustive]
    UnusableToken {
        /// How long the token had left when the source got it.
        lifetime: Duration,
        /// The source's margin.
        margin: Duration,
    },
    /// A [`TokenSource`](crate::TokenSource) refresh ended without an
    /// outcome: it panicked, or its runtime shut down. The next call tries
    /// again.
    RefreshAborted,
    /// A [`TokenSource`](crate::TokenSource)'s store refused for good: it
    /// holds a token encrypted under another key. (A store out of reach is
    /// not an error: the source issues for itself meanwhile.)
    Store(StoreError),
}

impl Error {
    /// The error LINE (or a proxy) answered with, if it was an error status.
    ///
    /// ```
    /// # fn f(e: line_oauth::Error) {
    /// if let Some(api) = e.api() { println!("status {}", api.status()) }
    /// # }
    /// ```
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Self::Api(e) => Some(e.as_ref()),
            _ => None,
        }
    }

    /// Whether LINE refused to issue a v2.1 token because the channel already
    /// holds the maximum of 30 valid ones. Revoke one before issuing again.
    ///
    /// ```
    /// # fn f(e: line_oauth::Error) {
    /// if e.is_token_limit_reached() { /* revoke an old v2.1 token */ }
    /// # }
    /// ```
    pub fn is_token_limit_reached(&self) -> bool {
        self.api().is_some_and(ApiError::is_token_limit_reached)
    }

    /// Whether LINE found no registered assertion signing key matching the
    /// assertion's `kid` (a 404).
    ///
    /// ```
    /// # fn f(e: line_oauth::Error) {
    /// if e.is_signing_key_not_found() { eprintln!("register the public key first") }
    /// # }
    /// ```
    pub fn is_signing_key_not_found(&self) -> bool {
        self.api().is_some_and(ApiError::is_signing_key_not_found)
    }

    /// How long LINE asked to wait before trying again (`Retry-After`).
    ///
    /// ```
    /// # fn f(e: line_oauth::Error) {
    /// let wait = e.retry_after().unwrap_or(std::time::Duration::from_secs(1));
    /// # }
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        self.api().and_then(ApiError::retry_after)
    }

    /// Whether the call ran out of time.
    ///
    /// ```
    /// # fn f(e: line_oauth::Error) { assert!(!e.is_timeout() || e.api().is_none()); }
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout { .. })
    }

    /// The call that failed, such as `verify_v21`; `None` for errors of no
    /// one call (a configuration, a token source's own checks).
    ///
    /// ```
    /// # fn f(e: line_oauth::Error) {
    /// eprintln!("{} failed: {e}", e.operation().unwrap_or("line-oauth"));
    /// # }
    /// ```
    pub fn operation(&self) -> Option<&'static str> {
        match self {
            Self::Api(e) => Some(e.operation),
            Self::Timeout { operation, .. }
            | Self::Connect { operation, .. }
            | Self::Transport { operation, .. }
            | Self::ResponseTooLarge { operation, .. }
            | Self::Decode { operation, .. }
            | Self::InvalidRequest { operation, .. } => Some(operation),
            Self::InvalidConfig(_)
            | Self::Assertion(_)
            | Self::UnusableToken { .. }
            | Self::RefreshAborted
            | Self::Store(_) => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Api(e) => e.fmt(f),
            Self::Timeout { operation, after } => {
                write!(f, "{operation}: no answer from LINE within {after:?}")
            }
            Self::Connect { operation, source } => {
                write!(
                    f,
                    "{operation}: cannot connect to LINE: {}",
                    source_chain(source)
                )
            }
            Self::Transport { operation, source } => {
                write!(
                    f,
                    "{operation}: connection to LINE failed: {}",
                    source_chain(source)
                )
            }
            Self::ResponseTooLarge { operation, limit } => {
                write!(f, "{operation}: LINE's answer is larger than {limit} bytes")
            }
            Self::Decode {
                operation,
                status,
                reason,
                snippet,
            } => write!(
                f,
                "{operation}: LINE answered {status} with a body that is not what LINE documents \
                 ({reason}): {snippet:?}"
            ),
            Self::InvalidRequest { operation, reason } => {
                write!(
                    f,
                    "{operation}: the request cannot be built ({reason}); nothing was sent"
                )
            }
            Self::InvalidConfig(detail) => write!(f, "invalid configuration: {detail}"),
            Self::Assertion(e) => write!(f, "cannot sign the assertion: {e}"),
            Self::UnusableToken { lifetime, margin } => write!(
                f,
                "token source: LINE issued a token valid for {lifetime:?}, no longer than the \
                 margin of {margin:?}"
            ),
            Self::RefreshAborted => f.write_str(
                "token source: the refresh ended without an outcome (it panicked, or its runtime \
                 shut down); the next call tries again",
            ),
            Self::Store(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Connect { source, .. } | Self::Transport { source, .. } => Some(source.as_ref()),
            Self::Assertion(e) => Some(e),
            Self::Store(e) => Some(e),
            _ => None,
        }
    }
}

impl From<AssertionError> for Error {
    fn from(e: AssertionError) -> Self {
        Self::Assertion(e)
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// An error's message followed by its causes, as one line.
fn source_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
}

/// LINE's `error` code (the OAuth error shape).
///
/// ```
/// use line_oauth::ErrorCode;
/// assert_eq!(ErrorCode::from("invalid_client"), ErrorCode::InvalidClient);
/// assert_eq!(ErrorCode::from("invalid_grant").as_str(), "invalid_grant");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `invalid_request`: a parameter is missing or invalid, or the token is
    /// malformed, unknown or expired.
    InvalidRequest,
    /// `invalid_client`: the channel could not be authenticated (bad ID,
    /// secret or assertion).
    InvalidClient,
    /// Any other code, as LINE sent it.
    Other(String),
}

impl ErrorCode {
    /// The code as it appears on the wire.
    ///
    /// ```
    /// assert_eq!(line_oauth::ErrorCode::InvalidRequest.as_str(), "invalid_request");
    /// ```
    pub fn as_str(&self) -> &str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::Other(code) => code,
        }
    }
}

impl From<&str> for ErrorCode {
    fn from(code: &str) -> Self {
        match code {
            "invalid_request" => Self::InvalidRequest,
            "invalid_client" => Self::InvalidClient,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error status from LINE, with what its body and headers said.
///
/// LINE answers errors in two shapes: OAuth's (`error`, `error_description`)
/// and the Messaging API's (`message`). Either or both may be set; a body in
/// neither shape (a proxy's HTML page, an empty body) leaves both unset and
/// is kept, shortened and scrubbed, in [`body_snippet`](Self::body_snippet).
///
/// ```
/// # fn f(e: &line_oauth::ApiError) {
/// println!("{} {:?} {:?}", e.status(), e.code(), e.description());
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ApiError {
    pub(crate) operation: &'static str,
    pub(crate) status: StatusCode,
    pub(crate) code: Option<ErrorCode>,
    pub(crate) description: Option<String>,
    pub(crate) message: Option<String>,
    pub(crate) request_id: Option<String>,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) body_snippet: Option<String>,
}

/// LINE's message when a channel already has 30 valid v2.1 tokens.
const TOKEN_LIMIT_MESSAGE: &str = "The maximum number of access tokens has already been issued";
/// LINE's message when no signing key matches an assertion's `kid`.
const SIGNING_KEY_NOT_FOUND_MESSAGE: &str = "Cannot find channel key";

impl ApiError {
    /// The call that failed, such as `issue_v21`.
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// LINE's `error` code, when the body had the OAuth shape.
    pub fn code(&self) -> Option<&ErrorCode> {
        self.code.as_ref()
    }

    /// LINE's `error_description`, when present.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// LINE's `message`, when the body had the Messaging API shape.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// The `X-Line-Request-Id` header: quote it to LINE support.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// How long to wait before trying again, from `Retry-After`.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The start of a body that was in neither of LINE's error shapes.
    pub fn body_snippet(&self) -> Option<&str> {
        self.body_snippet.as_deref()
    }

    /// See [`Error::is_token_limit_reached`].
    pub fn is_token_limit_reached(&self) -> bool {
        self.status == StatusCode::BAD_REQUEST
            && self
                .message
                .as_deref()
                .is_some_and(|m| m.starts_with(TOKEN_LIMIT_MESSAGE))
    }

    /// See [`Error::is_signing_key_not_found`].
    pub fn is_signing_key_not_found(&self) -> bool {
        self.status == StatusCode::NOT_FOUND
            && self
                .message
                .as_deref()
                .is_some_and(|m| m.starts_with(SIGNING_KEY_NOT_FOUND_MESSAGE))
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: LINE answered {}", self.operation, self.status)?;
        if let Some(code) = &self.code {
            write!(f, ": {code}")?;
        }
        if let Some(description) = &self.description {
            write!(f, " ({description})")?;
        }
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        if let Some(snippet) = &self.body_snippet {
            if snippet.is_empty() {
                f.write_str(" with an empty body")?;
            } else {
                write!(f, " with a body that is not a LINE error: {snippet:?}")?;
            }
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, message: Option<&str>) -> ApiError {
        ApiError {
            operation: "issue_v21",
            status: StatusCode::from_u16(status).unwrap(),
            code: None,
            description: None,
            message: message.map(str::to_owned),
            request_id: None,
            retry_after: None,
            body_snippet: None,
        }
    }

    #[test]
    fn token_limit_needs_the_400_and_lines_message() {
        assert!(api(400, Some(TOKEN_LIMIT_MESSAGE)).is_token_limit_reached());
        assert!(!api(404, Some(TOKEN_LIMIT_MESSAGE)).is_token_limit_reached());
        assert!(!api(400, Some("other")).is_token_limit_reached());
        assert!(!api(400, None).is_token_limit_reached());
    }

    #[test]
    fn signing_key_not_found_needs_the_404_and_lines_message() {
        let message = "Cannot find channel key that satisfies the conditions";
        assert!(api(404, Some(message)).is_signing_key_not_found());
        assert!(!api(400, Some(message)).is_signing_key_not_found());
        assert!(!api(404, None).is_signing_key_not_found());
    }

    #[test]
    fn display_says_status_code_description_and_request_id() {
        let mut e = api(400, None);
        e.code = Some(ErrorCode::InvalidClient);
        e.description = Some("invalid client_secret".into());
        e.request_id = Some("req-1".into());
        assert_eq!(
            e.to_string(),
            "issue_v21: LINE answered 400 Bad Request: invalid_client (invalid client_secret) [request id req-1]"
        );
        let mut empty = api(502, None);
        empty.body_snippet = Some(String::new());
        assert_eq!(
            empty.to_string(),
            "issue_v21: LINE answered 502 Bad Gateway with an empty body"
        );
    }
}
