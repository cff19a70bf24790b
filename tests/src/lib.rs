//! Support for line-oauth's workspace integration tests: a byte-level
//! scripted server for misbehaviour. The fake LINE server they run against
//! is its own crate, `line-oauth-fake`.

pub mod raw_server;

/// The examples of the workspace README, compiled as doctests so they stay
/// true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct WorkspaceReadme;

/// The examples of line-oauth-fake's README, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../fake/README.md")]
struct FakeReadme;
