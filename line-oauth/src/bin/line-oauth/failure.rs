//! How a command fails: the exit code, and what is printed about it.

use line_oauth::{ApiError, Error, KeyError, StoreErrorKind};
use serde_json::{Value, json};

/// A failed command.
#[derive(Debug)]
pub enum Failure {
    /// The command line is wrong or an input is missing or refused.
    Usage(String),
    /// A call failed; its kind decides the exit code.
    Call(Error),
    /// A local file or store failed, or standard output is closed.
    Local(String),
}

impl Failure {
    /// The documented exit code (see the help text).
    pub fn exit_code(&self) -> u8 {
        match self.kind() {
            "usage" => 2,
            "api" => 3,
            "network" => 4,
            _ => 5,
        }
    }

    /// `usage`, `api`, `network` or `local`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Usage(_) => "usage",
            Self::Local(_) => "local",
            Self::Call(error) => match error {
                Error::Api(_) | Error::UnusableToken { .. } => "api",
                Error::Timeout { .. }
                | Error::Connect { .. }
                | Error::Transport { .. }
                | Error::ResponseTooLarge { .. }
                | Error::Decode { .. } => "network",
                Error::InvalidArgument { .. } | Error::InvalidConfig(_) => "usage",
                _ => "local",
            },
        }
    }

    /// What went wrong, in a line.
    fn message(&self) -> String {
        match self {
            Self::Usage(message) | Self::Local(message) => message.clone(),
            Self::Call(Error::Store(e)) if e.kind() == StoreErrorKind::WrongKey => {
                "the token store holds the token under another key: give the \
                 LINE_TOKEN_STORE_KEY it was written with, or delete the token file from the \
                 store directory to start afresh"
                    .to_owned()
            }
            Self::Call(error) => with_causes(error),
        }
    }

    /// What to do about it, when the failure says.
    fn hint(&self) -> Option<&'static str> {
        match self {
            Self::Call(Error::Api(api)) => hint(api),
            _ => None,
        }
    }

    /// What a person reads: for LINE's refusals, its code, description and
    /// request ID each on a line, and what to do.
    pub fn human(&self) -> String {
        let mut text = match self {
            Self::Call(Error::Api(api)) => {
                // The summary already names the call, status and request ID;
                // the fields follow one to a line for reading and grepping.
                let mut text = format!("LINE refused: {api}");
                let fields = [
                    ("code", api.code().map(|c| c.as_str())),
                    ("description", api.description().or(api.message())),
                    ("request id", api.request_id()),
                ];
                for (name, value) in fields {
                    if let Some(value) = value {
                        text.push_str(&format!("\n  {name}: {value}"));
                    }
                }
                text
            }
            _ => self.message(),
        };
        if let Some(hint) = self.hint() {
            text.push_str(&format!("\n  hint: {hint}"));
        }
        text
    }

    /// The `--json` form: `{"error": {...}}` with fixed field names.
    pub fn json(&self) -> Value {
        let api = match self {
            Self::Call(Error::Api(api)) => Some(api),
            _ => None,
        };
        json!({
            "error": {
                "kind": self.kind(),
                "exit_code": self.exit_code(),
                "message": self.message(),
                "status": api.map(|a| a.status()),
                "code": api.and_then(|a| a.code()).map(|c| c.as_str().to_owned()),
                "description": api.and_then(|a| a.description().or(a.message())),
                "request_id": api.and_then(|a| a.request_id()),
                "hint": self.hint(),
            }
        })
    }
}

/// An error's message followed by its causes, as one line.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
}

/// What to do about LINE's refusal, for the refusals a user can mend.
fn hint(api: &ApiError) -> Option<&'static str> {
    if api.is_signing_key_not_found() {
        return Some(
            "LINE knows no assertion signing key with this kid for the channel: register the \
             public key (`line-oauth keygen` prints it) in the LINE Developers Console, under \
             the channel's Basic settings, and give the kid it shows (--kid or LINE_ASSERTION_KID)",
        );
    }
    if api.is_token_limit_reached() {
        return Some(
            "the channel holds 30 valid v2.1 tokens: revoke one (`line-oauth kids` lists their \
             key IDs) or wait for one to expire",
        );
    }
    let text = api
        .description()
        .or(api.message())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if text.contains("invalid signature") {
        return Some(
            "the private key does not belong to the kid: give the key file whose public key was \
             registered under this kid (--key or LINE_ASSERTION_KEY_FILE)",
        );
    }
    if text.contains("iss and clientid") {
        return Some(
            "the kid is registered for another channel: check the channel ID (--channel-id or \
             LINE_CHANNEL_ID)",
        );
    }
    if text.contains("invalid exp") {
        return Some(
            "LINE judged the assertion expired or too long-lived: check this machine's clock",
        );
    }
    if text.contains("client_secret")
        || text.contains("client_id")
        || text.contains("client_credentials")
    {
        return Some(
            "check the channel ID and secret (LINE_CHANNEL_ID, LINE_CHANNEL_SECRET or \
             --secret-file) against the channel's Basic settings in the LINE Developers Console",
        );
    }
    None
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Self::Call(error)
    }
}

impl From<KeyError> for Failure {
    fn from(error: KeyError) -> Self {
        Self::Local(format!("assertion key: {error}"))
    }
}
