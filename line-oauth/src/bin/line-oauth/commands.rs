//! What each subcommand does, and what it prints.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use line_oauth::{
    AccessToken, AssertionKeyPair, Client, FileStore, IssuedToken, ShortLived, Stateless,
    TokenInfo, TokenSource, V21, V21Budget,
};
use serde_json::{Value, json};

use crate::args::{Cli, Command, Creds, IssueKind, TokenKind, Version};
use crate::failure::Failure;
use crate::inputs;

/// What a command prints: its one value on standard output, a remark on
/// standard error, or with `--json` the object alone.
pub struct Printed {
    pub value: String,
    pub remark: Option<String>,
    pub json: Value,
}

/// Runs every subcommand but `completions`.
pub async fn run(cli: &Cli) -> Result<Printed, Failure> {
    match &cli.command {
        Command::Keygen { out, force } => keygen(out, *force),
        Command::Assertion { creds, token_exp } => assertion(creds, *token_exp),
        Command::Issue { kind } => issue(&client(cli)?, kind).await,
        Command::Verify { token, version } => verify(&client(cli)?, token, version).await,
        Command::Revoke {
            token,
            version,
            creds,
        } => revoke(&client(cli)?, token, version, creds).await,
        Command::Kids { creds } => kids(&client(cli)?, creds).await,
        Command::Budget { creds } => budget(&client(cli)?, creds).await,
        Command::Token {
            kind,
            lifetime,
            store,
            store_key_file,
            creds,
        } => {
            let store = open_store(store.as_deref(), store_key_file.as_ref())?;
            stored_token(client(cli)?, *kind, *lifetime, store, creds).await
        }
        Command::StoreKey => {
            let key = line_oauth::EncryptionKey::generate().to_base64();
            Ok(Printed {
                json: json!({ "store_key": key }),
                value: key,
                remark: Some(
                    "keep it where your secrets live; set it as LINE_TOKEN_STORE_KEY".into(),
                ),
            })
        }
        Command::Completions { shell } => {
            let script = crate::completions::script(*shell);
            Ok(Printed {
                json: json!({ "completions": script }),
                value: script,
                remark: None,
            })
        }
    }
}

fn client(cli: &Cli) -> Result<Client, Failure> {
    plain_http_only_to_loopback(&cli.base_url)?;
    Ok(Client::builder()
        .base_url(cli.base_url.clone())
        .timeout(cli.timeout)
        .build()?)
}

/// Refuses a plain-http base URL to another machine: secrets would cross
/// the network in clear text. The command has no switch for it.
fn plain_http_only_to_loopback(base_url: &str) -> Result<(), Failure> {
    let Ok(url) = url::Url::parse(base_url) else {
        return Ok(()); // the client's builder says what is wrong with it
    };
    let loopback = match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if url.scheme() == "http" && !loopback {
        return Err(Failure::Usage(format!(
            "--base-url (or LINE_API_BASE_URL) is plain http to {}: secrets would cross the \
             network in clear text; use https, or a loopback address (127.0.0.1, localhost) \
             for a local server such as fake-line",
            url.host_str().unwrap_or_default()
        )));
    }
    Ok(())
}

fn keygen(out: &Path, force: bool) -> Result<Printed, Failure> {
    let local = |message: String| Failure::Local(format!("{}: {message}", out.display()));
    if let Ok(existing) = std::fs::symlink_metadata(out) {
        if existing.file_type().is_symlink() {
            return Err(local(
                "is a symlink; refusing to write a private key through it".into(),
            ));
        }
        if !force {
            return Err(local("exists; use --force to replace it".into()));
        }
    }
    let pair = AssertionKeyPair::generate()?;
    if force {
        // Written whole beside it, then renamed over it.
        let name = out.file_name().map(|n| n.to_string_lossy().into_owned());
        let temporary = out.with_file_name(format!(
            ".{}.{:016x}.tmp",
            name.unwrap_or_default(),
            rand::random::<u64>()
        ));
        pair.private.to_file(&temporary)?;
        std::fs::rename(&temporary, out).map_err(|e| {
            let _ = std::fs::remove_file(&temporary);
            local(e.to_string())
        })?;
    } else {
        pair.private.to_file(out)?;
    }
    let public = pair.public.to_json();
    Ok(Printed {
        json: json!({
            "private_key_file": out,
            "public_jwk": serde_json::from_str::<Value>(&public).expect("a JWK is JSON"),
        }),
        value: public,
        remark: Some(format!(
            "private key written to {} (owner-only). Register the public key above in the LINE \
             Developers Console; it answers with the kid to sign with.",
            out.display()
        )),
    })
}

fn assertion(creds: &Creds, token_exp: Option<Duration>) -> Result<Printed, Failure> {
    let signer = creds.signer()?;
    let signed = match token_exp {
        Some(lifetime) => signer.sign_v21(lifetime),
        None => signer.sign(),
    }
    .map_err(line_oauth::Error::from)?;
    let assertion = signed.expose_secret().to_owned();
    Ok(Printed {
        json: json!({ "assertion": assertion }),
        value: assertion,
        remark: None,
    })
}

async fn issue(client: &Client, kind: &IssueKind) -> Result<Printed, Failure> {
    let (name, issued) = match kind {
        IssueKind::ShortLived { creds } => (
            "short-lived",
            client.issue_short_lived(&creds.credentials()?).await?,
        ),
        IssueKind::Stateless {
            by_secret,
            by_assertion,
            creds,
        } => {
            let issued = if *by_secret || (!*by_assertion && !creds.has_key()) {
                client.issue_stateless(&creds.credentials()?).await?
            } else {
                client.issue_stateless(&creds.signer()?).await?
            };
            ("stateless", issued)
        }
        IssueKind::V21 { lifetime, creds } => {
            ("v21", client.issue_v21(&creds.signer()?, *lifetime).await?)
        }
    };
    Ok(issued_token(name, &issued))
}

fn issued_token(kind: &str, issued: &IssuedToken) -> Printed {
    let token = issued.access_token().expose_secret().to_owned();
    let expires_in = issued.expires_in().as_secs();
    Printed {
        json: json!({
            "kind": kind,
            "access_token": token,
            "token_type": issued.token_type(),
            "expires_in": expires_in,
            "expires_at": unix_seconds(issued.expires_at()),
            "key_id": issued.key_id(),
        }),
        value: token,
        remark: Some(format!(
            "{kind} token, valid for {}{}",
            humantime::format_duration(Duration::from_secs(expires_in)),
            issued
                .key_id()
                .map(|kid| format!(", key ID {kid}"))
                .unwrap_or_default()
        )),
    }
}

/// The kind of token to verify or revoke: what the token source said (the
/// JSON `issue` printed), else the flag, else by its shape: a token that is
/// not a JWT is a v2 token; a JWT is taken for a v2.1 token (LINE then
/// says whether it is one).
fn kind_of(token: &AccessToken, said: Option<TokenKind>, version: &Version) -> TokenKind {
    let flagged = [
        (version.v21, TokenKind::V21),
        (version.v2, TokenKind::ShortLived),
        (version.stateless, TokenKind::Stateless),
    ]
    .into_iter()
    .find_map(|(given, kind)| given.then_some(kind));
    said.or(flagged).unwrap_or_else(|| {
        let parts: Vec<&str> = token.expose_secret().split('.').collect();
        if parts.len() == 3 && parts[0].starts_with("eyJ") {
            TokenKind::V21
        } else {
            TokenKind::ShortLived
        }
    })
}

/// LINE's word on `token` as a token of `kind`. A stateless token has no
/// verify call.
async fn check(
    client: &Client,
    token: &AccessToken,
    kind: TokenKind,
) -> Result<TokenInfo, Failure> {
    match kind {
        TokenKind::V21 => Ok(client.verify_v21(token).await?),
        TokenKind::ShortLived => Ok(client.verify(token).await?),
        TokenKind::Stateless => Err(Failure::Usage(
            "LINE has no call to verify a stateless token, nor to revoke one: it is valid for 15 \
             minutes from issuance"
                .into(),
        )),
    }
}

/// How output names a kind's token version.
fn version_name(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::V21 => "v2.1",
        TokenKind::ShortLived => "v2",
        TokenKind::Stateless => "stateless",
    }
}

async fn verify(client: &Client, source: &str, version: &Version) -> Result<Printed, Failure> {
    let (token, said) = inputs::token(source)?;
    let kind = kind_of(&token, said, version);
    let info = check(client, &token, kind).await?;
    let version = version_name(kind);
    Ok(Printed {
        json: json!({
            "valid": true,
            "version": version,
            "client_id": info.client_id(),
            "expires_in": info.expires_in().as_secs(),
            "scopes": info.scopes().collect::<Vec<_>>(),
        }),
        value: format!(
            "valid {version} token of channel {}, {} left{}",
            info.client_id(),
            humantime::format_duration(Duration::from_secs(info.expires_in().as_secs())),
            match info.scopes().collect::<Vec<_>>().join(" ") {
                scopes if scopes.is_empty() => String::new(),
                scopes => format!(", scopes: {scopes}"),
            }
        ),
        remark: None,
    })
}

/// Revokes a token LINE first confirms valid: LINE answers a revocation of
/// an unknown token as it does a real one, and the command reports only
/// what happened.
async fn revoke(
    client: &Client,
    source: &str,
    version: &Version,
    creds: &Creds,
) -> Result<Printed, Failure> {
    let (token, said) = inputs::token(source)?;
    let kind = kind_of(&token, said, version);
    let creds = match kind {
        TokenKind::V21 => Some(creds.credentials()?),
        _ => None,
    };
    check(client, &token, kind).await?;
    match &creds {
        Some(creds) => client.revoke_v21(creds, &token).await?,
        None => client.revoke(&token).await?,
    }
    let version = version_name(kind);
    Ok(Printed {
        json: json!({ "revoked": true, "version": version }),
        value: format!("revoked ({version} token)"),
        remark: None,
    })
}

async fn kids(client: &Client, creds: &Creds) -> Result<Printed, Failure> {
    let key_ids = client.list_v21_key_ids(&creds.signer()?).await?;
    Ok(Printed {
        json: json!({ "key_ids": key_ids }),
        value: key_ids.join("\n"),
        remark: key_ids
            .is_empty()
            .then(|| "the channel has no valid v2.1 token".to_owned()),
    })
}

async fn budget(client: &Client, creds: &Creds) -> Result<Printed, Failure> {
    let budget = client.v21_budget(&creds.signer()?).await?;
    Ok(Printed {
        json: json!({
            "in_use": budget.in_use,
            "limit": V21Budget::LIMIT,
            "left": budget.left(),
        }),
        value: budget.to_string(),
        remark: budget.is_near_limit().then(|| {
            format!(
                "only {} left: a 31st issuance is refused; revoke the tokens no one uses \
                 (`line-oauth kids` lists them)",
                budget.left()
            )
        }),
    })
}

/// The file store `token` keeps its token in.
fn open_store(directory: Option<&Path>, key_file: Option<&PathBuf>) -> Result<FileStore, Failure> {
    let key = inputs::store_key(key_file)?;
    let directory = match directory {
        Some(directory) => directory.to_owned(),
        None => default_store_directory()?,
    };
    FileStore::new(directory, &key).map_err(|e| Failure::Local(e.to_string()))
}

/// `$XDG_STATE_HOME/line-oauth`, or `~/.local/state/line-oauth`.
fn default_store_directory() -> Result<PathBuf, Failure> {
    let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(state) = non_empty("XDG_STATE_HOME") {
        return Ok(PathBuf::from(state).join("line-oauth"));
    }
    let home = non_empty("HOME").ok_or_else(|| {
        Failure::Usage(
            "no HOME: give the store directory with --store or LINE_TOKEN_STORE_DIR".into(),
        )
    })?;
    Ok(PathBuf::from(home).join(".local/state/line-oauth"))
}

async fn stored_token(
    client: Client,
    kind: TokenKind,
    lifetime: Duration,
    store: FileStore,
    creds: &Creds,
) -> Result<Printed, Failure> {
    // Replaced tokens are left to expire: this process ends at once, and a
    // revocation would have to wait out the revoke delay.
    let client_timeout = client.timeout();
    let (name, source) = match kind {
        TokenKind::ShortLived => (
            "short-lived",
            TokenSource::builder(ShortLived::new(client, creds.credentials()?)),
        ),
        TokenKind::Stateless if creds.has_key() => (
            "stateless",
            TokenSource::builder(Stateless::by_signer(client, creds.signer()?)),
        ),
        TokenKind::Stateless => (
            "stateless",
            TokenSource::builder(Stateless::by_secret(client, creds.credentials()?)),
        ),
        TokenKind::V21 => (
            "v21",
            TokenSource::builder(
                // The command exits once it prints: `budget` counts.
                V21::new(client, creds.signer()?, lifetime).count_tokens(false),
            ),
        ),
    };
    // A store it cannot use fails the command rather than issuing: issuing
    // on every run is what the command exists to avoid (each short-lived
    // or v2.1 token counts against LINE's 30). The lock outlives the
    // longest issuance the timeout allows.
    let lock_ttl = client_timeout
        .saturating_add(TokenSource::DEFAULT_STORE_TIMEOUT.saturating_mul(3))
        .saturating_add(Duration::from_secs(1))
        .max(TokenSource::DEFAULT_LOCK_TTL);
    let token = source
        .store(store)
        .degraded_mode(false)
        .lock_ttl(lock_ttl)
        .build()?
        .token()
        .await?;
    let value = token.access_token().expose_secret().to_owned();
    Ok(Printed {
        json: json!({
            "kind": name,
            "access_token": value,
            "expires_at": unix_seconds(token.expires_at()),
            "key_id": token.key_id(),
        }),
        value,
        remark: None,
    })
}

fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
