//! JWK text from a key file: parsed or refused, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use line_oauth::{PrivateJwk, PublicJwk};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = PrivateJwk::from_json(text);
        let _ = PublicJwk::from_json(text);
    }
});
