//! [`BearerLayer`]: the bearer layer for tower services (hyper, axum
//! clients).

use std::fmt;
use std::future::{Future, poll_fn};
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{HeaderValue, Request, Response, StatusCode, header::AUTHORIZATION};
use tower_layer::Layer;
use tower_service::Service;

use super::{AllowedHosts, Bearer, Exchange, Tokens};
use crate::error::Error;
use crate::registry::{ChannelId, TokenRegistry};
use crate::token_source::TokenSource;

/// A request body that may be sent again after a 401: `Some(copy)` if it
/// can be. Implemented for the usual whole bodies; a stream answers `None`
/// (the 401 is then returned as it is).
///
/// ```
/// use line_oauth::ReplayBody;
/// assert_eq!(String::from("{}").replay(), Some(String::from("{}")));
/// ```
pub trait ReplayBody: Sized {
    /// A copy to send again, if the body can be replayed.
    fn replay(&self) -> Option<Self>;
}

impl ReplayBody for String {
    fn replay(&self) -> Option<Self> {
        Some(self.clone())
    }
}

impl ReplayBody for Vec<u8> {
    fn replay(&self) -> Option<Self> {
        Some(self.clone())
    }
}

impl<D: Clone> ReplayBody for http_body_util::Full<D> {
    fn replay(&self) -> Option<Self> {
        Some(self.clone())
    }
}

impl<D> ReplayBody for http_body_util::Empty<D> {
    fn replay(&self) -> Option<Self> {
        Some(Self::new())
    }
}

impl<D, E> ReplayBody for http_body_util::combinators::BoxBody<D, E> {
    fn replay(&self) -> Option<Self> {
        None
    }
}

/// Wraps a service so that requests to the [`AllowedHosts`] carry
/// `Authorization: Bearer <token>` from a [`TokenSource`], and a 401 leads
/// to one new token and one more try (when the body can be replayed and
/// [`retry_on_401`](Self::retry_on_401) is on). A
/// redirect-following layer belongs outside it, so that each hop is checked
/// against the hosts.
///
/// ```no_run
/// # fn run(source: line_oauth::TokenSource) {
/// use http_body_util::Full;
/// use hyper_util::client::legacy::Client;
/// use hyper_util::rt::TokioExecutor;
/// use line_oauth::BearerLayer;
/// use tower_layer::Layer;
///
/// let http = Client::builder(TokioExecutor::new()).build_http::<Full<bytes::Bytes>>();
/// let authed = BearerLayer::new(source).layer(http);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct BearerLayer {
    bearer: Bearer,
}

impl BearerLayer {
    /// For LINE's API hosts ([`AllowedHosts::default`]).
    pub fn new(source: TokenSource) -> Self {
        Self {
            bearer: Bearer::new(Tokens::One(source)),
        }
    }

    /// For many channels: each request names its channel with a
    /// [`ChannelId`] in its extensions and gets that channel's token from
    /// `registry`. A request that names no channel fails with
    /// [`Error::NoChannel`], one for a channel the registry does not know
    /// with [`Error::UnknownChannel`] (as [`BearerError::Token`]); neither
    /// is sent.
    ///
    /// ```
    /// # fn run(registry: line_oauth::TokenRegistry) {
    /// use line_oauth::{BearerLayer, ChannelId};
    /// let layer = BearerLayer::by_channel(registry);
    /// let mut request = http::Request::new(String::new());
    /// request.extensions_mut().insert(ChannelId::new("1234567890"));
    /// # }
    /// ```
    pub fn by_channel(registry: TokenRegistry) -> Self {
        Self {
            bearer: Bearer::new(Tokens::ByChannel(registry)),
        }
    }

    /// The same layer for other hosts.
    #[must_use]
    pub fn allowed_hosts(mut self, hosts: AllowedHosts) -> Self {
        self.bearer.hosts = hosts;
        self
    }

    /// Whether a request LINE refuses with a 401 is sent once more with a
    /// new token (the default), or the 401 is returned. Either way the
    /// refused token is dropped, so the next request carries a new one.
    /// Without the retry no copy of each request is kept.
    ///
    /// ```no_run
    /// # fn run(source: line_oauth::TokenSource) {
    /// let once = line_oauth::BearerLayer::new(source).retry_on_401(false);
    /// # }
    /// ```
    #[must_use]
    pub fn retry_on_401(mut self, retry: bool) -> Self {
        self.bearer.retry = retry;
        self
    }
}

impl<S> Layer<S> for BearerLayer {
    type Service = BearerService<S>;

    fn layer(&self, inner: S) -> BearerService<S> {
        BearerService {
            inner,
            bearer: self.bearer.clone(),
        }
    }
}

/// The service [`BearerLayer`] makes.
#[derive(Debug, Clone)]
pub struct BearerService<S> {
    inner: S,
    bearer: Bearer,
}

/// A [`BearerService`] failure: no token, or the inner service's error.
/// Each level is said once: `Token`'s `Display` is "no bearer token" and
/// its [`source`](std::error::Error::source) the source's [`Error`];
/// `Inner` is the inner error, `Display` and causes.
#[derive(Debug)]
#[non_exhaustive]
pub enum BearerError<E> {
    /// The token source could not give a token.
    Token(Error),
    /// The wrapped service failed.
    Inner(E),
}

impl<E: fmt::Display> fmt::Display for BearerError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Token(_) => f.write_str("no bearer token"),
            Self::Inner(e) => e.fmt(f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for BearerError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Token(e) => Some(e),
            // Shown as itself: its causes.
            Self::Inner(e) => e.source(),
        }
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B, R> Service<Request<B>> for BearerService<S>
where
    S: Service<Request<B>, Response = Response<R>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send,
    B: ReplayBody + Send + 'static,
    R: Send + 'static,
{
    type Response = Response<R>;
    type Error = BearerError<S::Error>;
    type Future = BoxFuture<Result<Response<R>, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(BearerError::Inner)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The clone is the one made ready; this one waits its turn.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let uri = request.uri();
        let (scheme, host) = (uri.scheme_str().unwrap_or(""), uri.host().unwrap_or(""));
        let Some(allowed) = self.bearer.hosts.position(scheme, host) else {
            self.bearer.pass_by(host);
            let sent = inner.call(request);
            return Box::pin(async move { sent.await.map_err(BearerError::Inner) });
        };
        let bearer = self.bearer.clone();
        Box::pin(async move {
            let stack = Stack {
                inner,
                ready: true,
                host: allowed,
                hosts: &bearer.hosts,
                bodies: PhantomData,
            };
            bearer.exchange(stack, request).await
        })
    }
}

/// The wrapped service, and which allowed host the request goes to. A
/// redirect-following layer belongs outside the bearer layer, so a 401
/// here comes from that host.
struct Stack<'a, S, B, R> {
    inner: S,
    /// Whether `inner` is ready for a call (the caller made it so for the first).
    ready: bool,
    host: usize,
    hosts: &'a AllowedHosts,
    /// The request and response bodies it carries.
    bodies: PhantomData<fn(B) -> R>,
}

impl<S, B, R> Exchange for Stack<'_, S, B, R>
where
    S: Service<Request<B>, Response = Response<R>> + Send,
    S::Future: Send,
    S::Error: Send,
    B: ReplayBody + Send,
    R: Send,
{
    type Request = Request<B>;
    type Response = Response<R>;
    type Error = BearerError<S::Error>;
    type Copy = Request<B>;

    fn copy(request: &Request<B>) -> Option<Request<B>> {
        replayable(request)
    }

    fn authorize(request: &mut Request<B>, header: HeaderValue) {
        request.headers_mut().insert(AUTHORIZATION, header);
    }

    fn again(mut copy: Request<B>, header: HeaderValue) -> Option<Request<B>> {
        copy.headers_mut().insert(AUTHORIZATION, header);
        Some(copy)
    }

    async fn send(&mut self, request: Request<B>) -> Result<Response<R>, Self::Error> {
        if !std::mem::replace(&mut self.ready, false) {
            poll_fn(|cx| self.inner.poll_ready(cx))
                .await
                .map_err(BearerError::Inner)?;
        }
        self.inner.call(request).await.map_err(BearerError::Inner)
    }

    fn refused_by(&self, response: &Response<R>) -> Option<String> {
        (response.status() == StatusCode::UNAUTHORIZED)
            .then(|| self.hosts.name(self.host).to_owned())
    }

    fn channel(&self, request: &Request<B>) -> Option<ChannelId> {
        request.extensions().get::<ChannelId>().cloned()
    }

    fn no_token(error: Error) -> Self::Error {
        BearerError::Token(error)
    }
}

/// A copy of `request` to send again, if its body can be replayed.
fn replayable<B: ReplayBody>(request: &Request<B>) -> Option<Request<B>> {
    let body = request.body().replay()?;
    let mut copy = Request::new(body);
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    *copy.extensions_mut() = request.extensions().clone();
    Some(copy)
}
