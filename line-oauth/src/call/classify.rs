//! Classifying one attempt's failure: an error status (status, headers and
//! body, read together in one place), a body that is not LINE's, or a
//! transport failure, each as an [`Error`] with the call's secrets scrubbed.

use std::time::{Duration, SystemTime};

use http_body_util::LengthLimitError;
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

use super::redact::{clean, scrub, snippet, without_secrets};
use crate::error::{ApiDetails, ApiError, Error, ErrorCode, Operation, TransportError};
use crate::raw::{self, types::ErrorResponse};
use crate::raw::{REQUEST_ID_HEADER, RESPONSE_BODY_LIMIT};

/// The failed call: its name, and the secrets it sent.
#[derive(Clone, Copy)]
pub(super) struct Context<'a> {
    pub(super) operation: Operation,
    pub(super) secrets: &'a [&'a str],
}

impl Context<'_> {
    /// The error of one attempt of the generated client. The client types no
    /// error responses (see `line_oauth_gen::untyped_errors`): every status
    /// it does not decode as the answer arrives whole, as `UnexpectedResponse`.
    pub(super) async fn error(self, error: raw::Error<()>) -> Error {
        match error {
            raw::Error::UnexpectedResponse(response) => self.error_response(response).await,
            raw::Error::ErrorResponse(response) => {
                let status = response.status().as_u16();
                ErrorHeaders::of(response.headers()).api_error(self, status, b"")
            }
            raw::Error::InvalidResponsePayload(body, reason) => decode_error(
                self.operation,
                200,
                &reason.to_string(),
                &body,
                self.secrets,
            ),
            raw::Error::CommunicationError(e)
            | raw::Error::ResponseBodyError(e)
            | raw::Error::InvalidUpgrade(e) => self.transport(e),
            raw::Error::InvalidRequest(reason) | raw::Error::Custom(reason) => {
                Error::InvalidArgument {
                    operation: self.operation,
                    reason: clean(&reason, self.secrets),
                }
            }
        }
    }

    /// A response the generated client did not decode: its status, headers
    /// and body, read here together. An error status is an API error whatever
    /// its body; a success status other than the documented one is a decode
    /// error.
    async fn error_response(self, response: reqwest::Response) -> Error {
        let status = response.status().as_u16();
        let headers = ErrorHeaders::of(response.headers());
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(e) => return self.transport(e),
        };
        if (200..300).contains(&status) {
            let reason = format!(
                "LINE documents no {} here",
                crate::error::status_text(status)
            );
            return decode_error(self.operation, status, &reason, &body, self.secrets);
        }
        headers.api_error(self, status, &body)
    }

    /// A transport failure, its URL stripped of the query string. A request
    /// that could not be built (nothing left this process) is
    /// [`Error::InvalidArgument`].
    fn transport(self, error: reqwest::Error) -> Error {
        if error.is_builder() {
            return Error::InvalidArgument {
                operation: self.operation,
                reason: clean(&innermost_cause(&error), self.secrets),
            };
        }
        if exceeds_body_limit(&error) {
            return Error::ResponseTooLarge {
                operation: self.operation,
                limit: RESPONSE_BODY_LIMIT,
            };
        }
        let source = TransportError::new(without_secrets(error));
        if source.is_connect() {
            Error::Connect {
                operation: self.operation,
                source,
            }
        } else {
            Error::Transport {
                operation: self.operation,
                source,
            }
        }
    }
}

/// The two headers an API error keeps.
struct ErrorHeaders {
    request_id: Option<HeaderValue>,
    retry_after: Option<HeaderValue>,
}

impl ErrorHeaders {
    fn of(headers: &HeaderMap) -> Self {
        Self {
            request_id: headers.get(REQUEST_ID_HEADER).cloned(),
            retry_after: headers.get(RETRY_AFTER).cloned(),
        }
    }

    /// An [`ApiError`]: the body decoded in either of LINE's shapes, or,
    /// in neither, kept as a short scrubbed snippet.
    fn api_error(self, call: Context<'_>, status: u16, body: &[u8]) -> Error {
        let parsed = serde_json::from_slice::<ErrorResponse>(body).ok();
        let in_lines_shape = parsed
            .as_ref()
            .is_some_and(|p| p.error.is_some() || p.message.is_some());
        let parsed = parsed.unwrap_or_default();
        let text = |value: Option<String>| value.map(|v| clean(&v, call.secrets));
        // Short identifiers: scrubbed of the call's secrets, not masked.
        let identifier = |value: &str| scrub(value, call.secrets);
        Error::Api(ApiError::new(ApiDetails {
            operation: call.operation,
            status,
            code: parsed
                .error
                .map(|code| ErrorCode::from(identifier(&code).as_str())),
            description: text(parsed.error_description),
            message: text(parsed.message),
            request_id: self
                .request_id
                .as_ref()
                .and_then(|v| v.to_str().ok())
                .map(identifier),
            retry_after: self.retry_after.as_ref().and_then(retry_after),
            body_snippet: (!in_lines_shape).then(|| snippet(body, call.secrets)),
        }))
    }
}

/// A success status whose body is not what LINE documents.
pub(crate) fn decode_error(
    operation: Operation,
    status: u16,
    reason: &str,
    body: &[u8],
    secrets: &[&str],
) -> Error {
    Error::Decode {
        operation,
        status,
        reason: clean(reason, secrets),
        snippet: snippet(body, secrets),
    }
}

/// Whether reading the body stopped at [`RESPONSE_BODY_LIMIT`].
fn exceeds_body_limit(error: &reqwest::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if e.is::<LengthLimitError>() {
            return true;
        }
        cause = e.source();
    }
    false
}

/// What a request-building error says, without the URL it names: the
/// innermost cause, such as "Parsed Url is not a valid Uri".
fn innermost_cause(error: &reqwest::Error) -> String {
    let mut cause: &(dyn std::error::Error + 'static) = error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    cause.to_string()
}

/// `Retry-After` as a wait: delta-seconds, or an HTTP date (a date in the
/// past means no wait). Anything else is ignored.
pub(crate) fn retry_after(value: &HeaderValue) -> Option<Duration> {
    let text = value.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(text).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates_and_ignores_junk() {
        let header = |s: &str| HeaderValue::from_str(s).unwrap();
        assert_eq!(retry_after(&header("120")), Some(Duration::from_secs(120)));
        assert_eq!(retry_after(&header(" 7 ")), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after(&header("Wed, 21 Oct 2015 07:28:00 GMT")),
            Some(Duration::ZERO)
        );
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3600));
        let wait = retry_after(&header(&later)).unwrap();
        assert!(
            wait > Duration::from_secs(3500) && wait <= Duration::from_secs(3600),
            "{wait:?}"
        );
        assert_eq!(retry_after(&header("-1")), None);
        assert_eq!(retry_after(&header("soon")), None);
        assert_eq!(retry_after(&header("99999999999999999999999")), None);
    }
}
