//! What LINE says about tokens: newly issued ones and verified ones.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use crate::secret::AccessToken;

/// LINE's longest token lifetime: 30 days (short-lived tokens, and the
/// longest v2.1 tokens).
pub(crate) const MAX_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);

/// The token type LINE answers with.
pub(crate) const BEARER: &str = "Bearer";

/// A newly issued channel access token.
///
/// ```
/// # async fn run(client: line_oauth::Client, creds: line_oauth::ChannelCredentials) -> Result<(), line_oauth::Error> {
/// let issued = client.issue_short_lived(&creds).await?;
/// println!("{} token, valid for {:?}", issued.token_type(), issued.expires_in());
/// let header = format!("Bearer {}", issued.access_token().expose_secret());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IssuedToken {
    pub(crate) access_token: AccessToken,
    pub(crate) expires_in: Duration,
    /// `Bearer` (LINE's only type) borrowed: no allocation per token.
    pub(crate) token_type: Cow<'static, str>,
    pub(crate) key_id: Option<Box<str>>,
    pub(crate) received_at: SystemTime,
}

impl IssuedToken {
    /// LINE's longest token lifetime: 30 days (short-lived tokens, and the
    /// longest v2.1 tokens an assertion may ask for).
    pub const MAX_LIFETIME: Duration = MAX_LIFETIME;

    /// A token valid for `expires_in` from now, of type `Bearer`: for a
    /// [`TokenProvider`](crate::TokenProvider) that gets its tokens
    /// elsewhere.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use line_oauth::{AccessToken, IssuedToken};
    /// let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    /// let token = IssuedToken::new(AccessToken::new("eyJ..."), Duration::from_secs(24 * 3600))
    ///     .with_received_at(an_hour_ago);
    /// assert!(token.remaining() <= Duration::from_secs(23 * 3600));
    /// ```
    pub fn new(access_token: AccessToken, expires_in: Duration) -> Self {
        Self {
            access_token,
            expires_in,
            token_type: Cow::Borrowed(BEARER),
            key_id: None,
            received_at: SystemTime::now(),
        }
    }

    /// The same token, its lifetime counted from `received_at`.
    #[must_use]
    pub fn with_received_at(mut self, received_at: SystemTime) -> Self {
        self.received_at = received_at;
        self
    }

    /// The same token with a v2.1 key ID.
    #[must_use]
    pub fn with_key_id(mut self, key_id: impl Into<String>) -> Self {
        self.key_id = Some(key_id.into().into_boxed_str());
        self
    }

    /// The token to send as `Authorization: Bearer ...` to the Messaging API.
    pub fn access_token(&self) -> &AccessToken {
        &self.access_token
    }

    /// How long the token was valid for when LINE answered.
    pub fn expires_in(&self) -> Duration {
        self.expires_in
    }

    /// The token type; LINE always says `Bearer`.
    pub fn token_type(&self) -> &str {
        &self.token_type
    }

    /// The token's key ID, for v2.1 tokens (what the key ID listing returns).
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    /// When the answer arrived: the start of `expires_in`, by the wall clock,
    /// so that it means the same in another process.
    pub fn received_at(&self) -> SystemTime {
        self.received_at
    }

    /// When the token expires, by the wall clock. A lifetime past what the
    /// clock can represent reads as a century: never, in practice.
    ///
    /// ```
    /// use std::time::Duration;
    /// use line_oauth::{AccessToken, IssuedToken};
    /// let token = IssuedToken::new(AccessToken::new("t"), Duration::from_secs(900));
    /// assert_eq!(token.expires_at(), token.received_at() + Duration::from_secs(900));
    /// let absurd = IssuedToken::new(AccessToken::new("t"), Duration::MAX);
    /// assert!(absurd.expires_at() > absurd.received_at());
    /// ```
    pub fn expires_at(&self) -> SystemTime {
        const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
        self.received_at
            .checked_add(self.expires_in)
            .or_else(|| self.received_at.checked_add(CENTURY))
            .unwrap_or(self.received_at)
    }

    /// How long the token stays valid from now (zero once expired).
    ///
    /// ```
    /// # fn f(t: line_oauth::IssuedToken) {
    /// if t.remaining() < std::time::Duration::from_secs(60) { /* issue a new one */ }
    /// # }
    /// ```
    pub fn remaining(&self) -> Duration {
        self.expires_at()
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
    }
}

/// What LINE says about a valid token.
///
/// ```
/// # async fn run(client: line_oauth::Client, token: line_oauth::AccessToken) -> Result<(), line_oauth::Error> {
/// let info = client.verify(&token).await?;
/// println!("channel {} for {:?}", info.client_id(), info.expires_in());
/// for scope in info.scopes() {
///     println!("may use {scope}");
/// }
/// if !info.has_scope("chat_message.write") { /* this token cannot send */ }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Eq)]
#[non_exhaustive]
pub struct TokenInfo {
    pub(crate) client_id: String,
    pub(crate) expires_in: Duration,
    /// As LINE sends them: separated by spaces, or empty.
    pub(crate) scopes: String,
}

/// Equal when they say the same: the same channel, lifetime and scopes in
/// the same order, however LINE spaced the scope text.
impl PartialEq for TokenInfo {
    fn eq(&self, other: &Self) -> bool {
        self.client_id == other.client_id
            && self.expires_in == other.expires_in
            && self.scopes().eq(other.scopes())
    }
}

impl TokenInfo {
    /// The channel ID the token belongs to.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// How long the token stays valid.
    pub fn expires_in(&self) -> Duration {
        self.expires_in
    }

    /// The token's permissions, such as `profile`, in the order LINE
    /// sends them; none when LINE sends none. Read from the one text LINE
    /// sends, without allocating.
    ///
    /// ```
    /// # fn f(info: line_oauth::TokenInfo) {
    /// let scopes: Vec<&str> = info.scopes().collect();
    /// # }
    /// ```
    pub fn scopes(&self) -> impl Iterator<Item = &str> + Clone {
        self.scopes.split_whitespace()
    }

    /// Whether the token has the permission `scope`.
    ///
    /// ```
    /// # fn f(info: line_oauth::TokenInfo) {
    /// if info.has_scope("profile") { /* it may read profiles */ }
    /// # }
    /// ```
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|granted| granted == scope)
    }
}

/// How many of LINE's 30 v2.1 tokens a channel holds, from
/// [`Client::v21_budget`](crate::Client::v21_budget). LINE refuses a 31st
/// ([`Error::is_token_limit_reached`](crate::Error::is_token_limit_reached)).
///
/// ```
/// let budget = line_oauth::V21Budget::new(26);
/// assert_eq!(budget.left(), 4);
/// assert!(budget.is_near_limit());
/// assert_eq!(budget.to_string(), "26 of 30 v2.1 tokens in use");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct V21Budget {
    /// The channel's valid v2.1 tokens.
    pub in_use: usize,
}

impl V21Budget {
    /// How many valid v2.1 tokens LINE lets a channel hold.
    pub const LIMIT: usize = 30;
    /// From this many in use, the budget is near its limit: the
    /// [`V21`](crate::V21) provider warns.
    pub const WARN_AT: usize = 25;

    /// A budget with `in_use` tokens in use.
    pub fn new(in_use: usize) -> Self {
        Self { in_use }
    }

    /// How many more LINE would issue now.
    pub fn left(&self) -> usize {
        Self::LIMIT.saturating_sub(self.in_use)
    }

    /// Whether [`WARN_AT`](Self::WARN_AT) or more are in use.
    pub fn is_near_limit(&self) -> bool {
        self.in_use >= Self::WARN_AT
    }
}

impl std::fmt::Display for V21Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} of {} v2.1 tokens in use", self.in_use, Self::LIMIT)
    }
}
