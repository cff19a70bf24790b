//! Keeping secrets out of error text.

/// Text that replaces a secret.
const REDACTED: &str = "[redacted]";
/// The most characters of a response body an error keeps.
const SNIPPET_CHARS: usize = 200;

/// Text from a response, fit for an error: the call's secrets scrubbed and
/// anything token-shaped masked.
pub(crate) fn clean(text: &str, secrets: &[&str]) -> String {
    mask_token_like(&scrub(text, secrets))
}

/// `text` with every occurrence of each secret replaced, both as given and
/// form-encoded (as it went over the wire, should a server echo it). For
/// short identifiers (an error code, a request ID) that may look like a
/// token without being one.
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

/// Runs of this many token characters or more are masked in snippets.
const TOKEN_LIKE_CHARS: usize = 20;

/// The start of a response body, fit for an error message: lossy UTF-8,
/// the call's secrets scrubbed, anything that looks like a token or secret
/// masked (a body may carry a token the call never knew, such as a newly
/// issued one), control characters replaced, at most [`SNIPPET_CHARS`]
/// characters.
pub(crate) fn snippet(body: &[u8], secrets: &[&str]) -> String {
    let text = clean(&String::from_utf8_lossy(body), secrets);
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

/// `text` with every run of at least [`TOKEN_LIKE_CHARS`] characters that
/// tokens, secrets and JWTs are made of (base64 of either alphabet, `.`, hex)
/// replaced.
fn mask_token_like(text: &str) -> String {
    let is_token_char = |c: char| c.is_ascii_alphanumeric() || "+/=-_.".contains(c);
    let mut masked = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, masked: &mut String| {
        if run.chars().count() >= TOKEN_LIKE_CHARS {
            masked.push_str(REDACTED);
        } else {
            masked.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if is_token_char(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut masked);
            masked.push(c);
        }
    }
    flush(&mut run, &mut masked);
    masked
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
        let body = format!("<html>\n<p>secret-x</p>{}</html>", "a b ".repeat(200));
        let s = snippet(body.as_bytes(), &["secret-x"]);
        assert!(s.starts_with("<html> <p>[redacted]</p>"), "{s}");
        assert_eq!(s.chars().count(), SNIPPET_CHARS + 1);
        assert_eq!(snippet(b"\xff\xfe", &[]), "\u{fffd}\u{fffd}");
    }

    #[test]
    fn snippet_masks_tokens_the_call_did_not_know() {
        let body =
            br#"{"access_token":"eyJhbGciOiJIUzI1NiJ9.eyJ4IjoxfQ.c2ln","expires_in":"soon"}"#;
        assert_eq!(
            snippet(body, &[]),
            r#"{"access_token":"[redacted]","expires_in":"soon"}"#
        );
        assert_eq!(snippet(b"502 Bad Gateway", &[]), "502 Bad Gateway");
    }
}
