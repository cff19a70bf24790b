//! The metrics README lists, recorded with their exact names, labels and
//! values: each scenario runs on a runtime of its own thread, under a
//! debugging recorder of its own (a thread-local one, so that scenarios
//! running beside each other never mix their counts).

mod support;

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, SystemTime};

use line_oauth::{
    AccessToken, AllowedHosts, BearerMiddleware, ChannelCredentials, Client, ClientSecret,
    IssuedToken, Metrics, RetryPolicy, ShortLived, StoreError, TokenProvider, TokenRegistry,
    TokenSource, TokenStore, V21,
};
use line_oauth_fake::FakeLine;
use line_oauth_tests::raw_server::{RawServer, Script};
use metrics_util::CompositeKey;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use support::{CHANNEL, SECRET};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A v2.1 token's lifetime in these scenarios.
const HOUR: Duration = Duration::from_secs(3600);

/// What a scenario recorded: `name{label=value,...}` (labels sorted) to
/// the counter's count, the gauge's value, or the histogram's sample count.
type Recorded = BTreeMap<String, Value>;

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Count(u64),
    Gauge(f64),
    Samples(usize),
}

/// Runs `scenario` on a current-thread runtime (paused when `paused`)
/// under a recorder of its own, and returns what it recorded.
fn record<F: Future<Output = ()>>(
    paused: bool,
    scenario: impl FnOnce(Snapshotter) -> F,
) -> Recorded {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(paused)
        .build()
        .unwrap();
    let seen = snapshotter.clone();
    metrics::with_local_recorder(&recorder, || runtime.block_on(scenario(seen)));
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let value = match value {
                DebugValue::Counter(count) => Value::Count(count),
                DebugValue::Gauge(gauge) => Value::Gauge(gauge.into_inner()),
                DebugValue::Histogram(samples) => Value::Samples(samples.len()),
            };
            (key_of(&key), value)
        })
        .collect()
}

/// `name{label=value,...}`, labels sorted.
fn key_of(key: &CompositeKey) -> String {
    let key = key.key();
    let mut labels: Vec<String> = key
        .labels()
        .map(|l| format!("{}={}", l.key(), l.value()))
        .collect();
    labels.sort();
    format!("{}{{{}}}", key.name(), labels.join(","))
}

/// Adds the counts recorded since the last snapshot (a snapshot resets
/// them) to `totals`, takes the gauges as the snapshot shows them (the
/// registry gauges are set whole at each change, and each step of the
/// scenarios that read them changes every one they read), and returns the
/// values so far.
fn tally(seen: &Snapshotter, totals: &mut BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    for (key, _, _, value) in seen.snapshot().into_vec() {
        let total = totals.entry(key_of(&key)).or_default();
        match value {
            #[expect(clippy::cast_precision_loss, reason = "small counts")]
            DebugValue::Counter(count) => *total += count as f64,
            DebugValue::Gauge(gauge) => *total = gauge.into_inner(),
            DebugValue::Histogram(_) => {}
        }
    }
    totals.clone()
}

/// Held by the scenarios with registries: the registry gauge counts every
/// registry of the process, so two at once would mix.
static REGISTRIES: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_registry_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    REGISTRIES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The entries of `recorded` named `name`.
fn named<'a>(recorded: &'a Recorded, name: &str) -> BTreeMap<&'a str, &'a Value> {
    recorded
        .iter()
        .filter(|(key, _)| key.split('{').next() == Some(name))
        .map(|(key, value)| (key.as_str(), value))
        .collect()
}

fn fake_client(fake: &FakeLine) -> Client {
    Client::builder().base_url(fake.url()).build().unwrap()
}

async fn fake() -> FakeLine {
    let fake = FakeLine::start().await.unwrap();
    fake.add_channel(CHANNEL, SECRET);
    fake
}

fn creds(secret: &str) -> ChannelCredentials {
    ChannelCredentials::new(CHANNEL, ClientSecret::new(secret))
}

#[test]
fn a_successful_call_counts_ok_with_its_status_and_its_duration() {
    let recorded = record(false, |_| async {
        let fake = fake().await;
        fake_client(&fake)
            .issue_short_lived(&creds(SECRET))
            .await
            .unwrap();
    });
    let calls = "line_oauth_api_calls_total{operation=issue_short_lived,outcome=ok,status=200}";
    assert_eq!(recorded.get(calls), Some(&Value::Count(1)), "{recorded:#?}");
    let took = "line_oauth_api_call_duration_seconds{operation=issue_short_lived,outcome=ok}";
    assert_eq!(recorded.get(took), Some(&Value::Samples(1)));
    assert!(named(&recorded, Metrics::API_RETRIES).is_empty());
}

#[test]
fn a_4xx_counts_as_an_api_error_with_its_status() {
    let recorded = record(false, |_| async {
        let fake = fake().await;
        let refused = fake_client(&fake).issue_short_lived(&creds("wrong")).await;
        assert!(refused.unwrap_err().is_credentials_refused());
    });
    let calls = named(&recorded, Metrics::API_CALLS);
    assert_eq!(
        calls.into_iter().collect::<Vec<_>>(),
        [(
            "line_oauth_api_calls_total{operation=issue_short_lived,outcome=api,status=400}",
            &Value::Count(1)
        )]
    );
}

#[test]
fn a_timeout_counts_as_a_timeout_with_no_status() {
    let recorded = record(false, |_| async {
        let silent = RawServer::start(Script::Silent).await;
        let client = Client::builder()
            .base_url(silent.url())
            .timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        let outcome = client.verify(&AccessToken::new("t")).await;
        assert!(outcome.unwrap_err().is_timeout());
    });
    let calls = "line_oauth_api_calls_total{operation=verify,outcome=timeout,status=}";
    assert_eq!(recorded.get(calls), Some(&Value::Count(1)), "{recorded:#?}");
    let took = "line_oauth_api_call_duration_seconds{operation=verify,outcome=timeout}";
    assert_eq!(recorded.get(took), Some(&Value::Samples(1)));
}

/// A server that answers 503 once, then verifies any token.
async fn once_503() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(r#"{"client_id":"1","expires_in":60}"#, "application/json"),
        )
        .with_priority(2)
        .mount(&server)
        .await;
    server
}

#[test]
fn a_retried_503_counts_the_retry_and_the_call_once() {
    let recorded = record(false, |_| async {
        let server = once_503().await;
        let client = Client::builder()
            .base_url(server.uri())
            .retry(RetryPolicy::default())
            .build()
            .unwrap();
        client.verify(&AccessToken::new("t")).await.unwrap();
    });
    assert_eq!(
        named(&recorded, Metrics::API_RETRIES)
            .into_iter()
            .collect::<Vec<_>>(),
        [(
            "line_oauth_api_retries_total{operation=verify,reason=503}",
            &Value::Count(1)
        )]
    );
    assert_eq!(
        named(&recorded, Metrics::API_CALLS)
            .into_iter()
            .collect::<Vec<_>>(),
        [(
            "line_oauth_api_calls_total{operation=verify,outcome=ok,status=200}",
            &Value::Count(1)
        )]
    );
}

#[test]
fn a_refresh_counts_its_kind_and_outcome_and_sets_the_token_gauges() {
    let recorded = record(false, |_| async {
        let fake = fake().await;
        let source = TokenSource::new(ShortLived::new(fake_client(&fake), creds(SECRET))).unwrap();
        source.token().await.unwrap();
    });
    let refreshes = "line_oauth_token_refreshes_total{channel=,kind=short_lived,outcome=issued}";
    assert_eq!(
        recorded.get(refreshes),
        Some(&Value::Count(1)),
        "{recorded:#?}"
    );
    let took = "line_oauth_token_refresh_duration_seconds{kind=short_lived}";
    assert_eq!(recorded.get(took), Some(&Value::Samples(1)));
    let thirty_days = 30.0 * 24.0 * 3600.0;
    let Some(Value::Gauge(expiry)) =
        recorded.get("line_oauth_token_expiry_timestamp_seconds{channel=,kind=short_lived}")
    else {
        panic!("no expiry gauge: {recorded:#?}");
    };
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        (expiry - now - thirty_days).abs() < 5.0,
        "{expiry} vs {now}"
    );
}

#[test]
fn a_failed_refresh_counts_the_error_kind() {
    let recorded = record(false, |_| async {
        let fake = fake().await;
        let source = TokenSource::new(ShortLived::new(fake_client(&fake), creds("wrong"))).unwrap();
        assert!(source.token().await.is_err());
    });
    assert_eq!(
        named(&recorded, Metrics::TOKEN_REFRESHES)
            .into_iter()
            .collect::<Vec<_>>(),
        [(
            "line_oauth_token_refreshes_total{channel=,kind=short_lived,outcome=api}",
            &Value::Count(1)
        )]
    );
    assert!(named(&recorded, Metrics::TOKEN_EXPIRY).is_empty());
}

/// A store that never answers well.
#[derive(Debug)]
struct Broken;

impl TokenStore for Broken {
    type Lease = ();

    fn name(&self) -> &'static str {
        "broken"
    }

    async fn load(&self, _key: &str) -> Result<Option<IssuedToken>, StoreError> {
        Err(StoreError::unavailable("down"))
    }

    async fn lock(&self, _key: &str, _ttl: Duration) -> Result<Option<()>, StoreError> {
        Err(StoreError::unavailable("down"))
    }

    async fn unlock(
        &self,
        _key: &str,
        _lease: (),
        _save: Option<&IssuedToken>,
    ) -> Result<(), StoreError> {
        Err(StoreError::unavailable("down"))
    }
}

#[test]
fn a_store_fallback_counts_the_failed_operation_and_the_fallback() {
    let recorded = record(false, |_| async {
        let fake = fake().await;
        let source = TokenSource::builder(ShortLived::new(fake_client(&fake), creds(SECRET)))
            .store(Broken)
            .build()
            .unwrap();
        source.token().await.unwrap();
        assert!(source.health().is_degraded());
    });
    let load = "line_oauth_store_operations_total{operation=load,outcome=unavailable,store=broken}";
    assert_eq!(recorded.get(load), Some(&Value::Count(1)), "{recorded:#?}");
    assert_eq!(
        recorded.get("line_oauth_store_fallbacks_total{store=broken}"),
        Some(&Value::Count(1))
    );
    let issued = "line_oauth_token_refreshes_total{channel=,kind=short_lived,outcome=issued}";
    assert_eq!(recorded.get(issued), Some(&Value::Count(1)));
}

#[test]
fn a_refused_token_counts_as_a_refusal_that_refreshed_then_as_held() {
    let recorded = record(false, |_| async {
        let fake = fake().await;
        let source = TokenSource::new(ShortLived::new(fake_client(&fake), creds(SECRET))).unwrap();
        let first = source.token().await.unwrap();
        assert!(source.invalidate(&first));
        let second = source.token().await.unwrap();
        // A second refusal within the hold keeps the token.
        assert!(!source.invalidate(&second));
        // A refusal of a token already replaced.
        assert!(!source.invalidate(&first));
    });
    assert_eq!(
        named(&recorded, Metrics::TOKEN_REFUSALS),
        BTreeMap::from([
            (
                "line_oauth_token_refusals_total{outcome=held}",
                &Value::Count(1)
            ),
            (
                "line_oauth_token_refusals_total{outcome=refreshed}",
                &Value::Count(1)
            ),
            (
                "line_oauth_token_refusals_total{outcome=replaced}",
                &Value::Count(1)
            ),
        ])
    );
    let issued = "line_oauth_token_refreshes_total{channel=,kind=short_lived,outcome=issued}";
    assert_eq!(recorded.get(issued), Some(&Value::Count(2)));
}

#[test]
fn a_401_through_the_bearer_middleware_counts_one_refresh_then_holds() {
    let recorded = record(false, |_| async {
        let fake = fake().await;
        let source = TokenSource::new(ShortLived::new(fake_client(&fake), creds(SECRET))).unwrap();
        let api = MockServer::start().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(401))
            .mount(&api)
            .await;
        let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(BearerMiddleware::new(source).allowed_hosts(AllowedHosts::new(["127.0.0.1"])))
            .build();
        for _ in 0..3 {
            let response = http.post(api.uri()).body("{}").send().await.unwrap();
            assert_eq!(response.status(), 401);
        }
    });
    // The first request's 401 drops its token (the retry's 401 is answered
    // as is); the new token is held through the next two requests' 401s.
    assert_eq!(
        named(&recorded, Metrics::TOKEN_REFUSALS),
        BTreeMap::from([
            (
                "line_oauth_token_refusals_total{outcome=held}",
                &Value::Count(2)
            ),
            (
                "line_oauth_token_refusals_total{outcome=refreshed}",
                &Value::Count(1)
            ),
        ])
    );
    let issued = "line_oauth_token_refreshes_total{channel=,kind=short_lived,outcome=issued}";
    assert_eq!(recorded.get(issued), Some(&Value::Count(2)));
}

/// Issues at once, with no network: for scenarios on a paused clock.
#[derive(Debug)]
struct Local(String);

impl TokenProvider for Local {
    async fn issue(&self) -> Result<IssuedToken, line_oauth::Error> {
        let token = AccessToken::new(format!("token-of-{}", self.0));
        Ok(IssuedToken::new(token, Duration::from_secs(3600)))
    }

    fn token_kind(&self) -> &'static str {
        "local"
    }
}

#[test]
fn an_eviction_counts_its_reason_and_the_registry_size_follows() {
    let _alone = one_registry_at_a_time();
    record(true, |seen| async move {
        let mut totals = BTreeMap::new();
        let live = "line_oauth_registry_channels{state=live}".to_owned();
        let parked = "line_oauth_registry_channels{state=parked}".to_owned();
        let idle = "line_oauth_registry_evictions_total{reason=idle}".to_owned();
        let registry = TokenRegistry::builder(Client::new(), |id: String, _: Client| async move {
            Ok(Some(Local(id)))
        })
        .idle_timeout(Duration::from_secs(600))
        .build()
        .unwrap();
        registry.token(CHANNEL).await.unwrap();
        registry.token("2").await.unwrap();
        let now = tally(&seen, &mut totals);
        assert_eq!((now.get(&live), now.get(&idle)), (Some(&2.0), None));
        tokio::time::advance(Duration::from_secs(300)).await;
        registry.token("2").await.unwrap();
        tokio::time::advance(Duration::from_secs(400)).await;
        tokio::task::yield_now().await;
        assert_eq!(registry.len(), 1, "the idle channel stays");
        // Without a store, the evicted channel's token is parked.
        let now = tally(&seen, &mut totals);
        let gauges = (now.get(&live), now.get(&parked), now.get(&idle));
        assert_eq!(gauges, (Some(&1.0), Some(&1.0), Some(&1.0)), "{now:#?}");
        // Back: its parked token is taken, no longer parked.
        registry.token(CHANNEL).await.unwrap();
        let now = tally(&seen, &mut totals);
        assert_eq!((now.get(&live), now.get(&parked)), (Some(&2.0), Some(&0.0)));
        // A registry dropped takes its channels out of the gauge.
        drop(registry);
        let now = tally(&seen, &mut totals);
        assert_eq!((now.get(&live), now.get(&parked)), (Some(&0.0), Some(&0.0)));
    });
}

/// README's metrics table: each row's name and labels.
fn readme_table() -> BTreeMap<String, Vec<String>> {
    let readme = include_str!("../../README.md");
    readme
        .lines()
        .filter(|line| line.starts_with("| `line_oauth_"))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let name = cells[1].trim_matches('`').to_owned();
            let labels = cells[3]
                .split(',')
                .map(|l| l.trim().trim_matches('`').to_owned())
                .filter(|l| !l.is_empty() && l != "none")
                .collect();
            (name, labels)
        })
        .collect()
}

#[test]
fn readme_lists_every_metric_with_the_labels_it_is_recorded_with() {
    let _alone = one_registry_at_a_time();
    let table = readme_table();
    let names: Vec<&str> = table.keys().map(String::as_str).collect();
    let mut expected = Metrics::NAMES.to_vec();
    expected.sort_unstable();
    assert_eq!(names, expected, "README's table and Metrics::NAMES differ");
    // Every metric the scenarios record carries exactly README's labels.
    let recorded = [
        record(false, |seen| async move {
            let fake = fake().await;
            let source = TokenSource::builder(ShortLived::new(fake_client(&fake), creds(SECRET)))
                .store(Broken)
                .build()
                .unwrap();
            let token = source.token().await.unwrap();
            source.invalidate(&token);
            let client = Client::builder()
                .base_url(line_oauth_tests::raw_server::refused_url())
                .build()
                .unwrap();
            let _ = client.verify(&AccessToken::new("t")).await;
            let flaky = once_503().await;
            let client = Client::builder().base_url(flaky.uri()).build().unwrap();
            client.verify(&AccessToken::new("t")).await.unwrap();
            // A v2.1 issuance, and the count that follows it.
            let setup = support::setup().await;
            let v21 = V21::new(setup.client.clone(), setup.signer.clone(), HOUR);
            v21.issue().await.unwrap();
            for _ in 0..500 {
                let counted = seen.snapshot().into_vec().into_iter();
                if counted
                    .into_iter()
                    .any(|(key, ..)| key.key().name() == Metrics::V21_TOKENS)
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }),
        record(false, |_| async {
            let registry =
                TokenRegistry::builder(Client::new(), |id: String, _: Client| async move {
                    Ok(Some(Local(id)))
                })
                .max_channels(1)
                .build()
                .unwrap();
            registry.token(CHANNEL).await.unwrap();
            registry.token("2").await.unwrap();
        }),
    ];
    let mut seen = BTreeMap::new();
    for (key, _) in recorded.iter().flatten() {
        let (name, labels) = key.split_once('{').unwrap();
        let labels: Vec<String> = labels
            .trim_end_matches('}')
            .split(',')
            .filter(|l| !l.is_empty())
            .map(|l| l.split('=').next().unwrap().to_owned())
            .collect();
        let mut listed = table
            .get(name)
            .unwrap_or_else(|| panic!("{name} is recorded but not in README"))
            .clone();
        listed.sort();
        assert_eq!(labels, listed, "{name}: README lists other labels");
        seen.insert(name.to_owned(), ());
    }
    // All but the near-limit count, which `v21_budget.rs` drives.
    let unseen: Vec<&str> = Metrics::NAMES
        .into_iter()
        .filter(|name| !seen.contains_key(*name) && *name != Metrics::V21_NEAR_LIMIT)
        .collect();
    assert!(unseen.is_empty(), "not exercised: {unseen:?}");
}
