//! How a call identifies the channel.

use crate::assertion::AssertionSigner;
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

/// How a stateless token request identifies the channel.
///
/// ```
/// use line_oauth::{ChannelCredentials, ClientAssertion, ClientSecret, StatelessAuth};
///
/// let creds = ChannelCredentials::new("1234567890", ClientSecret::new("8f2d..."));
/// let by_secret = StatelessAuth::ClientSecret(&creds);
/// let assertion = ClientAssertion::new("eyJ...");
/// let by_jwt = StatelessAuth::Assertion(&assertion);
/// ```
///
/// With [`StatelessAuth::Signer`] the call signs a fresh assertion itself.
#[derive(Debug, Clone, Copy)]
pub enum StatelessAuth<'a> {
    /// By channel ID and channel secret.
    ClientSecret(&'a ChannelCredentials),
    /// By a signed JWT assertion.
    Assertion(&'a ClientAssertion),
    /// By a fresh assertion from this signer.
    Signer(&'a AssertionSigner),
}
