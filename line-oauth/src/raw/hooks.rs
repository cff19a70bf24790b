//! The request hook of the generated client: every response's body is
//! limited before anything reads it, and the call's span learns the
//! request's method and path and the response's status and request ID.

use http_body_util::Limited;
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::header::CONTENT_LENGTH;

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
        Ok(limit_body(response))
    }
}

/// The response with its body limited to [`RESPONSE_BODY_LIMIT`] bytes:
/// reading past it fails with `http_body_util::LengthLimitError`. A body
/// whose `Content-Length` is within the limit is left as it is (the HTTP
/// layer reads exactly that many bytes).
fn limit_body(response: reqwest::Response) -> reqwest::Response {
    let declared = response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length <= RESPONSE_BODY_LIMIT) {
        return response;
    }
    let (parts, body) = http::Response::<reqwest::Body>::from(response).into_parts();
    let limited = reqwest::Body::wrap(Limited::new(body, RESPONSE_BODY_LIMIT));
    reqwest::Response::from(http::Response::from_parts(parts, limited))
}
