//! Maintainer tasks for line-oauth, run as `cargo xtask <task>`.
//!
//! - `cargo xtask regen`: regenerate `line-oauth/src/raw/generated.rs` from the spec.
//! - `cargo xtask regen --check`: fail, with a short diff, when that file is stale.
//! - `cargo xtask layers [DIR]`: fail when a module of line-oauth (or of the
//!   source directory DIR) imports, directly or through others, one that
//!   imports it back.
//! - `cargo xtask package-check [--clean]`: publish dry-run of the two
//!   published crates, then build, run and test them from their packages in
//!   a scratch workspace outside this one.

mod layers;
mod package_check;
mod regen;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask regen [--check] | cargo xtask layers [DIR] | cargo xtask package-check [--clean]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let outcome = match args.as_slice() {
        ["regen"] => regen::regen(),
        ["regen", "--check"] => regen::check(),
        ["layers"] => layers::check(&regen::root().join("line-oauth/src")),
        ["layers", dir] => layers::check(std::path::Path::new(dir)),
        ["package-check"] => package_check::run(&regen::root(), false),
        ["package-check", "--clean"] => package_check::run(&regen::root(), true),
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
