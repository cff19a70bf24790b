//! A fake LINE Channel Access Token API on 127.0.0.1, to test a bot's token
//! handling without LINE: stateful and faithful to LINE's documented
//! behaviour, with a clock tests can move. Start one per test, point your
//! client at [`FakeLine::url`], and ask it what your code did.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use line_oauth_fake::FakeLine;
//!
//! let fake = FakeLine::start().await?;
//! fake.add_channel("1234567890", "channel-secret");
//! // Point the client under test at fake.url(), run it, then:
//! assert_eq!(fake.issued_count(), 0);
//! # Ok(())
//! # }
//! ```
//!
//! The same as a server: the `fake-line` binary
//! (`fake-line --port 18080 --channel ID:SECRET --key ID:JWK_FILE`).
//!
//! What it does, by LINE's rules: short-lived tokens (30 days, 30 valid per
//! channel, the 31st revokes the oldest); v2.1 tokens (lifetime from the
//! assertion's `token_exp`, 30 valid per channel, then LINE's
//! `message`-shaped 400); stateless tokens (15 minutes, unlimited, not
//! kept, so neither verifiable nor revocable here); verify reports the
//! remaining lifetime; LINE's error bodies and statuses. Assertions are
//! checked as LINE does: a public key registered for the channel under the
//! assertion's `kid` (else LINE's 404), the RS256 signature, `iss` = `sub` =
//! the key's channel, `aud`, `exp` ahead but at most 30 minutes, and for v2.1
//! issuance `token_exp` of 1 second to 30 days. Error texts LINE does not
//! document are the fake's own guesses.

pub mod assertion;
mod routes;
pub mod state;
mod tokens;
pub mod wire;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use state::{Kind, TokenRecord};

use routes::SharedState;

/// A running fake server. It stops when dropped.
pub struct FakeLine {
    address: SocketAddr,
    state: SharedState,
    shutdown: Option<oneshot::Sender<()>>,
}

impl FakeLine {
    /// Starts on a free port of 127.0.0.1.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_on(0).await
    }

    /// Starts on `port` of 127.0.0.1 (0 for any free port).
    pub async fn start_on(port: u16) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let address = listener.local_addr()?;
        let state: SharedState = Arc::new(Mutex::new(state::State::default()));
        let (shutdown, stopped) = oneshot::channel::<()>();
        let app = routes::router(state.clone());
        tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                eprintln!("fake LINE server stopped: {e}");
            }
        });
        Ok(Self {
            address,
            state,
            shutdown: Some(shutdown),
        })
    }

    /// The base URL, such as `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Registers a channel with its secret.
    pub fn add_channel(&self, channel_id: &str, secret: &str) {
        self.with_state(|s| s.add_channel(channel_id, secret));
    }

    /// Registers a public assertion signing key (JWK JSON) for a channel, as
    /// the LINE Developers Console does, and returns its `kid`.
    pub fn register_key(&self, channel_id: &str, public_jwk: &str) -> Result<String, String> {
        self.with_state(|s| s.register_key(channel_id, public_jwk))
    }

    /// Registers a public assertion signing key for a channel under a `kid`
    /// of your choosing (1 to 128 letters, digits, `-` or `_`, not taken), so
    /// that a test or a script knows it in advance.
    pub fn register_key_as(
        &self,
        channel_id: &str,
        public_jwk: &str,
        kid: &str,
    ) -> Result<(), String> {
        self.with_state(|s| s.register_key_as(channel_id, public_jwk, kid))
    }

    /// Deletes a channel's assertion signing key, as the LINE Developers
    /// Console does: assertions under its `kid` get LINE's 404 from then
    /// on. Returns whether the channel had a key under that `kid`.
    pub fn remove_key(&self, channel_id: &str, kid: &str) -> bool {
        self.with_state(|s| s.remove_key(channel_id, kid))
    }

    /// Moves the fake clock forward: tokens age, assertions are judged later.
    /// It goes [`state::MAX_CLOCK_OFFSET`] (a century) forward at most in all.
    ///
    /// This moves the fake alone. The fake's clock also runs on tokio's, so
    /// in a test on a paused clock (`#[tokio::test(start_paused = true)]`)
    /// `tokio::time::advance` or a sleep moves the fake, and a
    /// `TokenSource`, together. To move both with this call instead, give
    /// the source [`clock`](Self::clock) (`TokenSourceBuilder::clock`).
    pub fn advance(&self, by: Duration) {
        self.with_state(|s| s.advance(by));
    }

    /// Starts or ends a simulated outage: issuance endpoints answer 503.
    pub fn set_outage(&self, outage: bool) {
        self.with_state(|s| s.set_outage(outage));
    }

    /// How many issuance requests met the simulated outage.
    pub fn refused_count(&self) -> usize {
        self.with_state(|s| s.refused_count())
    }

    /// Makes issuance endpoints wait `delay` (on the runtime's clock) before answering.
    pub fn set_issuance_delay(&self, delay: Duration) {
        self.with_state(|s| s.set_issuance_delay(delay));
    }

    /// How many requests reached an issuance endpoint, answered or not.
    pub fn issuance_attempts(&self) -> usize {
        self.with_state(|s| s.issuance_attempts())
    }

    /// Sets (or with `None` ends) the lifetime of every token issued from
    /// now, in place of LINE's.
    pub fn set_lifetime_override(&self, lifetime: Option<Duration>) {
        self.with_state(|s| s.set_lifetime_override(lifetime));
    }

    /// Starts or ends answering issuance with a 200 whose body is not LINE's.
    pub fn set_malformed_issuance(&self, malformed: bool) {
        self.with_state(|s| s.set_malformed_issuance(malformed));
    }

    /// When an issued token expires by the runtime's clock (tokio's, paused
    /// in tests): when it was answered plus its lifetime.
    pub fn expiry(&self, access_token: &str) -> Option<tokio::time::Instant> {
        self.with_state(|s| s.expiry(access_token))
    }

    /// How many tokens of any kind it issued.
    pub fn issued_count(&self) -> usize {
        self.with_state(|s| s.issued_count())
    }

    /// How many valid tokens of `kind` the channel holds.
    pub fn active_count(&self, channel_id: &str, kind: Kind) -> usize {
        self.with_state(|s| s.active_count(channel_id, kind))
    }

    /// Every short-lived and v2.1 token issued so far, in order, with when
    /// it was issued, expires and was revoked.
    pub fn history(&self) -> Vec<TokenRecord> {
        self.with_state(|s| s.history())
    }

    /// The most valid tokens of `kind` the channel held at once so far.
    pub fn peak_active(&self, channel_id: &str, kind: Kind) -> usize {
        self.with_state(|s| s.peak_active(channel_id, kind))
    }

    /// The fake clock as UNIX seconds.
    pub fn unix_now(&self) -> i64 {
        self.with_state(|s| s.unix_now())
    }

    /// A reading of the fake clock that stays in step with [`advance`](Self::advance)
    /// and with tokio's clock: for signers,
    /// `AssertionSigner::builder(..).clock(fake.clock())`, and for token sources,
    /// `TokenSource::builder(..).clock(fake.clock())`.
    pub fn clock(&self) -> impl Fn() -> SystemTime + Send + Sync + 'static {
        let state = self.state.clone();
        move || state.lock().unwrap_or_else(|p| p.into_inner()).system_now()
    }

    fn with_state<T>(&self, f: impl FnOnce(&mut state::State) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Drop for FakeLine {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}
