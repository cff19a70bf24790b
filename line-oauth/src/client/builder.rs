//! Configuring a [`Client`].

use std::net::IpAddr;
use std::time::Duration;

use reqwest::Url;
use reqwest::redirect;

use super::Client;
use crate::call::{Policy, RetryPolicy};
use crate::error::Error;
use crate::raw;
use crate::raw::Endpoints;

/// LINE's API host.
pub(crate) const DEFAULT_BASE_URL: &str = "https://api.line.me";
/// How long to wait for a connection (TCP and TLS) by default.
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a whole call (connect, send, answer, body) may take by default.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest timeout a builder accepts: a token call that takes longer has failed.
pub(crate) const MAX_TIMEOUT: Duration = Duration::from_secs(3600);
/// The `User-Agent` of requests from a client this crate builds.
pub(crate) const USER_AGENT: &str = concat!("line-oauth/", env!("CARGO_PKG_VERSION"));

/// Builds a [`Client`].
///
/// ```
/// use std::time::Duration;
///
/// let client = line_oauth::Client::builder()
///     .timeout(Duration::from_secs(5))
///     .build()
///     .unwrap();
/// assert_eq!(client.base_url(), "https://api.line.me");
///
/// // Plain http is refused unless the host is loopback (or you opt in).
/// assert!(line_oauth::Client::builder().base_url("http://example.com").build().is_err());
/// assert!(line_oauth::Client::builder().base_url("http://127.0.0.1:8080").build().is_ok());
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ClientBuilder {
    base_url: String,
    connect_timeout: Duration,
    timeout: Duration,
    allow_plain_http: bool,
    retry: RetryPolicy,
    proxy: Option<ProxyUrl>,
}

/// A proxy URL; it may carry a password, so `Debug` does not show it.
#[derive(Clone)]
struct ProxyUrl(String);

impl std::fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProxyUrl([redacted])")
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            allow_plain_http: false,
            retry: RetryPolicy::default(),
            proxy: None,
        }
    }
}

impl ClientBuilder {
    /// Where to send requests (default [`Client::DEFAULT_BASE_URL`]). A path prefix
    /// is kept; a trailing `/` is not needed.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// How long to wait for a connection (default [`Client::DEFAULT_CONNECT_TIMEOUT`],
    /// at most [`Client::MAX_TIMEOUT`]).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a whole call may take, from sending to the end of the answer
    /// (default [`Client::DEFAULT_TIMEOUT`], at most [`Client::MAX_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How failed calls are retried (default [`RetryPolicy::default`];
    /// [`RetryPolicy::none`] turns retries off). See [`RetryPolicy`] for which
    /// calls are retried on what.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Allows an `http` base URL on a host that is not loopback. Secrets then
    /// cross the network in clear text: only for test setups.
    pub fn allow_plain_http(mut self, allow: bool) -> Self {
        self.allow_plain_http = allow;
        self
    }

    /// Sends every request through the HTTP proxy at `url` (`http://` or
    /// `https://`; credentials as `http://user:password@host:port`, kept out
    /// of `Debug` and errors).
    /// Without it, the client connects directly, unless the
    /// `system-proxy` feature is on: then it follows the OS settings and
    /// `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY`.
    ///
    /// ```
    /// let client = line_oauth::Client::builder()
    ///     .proxy("http://proxy.internal:3128")
    ///     .build()?;
    /// # Ok::<(), line_oauth::Error>(())
    /// ```
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = Some(ProxyUrl(url.into()));
        self
    }

    /// Checks the configuration and builds the client.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a base URL that does not parse, is not
    /// `http(s)`, carries credentials, a query or a fragment, or is plain
    /// `http` to a non-loopback host without [`allow_plain_http`](Self::allow_plain_http);
    /// for a timeout of zero or over [`Client::MAX_TIMEOUT`]; for a retry
    /// policy with no attempt or a wait over [`RetryPolicy::MAX_WAIT`]; for a proxy URL that
    /// does not parse; for an `https` base URL in a build with neither the
    /// `rustls` nor the `native-tls` feature; or when the HTTP client cannot
    /// be built.
    pub fn build(self) -> Result<Client, Error> {
        let base_url = self.checked_base_url()?;
        for timeout in [self.timeout, self.connect_timeout] {
            if timeout.is_zero() || timeout > MAX_TIMEOUT {
                return Err(Error::InvalidConfig(format!(
                    "timeouts must be above zero and at most {MAX_TIMEOUT:?}, not {timeout:?}"
                )));
            }
        }
        if let Some(problem) = self.retry.problem() {
            return Err(Error::InvalidConfig(problem));
        }
        let proxy = match &self.proxy {
            Some(ProxyUrl(url)) => Some(
                reqwest::Proxy::all(url.as_str())
                    .map_err(|_| Error::InvalidConfig("the proxy URL does not parse".to_owned()))?,
            ),
            None => None,
        };
        let http = http_client(self.connect_timeout, proxy)
            .map_err(|e| Error::InvalidConfig(format!("cannot build the HTTP client: {e}")))?;
        let endpoints = Endpoints::new(base_url.clone(), raw::FIXED_PATHS);
        Ok(Client::from_parts(
            raw::Client::new_with_client(base_url.as_str().trim_end_matches('/'), http, endpoints),
            Policy {
                timeout: self.timeout,
                retry: self.retry,
            },
        ))
    }

    /// The base URL, checked.
    fn checked_base_url(&self) -> Result<Url, Error> {
        let invalid = |why: &str| Error::InvalidConfig(format!("base URL {why}"));
        let url =
            Url::parse(&self.base_url).map_err(|e| invalid(&format!("does not parse: {e}")))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("must not carry credentials"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("must not have a query or a fragment"));
        }
        match url.scheme() {
            "https" if !cfg!(any(feature = "rustls", feature = "native-tls")) => {
                return Err(invalid(
                    "is https, but line-oauth was built without TLS: enable its rustls or \
                     native-tls feature",
                ));
            }
            "https" => {}
            "http" if self.allow_plain_http || is_loopback(&url) => {}
            "http" => {
                return Err(invalid(
                    "is plain http to a host that is not loopback: use https, or allow_plain_http(true) for a test setup",
                ));
            }
            other => return Err(invalid(&format!("has scheme {other:?}; expected https"))),
        }
        Ok(url)
    }
}

/// The HTTP client every [`Client`] sends with. It never follows a
/// redirect (a token endpoint has no business redirecting, and following one
/// would resend secrets elsewhere), sends no `Referer`, and asks for JSON,
/// the only body LINE answers with.
pub(crate) fn http_client(
    connect_timeout: Duration,
    proxy: Option<reqwest::Proxy>,
) -> reqwest::Result<reqwest::Client> {
    let json = reqwest::header::HeaderValue::from_static("application/json");
    let builder = reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .redirect(redirect::Policy::none())
        .referer(false)
        .user_agent(USER_AGENT)
        .default_headers([(reqwest::header::ACCEPT, json)].into_iter().collect());
    match proxy {
        Some(proxy) => builder.proxy(proxy),
        None => builder,
    }
    .build()
}

/// Whether the URL's host is this machine: `localhost`, 127.0.0.0/8 or `::1`.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(url: &str) -> Result<String, Error> {
        let url = ClientBuilder::default().base_url(url).checked_base_url()?;
        Ok(url.as_str().trim_end_matches('/').to_owned())
    }

    #[test]
    fn https_and_loopback_http_are_accepted() {
        assert_eq!(base("https://api.line.me/").unwrap(), "https://api.line.me");
        assert_eq!(
            base("https://proxy.example/line/").unwrap(),
            "https://proxy.example/line"
        );
        for url in [
            "http://127.0.0.1:1",
            "http://127.8.9.10",
            "http://localhost:80",
            "http://[::1]:9",
        ] {
            assert!(base(url).is_ok(), "{url}");
        }
    }

    #[test]
    fn unsafe_or_odd_base_urls_are_refused() {
        for url in [
            "http://example.com",
            "http://10.0.0.1",
            "ftp://api.line.me",
            "https://user:pw@api.line.me",
            "https://api.line.me/?a=b",
            "not a url",
        ] {
            let err = base(url).unwrap_err();
            assert!(matches!(err, Error::InvalidConfig(_)), "{url}: {err:?}");
            assert!(!err.to_string().contains("pw"), "{err}");
        }
    }

    #[test]
    fn plain_http_elsewhere_needs_the_opt_in() {
        let builder = ClientBuilder::default()
            .base_url("http://fake-line.test")
            .allow_plain_http(true);
        assert!(builder.checked_base_url().is_ok());
    }

    #[test]
    fn zero_and_absurd_timeouts_are_refused() {
        for timeout in [
            Duration::ZERO,
            MAX_TIMEOUT + Duration::from_nanos(1),
            Duration::MAX,
        ] {
            let err = ClientBuilder::default()
                .timeout(timeout)
                .build()
                .unwrap_err();
            assert!(matches!(err, Error::InvalidConfig(_)), "{timeout:?}");
            let err = ClientBuilder::default()
                .connect_timeout(timeout)
                .build()
                .unwrap_err();
            assert!(matches!(err, Error::InvalidConfig(_)), "{timeout:?}");
        }
        assert!(
            ClientBuilder::default()
                .timeout(MAX_TIMEOUT)
                .build()
                .is_ok()
        );
    }
}
