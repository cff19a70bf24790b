//! [`BearerMiddleware`]: the bearer layer for reqwest-middleware.

use http::{Extensions, StatusCode, header::AUTHORIZATION};
use reqwest_middleware::{Middleware, Next, Result};

use super::{AllowedHosts, Bearer};
use crate::token_source::TokenSource;

/// Sets `Authorization: Bearer <token>` from a [`TokenSource`] on requests
/// to the [`AllowedHosts`]; after a 401 it gets a new token and sends the
/// request once more, when its body can be cloned (not a stream). Redirects
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
}

#[async_trait::async_trait]
impl Middleware for BearerMiddleware {
    async fn handle(
        &self,
        mut request: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> Result<reqwest::Response> {
        let url = request.url();
        if !self
            .bearer
            .hosts
            .allows(url.scheme(), url.host_str().unwrap_or(""))
        {
            return next.run(request, extensions).await;
        }
        // The cached token at once; on a miss the full call, boxed so that
        // its state does not weigh on every request's future.
        let token = match self.bearer.source.cached() {
            Some(token) => token,
            None => Box::pin(self.bearer.source.token())
                .await
                .map_err(reqwest_middleware::Error::middleware)?,
        };
        let replay = request.try_clone().map(Box::new);
        request
            .headers_mut()
            .insert(AUTHORIZATION, token.bearer_header());
        let response = next.clone().run(request, extensions).await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let Some(mut replay) = replay else {
            return Ok(response);
        };
        let fresh = Box::pin(self.bearer.after_refusal(&token))
            .await
            .map_err(reqwest_middleware::Error::middleware)?;
        let Some(fresh) = fresh else {
            return Ok(response);
        };
        replay
            .headers_mut()
            .insert(AUTHORIZATION, fresh.bearer_header());
        next.run(*replay, extensions).await
    }
}
