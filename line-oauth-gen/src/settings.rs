//! Every progenitor setting of the generated client, in one place.

use openapiv3::{OpenAPI, ReferenceOr};
use progenitor::{GenerationSettings, HooksMode, InterfaceStyle, TagStyle};

/// Spec schemas that hold secrets, and the hand-written `line-oauth` types that
/// replace them. Those types never print their value in `Debug` or `Display`.
const SECRET_REPLACEMENTS: [(&str, &str); 3] = [
    ("AccessToken", "crate::secret::AccessToken"),
    ("ClientSecret", "crate::secret::ClientSecret"),
    ("ClientAssertion", "crate::secret::ClientAssertion"),
];

/// The progenitor settings for line-oauth's generated client.
///
/// - Positional interface: required arguments are checked at compile time.
/// - Hooks expected: `line-oauth` must implement `ClientHooks` for the
///   generated `Client` (forgetting it is a compile error).
/// - No schema derives: the generated types are sealed inside `line-oauth`,
///   where no user can reach them.
/// - Secret schemas become `line-oauth`'s redacting secret types.
/// - The client carries `line-oauth`'s `Endpoints`, the base URL parsed once,
///   from which each call's URL is made (see `postprocess`).
///
/// ```
/// let _settings = line_oauth_gen::settings();
/// ```
pub fn settings() -> GenerationSettings {
    let mut settings = GenerationSettings::new();
    settings
        .with_interface(InterfaceStyle::Positional)
        .with_tag(TagStyle::Merged)
        .with_hooks(HooksMode::Expected)
        .with_inner_type(quote::quote!(crate::raw::Endpoints));
    for (schema, rust_type) in SECRET_REPLACEMENTS {
        settings.with_replacement(schema, rust_type, std::iter::empty());
    }
    settings
}

/// The spec as the generator sees it: every operation without its error
/// responses, so the generated client hands back every error status as the
/// whole response (`UnexpectedResponse`). Typed, progenitor would hand back
/// an error body that fails to decode without its status and headers; the
/// hand-written call path needs all three together. The spec keeps its error
/// responses for readers and other tools, and `ErrorResponse` is still
/// generated as a component schema.
///
/// ```
/// let mut spec: openapiv3::OpenAPI = serde_saphyr::from_str(r#"
/// openapi: 3.0.3
/// info: { title: T, version: "1" }
/// paths:
///   /ping:
///     get:
///       responses:
///         "200": { description: OK }
///         "400": { description: refused }
///         "5XX": { description: down }
/// "#).unwrap();
/// line_oauth_gen::untyped_errors(&mut spec);
/// let op = spec.paths.paths["/ping"].as_item().unwrap().get.as_ref().unwrap();
/// assert_eq!(op.responses.responses.len(), 1);
/// ```
pub fn untyped_errors(spec: &mut OpenAPI) {
    for item in spec.paths.paths.values_mut() {
        let ReferenceOr::Item(item) = item else {
            continue;
        };
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            operation
                .responses
                .responses
                .retain(|status, _| is_success(status));
            operation.responses.default = None;
        }
    }
}

/// Whether a response key is a 2xx status or the 2XX range.
fn is_success(status: &openapiv3::StatusCode) -> bool {
    match status {
        openapiv3::StatusCode::Code(code) => (200..300).contains(code),
        openapiv3::StatusCode::Range(range) => *range == 2,
    }
}
