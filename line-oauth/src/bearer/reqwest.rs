//! [`BearerMiddleware`]: the bearer layer for reqwest-middleware.

use std::future::Future;

use futures_util::future::BoxFuture;
use http::{Extensions, HeaderValue, StatusCode, header::AUTHORIZATION};
use reqwest_middleware::{Middleware, Next, Result};

use super::replay::Replay;
use super::{AllowedHosts, Bearer, Exchange, Origin, Tokens};
use crate::registry::{ChannelId, TokenRegistry};
use crate::token_source::TokenSource;

/// Sets `Authorization: Bearer <token>` from a [`TokenSource`] on requests
/// to the [`AllowedHosts`]; after a 401 it gets a new token and sends the
/// request once more, when its body can be cloned (not a stream) and
/// [`retry_on_401`](Self::retry_on_401) is on. Redirects
/// that reqwest follows to another host lose the header (reqwest drops it).
///
/// ```no_run
/// # async fn run(source: line_oauth::TokenSource) -> Result<(), Box<dyn std::error::Error>> {
/// use line_oauth::BearerMiddleware;
/// let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(BearerMiddleware::new(source))
///     .build();
/// let bot = http.get("https://api.line.me/v2/bot/info").send().await?;
/// # Ok(())
/// # }
/// ```
///
/// When the source has no token to give, the request fails with
/// `reqwest_middleware::Error::Middleware`, which holds the line-oauth
/// [`Error`](crate::Error):
///
/// ```
/// fn why(error: &reqwest_middleware::Error) -> Option<&line_oauth::Error> {
///     match error {
///         reqwest_middleware::Error::Middleware(inner) => inner.downcast_ref::<line_oauth::Error>(),
///         _ => None,
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct BearerMiddleware {
    bearer: Bearer,
}

impl BearerMiddleware {
    /// For LINE's API hosts ([`AllowedHosts::default`]).
    pub fn new(source: TokenSource) -> Self {
        Self {
            bearer: Bearer::new(Tokens::One(source)),
        }
    }

    /// For many channels: each request names its channel with a
    /// [`ChannelId`] extension (`RequestBuilder::with_extension`) and gets
    /// that channel's token from `registry`. A request that names no
    /// channel fails with [`Error::NoChannel`](crate::Error::NoChannel),
    /// one for a channel the registry does not know with
    /// [`Error::UnknownChannel`](crate::Error::UnknownChannel); neither is
    /// sent.
    ///
    /// ```no_run
    /// # async fn run(registry: line_oauth::TokenRegistry) -> Result<(), Box<dyn std::error::Error>> {
    /// use line_oauth::{BearerMiddleware, ChannelId};
    /// let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
    ///     .with(BearerMiddleware::by_channel(registry))
    ///     .build();
    /// http.get("https://api.line.me/v2/bot/info")
    ///     .with_extension(ChannelId::new("1234567890"))
    ///     .send()
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn by_channel(registry: TokenRegistry) -> Self {
        Self {
            bearer: Bearer::new(Tokens::ByChannel(registry)),
        }
    }

    /// The same middleware for other hosts.
    #[must_use]
    pub fn allowed_hosts(mut self, hosts: AllowedHosts) -> Self {
        self.bearer.hosts = hosts;
        self
    }

    /// Whether a request LINE refuses with a 401 is sent once more with a
    /// new token (the default), or the 401 is returned. Either way the
    /// refused token is dropped, so the next request carries a new one.
    /// Without the retry no copy of each request is kept: about 40 ns less
    /// a request.
    ///
    /// ```no_run
    /// # fn run(source: line_oauth::TokenSource) {
    /// let once = line_oauth::BearerMiddleware::new(source).retry_on_401(false);
    /// # }
    /// ```
    #[must_use]
    pub fn retry_on_401(mut self, retry: bool) -> Self {
        self.bearer.retry = retry;
        self
    }
}

// Written out rather than with `#[async_trait]`: the host check comes
// before any future is made, so a request to another host costs no
// allocation; the one future is built in place in its box.
impl Middleware for BearerMiddleware {
    fn handle<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        request: reqwest::Request,
        extensions: &'life1 mut Extensions,
        next: Next<'life2>,
    ) -> BoxFuture<'async_trait, Result<reqwest::Response>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        let Some(origin) = self.bearer.hosts.origin(request.url()) else {
            self.bearer.pass_by(request.url().host_str().unwrap_or(""));
            return next.run(request, extensions);
        };
        let stack = Stack {
            next,
            extensions,
            origin,
            hosts: &self.bearer.hosts,
        };
        Box::pin(self.bearer.exchange(stack, request))
    }
}

/// The rest of a reqwest-middleware chain, and where the token went.
struct Stack<'a> {
    next: Next<'a>,
    extensions: &'a mut Extensions,
    origin: Origin,
    hosts: &'a AllowedHosts,
}

impl Exchange for Stack<'_> {
    type Request = reqwest::Request;
    type Response = reqwest::Response;
    type Error = reqwest_middleware::Error;
    type Copy = Replay;

    fn copy(request: &reqwest::Request) -> Option<Replay> {
        Replay::of(request)
    }

    fn authorize(request: &mut reqwest::Request, header: HeaderValue) {
        request.headers_mut().insert(AUTHORIZATION, header);
    }

    fn again(copy: Replay, header: HeaderValue) -> Option<reqwest::Request> {
        copy.request(header)
    }

    fn send(
        &mut self,
        request: reqwest::Request,
    ) -> impl Future<Output = Result<reqwest::Response>> + Send {
        self.next.clone().run(request, self.extensions)
    }

    /// A 401 from where the token went; not from where a redirect led,
    /// which never got the token (reqwest sends it only to the first host).
    fn refused_by(&self, response: &reqwest::Response) -> Option<String> {
        let refused = response.status() == StatusCode::UNAUTHORIZED
            && self.hosts.origin(response.url()) == Some(self.origin);
        refused.then(|| response.url().host_str().unwrap_or("").to_owned())
    }

    fn channel(&self, _request: &reqwest::Request) -> Option<ChannelId> {
        self.extensions.get::<ChannelId>().cloned()
    }

    fn no_token(error: crate::Error) -> reqwest_middleware::Error {
        reqwest_middleware::Error::middleware(error)
    }
}
