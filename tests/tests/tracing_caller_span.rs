//! With line-oauth's own spans filtered out (a subscriber at INFO; they are
//! DEBUG), a call made inside the caller's span leaves that span's fields
//! alone: the hook writes only into line-oauth's call span.
//!
//! Its own binary: it installs the process's global subscriber.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use support::setup;
use tracing::Instrument;
use tracing_subscriber::fmt::format::FmtSpan;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_callers_span_keeps_its_own_fields() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .try_init()
        .expect("the only subscriber of this binary");
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
    let text = String::from_utf8_lossy(&capture.0.lock().unwrap()).into_owned();
    assert!(text.contains("handler{path=\"/webhook\"}"), "{text}");
    assert!(!text.contains("/v2/oauth/accessToken"), "{text}");
    assert!(!text.contains("status="), "{text}");
}
