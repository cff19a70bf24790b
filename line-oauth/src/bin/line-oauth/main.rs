//! `line-oauth`: LINE's Channel Access Token API from a shell (feature
//! `cli`). `line-oauth --help` says it all; README.md has examples.

mod args;
mod commands;
mod completions;
mod failure;
mod inputs;
mod output;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

use args::Cli;
use failure::Failure;

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let json = output::wants_json(&args);
    if let Err(failure) = inputs::refuse_secret_arguments(&args) {
        return output::failed(&failure, json);
    }
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(error) => return usage(&error, json),
    };
    output::log_warnings();
    let outcome = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Local(format!("cannot start the runtime: {e}")))
        .and_then(|runtime| runtime.block_on(commands::run(&cli)));
    match outcome {
        Ok(printed) => output::printed(&printed, cli.json),
        Err(failure) => output::failed(&failure, cli.json),
    }
}

/// What a command line clap refused (or `--help`, `--version`) prints: clap's
/// own text, or with `--json` a usage error in JSON.
fn usage(error: &clap::Error, json: bool) -> ExitCode {
    let asked = matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    );
    if asked || !json {
        return match error.print() {
            Ok(()) => ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2)),
            Err(_) => output::closed(),
        };
    }
    let message = if error.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        "the command is incomplete: a subcommand is missing (see --help)".to_owned()
    } else {
        let text = error.render().to_string();
        let first = text.lines().next().unwrap_or_default();
        first.trim_start_matches("error: ").to_owned()
    };
    output::failed(&Failure::Usage(message), true)
}
