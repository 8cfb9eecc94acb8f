//! A swarm request's text and blocks, whatever they hold: read without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use swarmdeck::domain::IntakeRules;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\u{0}');
    let body = parts.next().unwrap_or_default().to_string();
    let blocks: Vec<String> = parts.map(str::to_string).collect();
    let _ = IntakeRules::default().parse(&blocks, &body);
});
