//! With channel labels on, refresh metrics name the channel. Its own
//! binary: the switch is process-wide, and would leak into the scenarios
//! of `metrics.rs` running beside it.

mod support;

use line_oauth::{ChannelCredentials, Client, ClientSecret, Metrics, ShortLived, TokenSource};
use line_oauth_fake::FakeLine;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use support::{CHANNEL, SECRET};

#[test]
fn channel_labels_name_the_channel_once_turned_on() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let fake = FakeLine::start().await.unwrap();
            fake.add_channel(CHANNEL, SECRET);
            let client = Client::builder().base_url(fake.url()).build().unwrap();
            let creds = ChannelCredentials::new(CHANNEL, ClientSecret::new(SECRET));
            let source = TokenSource::new(ShortLived::new(client, creds)).unwrap();
            Metrics::label_channels(true);
            source.token().await.unwrap();
        });
    });
    let refreshes: Vec<(Vec<String>, DebugValue)> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter(|(key, ..)| key.key().name() == Metrics::TOKEN_REFRESHES)
        .map(|(key, _, _, value)| {
            let labels = key
                .key()
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()));
            (labels.collect(), value)
        })
        .collect();
    assert_eq!(
        refreshes,
        [(
            vec![
                "kind=short_lived".to_owned(),
                "outcome=issued".to_owned(),
                format!("channel={CHANNEL}"),
            ],
            DebugValue::Counter(1)
        )]
    );
}
