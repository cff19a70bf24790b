//! Support for line-oauth's workspace integration tests: the fake LINE
//! server they run against (also the `fake-line` binary and the tour's
//! offline backend).

pub mod fake;
