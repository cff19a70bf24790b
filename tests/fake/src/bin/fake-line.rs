//! `fake-line`: the fake LINE Channel Access Token API on 127.0.0.1, until
//! Ctrl-C or SIGTERM. `fake-line --help` says how to drive it.

use std::process::ExitCode;

use line_oauth_fake::FakeLine;

const HELP: &str = "\
fake-line: a fake LINE Channel Access Token API on 127.0.0.1, for tests and scripts

Usage: fake-line [--port N] [--channel ID:SECRET]... [--key ID:JWK_FILE [--kid KID]]...

Options:
  --port N             the port to listen on; 0 (the default) for any free one
  --channel ID:SECRET  a channel and its secret (default: 1234567890:fake-channel-secret)
  --key ID:JWK_FILE    registers the public part of a JWK file as an assertion
                       signing key of channel ID
  --kid KID            the kid of the --key just before (default: a random one)
  -h, --help           this text
  -V, --version        the version

Standard output gets one line, the base URL, once the server listens; what
was registered, with each key's kid, goes to standard error. In a script:
  coproc FAKE { fake-line; }; read -r URL <&\"${FAKE[0]}\"

While it runs, scripts can register more (not LINE's paths):
  curl -X PUT --data SECRET URL/fake/channels/ID
  curl --data @public.jwk.json 'URL/fake/channels/ID/keys?kid=KID'   # answers {\"kid\":...}

Exit codes: 0 stopped by a signal, 2 usage, 1 anything else.";

/// A key to register, from `--key` and its `--kid`.
struct Key {
    channel: String,
    file: String,
    kid: Option<String>,
}

struct Options {
    port: u16,
    channels: Vec<(String, String)>,
    keys: Vec<Key>,
}

/// What the command line asks for.
enum Asked {
    Run(Options),
    Help,
    Version,
}

fn parse(args: &[String]) -> Result<Asked, String> {
    let mut options = Options {
        port: 0,
        channels: Vec::new(),
        keys: Vec::new(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(value.to_owned())),
            _ => (arg.as_str(), None),
        };
        if matches!(name, "-h" | "--help") {
            return Ok(Asked::Help);
        }
        if matches!(name, "-V" | "--version") {
            return Ok(Asked::Version);
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next().cloned())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match name {
            "--port" => {
                let port = value()?;
                options.port = port.parse().map_err(|_| format!("bad port {port:?}"))?;
            }
            "--channel" => {
                let pair = value()?;
                let (id, secret) = pair
                    .split_once(':')
                    .filter(|(id, secret)| !id.is_empty() && !secret.is_empty())
                    .ok_or("--channel takes ID:SECRET")?;
                options.channels.push((id.to_owned(), secret.to_owned()));
            }
            "--key" => {
                let pair = value()?;
                let (channel, file) = pair
                    .split_once(':')
                    .filter(|(id, file)| !id.is_empty() && !file.is_empty())
                    .ok_or("--key takes ID:JWK_FILE")?;
                options.keys.push(Key {
                    channel: channel.to_owned(),
                    file: file.to_owned(),
                    kid: None,
                });
            }
            "--kid" => {
                let kid = value()?;
                let key = options
                    .keys
                    .last_mut()
                    .filter(|key| key.kid.is_none())
                    .ok_or("--kid names the kid of the --key just before it")?;
                key.kid = Some(kid);
            }
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    if options.channels.is_empty() {
        options
            .channels
            .push(("1234567890".to_owned(), "fake-channel-secret".to_owned()));
    }
    Ok(Asked::Run(options))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match parse(&args) {
        Ok(Asked::Run(options)) => options,
        Ok(Asked::Help) => {
            println!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Ok(Asked::Version) => {
            println!("fake-line {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!(
                "fake-line: {message}\nUsage: fake-line [--port N] [--channel ID:SECRET]... [--key ID:JWK_FILE [--kid KID]]... (--help for more)"
            );
            return ExitCode::from(2);
        }
    };
    match serve(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("fake-line: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Registers what was asked, prints the URL, and serves until a signal.
async fn serve(options: Options) -> Result<(), String> {
    let fake = FakeLine::start_on(options.port)
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", options.port))?;
    for (id, secret) in &options.channels {
        fake.add_channel(id, secret);
        eprintln!("channel {id} registered");
    }
    for key in &options.keys {
        let jwk = std::fs::read_to_string(&key.file)
            .map_err(|e| format!("cannot read key {}: {e}", key.file))?;
        let kid = match &key.kid {
            Some(kid) => fake
                .register_key_as(&key.channel, &jwk, kid)
                .map(|()| kid.clone()),
            None => fake.register_key(&key.channel, &jwk),
        }
        .map_err(|e| format!("cannot register key {}: {e}", key.file))?;
        eprintln!(
            "key {} registered for channel {} with kid {kid}",
            key.file, key.channel
        );
    }
    // The one line of standard output, once everything is registered.
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", fake.url()).and_then(|()| out.flush());
    drop(out);
    eprintln!("fake LINE listening on {}; Ctrl-C stops it", fake.url());
    stopped().await;
    Ok(())
}

/// Waits for Ctrl-C, or SIGTERM where there is one.
async fn stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
