//! Where inputs come from: the channel and its keys from options or the
//! environment; secrets from the environment, a file or standard input,
//! never from an argument.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};

use line_oauth::{
    AccessToken, AssertionSigner, ChannelCredentials, ClientSecret, EncryptionKey, PrivateJwk,
};
use zeroize::Zeroizing;

use crate::args::{Creds, SECRET_OPTIONS, TokenKind};
use crate::failure::Failure;

/// Refuses the options a secret might have been typed into, wherever they
/// stand before a `--`: a secret in an argument shows in process lists and
/// shell history. Checked before parsing, so the hint is the same for every
/// command.
pub fn refuse_secret_arguments(args: &[OsString]) -> Result<(), Failure> {
    let typed = args
        .iter()
        .skip(1)
        .map(|arg| arg.to_string_lossy())
        .take_while(|arg| arg != "--")
        .find_map(|arg| {
            SECRET_OPTIONS.into_iter().find(|option| {
                arg == *option || arg.strip_prefix(option).is_some_and(|v| v.starts_with('='))
            })
        });
    let instead = match typed {
        None => return Ok(()),
        Some("--token") => "Give the token as TOKEN-SOURCE: - (standard input), @FILE or env:NAME.",
        Some(_) => "Set LINE_CHANNEL_SECRET, or use --secret-file FILE (- for standard input).",
    };
    Err(Failure::Usage(format!(
        "{} is refused: a secret in an argument shows in process lists and shell history. \
         {instead}",
        typed.unwrap_or_default()
    )))
}

impl Creds {
    /// The channel ID.
    pub fn channel_id(&self) -> Result<String, Failure> {
        self.channel_id
            .clone()
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                Failure::Usage("needs the channel ID: --channel-id or LINE_CHANNEL_ID".into())
            })
    }

    /// The channel secret: from --secret-file, else LINE_CHANNEL_SECRET.
    pub fn secret(&self) -> Result<ClientSecret, Failure> {
        let Some(path) = &self.secret_file else {
            return ClientSecret::from_env().map_err(|e| {
                let fix = if e.is_missing() {
                    "set it"
                } else {
                    "correct it"
                };
                Failure::Usage(format!(
                    "needs the channel secret: {e}; {fix}, or use --secret-file FILE (- for \
                     standard input)"
                ))
            });
        };
        let text = read_secret(path, "the channel secret")?;
        let secret = text.trim();
        if secret.is_empty() {
            return Err(Failure::Usage("the channel secret is empty".into()));
        }
        Ok(ClientSecret::new(secret))
    }

    /// The channel ID and secret.
    pub fn credentials(&self) -> Result<ChannelCredentials, Failure> {
        Ok(ChannelCredentials::new(self.channel_id()?, self.secret()?))
    }

    /// Whether an assertion key was given.
    pub fn has_key(&self) -> bool {
        self.key.is_some()
    }

    /// A signer for the channel: its key file and kid.
    pub fn signer(&self) -> Result<AssertionSigner, Failure> {
        let path = self.key.as_ref().ok_or_else(|| {
            Failure::Usage("needs the private key: --key FILE or LINE_ASSERTION_KEY_FILE".into())
        })?;
        let kid = self.kid.clone().filter(|k| !k.is_empty()).ok_or_else(|| {
            Failure::Usage("needs the key's kid: --kid or LINE_ASSERTION_KID".into())
        })?;
        let channel_id = self.channel_id()?;
        let key = PrivateJwk::from_file(path)
            .map_err(|e| Failure::Local(format!("{}: {e}", path.display())))?;
        Ok(AssertionSigner::new(&key, kid, channel_id))
    }
}

/// A token from its TOKEN-SOURCE (`-`, `@FILE` or `env:NAME`), and its kind
/// when the source says: the JSON that `issue --json` or `token --json`
/// printed. Anything else is taken for a token typed on the command line,
/// and refused.
pub fn token(source: &str) -> Result<(AccessToken, Option<TokenKind>), Failure> {
    let text =
        if source == "-" {
            read_secret(Path::new("-"), "the token")?
        } else if let Some(path) = source.strip_prefix('@') {
            read_secret(Path::new(path), "the token")?
        } else if let Some(name) = source.strip_prefix("env:") {
            Zeroizing::new(std::env::var(name).map_err(|_| {
                Failure::Usage(format!("the environment variable {name} is not set"))
            })?)
        } else {
            return Err(Failure::Usage(
                "TOKEN-SOURCE says where to read the token, not the token itself: a token in an \
             argument shows in process lists and shell history. Use - (standard input), @FILE, \
             or env:NAME."
                    .into(),
            ));
        };
    if let Some(issued) = issued_json(&text) {
        return Ok(issued);
    }
    let token = text.trim();
    if token.is_empty() {
        return Err(Failure::Usage("the token is empty".into()));
    }
    Ok((AccessToken::new(token), None))
}

/// The token and kind in the JSON `issue --json` or `token --json` printed.
fn issued_json(text: &str) -> Option<(AccessToken, Option<TokenKind>)> {
    #[derive(serde::Deserialize)]
    struct Issued {
        access_token: AccessToken,
        kind: Option<String>,
    }
    let issued: Issued = serde_json::from_str(text.trim()).ok()?;
    let kind = match issued.kind.as_deref() {
        Some("short-lived") => Some(TokenKind::ShortLived),
        Some("stateless") => Some(TokenKind::Stateless),
        Some("v21") => Some(TokenKind::V21),
        _ => None,
    };
    Some((issued.access_token, kind))
}

/// The token store key: from `file` (`-` for standard input), else
/// LINE_TOKEN_STORE_KEY.
pub fn store_key(file: Option<&PathBuf>) -> Result<EncryptionKey, Failure> {
    let text = match file {
        Some(path) => read_secret(path, "the store key")?,
        None => Zeroizing::new(std::env::var("LINE_TOKEN_STORE_KEY").map_err(|_| {
            Failure::Usage(
                "needs the token store key: LINE_TOKEN_STORE_KEY, or --store-key-file FILE; \
                 make one with `line-oauth store-key`"
                    .into(),
            )
        })?),
    };
    EncryptionKey::from_base64(&text).map_err(|e| Failure::Usage(e.to_string()))
}

/// The text of a secret file, or of standard input for `-`: at most 64 KiB,
/// anything longer refused rather than cut.
fn read_secret(path: &Path, what: &str) -> Result<Zeroizing<String>, Failure> {
    const LIMIT: u64 = 64 * 1024;
    let failed = |e: std::io::Error| Failure::Local(format!("{what}: {}: {e}", path.display()));
    let mut text = Zeroizing::new(String::new());
    if path == Path::new("-") {
        std::io::stdin()
            .take(LIMIT + 1)
            .read_to_string(&mut text)
            .map_err(failed)?;
    } else {
        std::fs::File::open(path)
            .and_then(|f| f.take(LIMIT + 1).read_to_string(&mut text))
            .map_err(failed)?;
    }
    if text.len() as u64 > LIMIT {
        return Err(Failure::Local(format!(
            "{what}: {}: larger than 64 KiB, so not a secret of LINE's; give the file that holds \
             only the value",
            path.display()
        )));
    }
    Ok(text)
}
