//! `line-oauth`: LINE's Channel Access Token API from a shell (feature
//! `cli`). `line-oauth --help` says it all; README.md has examples.

mod args;
mod commands;
mod failure;
mod inputs;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use args::{Cli, Command};
use failure::Failure;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Completions { shell } = cli.command {
        clap_complete::generate(
            shell,
            &mut Cli::command(),
            "line-oauth",
            &mut std::io::stdout(),
        );
        return ExitCode::SUCCESS;
    }
    let outcome = inputs::refuse_secret_arguments(&cli.refused).and_then(|()| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Failure::Local(format!("cannot start the runtime: {e}")))?;
        runtime.block_on(commands::run(&cli))
    });
    match outcome {
        Ok(printed) if cli.json => println!("{}", printed.json),
        Ok(printed) => {
            if !printed.value.is_empty() {
                println!("{}", printed.value);
            }
            if let Some(remark) = printed.remark {
                eprintln!("{remark}");
            }
        }
        Err(failure) => {
            if cli.json {
                println!("{}", failure.json());
            } else {
                eprintln!("line-oauth: {}", failure.human());
            }
            return ExitCode::from(failure.exit_code());
        }
    }
    ExitCode::SUCCESS
}
