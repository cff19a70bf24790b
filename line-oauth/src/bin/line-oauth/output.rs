//! What the command writes, and its exit code: the value on standard
//! output, remarks and failures on standard error, warnings from the
//! library on standard error. Never a panic: a closed standard output is a
//! local failure.

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use crate::commands::Printed;
use crate::failure::Failure;

/// The exit code when standard output is closed: a local failure.
pub fn closed() -> ExitCode {
    ExitCode::from(5)
}

/// Whether `--json` stands before any `--`, whatever else the command
/// line holds (even one clap refuses).
pub fn wants_json(args: &[OsString]) -> bool {
    args.iter()
        .skip(1)
        .take_while(|arg| *arg != "--")
        .any(|arg| arg == "--json")
}

/// Sends the library's warnings (a store it could not save to, a damaged
/// record) to standard error, one line each. Not the refresh's outcome,
/// which the command reports itself (`line_oauth::refresh`, the target the
/// library gives those events).
pub fn log_warnings() {
    use tracing_subscriber::filter::filter_fn;
    use tracing_subscriber::prelude::*;
    let warnings = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .with_filter(filter_fn(|event| {
            *event.level() <= tracing::Level::WARN && event.target() != "line_oauth::refresh"
        }));
    let _ = tracing_subscriber::registry().with(warnings).try_init();
}

/// Prints a command's result.
pub fn printed(printed: &Printed, json: bool) -> ExitCode {
    let mut out = std::io::stdout().lock();
    let written = if json {
        writeln!(out, "{}", printed.json)
    } else if printed.value.is_empty() {
        Ok(())
    } else {
        writeln!(out, "{}", printed.value)
    };
    if let Err(e) = written.and_then(|()| out.flush()) {
        drop(out);
        let closed = Failure::Local(format!("cannot write to standard output: {e}"));
        return failed(&closed, false);
    }
    if let Some(remark) = &printed.remark
        && !json
    {
        let _ = writeln!(std::io::stderr(), "{remark}");
    }
    ExitCode::SUCCESS
}

/// Reports a failure: JSON on standard output with `--json`, else a line on
/// standard error; its exit code.
pub fn failed(failure: &Failure, json: bool) -> ExitCode {
    let code = ExitCode::from(failure.exit_code());
    if json {
        let mut out = std::io::stdout().lock();
        if writeln!(out, "{}", failure.json())
            .and_then(|()| out.flush())
            .is_ok()
        {
            return code;
        }
    }
    let _ = writeln!(std::io::stderr(), "line-oauth: {}", failure.human());
    code
}
