//! Turning what the generated client returns into [`Error`].

use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::HeaderValue;

use crate::error::{ApiError, Error, ErrorCode};
use http_body_util::LengthLimitError;

use crate::hooks::{RESPONSE_BODY_LIMIT, ResponseMeta};
use crate::raw::{self, types::ErrorResponse};
use crate::redact::{clean, scrub, snippet, without_secrets};
use crate::retry::Idempotency;

/// One call's context: its name, the secrets it sent (kept out of errors),
/// and whether it may be sent twice.
#[derive(Clone, Copy)]
pub(crate) struct CallContext<'a> {
    pub(crate) operation: &'static str,
    pub(crate) secrets: &'a [&'a str],
    pub(crate) idempotency: Idempotency,
}

impl CallContext<'_> {
    /// Maps an error of the generated client. `meta` is what the `exec` hook
    /// saw of the response, which the generated error may have lost.
    pub(crate) async fn error(self, error: raw::Error<ErrorResponse>, meta: ResponseMeta) -> Error {
        match error {
            raw::Error::ErrorResponse(response) => {
                let meta = ResponseMeta::from_headers(response.status(), response.headers());
                self.api_error(&meta, Some(response.into_inner()), None)
            }
            raw::Error::InvalidResponsePayload(body, reason) => match meta.status {
                Some(status) if !status.is_success() => self.api_error(&meta, None, Some(&body)),
                status => {
                    self.decode_error(status.unwrap_or(StatusCode::OK), reason.to_string(), &body)
                }
            },
            raw::Error::UnexpectedResponse(response) => self.unexpected(response).await,
            raw::Error::CommunicationError(e) | raw::Error::ResponseBodyError(e) => {
                self.transport(e)
            }
            raw::Error::InvalidUpgrade(e) => self.transport(e),
            raw::Error::InvalidRequest(detail) | raw::Error::Custom(detail) => {
                Error::InvalidConfig(format!(
                    "{}: {}",
                    self.operation,
                    clean(&detail, self.secrets)
                ))
            }
        }
    }

    /// A transport failure, its URL stripped of the query string.
    pub(crate) fn transport(self, error: reqwest::Error) -> Error {
        if error.is_builder() {
            // Nothing left this process: a URL or header that cannot be built.
            return Error::InvalidRequest {
                operation: self.operation,
                reason: clean(&cause_text(&error), self.secrets),
            };
        }
        if exceeds_body_limit(&error) {
            return Error::ResponseTooLarge {
                operation: self.operation,
                limit: RESPONSE_BODY_LIMIT,
            };
        }
        let source = without_secrets(error);
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

    /// A success status whose body is not what LINE documents.
    pub(crate) fn decode_error(self, status: StatusCode, reason: String, body: &[u8]) -> Error {
        Error::Decode {
            operation: self.operation,
            status,
            reason: clean(&reason, self.secrets),
            snippet: snippet(body, self.secrets),
        }
    }

    /// A status the spec does not list for the operation: an error status is
    /// an API error whatever its body; a success status is a decode error.
    async fn unexpected(self, response: reqwest::Response) -> Error {
        let meta = ResponseMeta::from_headers(response.status(), response.headers());
        let status = response.status();
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(e) => return self.transport(e),
        };
        if status.is_success() {
            return self.decode_error(status, format!("LINE documents no {status} here"), &body);
        }
        match serde_json::from_slice::<ErrorResponse>(&body) {
            Ok(parsed) => self.api_error(&meta, Some(parsed), None),
            Err(_) => self.api_error(&meta, None, Some(&body)),
        }
    }

    /// An [`ApiError`] from the response's status and headers, and either its
    /// decoded body or, for a body in neither of LINE's shapes, its raw bytes.
    fn api_error(
        self,
        meta: &ResponseMeta,
        parsed: Option<ErrorResponse>,
        raw_body: Option<&[u8]>,
    ) -> Error {
        let parsed = parsed.unwrap_or_default();
        let text = |value: Option<String>| value.map(|v| clean(&v, self.secrets));
        let body_snippet = match (&parsed, raw_body) {
            (_, Some(body)) => Some(snippet(body, self.secrets)),
            (p, None) if p.error.is_none() && p.message.is_none() => Some(String::new()),
            _ => None,
        };
        Error::Api(Box::new(ApiError {
            operation: self.operation,
            status: meta.status.unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code: parsed
                .error
                .map(|code| ErrorCode::from(scrub(&code, self.secrets).as_str())),
            description: text(parsed.error_description),
            message: text(parsed.message),
            request_id: meta
                .request_id
                .as_ref()
                .and_then(header_text)
                .map(|id| scrub(&id, self.secrets)),
            retry_after: meta.retry_after.as_ref().and_then(retry_after),
            body_snippet,
        }))
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
fn cause_text(error: &reqwest::Error) -> String {
    let mut cause: &(dyn std::error::Error + 'static) = error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    cause.to_string()
}

fn header_text(value: &HeaderValue) -> Option<String> {
    value.to_str().ok().map(str::to_owned)
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
