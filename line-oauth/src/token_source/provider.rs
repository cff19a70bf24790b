//! How a [`TokenSource`](super::TokenSource) gets tokens: the
//! [`TokenProvider`] seam. The source decides when (its cache); a provider
//! decides how, and knows its token kind.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::error::Error;
use crate::secret::AccessToken;
use crate::tokens::IssuedToken;

/// How a [`TokenSource`](super::TokenSource) gets tokens: issue one, and
/// retire one it no longer serves. The crate's strategies implement it
/// ([`Stateless`](super::Stateless), [`ShortLived`](super::ShortLived),
/// [`V21`](super::V21)); so may your own, such as one that reads tokens
/// another process keeps.
///
/// A provider fails with its own error through [`Error::provider`]; the
/// source's callers get that error back through
/// [`source`](std::error::Error::source):
///
/// ```
/// use std::error::Error as _;
/// use std::time::Duration;
/// use line_oauth::{AccessToken, Error, IssuedToken, Remedy, TokenProvider, TokenSource};
///
/// /// Tokens another process writes to a file, with their lifetime.
/// #[derive(Debug)]
/// struct FromFile(std::path::PathBuf);
///
/// impl TokenProvider for FromFile {
///     async fn issue(&self) -> Result<IssuedToken, Error> {
///         let text = std::fs::read_to_string(&self.0)
///             .map_err(|e| Error::provider(Remedy::RetryLater, e))?;
///         Ok(IssuedToken::new(AccessToken::new(text.trim()), Duration::from_secs(900)))
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let source = TokenSource::new(FromFile("/no/such/token-file".into())).unwrap();
/// let error = source.token().await.unwrap_err();
/// assert!(matches!(error, Error::Provider(_)));
/// let io = error.source().and_then(|e| e.downcast_ref::<std::io::Error>());
/// assert_eq!(io.map(|e| e.kind()), Some(std::io::ErrorKind::NotFound));
/// # }
/// ```
pub trait TokenProvider: fmt::Debug + Send + Sync + 'static {
    /// Gets one token. Its `received_at` and `expires_in` tell the source
    /// when it expires.
    fn issue(&self) -> impl Future<Output = Result<IssuedToken, Error>> + Send;

    /// Retires a token the source no longer serves: revoke it, where the
    /// kind allows and the provider wants. The default does nothing. A
    /// failure only means the token lives until it expires.
    fn retire(&self, token: &AccessToken, why: Retired) -> impl Future<Output = ()> + Send {
        let _ = (token, why);
        async {}
    }

    /// How long its tokens live, when known ahead: the source then refuses
    /// settings under which they could never be served. `None` by default.
    fn lifetime(&self) -> Option<Duration> {
        None
    }

    /// The longest one [`issue`](Self::issue) may take, when known: a
    /// source given a store then refuses a lock TTL that could run out
    /// while it issues. The crate's strategies give their client's
    /// timeout. `None` by default.
    fn issue_timeout(&self) -> Option<Duration> {
        None
    }

    /// The name of its tokens in a [`TokenStore`](crate::TokenStore): the
    /// sources whose providers give one name share one token there. The
    /// crate's strategies name the token kind and channel, such as
    /// `short-lived:1234567890`. `None` by default: such a provider cannot
    /// be given a store.
    fn store_key(&self) -> Option<String> {
        None
    }

    /// The kind of its tokens, as metrics label them: the crate's
    /// strategies say `short_lived`, `stateless` or `v21`; `custom` by
    /// default.
    fn token_kind(&self) -> &'static str {
        "custom"
    }

    /// The channel its tokens are for, if it knows: the `channel` label of
    /// its refresh metrics (feature `metrics`, once `Metrics::label_channels`
    /// is on). The crate's strategies know theirs; `None` by default.
    fn channel_id(&self) -> Option<&str> {
        None
    }
}

/// Why a [`TokenSource`](super::TokenSource) retires a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Retired {
    /// A newer token replaced it, and the source's revoke delay has passed:
    /// a caller handed it before it was replaced has had that long.
    Replaced,
    /// No caller ever got it: it was too short-lived to serve, or every
    /// handle of the source was dropped while it was being issued.
    Unused,
}

/// A boxed future, for the object-safe face of a provider.
type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// [`TokenProvider`] as an object, so that a source is one type whatever
/// its provider.
pub(super) trait DynProvider: fmt::Debug + Send + Sync {
    fn issue(&self) -> Boxed<'_, Result<IssuedToken, Error>>;
    fn retire<'a>(&'a self, token: &'a AccessToken, why: Retired) -> Boxed<'a, ()>;
    fn lifetime(&self) -> Option<Duration>;
    fn issue_timeout(&self) -> Option<Duration>;
    fn store_key(&self) -> Option<String>;
    fn token_kind(&self) -> &'static str;
    fn channel_id(&self) -> Option<&str>;
}

impl<P: TokenProvider> DynProvider for P {
    fn issue(&self) -> Boxed<'_, Result<IssuedToken, Error>> {
        Box::pin(TokenProvider::issue(self))
    }

    fn retire<'a>(&'a self, token: &'a AccessToken, why: Retired) -> Boxed<'a, ()> {
        Box::pin(TokenProvider::retire(self, token, why))
    }

    fn lifetime(&self) -> Option<Duration> {
        TokenProvider::lifetime(self)
    }

    fn issue_timeout(&self) -> Option<Duration> {
        TokenProvider::issue_timeout(self)
    }

    fn store_key(&self) -> Option<String> {
        TokenProvider::store_key(self)
    }

    fn token_kind(&self) -> &'static str {
        TokenProvider::token_kind(self)
    }

    fn channel_id(&self) -> Option<&str> {
        TokenProvider::channel_id(self)
    }
}
