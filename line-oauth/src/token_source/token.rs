//! [`Token`]: what a source hands out. Each cache entry hands out copies of
//! its token, one per shard of threads, so that threads taking the same
//! token count their handles on different cache lines: a cached hit touches
//! no reference count that every thread shares.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use reqwest::header::HeaderValue;

use crate::secret::AccessToken;

/// A token from a [`TokenSource`](super::TokenSource): yours to keep, cheap
/// to clone, redacted in `Debug`.
///
/// ```no_run
/// # async fn run(source: line_oauth::TokenSource) -> Result<(), line_oauth::Error> {
/// let token = source.token().await?;
/// let http = reqwest::Client::new();
/// http.post("https://api.line.me/v2/bot/message/push")
///     .header(reqwest::header::AUTHORIZATION, token.bearer_header())
///     .send()
///     .await;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Token(Arc<Copy>);

impl Token {
    /// The access token.
    pub fn access_token(&self) -> &AccessToken {
        &self.0.access_token
    }

    /// `Bearer <token>` as an `Authorization` header value, marked sensitive
    /// (HTTP clients then keep it out of their logs).
    pub fn bearer_header(&self) -> HeaderValue {
        self.0.bearer.clone()
    }

    /// When the token expires, by the source's wall clock: LINE's
    /// `expires_in` counted from when its answer arrived.
    pub fn expires_at(&self) -> SystemTime {
        self.0.expires_at
    }

    /// The token's key ID, for v2.1 tokens.
    pub fn key_id(&self) -> Option<&str> {
        self.0.key_id.as_deref()
    }

    /// The cache entry it was handed out from.
    pub(super) fn entry(&self) -> u64 {
        self.0.entry
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("access_token", &self.0.access_token)
            .field("expires_at", &self.0.expires_at)
            .field("key_id", &self.0.key_id)
            .finish()
    }
}

/// One shard's copy of a cached token. Aligned so that its reference
/// counts (at the start of the allocation) have a cache line of their own.
#[repr(align(128))]
struct Copy {
    entry: u64,
    access_token: AccessToken,
    bearer: HeaderValue,
    expires_at: SystemTime,
    key_id: Option<String>,
}

/// What a [`Copy`] is made from.
pub(super) struct Original<'a> {
    pub(super) access_token: &'a AccessToken,
    pub(super) bearer: &'a HeaderValue,
    pub(super) expires_at: SystemTime,
    pub(super) key_id: Option<&'a str>,
}

/// The copies of one cache entry's token, made on a shard's first hit.
pub(super) struct Copies {
    entry: u64,
    shards: Box<[OnceLock<Arc<Copy>>]>,
}

impl Copies {
    /// No copies yet, for a new cache entry.
    pub(super) fn new() -> Self {
        static ENTRIES: AtomicU64 = AtomicU64::new(0);
        Self {
            entry: ENTRIES.fetch_add(1, Ordering::Relaxed),
            shards: (0..shard_count()).map(|_| OnceLock::new()).collect(),
        }
    }

    /// The entry's identity, which the tokens it hands out carry.
    pub(super) fn entry(&self) -> u64 {
        self.entry
    }

    /// A token for the calling thread: its shard's copy, made on first use.
    pub(super) fn token<'a>(&self, original: impl FnOnce() -> Original<'a>) -> Token {
        self.token_in(this_shard(), original)
    }

    /// A token from shard `shard`'s copy.
    fn token_in<'a>(&self, shard: usize, original: impl FnOnce() -> Original<'a>) -> Token {
        // The count is a power of two: a mask, not a division.
        let slot = &self.shards[shard & (self.shards.len() - 1)];
        Token(Arc::clone(
            slot.get_or_init(|| Arc::new(Copy::of(self.entry, original()))),
        ))
    }
}

impl Copy {
    fn of(entry: u64, original: Original<'_>) -> Self {
        // A header of its own, so that its bytes' count is this shard's too.
        let mut bearer = HeaderValue::from_bytes(original.bearer.as_bytes())
            .unwrap_or_else(|_| original.bearer.clone());
        bearer.set_sensitive(true);
        Self {
            entry,
            access_token: original.access_token.clone(),
            bearer,
            expires_at: original.expires_at,
            key_id: original.key_id.map(str::to_owned),
        }
    }
}

/// How many shards: one per core, rounded up to a power of two, up to 16.
fn shard_count() -> usize {
    static COUNT: OnceLock<usize> = OnceLock::new();
    *COUNT.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get().min(16))
            .next_power_of_two()
    })
}

/// The calling thread's shard, by the order threads first took a token:
/// threads started together (a runtime's workers) land on different shards.
fn this_shard() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SHARD: usize = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    SHARD.with(|shard| *shard)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn original_of<'a>(token: &'a AccessToken, bearer: &'a HeaderValue) -> Original<'a> {
        Original {
            access_token: token,
            bearer,
            expires_at: SystemTime::UNIX_EPOCH,
            key_id: None,
        }
    }

    #[test]
    fn each_shard_makes_its_own_copy_once() {
        let (token, bearer) = (AccessToken::new("t"), HeaderValue::from_static("Bearer t"));
        let copies = Copies {
            entry: 7,
            shards: (0..2).map(|_| OnceLock::new()).collect(),
        };
        let first = copies.token_in(0, || original_of(&token, &bearer));
        let again = copies.token_in(0, || unreachable!("a shard's copy is made once"));
        assert!(Arc::ptr_eq(&first.0, &again.0));
        let other = copies.token_in(1, || original_of(&token, &bearer));
        assert!(!Arc::ptr_eq(&first.0, &other.0), "two shards share a copy");
        assert!(!std::ptr::eq(
            first.bearer_header().as_bytes(),
            other.bearer_header().as_bytes()
        ));
        assert_eq!((first.entry(), other.entry()), (7, 7));
        assert_eq!(other.access_token().expose_secret(), "t");
        assert!(other.bearer_header().is_sensitive());
    }
}
