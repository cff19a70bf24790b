//! [`Replay`]: what `BearerMiddleware` keeps of a request to send it again
//! after a 401.
//!
//! It is taken on every request and used almost never, so it is made to
//! cost little. A request with a small body is kept in parts: the URL and
//! up to [`INLINE_HEADERS`] headers inline, the body copied (copying a few
//! hundred bytes is cheaper than sharing them). A request with a larger
//! body is cloned with [`reqwest::Request::try_clone`], which shares the
//! body. The parts stay small too: the future that holds them must fit the
//! allocator's fast path (glibc's ends near 1 KiB).

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Version, header::AUTHORIZATION};
use smallvec::SmallVec;

/// Headers kept without allocating; more spill to the heap. A request to
/// LINE has one or two when it reaches the middleware (`Content-Type`,
/// maybe `X-Line-Retry-Key`; reqwest adds its defaults later).
const INLINE_HEADERS: usize = 2;

/// URL bytes kept without allocating: LINE's API URLs are shorter.
const INLINE_URL: usize = 96;

/// Bodies up to this size are copied; larger ones are shared.
const COPIED_BODY_MAX: usize = 4 * 1024;

/// A request, kept to be sent again: everything reqwest sends of it
/// (method, URL, headers, version, timeout and body).
pub(super) enum Replay {
    /// A request with a small body, or none, in parts.
    Parts(Parts),
    /// A request with a large body, which it shares.
    Whole(reqwest::Request),
}

/// A request in parts.
pub(super) struct Parts {
    method: Method,
    /// The URL as text.
    url: SmallVec<[u8; INLINE_URL]>,
    headers: SmallVec<[(HeaderName, HeaderValue); INLINE_HEADERS]>,
    version: Version,
    timeout: Option<Duration>,
    body: Option<Bytes>,
}

impl Replay {
    /// What is needed to send `request` again, or `None` when its body is
    /// a stream.
    pub(super) fn of(request: &reqwest::Request) -> Option<Self> {
        let body = match request.body() {
            None => None,
            Some(body) => match body.as_bytes() {
                Some(bytes) if bytes.len() <= COPIED_BODY_MAX => {
                    Some(Bytes::copy_from_slice(bytes))
                }
                _ => return request.try_clone().map(Self::Whole),
            },
        };
        Some(Self::Parts(Parts {
            method: request.method().clone(),
            url: SmallVec::from_slice(request.url().as_str().as_bytes()),
            headers: request
                .headers()
                .iter()
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
            version: request.version(),
            timeout: request.timeout().copied(),
            body,
        }))
    }

    /// The request again, with `authorization` set; `None` should its URL
    /// not read back.
    pub(super) fn request(self, authorization: HeaderValue) -> Option<reqwest::Request> {
        let mut request = match self {
            Self::Whole(request) => request,
            Self::Parts(parts) => parts.request()?,
        };
        request.headers_mut().insert(AUTHORIZATION, authorization);
        Some(request)
    }
}

impl Parts {
    /// The request these parts make.
    fn request(self) -> Option<reqwest::Request> {
        let url = std::str::from_utf8(&self.url).ok()?.parse().ok()?;
        let mut request = reqwest::Request::new(self.method, url);
        let headers = request.headers_mut();
        headers.reserve(self.headers.len() + 1);
        for (name, value) in self.headers {
            headers.append(name, value);
        }
        *request.version_mut() = self.version;
        if self.timeout.is_some() {
            *request.timeout_mut() = self.timeout;
        }
        *request.body_mut() = self.body.map(reqwest::Body::from);
        Some(request)
    }
}

#[cfg(test)]
mod tests {
    use futures_util::stream;

    use super::*;

    fn post(body: reqwest::Body) -> reqwest::Request {
        reqwest::Client::new()
            .post("https://api.line.me/v2/bot/message/push?x=1")
            .header("content-type", "application/json")
            .header("x-line-retry-key", "123e4567-e89b-12d3-a456-426614174000")
            .timeout(Duration::from_secs(7))
            .version(Version::HTTP_2)
            .body(body)
            .build()
            .expect("a request")
    }

    fn body(request: &reqwest::Request) -> Option<&[u8]> {
        request.body().and_then(reqwest::Body::as_bytes)
    }

    /// `original` kept and rebuilt: it must come back with `Authorization`
    /// added and nothing else changed.
    fn assert_replays(original: &reqwest::Request) -> reqwest::Request {
        let replayed = Replay::of(original)
            .expect("replayable")
            .request(HeaderValue::from_static("Bearer B"))
            .expect("a request");
        let mut expected = original.headers().clone();
        expected.insert(AUTHORIZATION, HeaderValue::from_static("Bearer B"));
        assert_eq!(replayed.method(), original.method());
        assert_eq!(replayed.url(), original.url());
        assert_eq!(replayed.headers(), &expected);
        assert_eq!(replayed.version(), original.version());
        assert_eq!(replayed.timeout(), original.timeout());
        assert_eq!(body(&replayed), body(original));
        replayed
    }

    #[test]
    fn a_request_with_a_small_body_comes_back_whole() {
        assert_replays(&post(reqwest::Body::from(r#"{"to":"U1"}"#)));
    }

    #[test]
    fn a_request_with_a_large_body_comes_back_whole() {
        let large = vec![b'x'; COPIED_BODY_MAX + 1];
        assert_replays(&post(reqwest::Body::from(large)));
    }

    #[test]
    fn many_headers_a_long_url_and_repeated_values_come_back() {
        let long = format!("https://api.line.me/v2/bot/{}", "p".repeat(300));
        let mut builder = reqwest::Client::new().get(&long);
        for i in 0..10 {
            builder = builder.header(format!("x-h{i}"), i.to_string());
        }
        let original = builder
            .header("accept", "a")
            .header("accept", "b")
            .build()
            .expect("a request");
        let replayed = assert_replays(&original);
        let accepts: Vec<_> = replayed.headers().get_all("accept").iter().collect();
        assert_eq!(accepts, ["a", "b"], "both values, in order");
    }

    #[test]
    fn a_request_without_body_or_timeout_comes_back_without() {
        let original = reqwest::Client::new()
            .get("https://api.line.me/v2/bot/info")
            .build()
            .expect("a request");
        let replayed = assert_replays(&original);
        assert!(replayed.body().is_none() && replayed.timeout().is_none());
    }

    #[test]
    fn an_empty_body_stays_an_empty_body() {
        let replayed = assert_replays(&post(reqwest::Body::from("")));
        assert_eq!(body(&replayed), Some(&b""[..]));
    }

    #[test]
    fn a_streamed_body_is_not_replayable() {
        let chunks = stream::iter([Ok::<_, std::io::Error>(Bytes::from("{}"))]);
        assert!(Replay::of(&post(reqwest::Body::wrap_stream(chunks))).is_none());
    }
}
