//! Keeping secrets out of error text.

/// Text that replaces a secret.
const REDACTED: &str = "[redacted]";
/// The most characters of a response body an error keeps.
const SNIPPET_CHARS: usize = 200;

/// `text` with every occurrence of each secret replaced, both as given and
/// form-encoded (as it went over the wire, should a server echo it).
pub(crate) fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut text = text.to_owned();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        let encoded: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        for form in [*secret, encoded.as_str()] {
            if text.contains(form) {
                text = text.replace(form, REDACTED);
            }
        }
    }
    text
}

/// The start of a response body, fit for an error message: lossy UTF-8,
/// secrets scrubbed, control characters replaced, at most
/// [`SNIPPET_CHARS`] characters.
pub(crate) fn snippet(body: &[u8], secrets: &[&str]) -> String {
    let text = scrub(&String::from_utf8_lossy(body), secrets);
    let mut snippet: String = text
        .chars()
        .take(SNIPPET_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(SNIPPET_CHARS).is_some() {
        snippet.push('…');
    }
    snippet
}

/// A transport error without its URL's query string, fragment or user
/// info: the GET calls carry tokens and assertions in the query.
pub(crate) fn without_secrets(mut error: reqwest::Error) -> reqwest::Error {
    if let Some(url) = error.url_mut() {
        url.set_query(None);
        url.set_fragment(None);
        let _ = url.set_username("");
        let _ = url.set_password(None);
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_removes_plain_and_form_encoded_secrets() {
        let text = "token=ab+c/d= echoed: ab+c/d= and ab%2Bc%2Fd%3D";
        assert_eq!(
            scrub(text, &["ab+c/d=", ""]),
            "token=[redacted] echoed: [redacted] and [redacted]"
        );
    }

    #[test]
    fn snippet_is_short_single_line_and_scrubbed() {
        let body = format!("<html>\n<p>secret-x</p>{}</html>", "a".repeat(500));
        let s = snippet(body.as_bytes(), &["secret-x"]);
        assert!(s.starts_with("<html> <p>[redacted]</p>"), "{s}");
        assert_eq!(s.chars().count(), SNIPPET_CHARS + 1);
        assert_eq!(snippet(b"\xff\xfe", &[]), "\u{fffd}\u{fffd}");
    }
}
