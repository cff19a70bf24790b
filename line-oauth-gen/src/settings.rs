//! Every progenitor setting of the generated client, in one place.

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
/// - Models derive `schemars::JsonSchema`.
/// - Secret schemas become `line-oauth`'s redacting secret types.
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
        .with_derive("schemars::JsonSchema");
    for (schema, rust_type) in SECRET_REPLACEMENTS {
        settings.with_replacement(schema, rust_type, std::iter::empty());
    }
    settings
}
