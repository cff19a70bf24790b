//! `cargo xtask package-check`: what a user gets from crates.io, checked
//! before it is published.
//!
//! 1. `cargo publish --dry-run` of line-oauth-fake and line-oauth (packaged
//!    together, so each resolves the other as if it were on crates.io).
//! 2. The packaged crates (cargo unpacks each `.crate` to verify it) are
//!    copied to a scratch workspace outside this one, with a consumer crate
//!    that depends on them as a user would and runs the README's quick
//!    start against line-oauth-fake.
//! 3. There: the consumer is built (timed) and run; both crates' doctests
//!    and line-oauth's examples run from the packages (all but `bench`,
//!    which needs a server and a peer harness: it is built, not run).
//!
//! The scratch workspace builds into this workspace's `target/` (the
//! dependencies are then mostly built already), or with `--clean` into its
//! own, for the time a user's first build takes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The published crates, in the order they must be published.
const CRATES: [&str; 2] = ["line-oauth-fake", "line-oauth"];

/// The README's quick start, against the fake.
const CONSUMER_MAIN: &str = r#"//! The README's quick start, as a user's crate runs it, against the fake.
use line_oauth::{ChannelCredentials, Client, ClientSecret};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fake = line_oauth_fake::FakeLine::start().await?;
    fake.add_channel("1234567890", "channel secret");
    let client = Client::builder().base_url(fake.url()).build()?;
    let creds = ChannelCredentials::new("1234567890", ClientSecret::new("channel secret"));
    let issued = client.issue_stateless(&creds).await?;
    let bearer = format!("Bearer {}", issued.access_token().expose_secret());
    assert!(bearer.len() > "Bearer ".len());
    println!("quick start: a stateless token valid for {:?}", issued.expires_in());
    Ok(())
}
"#;

/// Runs the whole check; the scratch directory is removed afterwards.
pub fn run(root: &Path, clean: bool) -> Result<String, String> {
    let version = package_version(root)?;
    let mut publish = cargo(root);
    publish.args(["publish", "--dry-run", "--locked"]);
    for name in CRATES {
        publish.args(["-p", name]);
    }
    status(&mut publish)?;

    let scratch =
        std::env::temp_dir().join(format!("line-oauth-package-check-{}", std::process::id()));
    let target = if clean {
        scratch.join("target")
    } else {
        root.join("target")
    };
    let result = check_in_scratch(root, &scratch, &target, &version);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn check_in_scratch(
    root: &Path,
    scratch: &Path,
    target: &Path,
    version: &str,
) -> Result<String, String> {
    let cargo = |dir: &Path| {
        let mut command = cargo(dir);
        command.env("CARGO_TARGET_DIR", target);
        command
    };
    let _ = std::fs::remove_dir_all(scratch);
    std::fs::create_dir_all(scratch.join("consumer/src")).map_err(io)?;
    for name in CRATES {
        let unpacked = root
            .join("target/package")
            .join(format!("{name}-{version}"));
        copy_dir(&unpacked, &scratch.join(name))?;
    }
    // The workspace's lock file pins the same versions the tests ran with.
    std::fs::copy(root.join("Cargo.lock"), scratch.join("Cargo.lock")).map_err(io)?;
    write(
        &scratch.join("Cargo.toml"),
        r#"[workspace]
resolver = "3"
members = ["consumer", "line-oauth", "line-oauth-fake"]

[patch.crates-io]
line-oauth = { path = "line-oauth" }
line-oauth-fake = { path = "line-oauth-fake" }
"#,
    )?;
    write(
        &scratch.join("consumer/Cargo.toml"),
        &format!(
            r#"[package]
name = "consumer"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
line-oauth = "{version}"
line-oauth-fake = "{version}"
tokio = {{ version = "1", features = ["macros", "rt-multi-thread"] }}
"#
        ),
    )?;
    write(&scratch.join("consumer/src/main.rs"), CONSUMER_MAIN)?;

    let started = Instant::now();
    status(cargo(scratch).args(["build", "-p", "consumer"]))?;
    let build = started.elapsed();
    status(cargo(scratch).args(["run", "-q", "-p", "consumer"]))?;
    status(cargo(scratch).args(["test", "--doc", "-p", "line-oauth", "--all-features"]))?;
    status(cargo(scratch).args(["test", "--doc", "-p", "line-oauth-fake"]))?;
    for example in ["tour", "token_source"] {
        status(cargo(scratch).args(["run", "-q", "-p", "line-oauth", "--example", example]))?;
    }
    status(cargo(scratch).args([
        "run",
        "-q",
        "-p",
        "line-oauth",
        "--features",
        "reqwest-middleware",
        "--example",
        "push_message",
    ]))?;
    let key = scratch.join("example.jwk.json");
    let key = key.to_str().ok_or("a scratch path that is not UTF-8")?;
    status(
        cargo(scratch)
            .args([
                "run",
                "-q",
                "-p",
                "line-oauth",
                "--example",
                "v21_tokens",
                "--",
            ])
            .args(["keygen", key]),
    )?;
    Ok(format!(
        "package check passed: published dry-run of {}; the consumer built in {:.1} s and ran; \
         doctests and examples ran from the packages",
        CRATES.join(" and "),
        build.as_secs_f64()
    ))
}

/// `cargo` in `dir`.
fn cargo(dir: &Path) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(dir);
    command
}

fn status(command: &mut Command) -> Result<(), String> {
    let shown = format!("{command:?}");
    let status = command.status().map_err(|e| format!("{shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed: {status}"))
    }
}

/// line-oauth's version, from its manifest.
fn package_version(root: &Path) -> Result<String, String> {
    let manifest = std::fs::read_to_string(root.join("line-oauth/Cargo.toml")).map_err(io)?;
    manifest
        .lines()
        .find_map(|line| line.strip_prefix("version = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .map(str::to_owned)
        .ok_or_else(|| "no version in line-oauth/Cargo.toml".to_owned())
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(io)?;
    for entry in std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
        let entry = entry.map_err(io)?;
        let target: PathBuf = to.join(entry.file_name());
        if entry.file_type().map_err(io)?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target).map_err(io)?;
        }
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn io(error: std::io::Error) -> String {
    error.to_string()
}

#[cfg(test)]
mod tests {
    use super::CONSUMER_MAIN;

    /// The consumer runs the README's quick start: the lines a user copies
    /// from README must be the lines the package check compiles, so an API
    /// change that breaks one breaks this test first.
    #[test]
    fn the_consumer_runs_the_readme_quick_start() {
        let readme = include_str!("../../README.md");
        for line in [
            "let creds = ChannelCredentials::new(\"1234567890\", ClientSecret::new(\"channel secret\"));",
            "let issued = client.issue_stateless(&creds).await?;",
            "let bearer = format!(\"Bearer {}\", issued.access_token().expose_secret());",
        ] {
            assert!(
                readme.contains(line),
                "README's quick start no longer has: {line}"
            );
            assert!(
                CONSUMER_MAIN.contains(line),
                "the package check's consumer no longer runs README's line: {line}"
            );
        }
    }
}
