//! Changes to progenitor's output that its settings cannot express.

use quote::{ToTokens, quote};
use syn::visit_mut::{self, VisitMut};

/// The header progenitor adds to every request, carrying the spec's
/// `info.version`. LINE does not use it, so it is not generated at all.
const API_VERSION_HEADER: &str = "\"api-version\"";

/// Applies every post-processing step to the generated file.
pub(crate) fn postprocess(file: &mut syn::File) {
    StripApiVersionHeader.visit_file_mut(file);
    let mut urls = UrlsFromEndpoints::default();
    urls.visit_file_mut(file);
    file.items.push(urls.fixed_paths_item());
}

/// The constant listing every path that [`UrlsFromEndpoints`] hands to
/// `Endpoints::url`, so that the endpoints can build those URLs once.
const FIXED_PATHS: &str = "FIXED_PATHS";

/// Makes each operation's URL from the client's pre-parsed `Endpoints`
/// (`self.inner.url("/path")`) instead of formatting a string that reqwest
/// then parses on every call: `format!("{}/path", self.baseurl,)` becomes
/// `self.inner.url("/path")`. URLs with path parameters are left as they
/// are. The paths it rewrote are listed in a constant, [`FIXED_PATHS`], at
/// the end of the file.
#[derive(Default)]
struct UrlsFromEndpoints {
    paths: Vec<String>,
}

impl UrlsFromEndpoints {
    /// `pub const FIXED_PATHS: &[&str] = &[...];`, in the order the paths
    /// appear, each once.
    fn fixed_paths_item(&self) -> syn::Item {
        let name = syn::Ident::new(FIXED_PATHS, proc_macro2::Span::call_site());
        let paths = &self.paths;
        syn::parse_quote! {
            /// The path of every operation whose URL `Endpoints::url` makes.
            pub const #name: &[&str] = &[#(#paths),*];
        }
    }
}

impl VisitMut for UrlsFromEndpoints {
    fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
        if let syn::Expr::Macro(call) = expr
            && let Some(path) = fixed_path(&call.mac)
        {
            *expr = syn::parse_quote!(self.inner.url(#path));
            if !self.paths.contains(&path) {
                self.paths.push(path);
            }
            return;
        }
        visit_mut::visit_expr_mut(self, expr);
    }
}

/// The path of `format!("{}/path", self.baseurl,)`, when the path has no
/// parameters.
fn fixed_path(mac: &syn::Macro) -> Option<String> {
    if !mac.path.is_ident("format") {
        return None;
    }
    let args = mac
        .parse_body_with(syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated)
        .ok()?;
    let mut args = args.iter();
    let (Some(syn::Expr::Lit(format)), Some(base), None) = (args.next(), args.next(), args.next())
    else {
        return None;
    };
    let syn::Lit::Str(format) = &format.lit else {
        return None;
    };
    let path = format.value().strip_prefix("{}")?.to_owned();
    let is_base_url = base.to_token_stream().to_string() == quote!(self.baseurl).to_string();
    (is_base_url && !path.contains(['{', '}'])).then_some(path)
}

/// The per-request header map progenitor builds and merges into each
/// request.
const HEADER_MAP: &str = "header_map";

/// Removes the statements that add the `api-version` header, and then the
/// header map itself where nothing else goes into it (one allocation and
/// one merge less per call).
struct StripApiVersionHeader;

impl VisitMut for StripApiVersionHeader {
    fn visit_block_mut(&mut self, block: &mut syn::Block) {
        block.stmts.retain(|stmt| {
            !stmt
                .to_token_stream()
                .to_string()
                .contains(API_VERSION_HEADER)
        });
        if header_map_is_unused(block) {
            block.stmts.retain(|stmt| !declares_header_map(stmt));
            DropEmptyHeaders.visit_block_mut(block);
        }
        visit_mut::visit_block_mut(self, block);
    }
}

/// Whether the block only declares the header map and merges it: its name
/// appears twice, in `let mut header_map = ...` and `.headers(header_map)`.
fn header_map_is_unused(block: &syn::Block) -> bool {
    let text = block.to_token_stream().to_string();
    let mentions = text.matches(HEADER_MAP).count();
    mentions == 2 && block.stmts.iter().any(declares_header_map)
}

fn declares_header_map(stmt: &syn::Stmt) -> bool {
    matches!(stmt, syn::Stmt::Local(local) if local.pat.to_token_stream().to_string().ends_with(HEADER_MAP))
}

/// Replaces `receiver.headers(header_map)` with `receiver`.
struct DropEmptyHeaders;

impl VisitMut for DropEmptyHeaders {
    fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
        visit_mut::visit_expr_mut(self, expr);
        if let syn::Expr::MethodCall(call) = expr
            && call.method == "headers"
            && call.args.to_token_stream().to_string() == HEADER_MAP
        {
            *expr = (*call.receiver).clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_urls_come_from_the_endpoints_and_others_stay() {
        let mut file: syn::File = syn::parse_quote! {
            async fn op() {
                let url = format!("{}/v2/oauth/verify", self.baseurl,);
                let other = format!("{}/items/{}", self.baseurl, id);
                let text = format!("{} items", count);
            }
        };
        postprocess(&mut file);
        let text = file.to_token_stream().to_string();
        assert!(
            text.contains(r#"self . inner . url ("/v2/oauth/verify")"#),
            "{text}"
        );
        assert!(text.contains(r#"format ! ("{}/items/{}""#), "{text}");
        assert!(text.contains(r#"format ! ("{} items""#), "{text}");
    }

    #[test]
    fn the_fixed_paths_are_listed_once_each() {
        let mut file: syn::File = syn::parse_quote! {
            async fn verify() { let url = format!("{}/v2/oauth/verify", self.baseurl,); }
            async fn again() { let url = format!("{}/v2/oauth/verify", self.baseurl,); }
            async fn revoke() { let url = format!("{}/v2/oauth/revoke", self.baseurl,); }
            async fn item() { let url = format!("{}/items/{}", self.baseurl, id); }
        };
        postprocess(&mut file);
        let text = file.items.last().unwrap().to_token_stream().to_string();
        assert!(
            text.ends_with(
                r#"pub const FIXED_PATHS : & [& str] = & ["/v2/oauth/verify" , "/v2/oauth/revoke"] ;"#
            ),
            "{text}"
        );
    }

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

    #[test]
    fn a_header_map_left_empty_goes_and_a_used_one_stays() {
        let mut file: syn::File = syn::parse_quote! {
            async fn empty() {
                let mut header_map = HeaderMap::with_capacity(1usize);
                header_map.append(HeaderName::from_static("api-version"), HeaderValue::from_static("1"));
                let request = client.post(url).headers(header_map).build()?;
            }
            async fn used() {
                let mut header_map = HeaderMap::with_capacity(1usize);
                header_map.append(HeaderName::from_static("x-other"), HeaderValue::from_static("1"));
                let request = client.post(url).headers(header_map).build()?;
            }
        };
        postprocess(&mut file);
        let text = file.to_token_stream().to_string();
        assert_eq!(text.matches("header_map").count(), 3, "{text}");
        assert!(text.contains("client . post (url) . build ()"), "{text}");
    }
}
