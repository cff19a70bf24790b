//! With line-oauth's own spans filtered out (a subscriber at INFO; they are
//! DEBUG), a call made inside the caller's span leaves that span's fields
//! alone: the hook writes only into line-oauth's call span.
//!
//! Its own binary: it installs the process's global subscriber.

mod support;

use support::{Capture, setup};
use tracing::Instrument;
use tracing_subscriber::filter::LevelFilter;

#[test]
fn a_callers_span_keeps_its_own_fields() {
    let capture = Capture::install(LevelFilter::INFO);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let s = setup().await;
        let handler =
            tracing::info_span!("handler", path = "/webhook", status = tracing::field::Empty);
        s.client
            .issue_short_lived(&s.creds)
            .instrument(handler)
            .await
            .unwrap();
    });
    let text = capture.text();
    assert!(text.contains("handler{path=\"/webhook\"}"), "{text}");
    assert!(!text.contains("/v2/oauth/accessToken"), "{text}");
    assert!(!text.contains("status="), "{text}");
}
