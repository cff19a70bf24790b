//! Support for line-oauth's workspace integration tests: a byte-level
//! scripted server for misbehaviour. The fake LINE server they run against
//! is its own crate, `line-oauth-fake`.

pub mod raw_server;

/// The process's peak resident memory (VmHWM), in KiB: for the tests that
/// bound it, each alone in its test binary.
#[cfg(target_os = "linux")]
pub fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("procfs");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmHWM line")
}

/// The examples of the workspace README, compiled as doctests so they stay
/// true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct WorkspaceReadme;

/// The examples of line-oauth-fake's README, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../fake/README.md")]
struct FakeReadme;
