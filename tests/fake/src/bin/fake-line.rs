//! `fake-line --port N [--channel ID:SECRET]... [--key ID:JWK_FILE]...`:
//! the fake LINE Channel Access Token API on 127.0.0.1, until Ctrl-C.
//!
//! Without `--channel` it registers channel `1234567890` with secret
//! `fake-channel-secret`. Each `--key` registers the public part of a JWK
//! file as an assertion signing key of a channel and prints its `kid`.

use std::process::ExitCode;

use line_oauth_fake::FakeLine;

const USAGE: &str = "usage: fake-line --port N [--channel ID:SECRET]... [--key ID:JWK_FILE]...";

struct Options {
    port: u16,
    channels: Vec<(String, String)>,
    keys: Vec<(String, String)>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut port = None;
    let mut channels = Vec::new();
    let mut keys = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let value = args.next().ok_or(USAGE)?;
        match arg.as_str() {
            "--port" => port = Some(value.parse().map_err(|_| format!("bad port {value:?}"))?),
            "--channel" => {
                let (id, secret) = value.split_once(':').ok_or(USAGE)?;
                channels.push((id.to_owned(), secret.to_owned()));
            }
            "--key" => {
                let (id, file) = value.split_once(':').ok_or(USAGE)?;
                keys.push((id.to_owned(), file.to_owned()));
            }
            _ => return Err(USAGE.to_owned()),
        }
    }
    if channels.is_empty() {
        channels.push(("1234567890".to_owned(), "fake-channel-secret".to_owned()));
    }
    Ok(Options {
        port: port.ok_or(USAGE)?,
        channels,
        keys,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match parse(&args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let fake = match FakeLine::start_on(options.port).await {
        Ok(fake) => fake,
        Err(e) => {
            eprintln!("cannot listen on 127.0.0.1:{}: {e}", options.port);
            return ExitCode::FAILURE;
        }
    };
    for (id, secret) in &options.channels {
        fake.add_channel(id, secret);
        println!("channel {id} registered");
    }
    for (id, file) in &options.keys {
        let registered = std::fs::read_to_string(file)
            .map_err(|e| e.to_string())
            .and_then(|jwk| fake.register_key(id, &jwk));
        match registered {
            Ok(kid) => println!("key {file} registered for channel {id} with kid {kid}"),
            Err(e) => {
                eprintln!("cannot register key {file}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    println!("fake LINE listening on {}", fake.url());
    let _ = tokio::signal::ctrl_c().await;
    ExitCode::SUCCESS
}
