//! The v2.1 budget against the fake: `Client::v21_budget` counts a
//! channel's tokens, and the `V21` provider, after each issuance, sets the
//! gauge and warns from 25 in use, naming the channel and never a token.
//!
//! Its own binary: it installs the process's global subscriber.

mod support;

use std::time::Duration;

use line_oauth::{Metrics, TokenProvider, V21, V21Budget};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use support::{CHANNEL, Capture, setup};
use tracing_subscriber::filter::LevelFilter;

const HOUR: Duration = Duration::from_secs(3600);

/// The warnings about the budget in `text`.
fn budget_warnings(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|line| line.contains("WARN") && line.contains("limit of 30"))
        .collect()
}

/// Waits until `done` holds for the capture's text; fails after 10 s.
async fn wait_for(capture: &Capture, done: impl Fn(&str) -> bool) {
    for _ in 0..1000 {
        if done(&capture.text()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("not within 10 s:\n{}", capture.text());
}

#[test]
fn the_v21_provider_warns_from_25_tokens_naming_the_channel_never_a_token() {
    let capture = Capture::install(LevelFilter::INFO);
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let tokens = metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let setup = setup().await;
            let mut tokens = Vec::new();
            for _ in 0..23 {
                let issued = setup.client.issue_v21(&setup.signer, HOUR).await.unwrap();
                tokens.push(issued.access_token().expose_secret().to_owned());
            }
            let budget = setup.client.v21_budget(&setup.signer).await.unwrap();
            assert_eq!(budget, V21Budget::new(23));
            assert_eq!(budget.left(), 7);

            let provider = V21::new(setup.client.clone(), setup.signer.clone(), HOUR);
            // The 24th: counted, no warning.
            let issued = provider.issue().await.unwrap();
            tokens.push(issued.access_token().expose_secret().to_owned());
            wait_for(&capture, |_| {
                snapshotter
                    .snapshot()
                    .into_vec()
                    .iter()
                    .any(|(key, ..)| key.key().name() == Metrics::V21_TOKENS)
            })
            .await;
            assert!(
                budget_warnings(&capture.text()).is_empty(),
                "{}",
                capture.text()
            );

            // The 25th: a warning.
            let issued = provider.issue().await.unwrap();
            tokens.push(issued.access_token().expose_secret().to_owned());
            wait_for(&capture, |text| !budget_warnings(text).is_empty()).await;
            let budget = setup.client.v21_budget(&setup.signer).await.unwrap();
            assert_eq!(budget.in_use, 25);
            assert!(budget.is_near_limit());

            // The 26th, from a provider told not to count: no count follows.
            let quiet =
                V21::new(setup.client.clone(), setup.signer.clone(), HOUR).count_tokens(false);
            let issued = quiet.issue().await.unwrap();
            tokens.push(issued.access_token().expose_secret().to_owned());
            tokio::time::sleep(Duration::from_millis(300)).await;
            tokens
        })
    });
    let text = capture.text();
    let warnings = budget_warnings(&text);
    assert_eq!(warnings.len(), 1, "{text}");
    assert!(
        warnings[0].contains(&format!("channel_id=\"{CHANNEL}\""))
            || warnings[0].contains(&format!("channel_id={CHANNEL}")),
        "{}",
        warnings[0]
    );
    assert!(warnings[0].contains("in_use=25"), "{}", warnings[0]);
    for token in &tokens {
        assert!(!text.contains(token.as_str()), "a token in the logs");
    }
    assert_eq!(budget_warnings(&text).len(), 1, "the quiet provider warned");
    let counts: Vec<(&str, DebugValue)> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, _, _, value)| {
            let name = key.key().name();
            [Metrics::V21_TOKENS, Metrics::V21_NEAR_LIMIT]
                .into_iter()
                .find(|n| *n == name)
                .map(|n| (n, value))
        })
        .collect();
    // The gauge was set by the 25th's count (the 26th made none), and the
    // near-limit counter counted it once.
    assert_eq!(
        counts,
        [
            (Metrics::V21_TOKENS, DebugValue::Gauge(25.0.into())),
            (Metrics::V21_NEAR_LIMIT, DebugValue::Counter(1)),
        ]
    );
}
