//! Any config text parses, or the error names the problem.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = swarmdeck::config::parse(text) {
        assert!(!e.trim().is_empty());
    }
});
