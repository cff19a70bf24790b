//! The request hooks of the generated client, and what they record for
//! [`Client`](crate::Client) calls.

use std::cell::RefCell;
use std::future::Future;

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

use crate::raw::Client;

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
        let response = self.client().execute(request).await?;
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
