//! The `line-oauth` binary, driven as a user would, against the fake LINE
//! server: every command, its exit codes, its JSON, and its secrets.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use line_oauth_fake::FakeLine;
use serde_json::{Value, json};

const CHANNEL: &str = "1234567890";
const SECRET: &str = "cli-test-channel-secret";

/// A fake LINE, a scratch directory (the binary's HOME), and the binary.
struct Shell {
    fake: FakeLine,
    dir: tempfile::TempDir,
}

/// What a run of the binary gave.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn ok(self) -> Self {
        assert_eq!(self.code, 0, "failed: {self:?}");
        self
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }
}

impl Shell {
    async fn new() -> Self {
        let fake = FakeLine::start().await.unwrap();
        fake.add_channel(CHANNEL, SECRET);
        Self {
            fake,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `line-oauth args` with only `env` (and HOME, and the fake as
    /// base URL) in its environment, `stdin` on its standard input.
    async fn run(&self, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_line-oauth"));
        command
            .args(args)
            .env_clear()
            .env("HOME", self.dir.path())
            .env("LINE_API_BASE_URL", self.fake.url())
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let output = finish(command, stdin.to_owned()).await;
        let run = Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).unwrap().trim().to_owned(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        };
        assert!(
            !run.stdout.contains(SECRET) && !run.stderr.contains(SECRET),
            "the channel secret was printed: {run:?}"
        );
        run
    }

    /// The channel's ID and secret, by environment.
    fn secret_env(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("LINE_CHANNEL_ID", CHANNEL),
            ("LINE_CHANNEL_SECRET", SECRET),
        ]
    }

    /// Generates a key, registers the public JWK keygen printed with the
    /// fake; the environment that signs with it, and that JWK.
    async fn registered_key(&self) -> (Vec<(&'static str, String)>, String) {
        let key = self.path("private.jwk.json");
        let public = self
            .run(&["keygen", "--out", key.to_str().unwrap()], &[], "")
            .await
            .ok()
            .stdout;
        let kid = self.fake.register_key(CHANNEL, &public).unwrap();
        let env = vec![
            ("LINE_CHANNEL_ID", CHANNEL.to_owned()),
            ("LINE_ASSERTION_KID", kid),
            ("LINE_ASSERTION_KEY_FILE", key.display().to_string()),
        ];
        (env, public)
    }
}

fn borrowed<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn keys(value: &Value) -> BTreeSet<&str> {
    value
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn keygen_register_assertion_issue_verify_kids_revoke() {
    let shell = Shell::new().await;
    let (env, public) = shell.registered_key().await;
    #[cfg(unix)]
    assert_eq!(mode(&shell.path("private.jwk.json")), 0o600);

    // The assertion verifies against the public JWK keygen printed, by an
    // independent JWT implementation.
    let jwt = shell
        .run(&["assertion", "--token-exp", "1h"], &borrowed(&env), "")
        .await
        .ok()
        .stdout;
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_str(&public).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&["https://api.line.me/"]);
    validation.set_issuer(&[CHANNEL]);
    let claims =
        jsonwebtoken::decode::<Value>(&jwt, &DecodingKey::from_jwk(&jwk).unwrap(), &validation)
            .expect("the assertion verifies")
            .claims;
    assert_eq!(claims["sub"], CHANNEL);
    assert_eq!(claims["token_exp"], 3600);
    let header = jsonwebtoken::decode_header(&jwt).unwrap();
    assert_eq!(header.kid.as_deref(), Some(env[1].1.as_str()));

    let issued = shell
        .run(
            &["issue", "v21", "--lifetime", "1h", "--json"],
            &borrowed(&env),
            "",
        )
        .await
        .ok()
        .json();
    let token = issued["access_token"].as_str().unwrap().to_owned();
    assert_eq!(issued["expires_in"], 3600);
    let token_file = shell.path("token");
    std::fs::write(&token_file, &token).unwrap();
    let source = format!("@{}", token_file.display());
    let verified = shell.run(&["verify", &source], &[], "").await.ok();
    assert!(
        verified
            .stdout
            .starts_with("valid v2.1 token of channel 1234567890"),
        "{verified:?}"
    );

    let kids = shell.run(&["kids"], &borrowed(&env), "").await.ok();
    assert_eq!(kids.stdout, issued["key_id"].as_str().unwrap());
    let budget = shell.run(&["budget"], &borrowed(&env), "").await.ok();
    assert_eq!(budget.stdout, "1 of 30 v2.1 tokens in use");
    assert!(budget.stderr.is_empty(), "{budget:?}");
    let budget = shell
        .run(&["budget", "--json"], &borrowed(&env), "")
        .await
        .ok();
    assert_eq!(budget.json(), json!({"in_use": 1, "limit": 30, "left": 29}));

    let mut revoke_env = borrowed(&env);
    revoke_env.extend([("LINE_CHANNEL_SECRET", SECRET), ("TOKEN", token.as_str())]);
    let revoked = shell
        .run(&["revoke", "env:TOKEN"], &revoke_env, "")
        .await
        .ok();
    assert_eq!(revoked.stdout, "revoked (v2.1 token)");
    let after = shell.run(&["verify", &source], &[], "").await;
    assert_eq!(after.code, 3, "{after:?}");
}

#[tokio::test]
async fn keygen_never_clobbers_unasked_nor_writes_through_a_symlink() {
    let shell = Shell::new().await;
    let out = shell.path("key.json");
    let out = out.to_str().unwrap();
    shell.run(&["keygen", "--out", out], &[], "").await.ok();
    let first = std::fs::read_to_string(out).unwrap();
    let again = shell.run(&["keygen", "--out", out], &[], "").await;
    assert_eq!(again.code, 5, "{again:?}");
    assert!(again.stderr.contains("--force"));
    assert_eq!(std::fs::read_to_string(out).unwrap(), first);
    shell
        .run(&["keygen", "--out", out, "--force"], &[], "")
        .await
        .ok();
    assert_ne!(std::fs::read_to_string(out).unwrap(), first);
    #[cfg(unix)]
    {
        assert_eq!(mode(Path::new(out)), 0o600);
        let link = shell.path("link.json");
        std::os::unix::fs::symlink(shell.path("elsewhere.json"), &link).unwrap();
        let refused = shell
            .run(
                &["keygen", "--out", link.to_str().unwrap(), "--force"],
                &[],
                "",
            )
            .await;
        assert_eq!(refused.code, 5, "{refused:?}");
        assert!(refused.stderr.contains("symlink"));
        assert!(!shell.path("elsewhere.json").exists());
    }
}

#[tokio::test]
async fn short_lived_and_stateless_flows() {
    let shell = Shell::new().await;
    // The secret on standard input, the token back through standard input.
    let token = shell
        .run(
            &["issue", "short-lived", "--secret-file", "-"],
            &[("LINE_CHANNEL_ID", CHANNEL)],
            &format!("{SECRET}\n"),
        )
        .await
        .ok();
    assert!(
        token.stderr.contains("short-lived token, valid for 30days"),
        "{token:?}"
    );
    let verified = shell.run(&["verify", "-"], &[], &token.stdout).await.ok();
    assert!(
        verified
            .stdout
            .starts_with("valid v2 token of channel 1234567890")
    );
    shell.run(&["revoke", "-"], &[], &token.stdout).await.ok();
    assert_eq!(
        shell.run(&["verify", "-"], &[], &token.stdout).await.code,
        3
    );

    let by_secret = shell
        .run(
            &["issue", "stateless", "--by-secret"],
            &shell.secret_env(),
            "",
        )
        .await
        .ok();
    assert!(by_secret.stderr.contains("stateless token, valid for 15m"));
    let (env, _) = shell.registered_key().await;
    let by_assertion = shell
        .run(
            &["issue", "stateless", "--by-assertion"],
            &borrowed(&env),
            "",
        )
        .await
        .ok();
    assert_ne!(by_secret.stdout, by_assertion.stdout);
    assert_eq!(shell.fake.issued_count(), 3);
}

#[tokio::test]
async fn token_twice_issues_once() {
    let shell = Shell::new().await;
    let key = shell.run(&["store-key"], &[], "").await.ok().stdout;
    let mut env = shell.secret_env();
    env.push(("LINE_TOKEN_STORE_KEY", &key));
    let first = shell.run(&["token"], &env, "").await.ok().stdout;
    let second = shell.run(&["token", "--json"], &env, "").await.ok().json();
    assert_eq!(second["access_token"], first.as_str());
    assert_eq!(shell.fake.issued_count(), 1);
    // Kept under HOME, sealed.
    let store = shell.path(".local/state/line-oauth");
    for entry in std::fs::read_dir(&store).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains(&first));
    }
    let without_key = shell.run(&["token"], &shell.secret_env(), "").await;
    assert_eq!(without_key.code, 2);
    assert!(without_key.stderr.contains("LINE_TOKEN_STORE_KEY"));
}

#[tokio::test]
async fn json_field_names_are_stable() {
    let shell = Shell::new().await;
    let (env, _) = shell.registered_key().await;
    let mut all = borrowed(&env);
    all.push(("LINE_CHANNEL_SECRET", SECRET));
    let json = async |args: &[&str], stdin: &str| {
        let mut args = args.to_vec();
        args.push("--json");
        shell.run(&args, &all, stdin).await.ok().json()
    };
    let issued = json(&["issue", "short-lived"], "").await;
    let issue_fields = [
        "kind",
        "access_token",
        "token_type",
        "expires_in",
        "expires_at",
        "key_id",
    ];
    assert_eq!(keys(&issued), BTreeSet::from(issue_fields));
    assert_eq!(issued["kind"], "short-lived");
    let v21 = json(&["issue", "v21", "--lifetime", "1h"], "").await;
    assert_eq!(keys(&v21), BTreeSet::from(issue_fields));
    let stateless = json(&["issue", "stateless"], "").await;
    assert_eq!(keys(&stateless), BTreeSet::from(issue_fields));

    let token = issued["access_token"].as_str().unwrap();
    let verified = json(&["verify", "-"], token).await;
    assert_eq!(
        keys(&verified),
        BTreeSet::from(["valid", "version", "client_id", "expires_in", "scopes"])
    );
    assert_eq!(verified["version"], "v2");
    let revoked = json(&["revoke", "-"], token).await;
    assert_eq!(keys(&revoked), BTreeSet::from(["revoked", "version"]));
    assert_eq!(
        keys(&json(&["kids"], "").await),
        BTreeSet::from(["key_ids"])
    );
    assert_eq!(
        keys(&json(&["assertion"], "").await),
        BTreeSet::from(["assertion"])
    );
    assert_eq!(
        keys(&json(&["store-key"], "").await),
        BTreeSet::from(["store_key"])
    );
    let out = shell.path("second.jwk.json");
    let keygen = json(&["keygen", "--out", out.to_str().unwrap()], "").await;
    assert_eq!(
        keys(&keygen),
        BTreeSet::from(["private_key_file", "public_jwk"])
    );
    let mut store_env = all.clone();
    let store_key = json(&["store-key"], "").await["store_key"]
        .as_str()
        .unwrap()
        .to_owned();
    store_env.push(("LINE_TOKEN_STORE_KEY", &store_key));
    let stored = shell
        .run(&["token", "--json"], &store_env, "")
        .await
        .ok()
        .json();
    assert_eq!(
        keys(&stored),
        BTreeSet::from(["kind", "access_token", "expires_at", "key_id"])
    );

    let failed = shell
        .run(&["verify", "-", "--json"], &[], "no-such-token")
        .await;
    assert_eq!(failed.code, 3);
    let error = &failed.json()["error"];
    assert_eq!(
        keys(error),
        BTreeSet::from([
            "kind",
            "exit_code",
            "message",
            "status",
            "code",
            "description",
            "request_id",
            "hint"
        ])
    );
    assert_eq!(error["kind"], "api");
    assert_eq!(error["exit_code"], 3);
}

#[tokio::test]
async fn a_wrong_secret_exits_with_the_api_code_and_lines_description() {
    let shell = Shell::new().await;
    let wrong = shell
        .run(
            &["issue", "short-lived"],
            &[
                ("LINE_CHANNEL_ID", CHANNEL),
                ("LINE_CHANNEL_SECRET", "wrong-secret-value"),
            ],
            "",
        )
        .await;
    assert_eq!(wrong.code, 3, "{wrong:?}");
    assert!(wrong.stderr.contains("code: invalid_client"), "{wrong:?}");
    assert!(
        wrong.stderr.contains("description: invalid client_secret"),
        "{wrong:?}"
    );
    assert!(wrong.stderr.contains("request id: "), "{wrong:?}");
    assert!(!wrong.stderr.contains("wrong-secret-value"));
    assert!(wrong.stdout.is_empty());
}

#[tokio::test]
async fn an_unreachable_server_exits_with_the_network_code() {
    let shell = Shell::new().await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let mut env = shell.secret_env();
    env.push(("LINE_API_BASE_URL", &closed));
    let run = shell
        .run(&["issue", "short-lived", "--timeout", "5s"], &env, "")
        .await;
    assert_eq!(run.code, 4, "{run:?}");
    assert!(run.stderr.contains("cannot connect"), "{run:?}");
}

#[tokio::test]
async fn secrets_in_arguments_are_refused_with_a_hint() {
    let shell = Shell::new().await;
    let token = shell
        .run(&["verify", "eyJhbGciOi.eyJzdWIi.c2ln"], &[], "")
        .await;
    assert_eq!(token.code, 2);
    assert!(token.stderr.contains("not the token itself"), "{token:?}");
    assert!(token.stderr.contains("env:NAME"));
    let secret = shell
        .run(
            &["issue", "short-lived", "--channel-secret", "typed-secret"],
            &[("LINE_CHANNEL_ID", CHANNEL)],
            "",
        )
        .await;
    assert_eq!(secret.code, 2);
    assert!(secret.stderr.contains("LINE_CHANNEL_SECRET"), "{secret:?}");
    assert!(!secret.stderr.contains("typed-secret"));
    assert_eq!(shell.fake.issued_count(), 0);
}

#[tokio::test]
async fn help_covers_every_command_and_completions_are_generated() {
    let shell = Shell::new().await;
    let help = shell.run(&["--help"], &[], "").await.ok().stdout;
    for command in [
        "keygen",
        "assertion",
        "issue",
        "verify",
        "revoke",
        "kids",
        "token",
        "store-key",
        "completions",
    ] {
        assert!(help.contains(command), "{command} missing from --help");
        let its = shell.run(&[command, "--help"], &[], "").await.ok().stdout;
        assert!(its.contains("Usage: line-oauth"), "{command}: {its}");
    }
    for needle in [
        "Exit codes",
        "LINE_CHANNEL_SECRET",
        "TOKEN-SOURCE",
        "--secret-file",
    ] {
        assert!(help.contains(needle), "{needle} missing from --help");
    }
    for kind in ["short-lived", "stateless", "v21"] {
        let its = shell
            .run(&["issue", kind, "--help"], &[], "")
            .await
            .ok()
            .stdout;
        assert!(its.contains("LINE_CHANNEL_ID"), "issue {kind}: {its}");
    }
    for shell_name in ["bash", "zsh", "fish"] {
        let script = shell
            .run(&["completions", shell_name], &[], "")
            .await
            .ok()
            .stdout;
        assert!(
            script.contains("line-oauth") && script.contains("keygen"),
            "{shell_name}"
        );
    }
}

#[tokio::test]
async fn with_json_even_usage_errors_are_json() {
    let shell = Shell::new().await;
    for args in [
        &["verify", "--json"][..],
        &["--json", "no-such-command"],
        &["--json", "--timeout", "soon", "kids"],
        &["issue", "--json"],
        &["--json", "issue", "v21", "--lifetime", "31d"],
    ] {
        let run = shell.run(args, &[], "").await;
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        let error = &run.json()["error"];
        assert_eq!(error["kind"], "usage", "{args:?}");
        assert_eq!(error["exit_code"], 2);
        assert!(!error["message"].as_str().unwrap().is_empty());
    }
    // Asked for help, help it is, JSON or not.
    let help = shell.run(&["--json", "--help"], &[], "").await.ok();
    assert!(help.stdout.contains("Usage: line-oauth"));
}

#[tokio::test]
async fn token_fails_instead_of_issuing_when_the_store_is_unusable() {
    let shell = Shell::new().await;
    let key = shell.run(&["store-key"], &[], "").await.ok().stdout;
    let store = shell.path("store");
    std::fs::create_dir(&store).unwrap();
    #[cfg(unix)]
    std::fs::set_permissions(&store, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    // Something in the way of the lock file: the store cannot be used.
    std::fs::create_dir(store.join(format!("short-lived%3A{CHANNEL}.lock"))).unwrap();
    let mut env = shell.secret_env();
    env.extend([
        ("LINE_TOKEN_STORE_KEY", key.as_str()),
        ("LINE_TOKEN_STORE_DIR", store.to_str().unwrap()),
    ]);
    for _ in 0..3 {
        let run = shell.run(&["token"], &env, "").await;
        assert_eq!(run.code, 5, "{run:?}");
        assert!(run.stdout.is_empty());
        assert!(run.stderr.contains("token store unavailable"), "{run:?}");
    }
    assert_eq!(shell.fake.issued_count(), 0, "no run spent LINE's budget");
}

/// Runs `command` to its end with `stdin` on its standard input, on a
/// blocking thread: the fake LINE server it calls keeps answering on this
/// runtime meanwhile.
async fn finish(mut command: Command, stdin: String) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.as_bytes()).unwrap();
        drop(input);
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

/// Runs the binary with its standard output a pipe whose reading end is
/// closed before the binary starts, so every write to it fails.
async fn with_stdout_closed(args: &[&str], home: &Path) -> (i32, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut command = Command::new(env!("CARGO_BIN_EXE_line-oauth"));
    command
        .args(args)
        .env_clear()
        .env("HOME", home)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped());
    let output = tokio::task::spawn_blocking(move || {
        let child = command.spawn().unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    (output.status.code().unwrap_or(-1), stderr)
}

#[tokio::test]
async fn a_closed_standard_output_is_a_local_failure_not_a_panic() {
    let shell = Shell::new().await;
    let key = shell.path("closed.jwk.json");
    for args in [
        &["store-key"][..],
        &["completions", "zsh"],
        &["completions", "bash"],
        &["--json", "store-key"],
        &["keygen", "--out", key.to_str().unwrap()],
    ] {
        let (code, stderr) = with_stdout_closed(args, shell.dir.path()).await;
        assert_eq!(code, 5, "{args:?}: {stderr}");
        assert!(
            stderr.contains("cannot write to standard output"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[tokio::test]
async fn out_of_range_arguments_are_usage_errors() {
    let shell = Shell::new().await;
    let (env, _) = shell.registered_key().await;
    let mut env = borrowed(&env);
    env.push(("LINE_CHANNEL_SECRET", SECRET));
    for args in [
        &["assertion", "--token-exp", "31d"][..],
        &["assertion", "--token-exp", "0s"],
        &["issue", "v21", "--lifetime", "31d"],
        &["token", "--kind", "v21", "--lifetime", "31d"],
        &["kids", "--timeout", "2h"],
        &["kids", "--timeout", "0s"],
    ] {
        let run = shell.run(args, &env, "").await;
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
    }
    assert_eq!(shell.fake.issued_count(), 0);
}

#[tokio::test]
async fn stateless_tokens_are_told_apart_and_never_reported_revoked() {
    let shell = Shell::new().await;
    let (env, _) = shell.registered_key().await;
    let mut env = borrowed(&env);
    env.push(("LINE_CHANNEL_SECRET", SECRET));
    let issued = shell
        .run(&["issue", "stateless", "--json"], &env, "")
        .await
        .ok();
    let token = issued.json()["access_token"].as_str().unwrap().to_owned();
    // Told by what `issue --json` printed, or by the flag: refused plainly.
    for (args, stdin) in [
        (&["revoke", "-"][..], issued.stdout.as_str()),
        (&["verify", "-"], issued.stdout.as_str()),
        (&["revoke", "-", "--stateless"], token.as_str()),
    ] {
        let run = shell.run(args, &env, stdin).await;
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(run.stderr.contains("stateless token"), "{run:?}");
        assert!(!run.stdout.contains("revoked"));
    }
    // A bare JWT is checked as a v2.1 token first: LINE does not know it as
    // one, so nothing is reported revoked.
    let bare = shell.run(&["revoke", "-"], &env, &token).await;
    assert_eq!(bare.code, 3, "{bare:?}");
    assert!(!bare.stdout.contains("revoked"), "{bare:?}");
    // A v2.1 token from `issue --json` is revoked, and only once it is valid.
    let v21 = shell
        .run(&["issue", "v21", "--lifetime", "1h", "--json"], &env, "")
        .await
        .ok()
        .stdout;
    let revoked = shell.run(&["revoke", "-"], &env, &v21).await.ok();
    assert_eq!(revoked.stdout, "revoked (v2.1 token)");
    let again = shell.run(&["revoke", "-"], &env, &v21).await;
    assert_eq!(again.code, 3, "{again:?}");
    assert!(!again.stdout.contains("revoked"));
}

#[cfg(unix)]
#[tokio::test]
async fn bash_completes_subcommands_and_offers_no_refused_option() {
    let shell = Shell::new().await;
    let script = shell
        .run(&["completions", "bash"], &[], "")
        .await
        .ok()
        .stdout;
    let file = shell.path("line-oauth.bash");
    std::fs::write(&file, script).unwrap();
    let complete = |words: &str| {
        let program = format!(
            "source {file}; complete -p line-oauth; COMP_WORDS=({words}); \
             COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
             _line__oauth line-oauth \"${{COMP_WORDS[COMP_CWORD]}}\" \
             \"${{COMP_WORDS[COMP_CWORD-1]}}\"; echo \"${{COMPREPLY[*]}}\"",
            file = file.display()
        );
        let output = std::process::Command::new("bash")
            .args(["--norc", "--noprofile", "-c", &program])
            .output()
            .expect("bash runs");
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    let issue = complete("line-oauth issue ''");
    assert!(issue.contains("-F _line__oauth line-oauth"), "{issue}");
    for kind in ["short-lived", "stateless", "v21"] {
        assert!(issue.contains(kind), "issue <TAB>: {issue}");
    }
    let options = complete("line-oauth verify --");
    assert!(
        options.contains("--v21") && options.contains("--stateless"),
        "{options}"
    );
    let top = complete("line-oauth --");
    assert!(top.contains("--base-url"), "{top}");
    for refused in ["--channel-secret", "--secret ", "--token"] {
        assert!(!top.contains(refused), "{refused} offered: {top}");
    }
    assert!(complete("line-oauth store").contains("store-key"));
}

#[tokio::test]
async fn refusals_say_what_to_do() {
    let shell = Shell::new().await;
    let wrong_secret = shell
        .run(
            &["issue", "short-lived"],
            &[
                ("LINE_CHANNEL_ID", CHANNEL),
                ("LINE_CHANNEL_SECRET", "wrong"),
            ],
            "",
        )
        .await;
    assert!(
        wrong_secret
            .stderr
            .contains("hint: check the channel ID and secret"),
        "{wrong_secret:?}"
    );
    let (env, _) = shell.registered_key().await;
    let mut unregistered = borrowed(&env);
    unregistered[1] = ("LINE_ASSERTION_KID", "no-such-kid");
    let run = shell.run(&["kids", "--json"], &unregistered, "").await;
    assert_eq!(run.code, 3, "{run:?}");
    let hint = run.json()["error"]["hint"].as_str().unwrap().to_owned();
    assert!(hint.contains("register the public key"), "{hint}");
    // A key of its own, under the registered key's kid.
    let other = shell.path("other.jwk.json");
    shell
        .run(&["keygen", "--out", other.to_str().unwrap()], &[], "")
        .await
        .ok();
    let mut mismatched = borrowed(&env);
    mismatched[2] = ("LINE_ASSERTION_KEY_FILE", other.to_str().unwrap());
    let run = shell.run(&["kids"], &mismatched, "").await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("does not belong to the kid"), "{run:?}");
    // Things the command does not have are not named.
    let mut remote = shell.secret_env();
    remote.push(("LINE_API_BASE_URL", "http://api.example.com"));
    let run = shell.run(&["issue", "short-lived"], &remote, "").await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("use https"), "{run:?}");
    assert!(!run.stderr.contains("allow_plain_http"), "{run:?}");
    let first = shell.run(&["store-key"], &[], "").await.ok().stdout;
    let second = shell.run(&["store-key"], &[], "").await.ok().stdout;
    let mut with_first = shell.secret_env();
    with_first.push(("LINE_TOKEN_STORE_KEY", &first));
    shell.run(&["token"], &with_first, "").await.ok();
    let mut with_second = shell.secret_env();
    with_second.push(("LINE_TOKEN_STORE_KEY", &second));
    let run = shell.run(&["token"], &with_second, "").await;
    assert_eq!(run.code, 5, "{run:?}");
    assert!(
        run.stderr
            .contains("LINE_TOKEN_STORE_KEY it was written with"),
        "{run:?}"
    );
    assert!(!run.stderr.contains("previous key"), "{run:?}");
    assert_eq!(shell.fake.issued_count(), 1);
}

#[tokio::test]
async fn secret_files_over_64_kib_are_refused_not_cut() {
    let shell = Shell::new().await;
    let big = shell.path("big-secret");
    std::fs::write(&big, vec![b'a'; 64 * 1024 + 1]).unwrap();
    let run = shell
        .run(
            &[
                "issue",
                "short-lived",
                "--secret-file",
                big.to_str().unwrap(),
            ],
            &[("LINE_CHANNEL_ID", CHANNEL)],
            "",
        )
        .await;
    assert_eq!(run.code, 5, "{run:?}");
    assert!(run.stderr.contains("larger than 64 KiB"), "{run:?}");
    let token = shell
        .run(&["verify", "-"], &[], &"t".repeat(64 * 1024 + 1))
        .await;
    assert_eq!(token.code, 5, "{token:?}");
    assert_eq!(shell.fake.issued_count(), 0);
}
