//! How a command fails: the exit code, and what is printed about it.

use line_oauth::{Error, KeyError};
use serde_json::{Value, json};

/// A failed command.
#[derive(Debug)]
pub enum Failure {
    /// The command line is wrong or an input is missing or refused.
    Usage(String),
    /// A call failed; its kind decides the exit code.
    Call(Error),
    /// A local file or store failed.
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
                Error::InvalidRequest { .. } | Error::InvalidConfig(_) => "usage",
                _ => "local",
            },
        }
    }

    /// What a person reads: for LINE's refusals, its code, description and
    /// request ID each on a line.
    pub fn human(&self) -> String {
        match self {
            Self::Usage(message) | Self::Local(message) => message.clone(),
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
            Self::Call(error) => error.to_string(),
        }
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
                "message": match self {
                    Self::Usage(m) | Self::Local(m) => m.clone(),
                    Self::Call(e) => e.to_string(),
                },
                "status": api.map(|a| a.status().as_u16()),
                "code": api.and_then(|a| a.code()).map(|c| c.as_str().to_owned()),
                "description": api.and_then(|a| a.description().or(a.message())),
                "request_id": api.and_then(|a| a.request_id()),
            }
        })
    }
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
