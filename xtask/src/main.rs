//! Maintainer tasks for line-oauth, run as `cargo xtask <task>`.
//!
//! - `cargo xtask regen`: regenerate `line-oauth/src/generated.rs` from the spec.
//! - `cargo xtask regen --check`: fail, with a short diff, when that file is stale.

mod regen;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask regen [--check]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let outcome = match args.as_slice() {
        ["regen"] => regen::regen(),
        ["regen", "--check"] => regen::check(),
        _ => Err(USAGE.to_owned()),
    };
    match outcome {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}
