//! [`Token`]: what a source hands out. Each cache entry hands itself out
//! through references of its own, one per shard of threads, so that threads
//! taking the same token count their references on different cache lines:
//! a cached hit touches no reference count that every thread shares. The
//! first shard counts on the token itself, the others on handles made on
//! their first hit (a channel used by one thread at a time needs none).

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use reqwest::header::HeaderValue;

use crate::secret::AccessToken;
use crate::tokens::IssuedToken;

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
pub struct Token(Held);

/// How a [`Token`] holds its served token.
#[derive(Clone)]
enum Held {
    /// Directly: the first shard's way.
    Served(Arc<Served>),
    /// Through another shard's handle.
    Handle(Arc<Handle>),
}

impl Token {
    /// The access token.
    pub fn access_token(&self) -> &AccessToken {
        &self.served().issued.access_token
    }

    /// `Bearer <token>` as an `Authorization` header value, marked sensitive
    /// (HTTP clients then keep it out of their logs).
    pub fn bearer_header(&self) -> HeaderValue {
        self.served().bearer.clone()
    }

    /// When the token expires, by the source's wall clock: LINE's
    /// `expires_in` counted from when its answer arrived.
    pub fn expires_at(&self) -> SystemTime {
        self.served().expires_at
    }

    /// The token's key ID, for v2.1 tokens.
    pub fn key_id(&self) -> Option<&str> {
        self.served().issued.key_id.as_deref()
    }

    /// Whether it is `token`, the token of a cache entry.
    pub(super) fn is(&self, token: &Arc<Served>) -> bool {
        Arc::ptr_eq(self.served_arc(), token)
    }

    fn served(&self) -> &Served {
        self.served_arc()
    }

    fn served_arc(&self) -> &Arc<Served> {
        match &self.0 {
            Held::Served(served) => served,
            Held::Handle(handle) => &handle.token,
        }
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("access_token", self.access_token())
            .field("expires_at", &self.expires_at())
            .field("key_id", &self.key_id())
            .finish()
    }
}

/// A cache entry's token as it is served: shared by the entry and its
/// handles, pointing at neither.
pub(super) struct Served {
    /// The token as issued (or as read from the store).
    pub(super) issued: IssuedToken,
    /// `Bearer <token>`, marked sensitive.
    pub(super) bearer: HeaderValue,
    /// When it expires, by the source's wall clock.
    pub(super) expires_at: SystemTime,
}

/// One shard's handle on a served token. Padded so that, with its
/// reference counts, it fills a whole cache line's worth of allocation:
/// two handles next to each other in memory then never have their counts
/// on one line, whatever the allocator's alignment.
struct Handle {
    token: Arc<Served>,
    _pad: [u64; 4],
}

/// A cache entry's handles on its token for every shard but the first,
/// each made on its shard's first hit.
pub(super) struct Handles {
    shards: Box<[OnceLock<Arc<Handle>>]>,
}

impl Handles {
    /// No handles yet, for a new cache entry.
    pub(super) fn new() -> Self {
        Self {
            shards: (1..shard_count()).map(|_| OnceLock::new()).collect(),
        }
    }

    /// `token` for the calling thread: through its shard's handle, made on
    /// first use.
    pub(super) fn token(&self, token: &Arc<Served>) -> Token {
        self.token_in(this_shard(), token)
    }

    /// `token` through shard `shard`'s handle.
    fn token_in(&self, shard: usize, token: &Arc<Served>) -> Token {
        // The shard count is a power of two: a mask, not a division.
        let shard = shard & self.shards.len();
        let Some(slot) = shard.checked_sub(1).and_then(|i| self.shards.get(i)) else {
            return Token(Held::Served(Arc::clone(token)));
        };
        let handle = slot.get_or_init(|| {
            Arc::new(Handle {
                token: Arc::clone(token),
                _pad: [0; 4],
            })
        });
        Token(Held::Handle(Arc::clone(handle)))
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

    fn served() -> Arc<Served> {
        Arc::new(Served {
            issued: IssuedToken::new(AccessToken::new("t"), std::time::Duration::from_secs(60)),
            bearer: HeaderValue::from_static("Bearer t"),
            expires_at: SystemTime::UNIX_EPOCH,
        })
    }

    /// The handle a token goes through, if any.
    fn handle(token: &Token) -> Option<&Arc<Handle>> {
        match &token.0 {
            Held::Served(_) => None,
            Held::Handle(handle) => Some(handle),
        }
    }

    #[test]
    fn the_first_shard_takes_the_token_itself_each_other_its_own_handle_made_once() {
        let token = served();
        // Four shards: the first and three handles.
        let handles = Handles {
            shards: (1..4).map(|_| OnceLock::new()).collect(),
        };
        let first = handles.token_in(0, &token);
        let first_again = handles.token_in(4, &token);
        assert!(handle(&first).is_none() && handle(&first_again).is_none());
        assert_eq!(
            Arc::strong_count(&token),
            3,
            "the first shard counts on the token"
        );
        let second = handles.token_in(1, &token);
        let second_again = handles.token_in(5, &token);
        let (Some(a), Some(b)) = (handle(&second), handle(&second_again)) else {
            panic!("the second shard took no handle");
        };
        assert!(Arc::ptr_eq(a, b), "a shard made a second handle");
        let third = handles.token_in(2, &token);
        assert!(
            !Arc::ptr_eq(a, handle(&third).expect("a handle")),
            "two shards share a handle"
        );
        for held in [&first, &second, &third] {
            assert!(held.is(&token));
            assert_eq!(held.access_token().expose_secret(), "t");
        }
        assert!(!first.is(&served()) && !second.is(&served()));
        drop((first, first_again, second, second_again, third, handles));
        assert_eq!(Arc::strong_count(&token), 1, "a handle outlived its tokens");
    }
}
