//! The request hook of the generated client: every response's body is
//! limited before anything reads it, the call's span learns the request's
//! method and path and the response's status and request ID, and a
//! success's headers, read by then, are dropped.

use http_body_util::Limited;
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use super::endpoints::Endpoints;
use super::generated::Client;

/// The largest response body read. LINE's bodies are under 1 KiB; a longer
/// one is an error, and reading stops there, however much the server sends.
pub(crate) const RESPONSE_BODY_LIMIT: usize = 64 * 1024;

/// The name of the span each call runs in (`call::send` opens it); the hook
/// records into that span only.
pub(crate) const CALL_SPAN: &str = "line_oauth.call";

/// The header in which LINE identifies a response for its support.
pub(crate) const REQUEST_ID_HEADER: &str = "x-line-request-id";

impl ClientHooks<Endpoints> for Client {
    /// Sends the request and limits the response body; notes what it sent
    /// and got in the call's span (`call::send`).
    async fn exec(
        &self,
        request: reqwest::Request,
        _info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        // The call's span, if it is recorded; never a caller's span that
        // happens to be current while ours is filtered out.
        let span = Some(tracing::Span::current())
            .filter(|s| s.metadata().is_some_and(|m| m.name() == CALL_SPAN));
        if let Some(span) = &span {
            // The path only: the query carries tokens and assertions.
            span.record("method", request.method().as_str());
            span.record("path", request.url().path());
        }
        let response = self.client().execute(request).await?;
        if let Some(span) = &span {
            span.record("status", response.status().as_u16());
            if let Some(id) = response
                .headers()
                .get(REQUEST_ID_HEADER)
                .and_then(|v| v.to_str().ok())
            {
                span.record("request_id", id);
            }
        }
        let mut response = limit_body(response);
        if response.status() == StatusCode::OK {
            forget_headers(&mut response);
        }
        Ok(response)
    }
}

/// Drops the headers of a success, once the hook has read what it needs of
/// them: the generated client copies a success's headers into its
/// `ResponseValue`, which line-oauth unwraps without reading them (only an
/// error's headers are read, in `call::classify`). An empty map costs
/// nothing to copy or to drop, once per call.
fn forget_headers(response: &mut reqwest::Response) {
    *response.headers_mut() = HeaderMap::new();
}

/// The response with its body limited to [`RESPONSE_BODY_LIMIT`] bytes:
/// reading past it fails with `http_body_util::LengthLimitError`. A body of
/// a known length within the limit is left as it is: the HTTP layer frames
/// it by its `Content-Length` and reads exactly that many bytes.
fn limit_body(response: reqwest::Response) -> reqwest::Response {
    let known = response.content_length();
    if known.is_some_and(|length| length <= RESPONSE_BODY_LIMIT as u64) {
        return response;
    }
    let (parts, body) = http::Response::<reqwest::Body>::from(response).into_parts();
    let limited = reqwest::Body::wrap(Limited::new(body, RESPONSE_BODY_LIMIT));
    reqwest::Response::from(http::Response::from_parts(parts, limited))
}
