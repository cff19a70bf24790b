//! `Authorization: Bearer` from a [`TokenSource`] in any HTTP stack:
//! [`BearerMiddleware`] for reqwest-middleware (feature
//! `reqwest-middleware`), [`BearerLayer`] for tower (feature `tower`).
//!
//! Both set the header only on requests to the [`AllowedHosts`] (by
//! default LINE's API hosts), so a token is never sent elsewhere. On a 401
//! they drop the refused token ([`TokenSource::invalidate`]: however many
//! requests were refused, one refresh) and send the request once more with
//! a new one, when its body can be replayed and the retry is on (it is by
//! default; `retry_on_401(false)` turns it off).

#[cfg(feature = "reqwest-middleware")]
mod replay;
#[cfg(feature = "reqwest-middleware")]
mod reqwest;
#[cfg(feature = "tower")]
mod tower;

#[cfg(feature = "reqwest-middleware")]
pub use self::reqwest::BearerMiddleware;
#[cfg(feature = "tower")]
pub use self::tower::{BearerError, BearerLayer, BearerService, ReplayBody};

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use http::HeaderValue;

use crate::registry::{ChannelId, TokenRegistry};
use crate::token_source::{Invalidation, Token, TokenSource};

/// The hosts a bearer token may be sent to: LINE's API hosts by default
/// (`api.line.me`, `api-data.line.me`), over https. Plain http is allowed
/// only to loopback hosts (for tests), so a token never crosses a network
/// in clear text.
///
/// ```
/// use line_oauth::AllowedHosts;
/// let line = AllowedHosts::default();
/// assert!(line.allows("https", "api.line.me"));
/// assert!(!line.allows("https", "example.com"));
/// assert!(!line.allows("http", "api.line.me"));
/// let local = AllowedHosts::new(["127.0.0.1"]);
/// assert!(local.allows("http", "127.0.0.1"));
/// ```
#[derive(Debug, Clone)]
pub struct AllowedHosts {
    hosts: Arc<[String]>,
}

/// LINE's Messaging API hosts.
const LINE_HOSTS: [&str; 2] = ["api.line.me", "api-data.line.me"];

impl Default for AllowedHosts {
    fn default() -> Self {
        Self::new(LINE_HOSTS)
    }
}

impl AllowedHosts {
    /// Exactly these hosts (compared without regard to case).
    pub fn new(hosts: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            hosts: hosts
                .into_iter()
                .map(|h| h.into().to_ascii_lowercase())
                .collect(),
        }
    }

    /// Whether a request with this scheme to this host may carry the token.
    pub fn allows(&self, scheme: &str, host: &str) -> bool {
        self.position(scheme, host).is_some()
    }

    /// Which of the hosts a request with this scheme to this host goes to,
    /// if it may carry the token.
    fn position(&self, scheme: &str, host: &str) -> Option<usize> {
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let secure = scheme == "https" || (scheme == "http" && is_loopback(host));
        if !secure {
            return None;
        }
        self.hosts.iter().position(|h| h.eq_ignore_ascii_case(host))
    }

    /// The `index`-th host.
    #[cfg(feature = "tower")]
    fn name(&self, index: usize) -> &str {
        self.hosts.get(index).map_or("", String::as_str)
    }

    /// Where a request to `url` that may carry the token goes, or `None`.
    #[cfg(feature = "reqwest-middleware")]
    fn origin(&self, url: &url::Url) -> Option<Origin> {
        let host = self.position(url.scheme(), url.host_str().unwrap_or(""))?;
        Some(Origin {
            host,
            port: url.port_or_known_default(),
            https: url.scheme() == "https",
        })
    }
}

/// Where a request with the token went: which allowed host, on which port,
/// over which scheme. Kept without allocating, to tell whether a 401 came
/// from there or from where a redirect led (which never got the token).
#[cfg(feature = "reqwest-middleware")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Origin {
    host: usize,
    port: Option<u16>,
    https: bool,
}

/// Whether `host` names this machine: `localhost` or a loopback address.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// What a bearer layer shares: the source, the hosts, and whether a
/// refused request is sent again.
/// Where a layer's tokens come from: one source, or a registry by the
/// channel each request names.
#[derive(Debug, Clone)]
enum Tokens {
    One(TokenSource),
    ByChannel(TokenRegistry),
}

impl Tokens {
    /// The cached token for a request to `channel`, if usable.
    fn cached(&self, channel: Option<&ChannelId>) -> Option<Token> {
        match self {
            Self::One(source) => source.cached(),
            Self::ByChannel(registry) => registry.cached(channel?.as_str()),
        }
    }

    /// A token for a request to `channel`, made if need be.
    async fn token(&self, channel: Option<&ChannelId>) -> Result<Token, crate::Error> {
        match self {
            Self::One(source) => source.token().await,
            Self::ByChannel(registry) => registry.token(named(channel)?.as_str()).await,
        }
    }

    /// The source behind a request to `channel`, as it is now: a registry
    /// channel evicted meanwhile is not resolved again for a refusal.
    fn live_source(&self, channel: Option<&ChannelId>) -> Option<TokenSource> {
        match self {
            Self::One(source) => Some(source.clone()),
            Self::ByChannel(registry) => registry.live_source(channel?.as_str()),
        }
    }
}

/// The channel a request names, for a layer over a registry.
fn named(channel: Option<&ChannelId>) -> Result<&ChannelId, crate::Error> {
    channel.ok_or(crate::Error::NoChannel)
}

#[derive(Debug, Clone)]
struct Bearer {
    tokens: Tokens,
    hosts: AllowedHosts,
    retry: bool,
    /// Whether a request to a host off the list was logged yet.
    passed_by: Arc<AtomicBool>,
}

/// One stack's side of the bearer flow: how its requests carry the
/// header, are copied for a second try and sent, and how its responses say
/// "refused".
trait Exchange {
    type Request;
    type Response;
    type Error;
    /// What is kept of a request to send it again.
    type Copy;

    /// A copy of `request` to send again, if its body can be replayed.
    fn copy(request: &Self::Request) -> Option<Self::Copy>;
    /// Sets `Authorization` on `request`.
    fn authorize(request: &mut Self::Request, header: HeaderValue);
    /// The request again, from its copy, with `header`.
    fn again(copy: Self::Copy, header: HeaderValue) -> Option<Self::Request>;
    /// Sends `request` down the stack.
    fn send(
        &mut self,
        request: Self::Request,
    ) -> impl Future<Output = Result<Self::Response, Self::Error>> + Send;
    /// The host that refused the token, if `response` is its 401.
    fn refused_by(&self, response: &Self::Response) -> Option<String>;
    /// The channel `request` names ([`ChannelId`] in its extensions).
    fn channel(&self, request: &Self::Request) -> Option<ChannelId>;
    /// The stack's error for a source that has no token.
    fn no_token(error: crate::Error) -> Self::Error;
}

impl Bearer {
    /// For LINE's API hosts, retrying after a 401.
    fn new(tokens: Tokens) -> Self {
        Self {
            tokens,
            hosts: AllowedHosts::default(),
            retry: true,
            passed_by: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Notes, once per layer, that a request went out without a token: its
    /// host is not on the list.
    fn pass_by(&self, host: &str) {
        if !self.passed_by.load(Ordering::Relaxed) && !self.passed_by.swap(true, Ordering::Relaxed)
        {
            tracing::debug!(
                host,
                "bearer: a request to a host off the allowed list goes without a token (said once)"
            );
        }
    }

    /// The flow: the cached token as the header (a new one when there is
    /// none), the request sent; after a 401 from where the token went, the
    /// token reported refused and the request sent once more with a new
    /// one, when it can be and the retry is on.
    ///
    /// A function returning an `async move` block, called without a future
    /// around it, rather than an `async fn` awaited from the adapter's: an
    /// `async fn` keeps a second copy of its arguments (the request the
    /// largest) in its future. `BearerMiddleware`'s boxed future is then
    /// 888 bytes rather than 1,200 or so, within glibc's fast path for small
    /// allocations (up to 1,032 bytes); past it, every request paid about
    /// 100 ns more in the bearer bench.
    #[expect(
        clippy::manual_async_fn,
        reason = "an async fn keeps a second copy of the request in its future"
    )]
    fn exchange<'a, X: Exchange + 'a>(
        &'a self,
        mut stack: X,
        mut request: X::Request,
    ) -> impl Future<Output = Result<X::Response, X::Error>> + 'a {
        async move {
            let channel = match &self.tokens {
                Tokens::One(_) => None,
                Tokens::ByChannel(_) => stack.channel(&request),
            };
            let token = match self.tokens.cached(channel.as_ref()) {
                Some(token) => token,
                // Boxed: the rare path keeps its state out of this future.
                None => Box::pin(self.tokens.token(channel.as_ref()))
                    .await
                    .map_err(X::no_token)?,
            };
            let copy = if self.retry { X::copy(&request) } else { None };
            X::authorize(&mut request, token.bearer_header());
            let response = stack.send(request).await?;
            let Some(host) = stack.refused_by(&response) else {
                return Ok(response);
            };
            // Boxed: the rare path keeps its state out of this future.
            let refused = Refused {
                token: &token,
                host: &host,
                channel: channel.as_ref(),
            };
            Box::pin(self.after_401(&mut stack, response, refused, copy)).await
        }
    }

    /// After `response`, the 401 for `refused`: the request again with a
    /// new token, or `response` when it cannot be sent again (the token is
    /// reported all the same) or the source keeps the refused token.
    async fn after_401<X: Exchange>(
        &self,
        stack: &mut X,
        response: X::Response,
        refused: Refused<'_>,
        copy: Option<X::Copy>,
    ) -> Result<X::Response, X::Error> {
        // A channel gone from the registry since: the 401 stands.
        let Some(source) = self.tokens.live_source(refused.channel) else {
            return Ok(response);
        };
        let Some(copy) = copy else {
            report(&source, &refused);
            return Ok(response);
        };
        let fresh = after_refusal(&source, &refused)
            .await
            .map_err(X::no_token)?;
        let Some(again) = fresh.and_then(|fresh| X::again(copy, fresh.bearer_header())) else {
            return Ok(response);
        };
        // The 401 is done with: its connection goes back to the pool.
        drop(response);
        stack.send(again).await
    }
}

/// A token a host answered 401 to.
struct Refused<'a> {
    token: &'a Token,
    host: &'a str,
    channel: Option<&'a ChannelId>,
}

/// Reports `refused` to `source`. Whether the source replaces it: not
/// while it holds it, since it replaced a refused token a short while ago
/// ([`TokenSource::invalidate`] bounds the issuances refusals cause). The
/// first refusal during a hold is warned about, naming the host.
fn report(source: &TokenSource, refused: &Refused<'_>) -> Invalidation {
    let outcome = source.report_refused(refused.token);
    if outcome == (Invalidation::Held { first: true }) {
        tracing::warn!(
            host = refused.host,
            channel_id = refused.channel.map(ChannelId::as_str),
            "bearer: the host refused the token again during the refusal hold (a refusal \
             replaced the token a short while ago); the 401s go back to the callers and the \
             token stays until the hold ends"
        );
    }
    outcome
}

/// After a 401 for `refused`: a new token, or `None` when the source keeps
/// the refused one (then the 401 stands).
async fn after_refusal(
    source: &TokenSource,
    refused: &Refused<'_>,
) -> Result<Option<Token>, crate::Error> {
    if let Invalidation::Held { .. } = report(source, refused) {
        return Ok(None);
    }
    let fresh = source.token().await?;
    let same = fresh.access_token().same_as(refused.token.access_token());
    Ok((!same).then_some(fresh))
}
