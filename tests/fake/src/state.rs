//! The fake's bookkeeping: channels, tokens, the clock, and LINE's rules on
//! them. Pure and synchronous; the routes put HTTP around it.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use super::assertion::{Assertion, SigningKeys};
use super::tokens;
use super::wire::Refusal;

/// Lifetime of a short-lived token: 30 days.
pub const SHORT_LIVED_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);
/// Lifetime of a stateless token: 15 minutes.
pub const STATELESS_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// Longest lifetime a v2.1 token may ask for: 30 days.
pub const MAX_V21_LIFETIME: Duration = SHORT_LIVED_LIFETIME;
/// Most valid short-lived tokens, and most valid v2.1 tokens, per channel.
pub const MAX_ACTIVE_TOKENS: usize = 30;

/// The kinds of token the fake issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `/v2/oauth/accessToken`.
    ShortLived,
    /// `/oauth2/v2.1/token`.
    V21,
}

/// A token that can be verified and revoked.
#[derive(Debug, Clone)]
struct Token {
    channel_id: String,
    kind: Kind,
    issued_at: Instant,
    expires_at: Instant,
    key_id: Option<String>,
}

/// An issued token, as the routes answer it.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The token string.
    pub access_token: String,
    /// Its lifetime.
    pub expires_in: Duration,
    /// Its key ID (v2.1 tokens only).
    pub key_id: Option<String>,
}

/// The life of one revocable token, by the wall clock (plus the fake's
/// offset), for tests that check what a fleet of clients was served.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    /// The token string.
    pub access_token: String,
    /// When it was issued.
    pub issued_at: SystemTime,
    /// When it expires.
    pub expires_at: SystemTime,
    /// When it was first revoked, if it was.
    pub revoked_at: Option<SystemTime>,
    /// How many revoke requests named it.
    pub revocations: usize,
}

/// What verify answers about a valid token.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The channel the token belongs to.
    pub client_id: String,
    /// How long it stays valid by the fake clock.
    pub expires_in: Duration,
}

/// Why a token cannot be verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unverified {
    /// Never issued (for this kind), or revoked.
    Unknown,
    /// Issued, but its lifetime is over.
    Expired,
}

/// Everything the fake knows.
#[derive(Debug, Default)]
pub struct State {
    /// Where the fake clock starts.
    epoch: Epoch,
    /// Channel ID -> channel secret.
    channels: HashMap<String, String>,
    /// Registered assertion signing keys.
    signing_keys: SigningKeys,
    /// Access token -> what it is. Stateless tokens are not kept: LINE cannot
    /// revoke them and does not say whether it verifies them.
    tokens: HashMap<String, Token>,
    /// How far the fake clock is ahead of the real one.
    clock_offset: Duration,
    /// Successful issuances of any kind.
    issued: usize,
    /// While set, issuance endpoints answer 503.
    outage: bool,
    /// Issuance requests refused for the outage.
    refused: usize,
    /// How long issuance endpoints wait before answering.
    issuance_delay: Duration,
    /// Requests that reached an issuance endpoint, answered or not.
    issuance_attempts: usize,
    /// While set, the lifetime of every token issued, instead of LINE's.
    lifetime_override: Option<Duration>,
    /// While set, issuance endpoints answer 200 with a body that is not LINE's.
    malformed_issuance: bool,
    /// Every issued token's expiry by the runtime's clock (paused in tests).
    expiries: HashMap<String, tokio::time::Instant>,
    /// Every revocable token issued, in order.
    history: Vec<TokenRecord>,
    /// Where each token is in `history`.
    history_index: HashMap<String, usize>,
    /// The most valid tokens each channel and kind held at once.
    peak_active: HashMap<(String, Kind), usize>,
}

/// The wall clock and tokio's clock, read at one moment: the fake clock
/// runs from there on tokio's clock, so a test that pauses tokio's clock
/// (`#[tokio::test(start_paused = true)]`) moves the fake with it.
#[derive(Debug, Clone, Copy)]
struct Epoch {
    wall: SystemTime,
    tokio: Instant,
}

impl Default for Epoch {
    fn default() -> Self {
        Self {
            wall: SystemTime::now(),
            tokio: Instant::now(),
        }
    }
}

/// How far tests may move the fake clock in all: a century, past every
/// token's lifetime.
pub const MAX_CLOCK_OFFSET: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

impl State {
    /// The fake clock: tokio's clock (paused and moved in tests) plus the
    /// offset tests add.
    pub fn now(&self) -> Instant {
        Instant::now() + self.clock_offset
    }

    /// The fake clock as wall-clock time: the wall clock when the fake
    /// started, plus the time on tokio's clock since, plus the offset.
    pub fn system_now(&self) -> SystemTime {
        self.epoch.wall + self.epoch.tokio.elapsed() + self.clock_offset
    }

    /// The fake clock as UNIX seconds, for assertion `exp` checks.
    pub fn unix_now(&self) -> i64 {
        self.system_now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    }

    /// Moves the fake clock forward, by [`MAX_CLOCK_OFFSET`] at most in
    /// all, so that the clock's sums cannot overflow.
    pub fn advance(&mut self, by: Duration) {
        self.clock_offset = self.clock_offset.saturating_add(by).min(MAX_CLOCK_OFFSET);
    }

    /// Registers a channel (or changes its secret).
    pub fn add_channel(&mut self, channel_id: &str, secret: &str) {
        self.channels
            .insert(channel_id.to_owned(), secret.to_owned());
    }

    /// Starts or ends a simulated outage of the issuance endpoints.
    pub fn set_outage(&mut self, outage: bool) {
        self.outage = outage;
    }

    /// Counts an issuance request as it arrives; returns how long to wait
    /// before answering it.
    pub fn note_issuance_attempt(&mut self) -> Duration {
        self.issuance_attempts += 1;
        self.issuance_delay
    }

    /// Reports whether an issuance request meets an outage.
    pub fn refuse_for_outage(&mut self) -> bool {
        self.refused += usize::from(self.outage);
        self.outage
    }

    /// Requests that reached an issuance endpoint, answered or not.
    pub fn issuance_attempts(&self) -> usize {
        self.issuance_attempts
    }

    /// Sets (or with `None` ends) the lifetime of every token issued.
    pub fn set_lifetime_override(&mut self, lifetime: Option<Duration>) {
        self.lifetime_override = lifetime;
    }

    /// Starts or ends answering issuance with a 200 that is not LINE's body.
    pub fn set_malformed_issuance(&mut self, malformed: bool) {
        self.malformed_issuance = malformed;
    }

    /// Whether issuance answers a 200 that is not LINE's body.
    pub fn malformed_issuance(&self) -> bool {
        self.malformed_issuance
    }

    /// When an issued token expires by the runtime's clock: the instant it
    /// was answered plus its lifetime.
    pub fn expiry(&self, access_token: &str) -> Option<tokio::time::Instant> {
        self.expiries.get(access_token).copied()
    }

    /// A token's lifetime: LINE's for its kind, or the test's override.
    fn lifetime_of(&self, lines: Duration) -> Duration {
        self.lifetime_override.unwrap_or(lines)
    }

    /// Notes when an issued token expires by the runtime's clock.
    fn note_expiry(&mut self, access_token: &str, lifetime: Duration) {
        let now = tokio::time::Instant::now();
        self.expiries.insert(
            access_token.to_owned(),
            now.checked_add(lifetime).unwrap_or(now),
        );
    }

    /// How many issuance requests met an outage.
    pub fn refused_count(&self) -> usize {
        self.refused
    }

    /// Makes issuance endpoints wait before answering.
    pub fn set_issuance_delay(&mut self, delay: Duration) {
        self.issuance_delay = delay;
    }

    /// How many tokens of any kind were issued so far.
    pub fn issued_count(&self) -> usize {
        self.issued
    }

    /// Every revocable token issued so far, in order.
    pub fn history(&self) -> Vec<TokenRecord> {
        self.history.clone()
    }

    /// The most valid tokens of `kind` the channel held at once so far.
    pub fn peak_active(&self, channel_id: &str, kind: Kind) -> usize {
        self.peak_active
            .get(&(channel_id.to_owned(), kind))
            .copied()
            .unwrap_or(0)
    }

    /// How many tokens of `kind` the channel holds that are still valid.
    pub fn active_count(&self, channel_id: &str, kind: Kind) -> usize {
        self.active(channel_id, kind).count()
    }

    /// Authenticates a channel by ID and secret, with the refusals LINE gives
    /// on the short-lived endpoint.
    pub fn authenticate(&self, channel_id: &str, secret: &str) -> Result<(), Refusal> {
        match self.channels.get(channel_id) {
            None => Err(Refusal::oauth("invalid_client", "invalid client_id")),
            Some(known) if known != secret => {
                Err(Refusal::oauth("invalid_client", "invalid client_secret"))
            }
            Some(_) => Ok(()),
        }
    }

    /// Registers a public JWK for a channel; returns the `kid` to sign with.
    pub fn register_key(&mut self, channel_id: &str, public_jwk: &str) -> Result<String, String> {
        let kid = tokens::key_id();
        self.signing_keys.register(channel_id, &kid, public_jwk)?;
        Ok(kid)
    }

    /// Deletes a channel's signing key, as the Console does.
    pub fn remove_key(&mut self, channel_id: &str, kid: &str) -> bool {
        self.signing_keys.remove(channel_id, kid)
    }

    /// Registers a public JWK for a channel under the `kid` given: 1 to 128
    /// letters, digits, `-` or `_`, not taken by another key.
    pub fn register_key_as(
        &mut self,
        channel_id: &str,
        public_jwk: &str,
        kid: &str,
    ) -> Result<(), String> {
        let well_formed = (1..=128).contains(&kid.len())
            && kid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !well_formed {
            return Err("a kid is 1 to 128 letters, digits, '-' or '_'".to_owned());
        }
        if self.signing_keys.has(kid) {
            return Err(format!("the kid {kid} is taken"));
        }
        self.signing_keys.register(channel_id, kid, public_jwk)
    }

    /// Checks an assertion as LINE does, against the fake clock.
    pub fn check_assertion(&self, jwt: &str) -> Result<Assertion, Refusal> {
        self.signing_keys.check(jwt, self.unix_now())
    }

    /// Issues a short-lived token; at the limit the oldest valid one is revoked.
    pub fn issue_short_lived(&mut self, channel_id: &str) -> Issued {
        if self.active_count(channel_id, Kind::ShortLived) >= MAX_ACTIVE_TOKENS {
            let oldest = self
                .active(channel_id, Kind::ShortLived)
                .min_by_key(|(_, t)| t.issued_at)
                .map(|(token, _)| token.clone());
            if let Some(oldest) = oldest {
                self.tokens.remove(&oldest);
            }
        }
        let access_token = tokens::short_lived();
        let lifetime = self.lifetime_of(SHORT_LIVED_LIFETIME);
        self.store(&access_token, channel_id, Kind::ShortLived, lifetime, None);
        Issued {
            access_token,
            expires_in: lifetime,
            key_id: None,
        }
    }

    /// Issues a v2.1 token for `lifetime`; at the limit LINE refuses.
    pub fn issue_v21(&mut self, channel_id: &str, lifetime: Duration) -> Result<Issued, Refusal> {
        if self.active_count(channel_id, Kind::V21) >= MAX_ACTIVE_TOKENS {
            return Err(Refusal::token_limit());
        }
        let access_token = tokens::jws();
        let key_id = tokens::key_id();
        let lifetime = self.lifetime_of(lifetime);
        self.store(
            &access_token,
            channel_id,
            Kind::V21,
            lifetime,
            Some(key_id.clone()),
        );
        Ok(Issued {
            access_token,
            expires_in: lifetime,
            key_id: Some(key_id),
        })
    }

    /// Issues a stateless token (not kept: it cannot be revoked).
    pub fn issue_stateless(&mut self) -> Issued {
        self.issued += 1;
        let access_token = tokens::jws();
        let lifetime = self.lifetime_of(STATELESS_LIFETIME);
        self.note_expiry(&access_token, lifetime);
        Issued {
            access_token,
            expires_in: lifetime,
            key_id: None,
        }
    }

    /// What verify says about a token of `kind`.
    pub fn verify(&self, access_token: &str, kind: Kind) -> Result<Verified, Unverified> {
        let token = self
            .tokens
            .get(access_token)
            .filter(|t| t.kind == kind)
            .ok_or(Unverified::Unknown)?;
        let remaining = token.expires_at.saturating_duration_since(self.now());
        if remaining.is_zero() {
            return Err(Unverified::Expired);
        }
        Ok(Verified {
            client_id: token.channel_id.clone(),
            expires_in: remaining,
        })
    }

    /// Revokes a token of `kind`, if it exists and (when given) belongs to
    /// the channel. Revoking an unknown token is not an error.
    pub fn revoke(&mut self, access_token: &str, kind: Kind, channel_id: Option<&str>) {
        let now = self.system_now();
        if let Some(record) = self
            .history_index
            .get(access_token)
            .and_then(|&i| self.history.get_mut(i))
        {
            record.revocations += 1;
            record.revoked_at.get_or_insert(now);
        }
        let matches = self
            .tokens
            .get(access_token)
            .is_some_and(|t| t.kind == kind && channel_id.is_none_or(|id| id == t.channel_id));
        if matches {
            self.tokens.remove(access_token);
        }
    }

    /// The key IDs of the channel's valid v2.1 tokens, oldest first.
    pub fn v21_key_ids(&self, channel_id: &str) -> Vec<String> {
        let mut tokens: Vec<&Token> = self.active(channel_id, Kind::V21).map(|(_, t)| t).collect();
        tokens.sort_by_key(|t| t.issued_at);
        tokens
            .into_iter()
            .filter_map(|t| t.key_id.clone())
            .collect()
    }

    fn store(
        &mut self,
        access_token: &str,
        channel_id: &str,
        kind: Kind,
        lifetime: Duration,
        key_id: Option<String>,
    ) {
        let now = self.now();
        self.issued += 1;
        self.note_expiry(access_token, lifetime);
        self.tokens.insert(
            access_token.to_owned(),
            Token {
                channel_id: channel_id.to_owned(),
                kind,
                issued_at: now,
                expires_at: now + lifetime,
                key_id,
            },
        );
        let wall = self.system_now();
        self.history_index
            .insert(access_token.to_owned(), self.history.len());
        self.history.push(TokenRecord {
            access_token: access_token.to_owned(),
            issued_at: wall,
            expires_at: wall + lifetime,
            revoked_at: None,
            revocations: 0,
        });
        let active = self.active_count(channel_id, kind);
        let peak = self
            .peak_active
            .entry((channel_id.to_owned(), kind))
            .or_default();
        *peak = (*peak).max(active);
    }

    fn active<'a>(
        &'a self,
        channel_id: &'a str,
        kind: Kind,
    ) -> impl Iterator<Item = (&'a String, &'a Token)> + 'a {
        let now = self.now();
        self.tokens.iter().filter(move |(_, t)| {
            t.channel_id == channel_id && t.kind == kind && t.expires_at > now
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> State {
        let mut state = State::default();
        state.add_channel("1", "secret");
        state
    }

    #[test]
    fn the_31st_short_lived_token_revokes_the_oldest() {
        let mut state = state();
        let first = state.issue_short_lived("1").access_token;
        for _ in 0..MAX_ACTIVE_TOKENS {
            state.issue_short_lived("1");
        }
        assert_eq!(state.active_count("1", Kind::ShortLived), MAX_ACTIVE_TOKENS);
        assert_eq!(
            state.verify(&first, Kind::ShortLived).unwrap_err(),
            Unverified::Unknown
        );
    }

    #[test]
    fn expired_tokens_do_not_count_and_do_not_verify() {
        let mut state = state();
        let token = state
            .issue_v21("1", Duration::from_secs(60))
            .unwrap()
            .access_token;
        state.advance(Duration::from_secs(61));
        assert_eq!(
            state.verify(&token, Kind::V21).unwrap_err(),
            Unverified::Expired
        );
        assert_eq!(state.active_count("1", Kind::V21), 0);
    }

    #[test]
    fn the_clock_moves_as_far_as_asked_without_overflowing() {
        let mut state = state();
        let token = state.issue_short_lived("1").access_token;
        state.advance(Duration::MAX);
        state.advance(Duration::MAX);
        assert!(state.unix_now() > 4_000_000_000);
        assert_eq!(
            state.verify(&token, Kind::ShortLived).unwrap_err(),
            Unverified::Expired
        );
        state.issue_short_lived("1");
    }

    #[test]
    fn verify_reports_the_remaining_lifetime_by_the_fake_clock() {
        let mut state = state();
        let token = state.issue_short_lived("1").access_token;
        state.advance(Duration::from_secs(24 * 3600));
        let left = state.verify(&token, Kind::ShortLived).unwrap().expires_in;
        assert!(left <= SHORT_LIVED_LIFETIME - Duration::from_secs(24 * 3600));
        assert!(left > SHORT_LIVED_LIFETIME - Duration::from_secs(24 * 3600 + 5));
    }

    #[test]
    fn a_token_of_another_kind_is_unknown() {
        let mut state = state();
        let token = state.issue_short_lived("1").access_token;
        assert_eq!(
            state.verify(&token, Kind::V21).unwrap_err(),
            Unverified::Unknown
        );
    }
}
