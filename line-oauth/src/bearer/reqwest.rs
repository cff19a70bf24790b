//! [`BearerMiddleware`]: the bearer layer for reqwest-middleware.

use futures_util::future::BoxFuture;
use http::{Extensions, StatusCode, header::AUTHORIZATION};
use reqwest_middleware::{Middleware, Next, Result};

use super::{AllowedHosts, Bearer};
use crate::token_source::{Token, TokenSource};

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

// Written out rather than with `#[async_trait]`: the host check and the
// cached token are settled before any future is made, so a request to
// another host costs no allocation, and the future that waits for the
// answer holds only what the 401 path needs.
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
        let url = request.url();
        if !self
            .bearer
            .hosts
            .allows(url.scheme(), url.host_str().unwrap_or(""))
        {
            return next.run(request, extensions);
        }
        match self.bearer.source.cached() {
            Some(token) => Box::pin(self.send(request, token, extensions, next)),
            None => Box::pin(async move {
                let token = self
                    .bearer
                    .source
                    .token()
                    .await
                    .map_err(reqwest_middleware::Error::middleware)?;
                self.send(request, token, extensions, next).await
            }),
        }
    }
}

impl BearerMiddleware {
    /// Sends `request` with `token`; after a 401, once more with a new one.
    /// The copy and the header are made before the future, which then holds
    /// each value once (an `async fn` would hold its arguments twice).
    fn send<'a>(
        &'a self,
        mut request: reqwest::Request,
        token: Token,
        extensions: &'a mut Extensions,
        next: Next<'a>,
    ) -> impl Future<Output = Result<reqwest::Response>> + Send + 'a {
        let replay = replayable(&request);
        request
            .headers_mut()
            .insert(AUTHORIZATION, token.bearer_header());
        async move {
            let response = next.clone().run(request, extensions).await?;
            if response.status() != StatusCode::UNAUTHORIZED || replay.is_none() {
                return Ok(response);
            }
            let fresh = Box::pin(self.bearer.after_refusal(&token))
                .await
                .map_err(reqwest_middleware::Error::middleware)?;
            let (Some(fresh), Some(mut replay)) = (fresh, replay) else {
                return Ok(response);
            };
            replay
                .headers_mut()
                .insert(AUTHORIZATION, fresh.bearer_header());
            next.run(replay, extensions).await
        }
    }
}

/// Bodies up to this size are copied for a replay. Larger ones are shared
/// through [`reqwest::Request::try_clone`], which costs two allocations more
/// (it makes and drops a map for the timeout) but copies no body.
const COPIED_BODY_MAX: usize = 64 * 1024;

/// A copy of `request` to send again after a 401, or `None` when its body
/// is a stream. It keeps all a `reqwest::Request` holds: method, URL,
/// headers, version, timeout and body.
fn replayable(request: &reqwest::Request) -> Option<reqwest::Request> {
    let body = match request.body() {
        None => None,
        Some(body) => match body.as_bytes() {
            Some(bytes) if bytes.len() <= COPIED_BODY_MAX => {
                Some(reqwest::Body::from(bytes.to_vec()))
            }
            _ => return request.try_clone(),
        },
    };
    let mut copy = reqwest::Request::new(request.method().clone(), request.url().clone());
    *copy.headers_mut() = request.headers().clone();
    *copy.version_mut() = request.version();
    *copy.body_mut() = body;
    if let Some(timeout) = request.timeout() {
        *copy.timeout_mut() = Some(*timeout);
    }
    Some(copy)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures_util::stream;

    use super::*;

    fn post(body: reqwest::Body) -> reqwest::Request {
        reqwest::Client::new()
            .post("https://api.line.me/v2/bot/message/push?x=1")
            .header("content-type", "application/json")
            .header("x-line-retry-key", "123e4567-e89b-12d3-a456-426614174000")
            .timeout(Duration::from_secs(7))
            .version(http::Version::HTTP_2)
            .body(body)
            .build()
            .expect("a request")
    }

    fn assert_same(copy: &reqwest::Request, original: &reqwest::Request) {
        assert_eq!(copy.method(), original.method());
        assert_eq!(copy.url(), original.url());
        assert_eq!(copy.headers(), original.headers());
        assert_eq!(copy.version(), original.version());
        assert_eq!(copy.timeout(), original.timeout());
        assert_eq!(
            copy.body().and_then(|b| b.as_bytes()),
            original.body().and_then(|b| b.as_bytes())
        );
    }

    #[test]
    fn a_small_body_is_copied_with_everything_else() {
        let original = post(reqwest::Body::from(r#"{"to":"U1"}"#));
        let copy = replayable(&original).expect("replayable");
        assert_same(&copy, &original);
    }

    #[test]
    fn a_large_body_is_shared_with_everything_else() {
        let original = post(reqwest::Body::from(vec![7u8; COPIED_BODY_MAX + 1]));
        let copy = replayable(&original).expect("replayable");
        assert_same(&copy, &original);
    }

    #[test]
    fn a_request_without_body_or_timeout_is_copied() {
        let original = reqwest::Client::new()
            .get("https://api.line.me/v2/bot/info")
            .build()
            .expect("a request");
        let copy = replayable(&original).expect("replayable");
        assert_same(&copy, &original);
        assert!(copy.body().is_none() && copy.timeout().is_none());
    }

    #[test]
    fn a_streamed_body_is_not_replayable() {
        let chunks = stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from("{}"))]);
        let original = post(reqwest::Body::wrap_stream(chunks));
        assert!(replayable(&original).is_none());
    }
}
