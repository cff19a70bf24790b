//! How a call identifies the channel.

mod from_env;

use crate::assertion::AssertionSigner;
use crate::error::Error;
use crate::secret::{ClientAssertion, ClientSecret};

/// A channel ID with its channel secret, both from the LINE Developers Console.
///
/// ```
/// use line_oauth::{ChannelCredentials, ClientSecret};
///
/// let creds = ChannelCredentials::new("1234567890", ClientSecret::new("8f2d..."));
/// assert_eq!(creds.channel_id(), "1234567890");
/// assert!(!format!("{creds:?}").contains("8f2d"));
/// ```
#[derive(Debug, Clone)]
pub struct ChannelCredentials {
    channel_id: String,
    secret: ClientSecret,
}

impl ChannelCredentials {
    /// Pairs a channel ID with its secret.
    pub fn new(channel_id: impl Into<String>, secret: ClientSecret) -> Self {
        Self {
            channel_id: channel_id.into(),
            secret,
        }
    }

    /// The channel ID.
    pub fn channel_id(&self) -> &str {
        &self.channel_id
    }

    /// The channel secret.
    pub fn secret(&self) -> &ClientSecret {
        &self.secret
    }
}

/// A JWT client assertion for a call: one signed already, or a signer that
/// signs a fresh one for the call. Every call that takes an assertion takes
/// either, as `&ClientAssertion` or `&AssertionSigner`.
///
/// ```
/// # let pair = line_oauth::AssertionKeyPair::generate().unwrap();
/// use line_oauth::{Assertion, AssertionSigner, ClientAssertion};
///
/// let signer = AssertionSigner::new(&pair.private, "kid", "1234567890");
/// let fresh: Assertion = (&signer).into();
/// let ready = ClientAssertion::new("eyJ...");
/// let as_is: Assertion = (&ready).into();
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Assertion<'a> {
    /// An assertion signed already, sent as it is.
    Signed(&'a ClientAssertion),
    /// A signer: each call signs a fresh assertion.
    Signer(&'a AssertionSigner),
}

impl<'a> From<&'a ClientAssertion> for Assertion<'a> {
    fn from(assertion: &'a ClientAssertion) -> Self {
        Self::Signed(assertion)
    }
}

impl<'a> From<&'a AssertionSigner> for Assertion<'a> {
    fn from(signer: &'a AssertionSigner) -> Self {
        Self::Signer(signer)
    }
}

impl Assertion<'_> {
    /// The assertion to send: the ready one, or a fresh one asking for a
    /// v2.1 token of `token_lifetime` when given.
    pub(crate) fn to_send(
        self,
        token_lifetime: Option<std::time::Duration>,
    ) -> Result<ClientAssertion, Error> {
        Ok(match (self, token_lifetime) {
            (Self::Signed(assertion), _) => assertion.clone(),
            (Self::Signer(signer), Some(lifetime)) => signer.sign_v21(lifetime)?,
            (Self::Signer(signer), None) => signer.sign()?,
        })
    }
}

/// How a stateless token request identifies the channel: by channel secret,
/// or by assertion (ready or signed for the call). Made from
/// `&ChannelCredentials`, `&ClientAssertion` or `&AssertionSigner`.
///
/// ```
/// use line_oauth::{ChannelCredentials, ClientSecret, StatelessAuth};
///
/// let creds = ChannelCredentials::new("1234567890", ClientSecret::new("8f2d..."));
/// let by_secret: StatelessAuth = (&creds).into();
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum StatelessAuth<'a> {
    /// By channel ID and channel secret.
    ClientSecret(&'a ChannelCredentials),
    /// By a JWT assertion.
    Assertion(Assertion<'a>),
}

impl<'a> From<&'a ChannelCredentials> for StatelessAuth<'a> {
    fn from(creds: &'a ChannelCredentials) -> Self {
        Self::ClientSecret(creds)
    }
}

impl<'a> From<&'a ClientAssertion> for StatelessAuth<'a> {
    fn from(assertion: &'a ClientAssertion) -> Self {
        Self::Assertion(assertion.into())
    }
}

impl<'a> From<&'a AssertionSigner> for StatelessAuth<'a> {
    fn from(signer: &'a AssertionSigner) -> Self {
        Self::Assertion(signer.into())
    }
}

impl<'a> From<Assertion<'a>> for StatelessAuth<'a> {
    fn from(assertion: Assertion<'a>) -> Self {
        Self::Assertion(assertion)
    }
}
