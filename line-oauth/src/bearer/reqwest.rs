//! [`BearerMiddleware`]: the bearer layer for reqwest-middleware.

use futures_util::future::BoxFuture;
use http::{Extensions, StatusCode, header::AUTHORIZATION};
use reqwest_middleware::{Middleware, Next, Result};

use super::replay::Replay;
use super::{AllowedHosts, Bearer};
use crate::token_source::{Token, TokenSource};

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
#[derive(Debug, Clone)]
pub struct BearerMiddleware {
    bearer: Bearer,
}

impl BearerMiddleware {
    /// For LINE's API hosts ([`AllowedHosts::default`]).
    pub fn new(source: TokenSource) -> Self {
        Self {
            bearer: Bearer::new(source),
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
        mut request: reqwest::Request,
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
            return next.run(request, extensions);
        };
        Box::pin(async move {
            let token = match self.bearer.source.cached() {
                Some(token) => token,
                // Boxed: the rare path keeps its state out of this future.
                None => Box::pin(self.bearer.source.token())
                    .await
                    .map_err(reqwest_middleware::Error::middleware)?,
            };
            let replay = if self.bearer.retry {
                Replay::of(&request)
            } else {
                None
            };
            request
                .headers_mut()
                .insert(AUTHORIZATION, token.bearer_header());
            let response = next.clone().run(request, extensions).await?;
            // A 401 from where a redirect led is not a refusal of the
            // token: reqwest sent it only to the first host.
            if response.status() != StatusCode::UNAUTHORIZED
                || self.bearer.hosts.origin(response.url()) != Some(origin)
            {
                return Ok(response);
            }
            // Boxed: the rare path keeps its state out of this future.
            Box::pin(self.retry(response, &token, replay, extensions, next)).await
        })
    }
}

impl BearerMiddleware {
    /// After `refused` (a 401 to `token`): the request again with a new
    /// token, or `refused` when it cannot be sent again (the token is
    /// dropped all the same) or the source keeps the refused token.
    async fn retry(
        &self,
        refused: reqwest::Response,
        token: &Token,
        replay: Option<Replay>,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> Result<reqwest::Response> {
        let host = refused.url().host_str().unwrap_or("");
        let Some(replay) = replay else {
            self.bearer.report(token, host);
            return Ok(refused);
        };
        let fresh = self
            .bearer
            .after_refusal(token, host)
            .await
            .map_err(reqwest_middleware::Error::middleware)?;
        let Some(again) = fresh.and_then(|fresh| replay.request(fresh.bearer_header())) else {
            return Ok(refused);
        };
        // The 401 is done with: its connection goes back to the pool.
        drop(refused);
        next.run(again, extensions).await
    }
}
