//! Changes to progenitor's output that its settings cannot express.

use quote::ToTokens;
use syn::visit_mut::{self, VisitMut};

/// The header progenitor adds to every request, carrying the spec's
/// `info.version`. LINE does not use it, so it is not generated at all.
const API_VERSION_HEADER: &str = "\"api-version\"";

/// Applies every post-processing step to the generated file.
pub(crate) fn postprocess(file: &mut syn::File) {
    StripApiVersionHeader.visit_file_mut(file);
}

/// Removes the statements that add the `api-version` header.
struct StripApiVersionHeader;

impl VisitMut for StripApiVersionHeader {
    fn visit_block_mut(&mut self, block: &mut syn::Block) {
        block.stmts.retain(|stmt| {
            !stmt
                .to_token_stream()
                .to_string()
                .contains(API_VERSION_HEADER)
        });
        visit_mut::visit_block_mut(self, block);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_api_version_statement_goes() {
        let mut file: syn::File = syn::parse_quote! {
            async fn op() {
                let mut header_map = HeaderMap::with_capacity(1usize);
                header_map.append(HeaderName::from_static("api-version"), HeaderValue::from_static("1"));
                header_map.append(HeaderName::from_static("x-other"), HeaderValue::from_static("1"));
                send(header_map);
            }
        };
        postprocess(&mut file);
        let text = file.to_token_stream().to_string();
        assert!(!text.contains("api-version"), "{text}");
        assert!(text.contains("x-other") && text.contains("send"), "{text}");
    }
}
