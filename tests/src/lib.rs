//! Support for line-oauth's workspace integration tests: the fake LINE
//! server they run against (also the `fake-line` binary and the tour's
//! offline backend), and a byte-level scripted server for misbehaviour.

pub mod fake;
pub mod raw_server;
