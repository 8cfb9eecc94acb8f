//! Any Socket Mode frame: decoded or refused, and an events_api payload parsed or
//! refused, without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use swarmdeck::slack::wire;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(wire::Frame::EventsApi(envelope)) = wire::decode(text) {
        let _ = envelope.parse_callback();
    }
});
