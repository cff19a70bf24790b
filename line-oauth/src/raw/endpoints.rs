//! The base URL, parsed once, and the URL of each fixed operation path,
//! built once from it. The generated client asks for each call's URL here
//! (`line-oauth-gen` rewrites its `format!` of the base URL into
//! [`Endpoints::url`], and lists those paths in `FIXED_PATHS`), so no call
//! parses a URL or any part of one again.

use reqwest::Url;

/// The base URL that calls go to, and the URLs of the paths built ahead.
#[derive(Debug, Clone)]
pub(crate) struct Endpoints {
    base: Url,
    built: Box<[(&'static str, Url)]>,
}

impl Endpoints {
    /// Endpoints under `base`, a URL the builder has checked, with the URL
    /// of each of `paths` built now.
    pub(crate) fn new(base: Url, paths: &[&'static str]) -> Self {
        let built = paths
            .iter()
            .map(|path| (*path, join(&base, path)))
            .collect();
        Self { base, built }
    }

    /// The URL of the operation at `path`, such as `/v2/oauth/verify`: the
    /// base with `path` after its own path. A copy of the one built ahead
    /// when there is one.
    pub(crate) fn url(&self, path: &str) -> Url {
        match self.built.iter().find(|(built, _)| *built == path) {
            Some((_, url)) => url.clone(),
            None => join(&self.base, path),
        }
    }
}

/// `base` with `path` after its own path (whose trailing `/` goes).
fn join(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let joined = format!("{}{path}", base.path().trim_end_matches('/'));
    url.set_path(&joined);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATHS: &[&str] = &["/v2/oauth/verify", "/oauth2/v3/token"];

    fn at(base: &str) -> Endpoints {
        Endpoints::new(Url::parse(base).unwrap(), PATHS)
    }

    #[test]
    fn paths_go_after_the_base_path() {
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
    }

    #[test]
    fn a_path_not_built_ahead_is_joined_the_same_way() {
        for base in ["http://127.0.0.1:8080", "https://proxy.example/line/"] {
            let endpoints = at(base);
            let unlisted = endpoints.url("/oauth2/v2.1/verify");
            let expected = format!("{}/oauth2/v2.1/verify", base.trim_end_matches('/'));
            assert_eq!(unlisted.as_str(), expected);
            for path in PATHS {
                assert_eq!(endpoints.url(path), join(&endpoints.base, path));
            }
        }
    }
}
