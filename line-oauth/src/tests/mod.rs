//! Tests that need the crate's private parts across modules. Unit tests of
//! one module sit at the end of its file; black-box tests of the package
//! (the command, the bearer features) in `line-oauth/tests/`; the suites
//! against the fake LINE server, real stores and processes in the workspace's
//! `tests/` crate.
//!
//! - [`wire`]: the sealed generated client on the wire, operation by operation.
//! - [`secret_fields`]: no secret field of any request reaches its errors.
//! - [`parsers`]: property tests of everything that parses untrusted bytes.

mod parsers;
mod secret_fields;
mod wire;
