//! [`Health`]: what a source says of itself with no I/O, for a health
//! endpoint or a readiness probe; a watch channel tells of each change.

use std::time::SystemTime;

use serde::ser::{Serialize, SerializeStruct, Serializer};

use crate::error::Error;

/// A [`TokenSource`](super::TokenSource)'s state, from
/// [`health`](super::TokenSource::health): its token's expiry, its last
/// refresh, the error of a failing one, and whether it runs degraded.
///
/// It serializes (serde) to JSON for a health route: times as Unix
/// seconds, the error as its kind and HTTP status only (its message may
/// quote the server, which is not for an open route):
///
/// ```
/// # let pair = line_oauth::AssertionKeyPair::generate().unwrap();
/// # let signer = line_oauth::AssertionSigner::new(&pair.private, "kid", "1234567890");
/// let source = line_oauth::TokenSource::new(
///     line_oauth::Stateless::by_signer(line_oauth::Client::new(), signer),
/// )?;
/// let health = source.health();
/// assert!(health.expires_at().is_none()); // no token yet
/// assert_eq!(
///     serde_json::to_string(&health).unwrap(),
///     r#"{"expires_at":null,"refreshed_at":null,"refreshing":false,"degraded":false,"failing":false,"last_error_kind":null,"last_error_status":null}"#,
/// );
/// # Ok::<(), line_oauth::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Health {
    pub(super) expires_at: Option<SystemTime>,
    pub(super) refreshed_at: Option<SystemTime>,
    pub(super) last_error: Option<Error>,
    pub(super) degraded: bool,
    pub(super) refreshing: bool,
    /// Which health of the source's watch this is (0 outside one).
    pub(super) sent: u64,
}

impl Health {
    /// When the cached token expires (by the source's wall clock); `None`
    /// when the source holds no token.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }

    /// When the cached token was received from LINE: by this source, or,
    /// through a shared store, by another.
    pub fn refreshed_at(&self) -> Option<SystemTime> {
        self.refreshed_at
    }

    /// The error of the last refresh, while refreshes fail; `None` once
    /// one succeeds.
    pub fn last_error(&self) -> Option<&Error> {
        self.last_error.as_ref()
    }

    /// Whether the source issues for itself because its store failed.
    pub fn is_degraded(&self) -> bool {
        self.degraded
    }

    /// Whether a refresh is in flight.
    pub fn is_refreshing(&self) -> bool {
        self.refreshing
    }

    /// Whether refreshes fail: the last one did (the source may still serve
    /// its token meanwhile).
    pub fn is_failing(&self) -> bool {
        self.last_error.is_some()
    }

    /// Whether the source holds a token that has not expired at `now`
    /// (failing refreshes or not). A readiness probe that should also make
    /// a source with none refresh calls [`token`](super::TokenSource::token)
    /// instead: `health` starts nothing.
    ///
    /// ```
    /// let health = line_oauth::Health::default();
    /// assert!(!health.is_serving(std::time::SystemTime::now()));
    /// ```
    pub fn is_serving(&self, now: SystemTime) -> bool {
        self.expires_at.is_some_and(|at| now < at)
    }
}

/// Whole Unix seconds of `at`.
fn unix(at: Option<SystemTime>) -> Option<u64> {
    at.map(|at| {
        at.duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs()
    })
}

impl Serialize for Health {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut health = serializer.serialize_struct("Health", 7)?;
        health.serialize_field("expires_at", &unix(self.expires_at))?;
        health.serialize_field("refreshed_at", &unix(self.refreshed_at))?;
        health.serialize_field("refreshing", &self.refreshing)?;
        health.serialize_field("degraded", &self.degraded)?;
        let error = self.last_error.as_ref();
        health.serialize_field("failing", &error.is_some())?;
        health.serialize_field("last_error_kind", &error.map(Error::kind))?;
        health.serialize_field("last_error_status", &error.and_then(Error::status))?;
        health.end()
    }
}
