//! When a failed call is tried again.
//!
//! | call | retried on |
//! |---|---|
//! | `verify`, `verify_v21`, `list_v21_key_ids`, `revoke`, `revoke_v21`, `issue_stateless` | 429 (honouring `Retry-After`, capped), 502, 503, 504, a refused connection, a broken connection |
//! | `issue_short_lived`, `issue_v21` | a refused connection only: each issuance counts against LINE's 30-token budget, so a request that may have reached LINE is never sent twice |
//!
//! Waits double from the first backoff up to the longest, less up to a
//! quarter at random; attempts are bounded, and all of them together stay
//! within the client's timeout (a wait that would pass it is not taken).
//! Every wait setting is at most [`RetryPolicy::MAX_WAIT`]; the client's
//! builder refuses a policy that is not.

use std::time::Duration;

use crate::backoff;
use crate::error::Error;

/// Whether a call may be sent again once it may have reached LINE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idempotency {
    /// Sending it twice does no harm.
    Safe,
    /// It issues a token: retried only when it provably never left.
    UnlessSent,
}

/// How failed calls are retried. The default: 3 attempts, waits from 200 ms
/// doubling up to 2 s, `Retry-After` honoured up to 10 s.
///
/// ```
/// use std::time::Duration;
/// use line_oauth::{Client, RetryPolicy};
///
/// let patient = RetryPolicy::default().max_attempts(5).max_retry_after(Duration::from_secs(30));
/// let client = Client::builder().retry(patient).build()?;
/// let never = Client::builder().retry(RetryPolicy::none()).build()?;
/// # Ok::<(), line_oauth::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    first_backoff: Duration,
    max_backoff: Duration,
    max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            first_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(2),
            max_retry_after: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The longest any wait setting may be: [`ClientBuilder::build`](crate::ClientBuilder::build)
    /// refuses a policy with a longer one.
    ///
    /// ```
    /// use std::time::Duration;
    /// use line_oauth::{Client, RetryPolicy};
    /// let absurd = RetryPolicy::default().max_retry_after(Duration::MAX);
    /// assert!(Client::builder().retry(absurd).build().is_err());
    /// ```
    pub const MAX_WAIT: Duration = Duration::from_secs(3600);

    /// No retries: every call is sent once.
    pub fn none() -> Self {
        Self::default().max_attempts(1)
    }

    /// At most this many attempts per call, the first included (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// The first wait; each further one doubles it (at most [`Self::MAX_WAIT`]).
    pub fn first_backoff(mut self, wait: Duration) -> Self {
        self.first_backoff = wait;
        self
    }

    /// The longest wait between attempts without `Retry-After` (at most
    /// [`Self::MAX_WAIT`]).
    pub fn max_backoff(mut self, wait: Duration) -> Self {
        self.max_backoff = wait;
        self
    }

    /// The longest `Retry-After` honoured; a longer one ends the call with
    /// its error (see [`Error::retry_after`]). At most [`Self::MAX_WAIT`].
    pub fn max_retry_after(mut self, wait: Duration) -> Self {
        self.max_retry_after = wait;
        self
    }

    /// What is wrong with the policy, if anything: checked when a client is
    /// built.
    pub(crate) fn problem(&self) -> Option<String> {
        if self.max_attempts == 0 {
            return Some("a retry policy needs at least 1 attempt".to_owned());
        }
        let waits = [self.first_backoff, self.max_backoff, self.max_retry_after];
        waits
            .into_iter()
            .find(|wait| *wait > Self::MAX_WAIT)
            .map(|wait| format!("a retry wait of {wait:?} is over RetryPolicy::MAX_WAIT (1 hour)"))
    }

    /// How long to wait before attempt `attempts + 1`, or `None` to give up
    /// with `error`.
    pub(crate) fn wait(
        &self,
        idempotency: Idempotency,
        attempts: u32,
        error: &Error,
    ) -> Option<Duration> {
        if attempts >= self.max_attempts {
            return None;
        }
        let backoff = backoff::exponential(self.first_backoff, self.max_backoff, attempts);
        match error {
            Error::Connect { .. } => Some(backoff),
            _ if idempotency == Idempotency::UnlessSent => None,
            Error::Transport { .. } => Some(backoff),
            Error::Api(api) if retryable_status(api.status()) => match api.retry_after() {
                Some(wait) if wait > self.max_retry_after => None,
                Some(wait) => Some(wait),
                None => Some(backoff),
            },
            _ => None,
        }
    }
}

fn retryable_status(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

/// What a retry log line says of the error: never anything from the server.
pub(crate) fn reason(error: &Error) -> String {
    match error {
        Error::Api(api) => format!("status {}", api.status()),
        Error::Connect { .. } => "connection refused or failed".to_owned(),
        Error::Transport { .. } => "connection broken".to_owned(),
        _ => "other".to_owned(),
    }
}

/// Why `error`'s attempt is tried again, as a metric label: its status,
/// `connect` or `transport`.
pub(crate) fn label(error: &Error) -> &'static str {
    match error {
        Error::Api(api) => crate::metrics::status_label(api.status()),
        Error::Connect { .. } => "connect",
        Error::Transport { .. } => "transport",
        other => other.kind(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ApiDetails, ApiError, Operation};

    fn api(status: u16, retry_after: Option<u64>) -> Error {
        Error::Api(ApiError::new(ApiDetails {
            operation: Operation::Verify,
            status,
            code: None,
            description: None,
            message: None,
            request_id: None,
            retry_after: retry_after.map(Duration::from_secs),
            body_snippet: None,
        }))
    }

    #[test]
    fn safe_calls_retry_rate_limits_and_gateway_errors_only() {
        let policy = RetryPolicy::default();
        for status in [429, 502, 503, 504] {
            assert!(
                policy
                    .wait(Idempotency::Safe, 1, &api(status, None))
                    .is_some(),
                "{status}"
            );
        }
        for status in [400, 404, 500, 501] {
            assert!(
                policy
                    .wait(Idempotency::Safe, 1, &api(status, None))
                    .is_none(),
                "{status}"
            );
        }
        assert_eq!(
            policy.wait(Idempotency::Safe, 1, &api(429, Some(3))),
            Some(Duration::from_secs(3))
        );
        assert_eq!(policy.wait(Idempotency::Safe, 1, &api(429, Some(11))), None);
        assert_eq!(
            policy.wait(Idempotency::Safe, 3, &api(503, None)),
            None,
            "3 attempts at most"
        );
    }

    #[test]
    fn issuance_is_never_retried_once_it_may_have_been_sent() {
        let policy = RetryPolicy::default();
        for error in [api(429, Some(1)), api(503, None)] {
            assert_eq!(policy.wait(Idempotency::UnlessSent, 1, &error), None);
        }
        let timeout = Error::Timeout {
            operation: Operation::IssueV21,
            after: Duration::from_secs(1),
        };
        assert_eq!(policy.wait(Idempotency::UnlessSent, 1, &timeout), None);
    }

    #[test]
    fn no_retries_means_one_attempt() {
        assert_eq!(
            RetryPolicy::none().wait(Idempotency::Safe, 1, &api(503, None)),
            None
        );
    }

    #[test]
    fn absurd_settings_are_refused_and_absurd_retry_afters_end_the_call() {
        for absurd in [
            RetryPolicy::default().first_backoff(Duration::MAX),
            RetryPolicy::default().max_backoff(RetryPolicy::MAX_WAIT + Duration::from_nanos(1)),
            RetryPolicy::default().max_retry_after(Duration::MAX),
            RetryPolicy::default().max_attempts(0),
        ] {
            assert!(absurd.problem().is_some(), "{absurd:?}");
        }
        assert_eq!(RetryPolicy::default().problem(), None);
        assert_eq!(RetryPolicy::none().problem(), None);
        assert_eq!(
            RetryPolicy::default().wait(Idempotency::Safe, 1, &api(429, Some(u64::MAX))),
            None,
            "a Retry-After past the policy's longest ends the call"
        );
    }
}
