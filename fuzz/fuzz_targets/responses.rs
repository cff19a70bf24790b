//! Response bodies from a server: decoded or refused, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    line_oauth::fuzzing::decode_response_bodies(data);
});
