//! Turns line-oauth's OpenAPI spec into the Rust source of its generated client.
//!
//! One entry point, [`generate`]: spec text in, formatted Rust source out
//! (YAML -> [`openapiv3`] -> progenitor -> [`syn`] -> prettyplease). Every
//! generator setting lives in [`settings`] (with [`untyped_errors`], which
//! leaves error statuses to the hand-written call path). The two changes
//! progenitor's settings cannot make are post-processing steps on the
//! syntax tree: dropping its `api-version` request header, which LINE does
//! not use (and the header map it leaves empty), and making each fixed URL
//! from the client's pre-parsed `Endpoints` instead of formatting a string
//! reqwest parses again (listing those paths in `FIXED_PATHS`, so that the
//! endpoints can build each URL once). The generated code changes only when the spec,
//! this crate or a pinned dependency changes.
//!
//! ```
//! let spec = r#"
//! openapi: 3.0.3
//! info: { title: Demo, version: "1" }
//! paths:
//!   /ping:
//!     get:
//!       operationId: ping
//!       responses:
//!         "200": { description: OK }
//! "#;
//! let source = line_oauth_gen::generate("spec/demo.yaml", spec).unwrap();
//! assert!(source.starts_with("// @generated"));
//! assert!(source.contains("pub async fn ping"));
//! ```

mod error;
mod header;
mod postprocess;
mod settings;

pub use error::GenError;
pub use settings::{settings, untyped_errors};

use std::panic::{AssertUnwindSafe, catch_unwind};

use openapiv3::OpenAPI;
use progenitor::Generator;

/// Generates the client for the spec `text`, read from the file `spec_path`.
///
/// `spec_path` only names the spec in the header of the output. Line endings
/// of `text` are normalised to `\n` first, so a checkout with CRLF endings
/// gives the same bytes. The output is deterministic.
///
/// # Errors
///
/// [`GenError`] when the text is not YAML, is not an OpenAPI 3.0 document, or
/// holds something the generator cannot handle. It never panics: a panic
/// inside progenitor becomes [`GenError::Generator`].
///
/// # Example
///
/// ```
/// let err = line_oauth_gen::generate("spec/bad.yaml", "openapi: [").unwrap_err();
/// assert!(err.to_string().contains("spec/bad.yaml"));
/// ```
pub fn generate(spec_path: &str, text: &str) -> Result<String, GenError> {
    let text = text.replace("\r\n", "\n");
    let mut spec: OpenAPI = serde_saphyr::from_str(&text).map_err(|e| GenError::Parse {
        spec: spec_path.to_owned(),
        detail: e.to_string(),
    })?;
    untyped_errors(&mut spec);
    let tokens = run_progenitor(&spec).map_err(|detail| GenError::Generator {
        spec: spec_path.to_owned(),
        detail,
    })?;
    let mut file: syn::File = syn::parse2(tokens).map_err(|e| GenError::Syntax(e.to_string()))?;
    postprocess::postprocess(&mut file);
    let body = prettyplease::unparse(&file);
    Ok(header::header(spec_path, &text) + &body)
}

/// Runs progenitor on `spec`, turning both its errors and its panics into text.
fn run_progenitor(spec: &OpenAPI) -> Result<proc_macro2::TokenStream, String> {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        Generator::new(&settings()).generate_tokens(spec)
    }));
    match outcome {
        Ok(Ok(tokens)) => Ok(tokens),
        Ok(Err(e)) => Err(e.to_string()),
        Err(panic) => Err(panic_text(panic.as_ref())),
    }
}

/// The message of a caught panic, when it carries one.
fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned());
    format!("progenitor panicked: {message}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal valid spec with one operation; `{extra}` is spliced into the
    /// operation and `{op_id}` is its operationId line.
    fn spec(op_id: &str, extra: &str) -> String {
        format!(
            "openapi: 3.0.3\n\
             info: {{ title: T, version: '1' }}\n\
             paths:\n  \
               /ping:\n    \
                 post:\n      \
                   {op_id}\n      \
                   responses:\n        \
                     '200': {{ description: OK }}\n\
             {extra}"
        )
    }

    fn generate_err(text: &str) -> GenError {
        generate("spec/test.yaml", text).expect_err("the spec should be refused")
    }

    #[test]
    fn a_valid_spec_generates_the_operation() {
        let source = generate("spec/test.yaml", &spec("operationId: ping", "")).unwrap();
        assert!(source.contains("pub async fn ping"), "{source}");
    }

    #[test]
    fn invalid_yaml_is_a_parse_error_naming_the_spec() {
        let err = generate_err("openapi: 3.0.3\ninfo: [unclosed\n");
        assert!(matches!(err, GenError::Parse { .. }), "{err:?}");
        assert!(
            err.to_string().starts_with("spec/test.yaml is not a valid"),
            "{err}"
        );
    }

    #[test]
    fn a_duplicated_key_is_refused_not_silently_merged() {
        let text = spec("operationId: ping", "").replace(
            "'200': { description: OK }",
            "'200': { description: OK }\n        '200': { description: Again }",
        );
        let err = generate_err(&text);
        assert!(matches!(err, GenError::Parse { .. }), "{err:?}");
        assert!(
            err.to_string().to_lowercase().contains("duplicate"),
            "{err}"
        );
    }

    #[test]
    fn an_operation_without_operation_id_is_named() {
        let err = generate_err(&spec("summary: no id", ""));
        assert!(matches!(err, GenError::Generator { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("/ping") && text.contains("missing operation ID"),
            "{text}"
        );
    }

    #[test]
    fn a_body_with_two_media_types_is_an_error_not_a_panic() {
        // progenitor panics on a request body with more than one media type.
        let body = "      requestBody:\n        \
                      content:\n          \
                        application/json: { schema: { type: object } }\n          \
                        application/x-www-form-urlencoded: { schema: { type: object } }\n";
        let text = spec("operationId: ping", "")
            .replace("      responses:", &format!("{body}      responses:"));
        let err = generate_err(&text);
        assert!(matches!(err, GenError::Generator { .. }), "{err:?}");
        assert!(err.to_string().contains("progenitor panicked"), "{err}");
    }

    #[test]
    fn openapi_3_1_is_refused() {
        let err = generate_err(&spec("operationId: ping", "").replace("3.0.3", "3.1.0"));
        assert!(err.to_string().contains("3.1.0"), "{err}");
    }

    #[test]
    fn crlf_line_endings_give_the_same_output() {
        let lf = spec("operationId: ping", "");
        let crlf = lf.replace('\n', "\r\n");
        assert_eq!(
            generate("spec/test.yaml", &lf).unwrap(),
            generate("spec/test.yaml", &crlf).unwrap()
        );
    }
}
