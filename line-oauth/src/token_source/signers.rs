//! [`Signers`]: the assertion signers of one channel, newest key first,
//! so that rotating the signing key fails no issuance.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::assertion::AssertionSigner;
use crate::error::Error;

/// The assertion signers of one channel, the newest key first: what a
/// [`V21`](super::V21) or [`Stateless`](super::Stateless) provider signs
/// with while the signing key is rotated. Clones share which key works.
///
/// An issuance signs with the newest key. When LINE answers that it knows
/// no key with that kid (not registered yet, or already removed), the
/// issuance is signed again with the next key, and a warning names both
/// kids. The key that worked is then preferred; the newer ones are tried
/// again first after [`retry_newest_after`](Self::retry_newest_after)
/// (10 minutes by default), until the newest works again.
///
/// A single signer converts into `Signers`, so every provider that takes
/// one takes the other.
///
/// ```
/// # let old_pair = line_oauth::AssertionKeyPair::generate().unwrap();
/// # let new_pair = line_oauth::AssertionKeyPair::generate().unwrap();
/// use std::time::Duration;
/// use line_oauth::{AssertionSigner, Client, Signers, V21};
/// let newest = AssertionSigner::new(&new_pair.private, "new-kid", "1234567890");
/// let older = AssertionSigner::new(&old_pair.private, "old-kid", "1234567890");
/// let signers = Signers::new(newest).then(older)?;
/// let provider = V21::new(Client::new(), signers, Duration::from_secs(24 * 3600));
/// # Ok::<(), line_oauth::Error>(())
/// ```
#[derive(Clone)]
pub struct Signers {
    ring: Arc<Ring>,
}

struct Ring {
    /// Newest first; never empty, all for one channel.
    signers: Vec<AssertionSigner>,
    /// The index of the one that worked last.
    preferred: AtomicUsize,
    /// When to try the newer ones again, while an older one is preferred.
    retry_newest_at: Mutex<Option<Instant>>,
    retry_newest_after: Duration,
}

impl Signers {
    /// How long an older key that works is preferred before the newer
    /// ones are tried again, unless set otherwise.
    pub const DEFAULT_RETRY_NEWEST_AFTER: Duration = Duration::from_secs(10 * 60);

    /// Signers with `newest` alone.
    pub fn new(newest: AssertionSigner) -> Self {
        Self::from_list(vec![newest], Self::DEFAULT_RETRY_NEWEST_AFTER)
    }

    /// These signers and then `older`, tried when LINE knows none of the
    /// newer keys.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when `older` signs for another channel.
    pub fn then(self, older: AssertionSigner) -> Result<Self, Error> {
        if older.channel_id() != self.channel_id() {
            return Err(Error::InvalidConfig(format!(
                "signers: kid {} signs for channel {}, not {}",
                older.kid(),
                older.channel_id(),
                self.channel_id()
            )));
        }
        let mut signers = self.ring.signers.clone();
        signers.push(older);
        Ok(Self::from_list(signers, self.ring.retry_newest_after))
    }

    /// How long an older key that works is preferred before the newer ones
    /// are tried again (default [`Signers::DEFAULT_RETRY_NEWEST_AFTER`]).
    #[must_use]
    pub fn retry_newest_after(self, after: Duration) -> Self {
        Self::from_list(self.ring.signers.clone(), after)
    }

    /// The channel they sign for.
    pub fn channel_id(&self) -> &str {
        self.ring.signers[0].channel_id()
    }

    /// The kids, newest first.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.ring.signers.iter().map(AssertionSigner::kid)
    }

    fn from_list(signers: Vec<AssertionSigner>, retry_newest_after: Duration) -> Self {
        Self {
            ring: Arc::new(Ring {
                signers,
                preferred: AtomicUsize::new(0),
                retry_newest_at: Mutex::new(None),
                retry_newest_after,
            }),
        }
    }

    /// `call` with the preferred signer, falling back to older ones while
    /// LINE knows no key with the kid signed with.
    pub(super) async fn sign_with<'a, T, F, Fut>(&'a self, call: F) -> Result<T, Error>
    where
        F: Fn(&'a AssertionSigner) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let ring = &self.ring;
        let count = ring.signers.len();
        let start = ring.start(Instant::now());
        // From the preferred signer on, then the newer ones: a preferred
        // older key may have been removed since a newer one was registered.
        let mut order = (start..count).chain(0..start).peekable();
        while let Some(index) = order.next() {
            let signer = &ring.signers[index];
            match call(signer).await {
                Err(error) if error.is_signing_key_not_found() => {
                    let Some(&next) = order.peek() else {
                        return Err(error);
                    };
                    tracing::warn!(
                        channel_id = signer.channel_id(),
                        kid = signer.kid(),
                        next_kid = ring.signers[next].kid(),
                        "LINE knows no signing key with this kid (not registered yet, or \
                         removed): signing with the next key"
                    );
                }
                Ok(value) => {
                    ring.worked(index, Instant::now());
                    return Ok(value);
                }
                Err(error) => return Err(error),
            }
        }
        Err(Error::InvalidConfig(
            "signers: none to sign with".to_owned(),
        ))
    }

    /// The signer that worked last, as is: for calls that must not move
    /// the preference (counting the channel's tokens).
    pub(super) fn preferred(&self) -> &AssertionSigner {
        let ring = &self.ring;
        let index = ring.preferred.load(Ordering::Relaxed);
        ring.signers.get(index).unwrap_or(&ring.signers[0])
    }

    /// How many signers an issuance may try, each within the client's
    /// timeout.
    pub(super) fn len(&self) -> usize {
        self.ring.signers.len()
    }
}

impl Ring {
    /// Where to start at `now`: the preferred signer, or the newest when
    /// it is time to try it again.
    fn start(&self, now: Instant) -> usize {
        let preferred = self.preferred.load(Ordering::Relaxed);
        let retry = self.retry_at().is_none_or(|at| now >= at);
        if preferred > 0 && retry { 0 } else { preferred }
    }

    /// Records that signer `index` worked at `now`.
    fn worked(&self, index: usize, now: Instant) {
        let was = self.preferred.swap(index, Ordering::Relaxed);
        let mut retry_at = self
            .retry_newest_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if index == 0 {
            *retry_at = None;
            if was != 0 {
                tracing::info!(
                    channel_id = self.signers[0].channel_id(),
                    kid = self.signers[0].kid(),
                    "the newest signing key works again"
                );
            }
        } else if was != index || retry_at.is_none_or(|at| now >= at) {
            *retry_at = Some(now.checked_add(self.retry_newest_after).unwrap_or(now));
        }
    }

    fn retry_at(&self) -> Option<Instant> {
        *self
            .retry_newest_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl From<AssertionSigner> for Signers {
    fn from(signer: AssertionSigner) -> Self {
        Self::new(signer)
    }
}

impl fmt::Debug for Signers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signers")
            .field("signers", &self.ring.signers)
            .field("preferred", &self.ring.preferred.load(Ordering::Relaxed))
            .field("retry_newest_after", &self.ring.retry_newest_after)
            .finish()
    }
}
