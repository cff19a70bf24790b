//! v2.1 channel access tokens, from key pair to token.
//!
//! 1. Make a key pair; keep the private JWK, register the public one in the
//!    LINE Developers Console (channel > Basic settings > Assertion Signing
//!    Key), which then shows its `kid`:
//!
//!    ```sh
//!    cargo run --example v21_tokens -- keygen private.jwk.json
//!    ```
//!
//! 2. Issue a token (and list the valid ones) with the private key and kid:
//!
//!    ```sh
//!    LINE_CHANNEL_ID=... LINE_ASSERTION_KEY_FILE=private.jwk.json LINE_ASSERTION_KID=... \
//!        cargo run --example v21_tokens -- issue [LIFETIME_SECONDS]
//!    ```
//!
//!    `LINE_API_BASE_URL` points it at another server speaking LINE's API
//!    (such as the `fake-line` binary of this workspace's tests).

use std::process::ExitCode;
use std::time::Duration;

use line_oauth::{AssertionKeyPair, AssertionSigner, Client, Error};

const USAGE: &str = "usage: v21_tokens keygen FILE | v21_tokens issue [LIFETIME_SECONDS]";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["keygen", file] => keygen(file),
        ["issue"] => issue(3600).await,
        ["issue", seconds] => match seconds.parse() {
            Ok(seconds) => issue(seconds).await,
            Err(_) => Err(format!("not a number of seconds: {seconds}")),
        },
        _ => Err(USAGE.to_owned()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// Writes a new private JWK to `file` (readable by its owner only, written
/// atomically, never over an existing file) and prints the public JWK to
/// register.
fn keygen(file: &str) -> Result<(), String> {
    let pair = AssertionKeyPair::generate().map_err(|e| e.to_string())?;
    pair.private.to_file(file).map_err(|e| e.to_string())?;
    println!("private key written to {file}: keep it secret");
    println!("register this public key in the LINE Developers Console, then note its kid:");
    println!("{}", pair.public.to_json());
    Ok(())
}

/// Issues a v2.1 token valid for `seconds` and lists the channel's valid ones.
async fn issue(seconds: u64) -> Result<(), String> {
    let signer = AssertionSigner::from_env().map_err(|e| format!("{e}\n{USAGE}"))?;
    let base_url = std::env::var("LINE_API_BASE_URL")
        .unwrap_or_else(|_| line_oauth::Client::DEFAULT_BASE_URL.to_owned());
    let client = Client::builder()
        .base_url(base_url)
        .build()
        .map_err(|e| e.to_string())?;

    let issued = client
        .issue_v21(&signer, Duration::from_secs(seconds))
        .await
        .map_err(|e| explain(&e))?;
    println!(
        "issued a v2.1 token valid for {:?}, key id {}",
        issued.expires_in(),
        issued.key_id().unwrap_or("?")
    );
    println!("send it as: Authorization: Bearer <issued.access_token().expose_secret()>");
    let key_ids = client
        .list_v21_key_ids(&signer)
        .await
        .map_err(|e| explain(&e))?;
    println!(
        "the channel has {} valid v2.1 token(s) (at most 30)",
        key_ids.len()
    );
    Ok(())
}

/// The error, with a hint for the mistakes people make most.
fn explain(error: &Error) -> String {
    if error.is_signing_key_not_found() {
        format!(
            "{error}\nhint: is the public key registered for this channel, and is LINE_ASSERTION_KID its kid?"
        )
    } else if error.is_token_limit_reached() {
        format!(
            "{error}\nhint: the channel has 30 valid v2.1 tokens; revoke some with Client::revoke_v21"
        )
    } else {
        error.to_string()
    }
}
