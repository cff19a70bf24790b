//! The request hooks of the generated client, and what they record for
//! [`Client`](crate::Client) calls.

use std::cell::RefCell;
use std::future::Future;

use http_body_util::Limited;
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, HeaderMap, HeaderValue, RETRY_AFTER};

use crate::raw::Client;

/// The largest response body read. LINE's bodies are under 1 KiB; a longer
/// one is an error, and reading stops there, however much the server sends.
pub const RESPONSE_BODY_LIMIT: usize = 64 * 1024;

/// The header in which LINE identifies a response for its support.
pub(crate) const REQUEST_ID_HEADER: &str = "x-line-request-id";

/// What a [`Client`](crate::Client) call needs to know about the response
/// even when the generated code drops it (a body that fails to decode loses
/// its status and headers there).
#[derive(Debug, Clone, Default)]
pub(crate) struct ResponseMeta {
    pub(crate) status: Option<StatusCode>,
    pub(crate) request_id: Option<HeaderValue>,
    pub(crate) retry_after: Option<HeaderValue>,
}

impl ResponseMeta {
    pub(crate) fn from_headers(status: StatusCode, headers: &HeaderMap) -> Self {
        Self {
            status: Some(status),
            request_id: headers.get(REQUEST_ID_HEADER).cloned(),
            retry_after: headers.get(RETRY_AFTER).cloned(),
        }
    }
}

tokio::task_local! {
    /// The response of the call running in this task, recorded by `exec`.
    static RESPONSE_META: RefCell<ResponseMeta>;
}

/// Runs `call` and returns its output with what `exec` saw of the response.
pub(crate) async fn capture_response_meta<T>(call: impl Future<Output = T>) -> (T, ResponseMeta) {
    RESPONSE_META
        .scope(RefCell::new(ResponseMeta::default()), async {
            let output = call.await;
            let meta = RESPONSE_META.with(|meta| meta.take());
            (output, meta)
        })
        .await
}

impl ClientHooks for Client {
    /// Sends the request and, inside a `capture_response_meta` scope,
    /// records the response's status and headers.
    async fn exec(
        &self,
        request: reqwest::Request,
        _info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let response = limit_body(self.client().execute(request).await?);
        // Outside a scope (the raw client used directly) there is nothing to
        // record. The headers matter only for errors: skip them on success.
        let _ = RESPONSE_META.try_with(|meta| {
            let status = response.status();
            *meta.borrow_mut() = if status.is_success() {
                ResponseMeta {
                    status: Some(status),
                    ..ResponseMeta::default()
                }
            } else {
                ResponseMeta::from_headers(status, response.headers())
            };
        });
        Ok(response)
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
