//! What happens in one call, in one place.
//!
//! Data flows one way. A [`Request`] (one of the 8 operations with its
//! arguments) is checked, then sent through the generated client. Each
//! attempt's response is classified ([`classify`]): a decoded answer, or an
//! [`Error`] built from the status, headers and body together, with the
//! request's own secrets scrubbed from every text ([`redact`]). The
//! [`RetryPolicy`] decides whether another attempt follows; every attempt
//! and wait stays within the call's deadline. The outcome goes back to the
//! caller.
//!
//! | step | where |
//! |---|---|
//! | empty fields refused, secrets found | [`fields`], from the request's own fields |
//! | deadline, attempts | [`send`] |
//! | retry decision, backoff | [`retry`], [`crate::backoff`] |
//! | response classification | [`classify`] |
//! | redaction | [`redact`] |

mod classify;
mod fields;
mod redact;
mod retry;

pub use retry::RetryPolicy;

pub(crate) use classify::decode_error;
pub(crate) use retry::Idempotency;

use std::future::Future;
use std::time::Duration;

use progenitor_client::ResponseValue;
use serde::Serialize;
use tokio::time::Instant;
use tracing::Instrument;

use crate::error::{Chain, Error, Operation};
use crate::metrics;
use crate::raw::{self, CALL_SPAN};
use classify::Context;

/// One of the 8 operations with its arguments: what the call path needs to
/// send it. Its fields are what goes on the wire; those of a secret type
/// are scrubbed from any error of the call.
pub(crate) trait Request: Serialize + Sync {
    /// The call, as errors and logs name it.
    const OPERATION: Operation;
    /// Whether it may be sent again once it may have reached LINE.
    const IDEMPOTENCY: Idempotency;
    /// LINE's answer, as the generated client decodes it.
    type Answer: Send;

    /// Sends it once through the generated client.
    fn send<'a>(
        &'a self,
        raw: &'a raw::Client,
    ) -> impl Future<Output = Result<ResponseValue<Self::Answer>, raw::Error<()>>> + Send + 'a;
}

/// How a client sends: its deadline per call and its retry policy.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    pub(crate) timeout: Duration,
    pub(crate) retry: RetryPolicy,
}

/// Sends `request`: checks it, attempts it as the policy allows within the
/// timeout, and returns LINE's decoded answer or the call's error.
pub(crate) async fn send<R: Request>(
    raw: &raw::Client,
    policy: Policy,
    request: &R,
) -> Result<R::Answer, Error> {
    if let Some(field) = fields::first_empty(request) {
        let refused = Error::InvalidArgument {
            operation: R::OPERATION,
            reason: format!("{field} is empty"),
        };
        metrics::api_call(R::OPERATION.as_str(), refused.kind(), None, Duration::ZERO);
        return Err(refused);
    }
    // One span per call; the hook fills in what went on the wire.
    let span = tracing::debug_span!(
        CALL_SPAN,
        operation = R::OPERATION.as_str(),
        method = tracing::field::Empty,
        path = tracing::field::Empty,
        attempt = tracing::field::Empty,
        status = tracing::field::Empty,
        request_id = tracing::field::Empty,
    );
    // The builder caps the timeout, so the deadline is always in reach.
    let started = Instant::now();
    let Some(deadline) = started.checked_add(policy.timeout) else {
        return Err(Error::InvalidConfig(format!(
            "a timeout of {:?} is beyond the clock's range",
            policy.timeout
        )));
    };
    // Boxed once, here: the caller's future then holds a pointer rather
    // than the whole call, so moving or spawning it copies little.
    let timed = tokio::time::timeout_at(deadline, attempts(raw, policy, request, deadline, &span));
    let outcome = Box::pin(timed.instrument(span.clone()))
        .await
        .unwrap_or(Err(Error::Timeout {
            operation: R::OPERATION,
            after: policy.timeout,
        }));
    let took = started.elapsed();
    match &outcome {
        Ok((status, _)) => metrics::api_call(R::OPERATION.as_str(), "ok", Some(*status), took),
        Err(error) => {
            metrics::api_call(R::OPERATION.as_str(), error.kind(), error.status(), took);
            span.in_scope(|| tracing::debug!(error = %Chain(error), "LINE call failed"));
        }
    }
    outcome.map(|(_, answer)| answer)
}

/// Attempts until one succeeds, the policy gives up, or the next wait would
/// pass `deadline`. The answer comes with its HTTP status.
async fn attempts<R: Request>(
    raw: &raw::Client,
    policy: Policy,
    request: &R,
    deadline: Instant,
    span: &tracing::Span,
) -> Result<(u16, R::Answer), Error> {
    let in_time = |wait: Duration| {
        Instant::now()
            .checked_add(wait)
            .is_some_and(|resume| resume < deadline)
    };
    let mut attempt = 1;
    loop {
        span.record("attempt", attempt);
        let error = match request.send(raw).await {
            Ok(answer) => return Ok((answer.status().as_u16(), answer.into_inner())),
            Err(error) => classify_error(request, error).await,
        };
        let wait = policy.retry.wait(R::IDEMPOTENCY, attempt, &error);
        let Some(wait) = wait.filter(|wait| in_time(*wait)) else {
            return Err(error);
        };
        tracing::debug!(
            operation = R::OPERATION.as_str(),
            attempt,
            wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            reason = %retry::reason(&error),
            "retrying a LINE call"
        );
        metrics::api_retry(R::OPERATION.as_str(), retry::label(&error));
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

/// The [`Error`] of a failed attempt, scrubbed of the request's secrets.
/// Boxed: the error path is rare and its future large.
fn classify_error<'a, R: Request>(
    request: &'a R,
    error: raw::Error<()>,
) -> std::pin::Pin<Box<dyn Future<Output = Error> + Send + 'a>> {
    Box::pin(async move {
        let owned = fields::secrets(request);
        let secrets: Vec<&str> = owned.iter().map(String::as_str).collect();
        Context {
            operation: R::OPERATION,
            secrets: &secrets,
        }
        .error(error)
        .await
    })
}

#[cfg(test)]
pub(crate) use {classify::retry_after, fields::secrets, redact::snippet};
