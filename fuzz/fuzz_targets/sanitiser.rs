//! Whatever Slack sends, the sanitiser's output holds no control (but newline), escape
//! or invisible format character, and respects its cap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use swarmdeck::domain::text::{is_invisible_format, sanitize};

fuzz_target!(|data: &[u8]| {
    let (max, text) = match data.split_first() {
        Some((&m, rest)) => (usize::from(m) + 1, String::from_utf8_lossy(rest)),
        None => return,
    };
    let out = sanitize(&text, max);
    for c in out.chars() {
        assert!(c == '\n' || !c.is_control(), "control {c:?} in {out:?}");
        assert!(!is_invisible_format(c), "format character {c:?} in {out:?}");
    }
    assert!(out.chars().count() <= max + 4, "over the cap: {out:?}");
});
