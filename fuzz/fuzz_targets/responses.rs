//! Response bodies from a server: decoded or refused, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use line_oauth::raw::types;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<types::ErrorResponse>(data);
    let _ = serde_json::from_slice::<types::VerifyChannelAccessTokenResponse>(data);
    let _ = serde_json::from_slice::<types::IssueChannelAccessTokenResponse>(data);
    let _ = serde_json::from_slice::<types::IssueShortLivedChannelAccessTokenResponse>(data);
    let _ = serde_json::from_slice::<types::ChannelAccessTokenKeyIdsResponse>(data);
});
