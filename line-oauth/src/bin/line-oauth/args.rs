//! The command line: subcommands, options, and where each input comes from.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// What `--help` ends with: where secrets come from, and the exit codes.
const AFTER_HELP: &str = "\
Secrets never come from arguments (they show in process lists and shell history):
  channel secret     LINE_CHANNEL_SECRET, or --secret-file FILE (- for standard input)
  tokens             TOKEN-SOURCE: - (standard input), @FILE, or env:NAME
  store key          LINE_TOKEN_STORE_KEY, or --store-key-file FILE (- for standard input)
  private key        a JWK file: --key FILE or LINE_ASSERTION_KEY_FILE

Output: the one value a command exists to print (a token, an assertion, a
public key) goes to standard output, remarks to standard error; with --json,
one JSON object per command on standard output.

Exit codes:
  0  success
  2  usage error (a missing, malformed or refused input)
  3  LINE refused (an API error: its code, description and request ID are printed)
  4  network error or timeout (LINE not reached, or its answer unreadable)
  5  local error (a key file, the token store, standard output closed)";

/// LINE's Channel Access Token API from a shell: assertion key pairs, signed
/// assertions, and issuing, verifying and revoking channel access tokens.
#[derive(Debug, Parser)]
#[command(name = "line-oauth", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// Where LINE's API is.
    #[arg(
        long,
        global = true,
        env = "LINE_API_BASE_URL",
        default_value = line_oauth::Client::DEFAULT_BASE_URL,
        value_name = "URL"
    )]
    pub base_url: String,

    /// How long each call may take, retries included, such as 10s or 1m (at most 1h).
    #[arg(long, global = true, value_parser = timeout, default_value = "30s")]
    pub timeout: Duration,

    /// One JSON object per command on standard output, with stable field names.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// The options a secret might be typed into: refused with a hint before
/// the command line is parsed (see `inputs::refuse_secret_arguments`), so
/// they appear in no help and no completion.
pub const SECRET_OPTIONS: [&str; 3] = ["--channel-secret", "--secret", "--token"];

/// The longest v2.1 token LINE issues, and the longest `token_exp`.
const LONGEST_TOKEN: Duration = Duration::from_secs(30 * 24 * 3600);

/// A token lifetime: 1 second to 30 days, such as 30d or 12h.
fn lifetime(text: &str) -> Result<Duration, String> {
    let lifetime = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if lifetime < Duration::from_secs(1) || lifetime > LONGEST_TOKEN {
        return Err("a token lifetime is 1 second to 30 days".to_owned());
    }
    Ok(lifetime)
}

/// A call's timeout: above zero, at most an hour.
fn timeout(text: &str) -> Result<Duration, String> {
    let timeout = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if timeout.is_zero() || timeout > line_oauth::Client::MAX_TIMEOUT {
        return Err("a timeout is above zero and at most 1h".to_owned());
    }
    Ok(timeout)
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make an assertion key pair: the private JWK goes to a new owner-only
    /// file; the public JWK is printed, to register in the LINE Developers
    /// Console (which answers with its kid).
    Keygen {
        /// The private key file to create.
        #[arg(long, default_value = "private.jwk.json", value_name = "FILE")]
        out: PathBuf,
        /// Replace the file if it exists (never through a symlink).
        #[arg(long)]
        force: bool,
    },
    /// Sign a client assertion (a JWT) and print it.
    Assertion {
        #[command(flatten)]
        creds: Creds,
        /// Ask for a v2.1 token of this lifetime (token_exp), such as 30d or 1h (at most 30d).
        #[arg(long, value_parser = lifetime, value_name = "DURATION")]
        token_exp: Option<Duration>,
    },
    /// Issue a channel access token and print it.
    Issue {
        #[command(subcommand)]
        kind: IssueKind,
    },
    /// Check a token with LINE: its channel, time left and scopes.
    Verify {
        /// Where to read the token: - (standard input), @FILE, or env:NAME;
        /// the JSON `issue --json` printed also gives its kind.
        #[arg(value_name = "TOKEN-SOURCE")]
        token: String,
        #[command(flatten)]
        version: Version,
    },
    /// Revoke a token, once LINE confirms it is valid. A v2.1 token needs
    /// the channel ID and secret; a stateless token cannot be revoked.
    Revoke {
        /// Where to read the token: - (standard input), @FILE, or env:NAME;
        /// the JSON `issue --json` printed also gives its kind.
        #[arg(value_name = "TOKEN-SOURCE")]
        token: String,
        #[command(flatten)]
        version: Version,
        #[command(flatten)]
        creds: Creds,
    },
    /// List the key IDs of the channel's valid v2.1 tokens.
    Kids {
        #[command(flatten)]
        creds: Creds,
    },
    /// How many of LINE's 30 v2.1 tokens the channel holds (a warning on
    /// standard error from 25).
    Budget {
        #[command(flatten)]
        creds: Creds,
    },
    /// Print a valid token from the token store, issuing one only when the
    /// stored one is missing or due: call it before every request.
    Token {
        /// Which kind of token.
        #[arg(long, value_enum, default_value_t = TokenKind::ShortLived)]
        kind: TokenKind,
        /// The lifetime of v2.1 tokens, such as 30d (at most 30d).
        #[arg(long, value_parser = lifetime, default_value = "30days")]
        lifetime: Duration,
        /// The store directory [default: $XDG_STATE_HOME/line-oauth, or ~/.local/state/line-oauth].
        #[arg(long, env = "LINE_TOKEN_STORE_DIR", value_name = "DIR")]
        store: Option<PathBuf>,
        /// The store's encryption key (base64) from a file, - for standard
        /// input [default: LINE_TOKEN_STORE_KEY]; make one with `store-key`.
        #[arg(long, value_name = "FILE")]
        store_key_file: Option<PathBuf>,
        #[command(flatten)]
        creds: Creds,
    },
    /// Print a new random encryption key for the token store (base64).
    StoreKey,
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// The kinds of token `issue` makes.
#[derive(Debug, Subcommand)]
pub enum IssueKind {
    /// A short-lived token (30 days) by channel ID and secret.
    ShortLived {
        #[command(flatten)]
        creds: Creds,
    },
    /// A stateless token (15 minutes), by assertion (the default when a key
    /// is given) or by channel secret.
    Stateless {
        /// By channel ID and secret.
        #[arg(long, conflicts_with = "by_assertion")]
        by_secret: bool,
        /// By a signed assertion (needs --kid and --key).
        #[arg(long)]
        by_assertion: bool,
        #[command(flatten)]
        creds: Creds,
    },
    /// A v2.1 token of a lifetime you choose, by a signed assertion.
    V21 {
        /// How long the token lives, such as 30d or 12h (at most 30d).
        #[arg(long, value_parser = lifetime, default_value = "30days")]
        lifetime: Duration,
        #[command(flatten)]
        creds: Creds,
    },
}

/// The kinds of token `token` keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TokenKind {
    /// Short-lived (30 days), by channel ID and secret.
    ShortLived,
    /// Stateless (15 minutes), by assertion when a key is given, else by secret.
    Stateless,
    /// v2.1, by assertion, of --lifetime.
    V21,
}

/// Which kind of token it is, when the token source does not say: a token
/// that is not a JWT is a v2 token (short-lived or long-lived); a JWT is
/// checked as a v2.1 token unless `--stateless` says otherwise.
#[derive(Debug, Args)]
#[group(multiple = false)]
pub struct Version {
    /// The token is a v2.1 token.
    #[arg(long)]
    pub v21: bool,
    /// The token is a short-lived or long-lived (v2) token.
    #[arg(long)]
    pub v2: bool,
    /// The token is a stateless token (it can be neither verified nor revoked).
    #[arg(long)]
    pub stateless: bool,
}

/// Who the channel is, and its keys. Each command asks for what it needs.
#[derive(Debug, Args)]
pub struct Creds {
    /// The channel ID.
    #[arg(long, env = "LINE_CHANNEL_ID", value_name = "ID")]
    pub channel_id: Option<String>,
    /// Read the channel secret from FILE (- for standard input) instead of
    /// LINE_CHANNEL_SECRET.
    #[arg(long, value_name = "FILE")]
    pub secret_file: Option<PathBuf>,
    /// The assertion signing key's kid, from the LINE Developers Console.
    #[arg(long, env = "LINE_ASSERTION_KID", value_name = "KID")]
    pub kid: Option<String>,
    /// The private assertion key (a JWK file, as `keygen` writes).
    #[arg(long, env = "LINE_ASSERTION_KEY_FILE", value_name = "FILE")]
    pub key: Option<PathBuf>,
}
