//! The tour's work with a Prometheus recorder installed, then the scrape
//! text: every metric line-oauth records, as a Prometheus server would
//! read it from `/metrics`.
//!
//! ```sh
//! cargo run --example prometheus --features metrics
//! ```
//!
//! Offline against the fake LINE server, or against LINE with the
//! variables the tour reads. Channel labels are on: the tour has three
//! channels.

use std::process::ExitCode;

use line_oauth::Metrics;
use metrics_exporter_prometheus::PrometheusBuilder;

#[path = "tour.rs"]
#[expect(dead_code, reason = "the tour's own main, unused here")]
mod tour;

#[tokio::main]
async fn main() -> ExitCode {
    let recorder = PrometheusBuilder::new().build_recorder();
    let scrape = recorder.handle();
    if metrics::set_global_recorder(recorder).is_err() {
        eprintln!("a metrics recorder is installed already");
        return ExitCode::FAILURE;
    }
    Metrics::label_channels(true);
    if let Err(e) = tour::run().await {
        eprintln!("tour failed: {e}");
        return ExitCode::FAILURE;
    }
    println!("\n== scrape (/metrics) ==\n{}", scrape.render());
    ExitCode::SUCCESS
}
