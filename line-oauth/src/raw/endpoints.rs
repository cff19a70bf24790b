//! The base URL, parsed once. The generated client makes each call's URL
//! from it (`line-oauth-gen` rewrites its `format!` of the base URL into
//! [`Endpoints::url`]), so no call parses a whole URL again.

use reqwest::Url;

/// The base URL that calls go to, parsed, without a trailing `/`.
#[derive(Debug, Clone)]
pub(crate) struct Endpoints {
    base: Url,
}

impl Endpoints {
    /// Endpoints under `base`, a URL the builder has checked.
    pub(crate) fn new(base: Url) -> Self {
        Self { base }
    }

    /// The URL of the operation at `path`, such as `/v2/oauth/verify`: the
    /// base with `path` after its own path.
    pub(crate) fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let joined = format!("{}{path}", self.base.path().trim_end_matches('/'));
        url.set_path(&joined);
        url
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_go_after_the_base_path() {
        let at = |base: &str| Endpoints::new(Url::parse(base).unwrap());
        assert_eq!(
            at("https://api.line.me").url("/v2/oauth/verify").as_str(),
            "https://api.line.me/v2/oauth/verify"
        );
        assert_eq!(
            at("https://proxy.example/line/")
                .url("/oauth2/v3/token")
                .as_str(),
            "https://proxy.example/line/oauth2/v3/token"
        );
        assert_eq!(
            at("http://127.0.0.1:8080")
                .url("/oauth2/v2.1/verify")
                .as_str(),
            "http://127.0.0.1:8080/oauth2/v2.1/verify"
        );
    }
}
