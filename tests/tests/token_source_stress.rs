//! `TokenSource` under randomised abuse: callers that arrive, give up and
//! are aborted at random; a LINE that is slow, down, undecodable or issues
//! tokens too short-lived to serve; sources dropped and rebuilt. On tokio's
//! paused clock against the fake LINE server. The seed is random and
//! printed; `STRESS_SEED=<n>` replays one.
//!
//! Both tests count the process's file descriptors, so they run one at a
//! time.

#![cfg(target_os = "linux")]

mod support;

use std::time::Duration;

use line_oauth::{Client, RetryPolicy, Stateless, TokenSource};
use line_oauth_fake::FakeLine;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use support::{Setup, setup};
use tokio::sync::Mutex;
use tokio::time::{Instant, sleep, timeout};

/// The two tests count descriptors: one at a time.
static SERIAL: Mutex<()> = Mutex::const_new(());

/// Longer than any client timeout and revoke delay: detached work is over.
const WIND_DOWN: Duration = Duration::from_secs(120);
/// Descriptors that may come and go on their own (the runtime's, stdio).
const FD_SLACK: usize = 4;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("procfs").count()
}

/// A source with a client of its own, so that dropping it frees a pool.
fn source(s: &Setup) -> TokenSource {
    let client = Client::builder()
        .base_url(s.fake.url())
        .timeout(Duration::from_secs(5))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    TokenSource::new(Stateless::by_secret(client, s.creds.clone())).unwrap()
}

/// Waits out every client timeout and revoke delay, then lets closed
/// connections be reaped.
async fn wind_down() {
    sleep(WIND_DOWN).await;
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn dropping_sources_mid_refresh_frees_them_and_their_connections() {
    let _serial = SERIAL.lock().await;
    let s = setup().await;
    s.fake.set_issuance_delay(Duration::from_millis(500));
    let before = open_fds();
    for _ in 0..50 {
        let source = source(&s);
        let gave_up = timeout(Duration::from_millis(100), source.token()).await;
        assert!(gave_up.is_err(), "meant to give up before LINE answers");
        drop(source);
    }
    wind_down().await;
    let after = open_fds();
    assert!(
        after <= before + FD_SLACK,
        "50 dropped sources left {} descriptors open",
        after - before
    );
}

/// How LINE behaves during one round.
#[derive(Debug, Clone, Copy)]
enum Behaviour {
    /// Issues tokens of this lifetime.
    Healthy(Duration),
    /// Answers 503.
    Down,
    /// Issues tokens no longer than the margin.
    TooShortLived,
    /// Answers 200 with a body that is not LINE's.
    Undecodable,
}

impl Behaviour {
    fn pick(rng: &mut StdRng) -> Self {
        match rng.random_range(0..5) {
            0 => Self::Healthy(Duration::from_secs(900)),
            1 => Self::Healthy(Duration::from_secs(200)),
            2 => Self::Down,
            3 => Self::TooShortLived,
            _ => Self::Undecodable,
        }
    }

    fn apply(self, fake: &FakeLine) {
        fake.set_outage(matches!(self, Self::Down));
        fake.set_malformed_issuance(matches!(self, Self::Undecodable));
        fake.set_lifetime_override(match self {
            Self::Healthy(lifetime) => Some(lifetime),
            Self::TooShortLived => Some(TokenSource::DEFAULT_MARGIN),
            Self::Down | Self::Undecodable => None,
        });
    }

    /// The most issuance attempts a round of `elapsed` may cause.
    fn allowed_attempts(self, elapsed: Duration) -> usize {
        let seconds = elapsed.as_secs_f64();
        match self {
            // The first, then one per refresh window (at least 70 s here),
            // and one in flight when the round ends.
            Self::Healthy(_) => 2 + (seconds / 70.0) as usize + 1,
            // Two at once, then waits of at least 0.75 s doubling (jitter
            // takes up to a quarter), and one in flight.
            _ => 2 + (seconds / 0.75 + 1.0).log2().ceil() as usize + 1,
        }
    }
}

/// One caller: arrives at a random time, makes a few calls, each under a
/// random deadline, and checks every token it gets against the fake's
/// record of when LINE answered.
async fn caller(s: std::sync::Arc<Setup>, source: TokenSource, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    sleep(Duration::from_millis(rng.random_range(0..20_000))).await;
    for _ in 0..10 {
        let deadline = match rng.random_range(0..4) {
            0 => Duration::from_millis(10),
            1 => Duration::from_millis(300),
            2 => Duration::from_secs(3),
            _ => Duration::from_secs(3600),
        };
        if let Ok(Ok(token)) = timeout(deadline, source.token()).await {
            let now = Instant::now();
            let expiry = s
                .fake
                .expiry(token.access_token().expose_secret())
                .expect("the fake issued it");
            let left = expiry.saturating_duration_since(now);
            assert!(
                left > TokenSource::DEFAULT_MARGIN,
                "served a token with {left:?} left"
            );
        }
        sleep(Duration::from_millis(rng.random_range(0..3000))).await;
    }
}

#[tokio::test(start_paused = true)]
async fn random_callers_cancellations_failures_and_rebuilt_sources() {
    let _serial = SERIAL.lock().await;
    let seed = std::env::var("STRESS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    println!("STRESS_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let s = std::sync::Arc::new(setup().await);
    let before = open_fds();
    for round in 0..12 {
        let behaviour = Behaviour::pick(&mut rng);
        behaviour.apply(&s.fake);
        let delay = [0, 300, 2000][rng.random_range(0..3)];
        s.fake.set_issuance_delay(Duration::from_millis(delay));
        let attempts_before = s.fake.issuance_attempts();
        let started = Instant::now();

        let source = source(&s);
        let callers: Vec<_> = (0..16)
            .map(|_| tokio::spawn(caller(s.clone(), source.clone(), rng.random())))
            .collect();
        drop(source);
        // A quarter of the callers are aborted at a random moment.
        sleep(Duration::from_millis(rng.random_range(0..30_000))).await;
        for caller in &callers {
            if rng.random_bool(0.25) {
                caller.abort();
            }
        }
        for caller in callers {
            if let Err(error) = caller.await {
                assert!(
                    error.is_cancelled(),
                    "round {round}: a caller panicked: {error}"
                );
            }
        }

        let attempts = s.fake.issuance_attempts() - attempts_before;
        let allowed = behaviour.allowed_attempts(started.elapsed());
        assert!(
            attempts <= allowed,
            "round {round} ({behaviour:?}, {delay} ms): {attempts} attempts, at most {allowed} allowed"
        );
    }
    wind_down().await;
    let after = open_fds();
    assert!(
        after <= before + FD_SLACK,
        "{} descriptors left open after the last source was dropped",
        after - before
    );
}
