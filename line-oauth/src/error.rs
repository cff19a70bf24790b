//! The one error type of every call, and what it says: which call failed
//! ([`Operation`]), what LINE answered ([`ApiError`]), what broke on the way
//! ([`TransportError`]), and what to do about it ([`Remedy`]). It names no
//! type of another crate, so it can outlive today's dependencies.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::assertion::AssertionError;
use crate::env::EnvError;
use crate::key::KeyError;
use crate::store::{StoreError, StoreErrorKind};

/// What went wrong. Never contains a secret: tokens, channel secrets and
/// assertions are scrubbed from every text it holds, and URLs lose their
/// query string (where the GET calls put tokens and assertions).
///
/// Its `Display` says what failed at its own level; the cause, when there
/// is one, is its [`source`](std::error::Error::source) (so error reporters
/// such as anyhow's print each once). [`remedy`](Self::remedy) answers the
/// question every caller asks: retry later, or fix something first?
///
/// Cheap to clone (its large parts are shared), and the same whether it
/// came from a [`Client`](crate::Client) call or a
/// [`TokenSource`](crate::TokenSource), which hands each of the callers that
/// waited for one issuance a clone of its error.
///
/// ```
/// # async fn run(client: line_oauth::Client, token: line_oauth::AccessToken) {
/// use line_oauth::{Error, Remedy};
/// match client.verify(&token).await {
///     Ok(info) => println!("valid for {:?}", info.expires_in()),
///     Err(Error::Api(e)) if e.status() == 400 => println!("not valid: {e}"),
///     Err(e) if e.remedy() == Remedy::RetryLater => eprintln!("try again later: {e}"),
///     Err(e) => eprintln!("fix this first: {e}"),
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Error {
    /// LINE (or something between) answered with an error status.
    Api(ApiError),
    /// No complete answer within the configured timeout.
    #[non_exhaustive]
    Timeout {
        /// The call.
        operation: Operation,
        /// The timeout that ran out.
        after: Duration,
    },
    /// The connection could not be made (refused, DNS, TLS handshake).
    #[non_exhaustive]
    Connect {
        /// The call.
        operation: Operation,
        /// What the transport said, its URL stripped of the query string.
        source: TransportError,
    },
    /// The connection broke while sending or receiving.
    #[non_exhaustive]
    Transport {
        /// The call.
        operation: Operation,
        /// What the transport said, its URL stripped of the query string.
        source: TransportError,
    },
    /// The response body went past
    /// [`Client::RESPONSE_BODY_LIMIT`](crate::Client::RESPONSE_BODY_LIMIT);
    /// reading stopped there.
    #[non_exhaustive]
    ResponseTooLarge {
        /// The call.
        operation: Operation,
        /// The limit, in bytes.
        limit: usize,
    },
    /// A success status with a body that is not what LINE documents.
    #[non_exhaustive]
    Decode {
        /// The call.
        operation: Operation,
        /// The HTTP status of the response.
        status: u16,
        /// Why the body was refused.
        reason: String,
        /// The start of the body, secrets scrubbed.
        snippet: String,
    },
    /// An argument the call cannot be made with: an empty one, or a token
    /// too long to fit in a URL. Nothing was sent, and it is not retried.
    /// (LINE's own `invalid_request` is [`ErrorCode::InvalidRequest`], in
    /// an [`Error::Api`].)
    #[non_exhaustive]
    InvalidArgument {
        /// The call.
        operation: Operation,
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
    /// An assertion signing key could not be read or made.
    Key(KeyError),
    /// A `LINE_*` environment variable is missing or malformed
    /// ([`ChannelCredentials::from_env`](crate::ChannelCredentials::from_env),
    /// [`AssertionSigner::from_env`](crate::AssertionSigner::from_env)).
    Env(EnvError),
    /// A token store failed for good (a token under another key, a store
    /// set up wrongly) or, for a source without degraded mode, for now.
    Store(StoreError),
    /// A [`TokenProvider`](crate::TokenProvider) failed: one of your own,
    /// with its own error ([`Error::provider`]; reach it through
    /// [`source`](std::error::Error::source)), or any provider whose token
    /// cannot be sent in an `Authorization` header.
    Provider(ProviderError),
    /// A [`TokenSource`](crate::TokenSource) got a token that lives no
    /// longer than its margin, so it could never be served. The token was
    /// revoked where its kind allows.
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
    /// A [`TokenRegistry`](crate::TokenRegistry)'s resolver knows no
    /// channel with this ID. Nothing was sent; the registry answers so for
    /// a while without asking the resolver again.
    #[non_exhaustive]
    UnknownChannel {
        /// The channel ID asked for.
        channel_id: String,
    },
    /// A request went through a bearer layer over a
    /// [`TokenRegistry`](crate::TokenRegistry) without naming its channel
    /// (a [`ChannelId`](crate::ChannelId) in its extensions). It was not
    /// sent.
    NoChannel,
}

/// What a caller can do about an [`Error`]: the same answer for the same
/// failure, whatever the token kind.
///
/// ```
/// # fn f(e: line_oauth::Error) {
/// if e.remedy() == line_oauth::Remedy::Fix {
///     eprintln!("retrying will not help: {e}");
/// }
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Remedy {
    /// Try again later: the network, LINE or a store failed for now (a
    /// timeout, a refused or broken connection, a 429 or 5xx, a store out
    /// of reach, an aborted refresh).
    RetryLater,
    /// Retrying will not help until something changes: the credentials, a
    /// key, an argument or a setting (every other 4xx, such as a wrong
    /// channel secret; a body that is not LINE's, as from a wrong base URL;
    /// a bad configuration).
    Fix,
}

impl Error {
    /// A failure of a [`TokenProvider`](crate::TokenProvider) of your own,
    /// wrapping its error: callers get it back through
    /// [`source`](std::error::Error::source) and can downcast it.
    ///
    /// ```
    /// use std::error::Error as _;
    /// use line_oauth::{Error, Remedy};
    /// let missing = std::io::Error::new(std::io::ErrorKind::NotFound, "no token file");
    /// let error = Error::provider(Remedy::Fix, missing);
    /// let cause = error.source().and_then(|e| e.downcast_ref::<std::io::Error>());
    /// assert_eq!(cause.map(|e| e.kind()), Some(std::io::ErrorKind::NotFound));
    /// assert_eq!(error.remedy(), Remedy::Fix);
    /// ```
    ///
    /// Anything that converts into a `Box<dyn Error + Send + Sync>` will
    /// do: an error type, an `anyhow::Error`, a boxed error, or a message.
    ///
    /// ```
    /// # use line_oauth::{Error, Remedy};
    /// let boxed: Box<dyn std::error::Error + Send + Sync> = "vault sealed".into();
    /// assert_eq!(Error::provider(Remedy::RetryLater, boxed).remedy(), Remedy::RetryLater);
    /// let error = Error::provider(Remedy::Fix, "no credentials for this channel");
    /// # let _ = error;
    /// ```
    pub fn provider(
        remedy: Remedy,
        error: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Provider(ProviderError {
            remedy,
            error: Arc::from(error.into()),
        })
    }

    /// Retry later, or fix something first?
    ///
    /// ```
    /// # fn f(e: line_oauth::Error) {
    /// match e.remedy() {
    ///     line_oauth::Remedy::RetryLater => { /* back off, try again */ }
    ///     _ => { /* alert: a credential, key or setting needs a human */ }
    /// }
    /// # }
    /// ```
    pub fn remedy(&self) -> Remedy {
        match self {
            Self::Api(api) => api.remedy(),
            Self::Timeout { .. }
            | Self::Connect { .. }
            | Self::Transport { .. }
            | Self::RefreshAborted => Remedy::RetryLater,
            Self::Store(store) => match store.kind() {
                StoreErrorKind::Unavailable | StoreErrorKind::LockLost => Remedy::RetryLater,
                _ => Remedy::Fix,
            },
            Self::Provider(provider) => provider.remedy,
            Self::ResponseTooLarge { .. }
            | Self::Decode { .. }
            | Self::InvalidArgument { .. }
            | Self::InvalidConfig(_)
            | Self::Assertion(_)
            | Self::Key(_)
            | Self::Env(_)
            | Self::UnusableToken { .. }
            | Self::UnknownChannel { .. }
            | Self::NoChannel => Remedy::Fix,
        }
    }

    /// The error LINE (or a proxy) answered with, if it was an error status.
    ///
    /// ```
    /// # fn f(e: line_oauth::Error) {
    /// if let Some(api) = e.api() { println!("status {}", api.status()) }
    /// # }
    /// ```
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Self::Api(e) => Some(e),
            _ => None,
        }
    }

    /// The HTTP status LINE answered with, for an error status or a body
    /// that is not LINE's.
    ///
    /// ```
    /// # fn f(e: line_oauth::Error) {
    /// if e.status() == Some(429) { /* LINE asks to slow down */ }
    /// # }
    /// ```
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api(e) => Some(e.status()),
            Self::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether LINE refused the channel's credentials: a wrong channel ID
    /// or secret, or an assertion its key or claims do not back. The same
    /// answer for every token kind, though LINE's codes differ between its
    /// endpoints (`invalid_client` for short-lived tokens, `invalid_request`
    /// for stateless tokens by secret, a 404 for an unregistered `kid`).
    ///
    /// ```
    /// # fn f(e: line_oauth::Error) {
    /// if e.is_credentials_refused() { eprintln!("check the channel ID, secret and key") }
    /// # }
    /// ```
    pub fn is_credentials_refused(&self) -> bool {
        self.api().is_some_and(ApiError::is_credentials_refused)
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

    /// A short, stable name of what kind of error this is, for metrics
    /// and logs: `api`, `timeout`, `connect`, `transport`,
    /// `response_too_large`, `decode`, `invalid_argument`,
    /// `invalid_config`, `assertion`, `key`, `env`, `store`, `provider`,
    /// `unusable_token`, `refresh_aborted`, `unknown_channel`, `no_channel`.
    ///
    /// ```
    /// let error = line_oauth::Error::InvalidConfig("no runtime".into());
    /// assert_eq!(error.kind(), "invalid_config");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Api(_) => "api",
            Self::Timeout { .. } => "timeout",
            Self::Connect { .. } => "connect",
            Self::Transport { .. } => "transport",
            Self::ResponseTooLarge { .. } => "response_too_large",
            Self::Decode { .. } => "decode",
            Self::InvalidArgument { .. } => "invalid_argument",
            Self::InvalidConfig(_) => "invalid_config",
            Self::Assertion(_) => "assertion",
            Self::Key(_) => "key",
            Self::Env(_) => "env",
            Self::Store(_) => "store",
            Self::Provider(_) => "provider",
            Self::UnusableToken { .. } => "unusable_token",
            Self::RefreshAborted => "refresh_aborted",
            Self::UnknownChannel { .. } => "unknown_channel",
            Self::NoChannel => "no_channel",
        }
    }

    /// The call that failed; `None` for errors of no one call (a
    /// configuration, a token source's own checks).
    ///
    /// ```
    /// # fn f(e: line_oauth::Error) {
    /// let call = e.operation().map_or("line-oauth", |op| op.as_str());
    /// eprintln!("{call} failed: {e}");
    /// # }
    /// ```
    pub fn operation(&self) -> Option<Operation> {
        match self {
            Self::Api(e) => Some(e.operation()),
            Self::Timeout { operation, .. }
            | Self::Connect { operation, .. }
            | Self::Transport { operation, .. }
            | Self::ResponseTooLarge { operation, .. }
            | Self::Decode { operation, .. }
            | Self::InvalidArgument { operation, .. } => Some(*operation),
            Self::InvalidConfig(_)
            | Self::Assertion(_)
            | Self::Key(_)
            | Self::Env(_)
            | Self::Store(_)
            | Self::Provider(_)
            | Self::UnusableToken { .. }
            | Self::RefreshAborted
            | Self::UnknownChannel { .. }
            | Self::NoChannel => None,
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
            Self::Connect { operation, .. } => write!(f, "{operation}: cannot connect to LINE"),
            Self::Transport { operation, .. } => {
                write!(f, "{operation}: the connection to LINE failed")
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
            Self::InvalidArgument { operation, reason } => {
                write!(
                    f,
                    "{operation}: the request cannot be built ({reason}); nothing was sent"
                )
            }
            Self::InvalidConfig(detail) => write!(f, "invalid configuration: {detail}"),
            Self::Assertion(e) => e.fmt(f),
            Self::Key(e) => e.fmt(f),
            Self::Env(e) => e.fmt(f),
            Self::Store(e) => e.fmt(f),
            Self::Provider(_) => f.write_str("the token provider failed"),
            Self::UnusableToken { lifetime, margin } => write!(
                f,
                "token source: LINE issued a token valid for {lifetime:?}, no longer than the \
                 margin of {margin:?}"
            ),
            Self::RefreshAborted => f.write_str(
                "token source: the refresh ended without an outcome (it panicked, or its runtime \
                 shut down); the next call tries again",
            ),
            Self::UnknownChannel { channel_id } => {
                write!(f, "token registry: no channel {channel_id:?} is known")
            }
            Self::NoChannel => f.write_str(
                "bearer: the request names no channel (a line_oauth::ChannelId in its \
                 extensions) for the layer's token registry; it was not sent",
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Connect { source, .. } | Self::Transport { source, .. } => Some(source),
            // Shown as themselves (their Display is this error's): their causes.
            Self::Assertion(e) => e.source(),
            Self::Key(e) => e.source(),
            Self::Store(e) => e.source(),
            Self::Provider(e) => Some(e.error.as_ref()),
            _ => None,
        }
    }
}

/// An error and its causes on one line, `what: why: why`, for the crate's
/// own log events: its `Display` says one level, and a log line must not
/// lose the rest (a certificate refused, a user's provider error).
pub(crate) struct Chain<'a>(pub(crate) &'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(error) = cause {
            write!(f, ": {error}")?;
            cause = error.source();
        }
        Ok(())
    }
}

impl From<AssertionError> for Error {
    fn from(e: AssertionError) -> Self {
        Self::Assertion(e)
    }
}

impl From<KeyError> for Error {
    fn from(e: KeyError) -> Self {
        Self::Key(e)
    }
}

impl From<EnvError> for Error {
    fn from(e: EnvError) -> Self {
        Self::Env(e)
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// One of LINE's 8 token calls, as errors name it.
///
/// ```
/// assert_eq!(line_oauth::Operation::VerifyV21.to_string(), "verify_v21");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// [`Client::issue_short_lived`](crate::Client::issue_short_lived).
    IssueShortLived,
    /// [`Client::issue_v21`](crate::Client::issue_v21).
    IssueV21,
    /// [`Client::issue_stateless`](crate::Client::issue_stateless).
    IssueStateless,
    /// [`Client::verify`](crate::Client::verify).
    Verify,
    /// [`Client::verify_v21`](crate::Client::verify_v21).
    VerifyV21,
    /// [`Client::revoke`](crate::Client::revoke).
    Revoke,
    /// [`Client::revoke_v21`](crate::Client::revoke_v21).
    RevokeV21,
    /// [`Client::list_v21_key_ids`](crate::Client::list_v21_key_ids).
    ListV21KeyIds,
}

impl Operation {
    /// The call's name, as the client's method is named.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IssueShortLived => "issue_short_lived",
            Self::IssueV21 => "issue_v21",
            Self::IssueStateless => "issue_stateless",
            Self::Verify => "verify",
            Self::VerifyV21 => "verify_v21",
            Self::Revoke => "revoke",
            Self::RevokeV21 => "revoke_v21",
            Self::ListV21KeyIds => "list_v21_key_ids",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the HTTP transport said when a connection could not be made or
/// broke, its URL stripped of the query string. Its
/// [`source`](std::error::Error::source) chain says why, down to the
/// operating system's error.
#[derive(Clone)]
pub struct TransportError(Arc<reqwest::Error>);

impl TransportError {
    pub(crate) fn new(error: reqwest::Error) -> Self {
        Self(Arc::new(error))
    }

    /// Whether the connection could not be made.
    pub(crate) fn is_connect(&self) -> bool {
        self.0.is_connect()
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// The error a [`TokenProvider`](crate::TokenProvider) of your own failed
/// with ([`Error::provider`]); [`Error::source`](std::error::Error::source)
/// hands it back.
#[derive(Clone)]
pub struct ProviderError {
    remedy: Remedy,
    error: Arc<dyn std::error::Error + Send + Sync>,
}

impl ProviderError {
    /// The provider's own error, as it gave it (also
    /// [`Error::source`](std::error::Error::source) of the
    /// [`Error::Provider`] holding it).
    ///
    /// ```
    /// # use line_oauth::{Error, Remedy};
    /// let error = Error::provider(Remedy::Fix, std::io::Error::other("no token file"));
    /// if let Error::Provider(failed) = &error {
    ///     assert_eq!(failed.get_ref().to_string(), "no token file");
    /// }
    /// ```
    pub fn get_ref(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self.error.as_ref()
    }
}

impl fmt::Debug for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderError")
            .field("remedy", &self.remedy)
            .field("error", &self.error)
            .finish()
    }
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
pub struct ApiError(Arc<ApiDetails>);

/// What an [`ApiError`] holds, shared by its clones.
#[derive(Debug)]
pub(crate) struct ApiDetails {
    pub(crate) operation: Operation,
    pub(crate) status: u16,
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
    pub(crate) fn new(details: ApiDetails) -> Self {
        Self(Arc::new(details))
    }

    /// The call that failed.
    pub fn operation(&self) -> Operation {
        self.0.operation
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.0.status
    }

    /// LINE's `error` code, when the body had the OAuth shape.
    pub fn code(&self) -> Option<&ErrorCode> {
        self.0.code.as_ref()
    }

    /// LINE's `error_description`, when present.
    pub fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// LINE's `message`, when the body had the Messaging API shape.
    pub fn message(&self) -> Option<&str> {
        self.0.message.as_deref()
    }

    /// The `X-Line-Request-Id` header: quote it to LINE support.
    pub fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }

    /// How long to wait before trying again, from `Retry-After`.
    pub fn retry_after(&self) -> Option<Duration> {
        self.0.retry_after
    }

    /// The start of a body that was in neither of LINE's error shapes.
    pub fn body_snippet(&self) -> Option<&str> {
        self.0.body_snippet.as_deref()
    }

    /// See [`Error::remedy`]: a 408, a 429 or a 5xx passes; any other
    /// status needs a fix.
    pub fn remedy(&self) -> Remedy {
        match self.0.status {
            408 | 429 | 500..=599 => Remedy::RetryLater,
            _ => Remedy::Fix,
        }
    }

    /// See [`Error::is_credentials_refused`].
    pub fn is_credentials_refused(&self) -> bool {
        let code = self.0.code.as_ref();
        self.is_signing_key_not_found()
            || self.0.status == 400
                && (code == Some(&ErrorCode::InvalidClient)
                    || self.0.operation == Operation::IssueStateless
                        && code == Some(&ErrorCode::InvalidRequest))
    }

    /// See [`Error::is_token_limit_reached`].
    pub fn is_token_limit_reached(&self) -> bool {
        self.0.status == 400
            && self
                .message()
                .is_some_and(|m| m.starts_with(TOKEN_LIMIT_MESSAGE))
    }

    /// See [`Error::is_signing_key_not_found`].
    pub fn is_signing_key_not_found(&self) -> bool {
        self.0.status == 404
            && self
                .message()
                .is_some_and(|m| m.starts_with(SIGNING_KEY_NOT_FOUND_MESSAGE))
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let details = &self.0;
        write!(
            f,
            "{}: LINE answered {}",
            details.operation,
            status_text(details.status)
        )?;
        if let Some(code) = &details.code {
            write!(f, ": {code}")?;
        }
        if let Some(description) = &details.description {
            write!(f, " ({description})")?;
        }
        if let Some(message) = &details.message {
            write!(f, ": {message}")?;
        }
        if let Some(snippet) = &details.body_snippet {
            if snippet.is_empty() {
                f.write_str(" with an empty body")?;
            } else {
                write!(f, " with a body that is not a LINE error: {snippet:?}")?;
            }
        }
        if let Some(id) = &details.request_id {
            write!(f, " [request id {id}]")?;
        }
        Ok(())
    }
}

/// `400 Bad Request`: a status and its reason phrase, as HTTP names it.
pub(crate) fn status_text(status: u16) -> String {
    match http::StatusCode::from_u16(status) {
        Ok(known) => known.to_string(),
        Err(_) => status.to_string(),
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    /// A log line holds every level of an error once: the provider's own
    /// error behind "the token provider failed"; an error with no cause is
    /// its own text.
    #[test]
    fn a_chain_says_every_level_once() {
        let error = Error::provider(Remedy::Fix, std::io::Error::other("no token file"));
        assert_eq!(
            Chain(&error).to_string(),
            "the token provider failed: no token file"
        );
        let plain = Error::InvalidConfig("a margin of 0 s".to_owned());
        assert_eq!(Chain(&plain).to_string(), plain.to_string());
    }

    fn details(status: u16, message: Option<&str>) -> ApiDetails {
        ApiDetails {
            operation: Operation::IssueV21,
            status,
            code: None,
            description: None,
            message: message.map(str::to_owned),
            request_id: None,
            retry_after: None,
            body_snippet: None,
        }
    }

    fn api(status: u16, message: Option<&str>) -> ApiError {
        ApiError::new(details(status, message))
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
        let mut e = details(400, None);
        e.code = Some(ErrorCode::InvalidClient);
        e.description = Some("invalid client_secret".into());
        e.request_id = Some("req-1".into());
        assert_eq!(
            ApiError::new(e).to_string(),
            "issue_v21: LINE answered 400 Bad Request: invalid_client (invalid client_secret) [request id req-1]"
        );
        let mut empty = details(502, None);
        empty.body_snippet = Some(String::new());
        assert_eq!(
            ApiError::new(empty).to_string(),
            "issue_v21: LINE answered 502 Bad Gateway with an empty body"
        );
    }
}
