//! Lenient decoding at the edge: two pre-passes over raw JSON text for what serde_json
//! refuses but Slack can send, so that one odd message costs at most itself.
//!
//! - A lone UTF-16 surrogate escape (`"\ud83d"` cut from its pair) is valid JSON text
//!   but no Rust string: serde_json fails the whole document. [`repair_surrogates`]
//!   turns each unpaired `\uD800`–`\uDFFF` escape into `\ufffd`.
//! - Nesting deeper than serde_json's recursion limit fails the whole document too.
//!   [`limit_depth`] drops the Block Kit block (or, outside `blocks`, the value) that
//!   goes too deep and keeps the rest.
//!
//! Both only walk bytes (no recursion, no allocation unless something changes), and are
//! meant as a fallback: decode strictly first, and repair only what was refused.

use std::borrow::Cow;

/// The deepest nesting serde_json reads: it refuses the 128th container inside another
/// (its limit counts down from 128 and fails at zero).
pub const MAX_DEPTH: usize = 127;

/// Both pre-passes: surrogates repaired, then nesting cut to [`MAX_DEPTH`].
pub fn repair(json: &str) -> Cow<'_, str> {
    match repair_surrogates(json) {
        Cow::Borrowed(text) => limit_depth(text, MAX_DEPTH),
        Cow::Owned(text) => Cow::Owned(limit_depth(&text, MAX_DEPTH).into_owned()),
    }
}

/// Replaces every `\uXXXX` escape of a UTF-16 surrogate that is not half of a proper
/// pair (a high one followed at once by a low one) with `\ufffd`. Proper pairs, and
/// `\\u…` (an escaped backslash, then plain text), are left as they are.
pub fn repair_surrogates(json: &str) -> Cow<'_, str> {
    let bytes = json.as_bytes();
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        let Some(unit) = unicode_escape(bytes, i) else {
            // Any other escape is two bytes: skipping both keeps `\\u` from reading as `\u`.
            i += 2;
            continue;
        };
        let lone = match unit {
            0xD800..=0xDBFF => {
                if unicode_escape(bytes, i + 6).is_some_and(|low| (0xDC00..=0xDFFF).contains(&low))
                {
                    i += 12;
                    continue;
                }
                true
            }
            0xDC00..=0xDFFF => true,
            _ => false,
        };
        if lone {
            let buf = out.get_or_insert_with(|| Vec::with_capacity(bytes.len()));
            buf.extend_from_slice(&bytes[copied..i]);
            buf.extend_from_slice(b"\\ufffd");
            copied = i + 6;
        }
        i += 6;
    }
    match out {
        None => Cow::Borrowed(json),
        Some(mut buf) => {
            buf.extend_from_slice(&bytes[copied..]);
            Cow::Owned(into_string(buf))
        }
    }
}

/// The code unit of a `\uXXXX` escape starting at `at`, if one does.
fn unicode_escape(bytes: &[u8], at: usize) -> Option<u16> {
    let escape = bytes.get(at..at + 6)?;
    if escape[0] != b'\\' || escape[1] != b'u' {
        return None;
    }
    escape[2..].iter().try_fold(0u16, |unit, &b| {
        let digit = (b as char).to_digit(16)?;
        Some(unit << 4 | digit as u16)
    })
}

/// One open object or array, as [`limit_depth`] walks through it.
struct Open {
    is_object: bool,
    /// An array that is some message's `blocks`.
    is_blocks: bool,
    /// Where the output stood just after the opening bracket.
    opened_at: usize,
    /// Where the current member began in the output (before its comma, if any): a
    /// member dropped is cut back to here.
    member_at: usize,
    /// In an object: the next string is a key.
    expect_key: bool,
    /// In an object: the last key was `"blocks"`.
    key_is_blocks: bool,
}

/// Cuts nesting deeper than `max` containers: the block of the innermost `blocks` array
/// that holds the too-deep part is dropped (the message keeps its other blocks and its
/// `text`); outside any `blocks`, the too-deep value itself is dropped (with its key, in
/// an object). Text that nests no deeper than `max` comes back as it is; changed text
/// comes back without whitespace between tokens.
///
/// Malformed JSON is walked as well as it can be and never panics; what it gives back
/// is for serde_json to refuse.
pub fn limit_depth(json: &str, max: usize) -> Cow<'_, str> {
    let max = max.max(1);
    if deepest(json.as_bytes()) <= max {
        return Cow::Borrowed(json);
    }
    let bytes = json.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut open: Vec<Open> = Vec::new();
    // While dropping: how many containers of the dropped member are still open.
    let mut skipping = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'"' {
            let end = string_end(bytes, i);
            if skipping == 0 {
                out.extend_from_slice(&bytes[i..end]);
                if let Some(top) = open.last_mut().filter(|o| o.is_object && o.expect_key) {
                    top.expect_key = false;
                    top.key_is_blocks = &bytes[i..end] == b"\"blocks\"";
                }
            }
            i = end;
            continue;
        }
        if skipping > 0 {
            match b {
                b'{' | b'[' => skipping += 1,
                b'}' | b']' => skipping -= 1,
                _ => {}
            }
            i += 1;
            continue;
        }
        match b {
            b'{' | b'[' if open.len() >= max => {
                // Drop the member of the innermost `blocks` array that holds this, or
                // else this value where it stands.
                let target = open
                    .iter()
                    .rposition(|o| o.is_blocks)
                    .unwrap_or(open.len() - 1);
                skipping = open.len() - target;
                open.truncate(target + 1);
                let member_at = open[target].member_at;
                out.truncate(member_at);
            }
            b'{' | b'[' => {
                let is_blocks =
                    b == b'[' && open.last().is_some_and(|o| o.is_object && o.key_is_blocks);
                out.push(b);
                open.push(Open {
                    is_object: b == b'{',
                    is_blocks,
                    opened_at: out.len(),
                    member_at: out.len(),
                    expect_key: b == b'{',
                    key_is_blocks: false,
                });
            }
            b'}' | b']' => {
                open.pop();
                out.push(b);
            }
            b',' => match open.last_mut() {
                Some(top) => {
                    top.member_at = out.len();
                    top.expect_key = top.is_object;
                    // After a dropped first member, the next one is first.
                    if out.len() != top.opened_at {
                        out.push(b);
                    }
                }
                None => out.push(b),
            },
            b' ' | b'\t' | b'\n' | b'\r' => {}
            _ => out.push(b),
        }
        i += 1;
    }
    Cow::Owned(into_string(out))
}

/// How deep containers nest in `bytes`, strings skipped.
fn deepest(bytes: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i = string_end(bytes, i);
                continue;
            }
            b'{' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    deepest
}

/// Just past the closing quote of the string that opens at `start` (or the end of the
/// text, for a string never closed).
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The passes cut and splice only at ASCII bytes, so their output stays UTF-8; should
/// that ever fail, a lossy copy beats a panic.
fn into_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    fn text_of(json: &str) -> String {
        let v: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
        v["text"].as_str().unwrap().to_string()
    }

    #[test]
    fn a_lone_high_surrogate_becomes_a_replacement_character() {
        let raw = r#"{"text":"login fails \ud83d on save"}"#;
        assert!(
            serde_json::from_str::<Value>(raw).is_err(),
            "serde_json refuses it"
        );
        assert_eq!(
            text_of(&repair_surrogates(raw)),
            "login fails \u{fffd} on save"
        );
        // At the very end of a string, and of the text.
        assert_eq!(
            text_of(&repair_surrogates(r#"{"text":"x\uD83D"}"#)),
            "x\u{fffd}"
        );
        assert_eq!(repair_surrogates(r"\ud83d"), r"\ufffd");
    }

    #[test]
    fn a_lone_low_surrogate_becomes_a_replacement_character() {
        let raw = r#"{"text":"a\ude00b"}"#;
        assert!(serde_json::from_str::<Value>(raw).is_err());
        assert_eq!(text_of(&repair_surrogates(raw)), "a\u{fffd}b");
    }

    #[test]
    fn a_reversed_pair_is_two_lone_surrogates() {
        let raw = r#"{"text":"\ude00\ud83d"}"#;
        assert_eq!(text_of(&repair_surrogates(raw)), "\u{fffd}\u{fffd}");
        // A high one followed by another high one that has its low: one lost, one kept.
        let raw = r#"{"text":"\ud83d\ud83d\ude00"}"#;
        assert_eq!(text_of(&repair_surrogates(raw)), "\u{fffd}😀");
    }

    #[test]
    fn a_proper_pair_is_left_untouched() {
        for raw in [
            r#"{"text":"\ud83d\ude00 ok"}"#,
            r#"{"text":"\uD83D\uDE00"}"#,
        ] {
            assert!(matches!(repair_surrogates(raw), Cow::Borrowed(_)), "{raw}");
        }
        assert_eq!(text_of(r#"{"text":"\ud83d\ude00 ok"}"#), "😀 ok");
        let plain = r#"{"text":"\u00e9\n\"quoted\" 日本"}"#;
        assert!(matches!(repair_surrogates(plain), Cow::Borrowed(_)));
    }

    #[test]
    fn an_escaped_backslash_before_u_is_no_escape() {
        // `\\ud83d` is a backslash, then the letters "ud83d": valid as it is.
        let raw = r#"{"text":"C:\\ud83d"}"#;
        assert!(matches!(repair_surrogates(raw), Cow::Borrowed(_)));
        assert_eq!(text_of(raw), r"C:\ud83d");
        // Three backslashes: an escaped one, then a real (lone) escape.
        let raw = r#"{"text":"\\\ud83d"}"#;
        assert_eq!(text_of(&repair_surrogates(raw)), "\\\u{fffd}");
    }

    #[test]
    fn malformed_escapes_are_left_for_serde_json_to_refuse() {
        for raw in [
            r"\",
            r"\u",
            r"\ud8",
            r"\ud83d\",
            r"\ud83d\u",
            r"\ud83d\udz00",
            "\"\\",
        ] {
            let _ = repair_surrogates(raw);
        }
        assert_eq!(repair_surrogates(r"\ud83d\udz00"), r"\ufffd\udz00");
    }

    /// `depth` arrays nested: `[[[…]]]`.
    fn nested(depth: usize) -> String {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    }

    /// A rich-text list nested `levels` deep, as a block.
    fn deep_block(levels: usize) -> String {
        let open = r#"{"type":"rich_text_list","elements":["#.repeat(levels);
        let close = "]}".repeat(levels);
        format!(r#"{{"type":"rich_text","elements":[{open}{close}]}}"#)
    }

    #[test]
    fn max_depth_is_serde_jsons_limit() {
        assert!(serde_json::from_str::<Value>(&nested(MAX_DEPTH)).is_ok());
        assert!(serde_json::from_str::<Value>(&nested(MAX_DEPTH + 1)).is_err());
        assert!(matches!(
            limit_depth(&nested(MAX_DEPTH), MAX_DEPTH),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn a_block_nested_past_the_limit_is_dropped_and_the_message_kept() {
        let header = r#"{"type":"header","text":{"type":"plain_text","text":"Case 27343"}}"#;
        for levels in [64, 65, 70, 500] {
            let raw = format!(
                r#"{{"type":"message","ts":"1.0","text":"Case #: 27343","blocks":[{header}, {}, {header}],"reply_count":2}}"#,
                deep_block(levels)
            );
            assert!(
                deepest(raw.as_bytes()) >= 129,
                "{levels} levels are too deep"
            );
            assert!(serde_json::from_str::<Value>(&raw).is_err());
            let cut = limit_depth(&raw, MAX_DEPTH);
            let v: Value = serde_json::from_str(&cut).unwrap_or_else(|e| panic!("{e}: {cut}"));
            assert_eq!(v["text"], "Case #: 27343");
            assert_eq!(v["reply_count"], 2, "what follows the blocks is kept");
            let blocks = v["blocks"].as_array().unwrap();
            assert_eq!(blocks.len(), 2, "only the deep block went: {cut}");
            assert!(blocks.iter().all(|b| b["type"] == "header"));
        }
    }

    #[test]
    fn the_first_or_last_or_only_block_can_go() {
        let deep = deep_block(100);
        let ok = r#"{"type":"divider"}"#;
        for (blocks, left) in [
            (format!("[{deep},{ok}]"), 1),
            (format!("[{ok},{deep}]"), 1),
            (format!("[{deep}]"), 0),
            (format!("[{deep},{deep},{ok},{deep}]"), 1),
        ] {
            let raw = format!(r#"{{"ts":"1.0","blocks":{blocks},"text":"t"}}"#);
            let cut = limit_depth(&raw, MAX_DEPTH);
            let v: Value = serde_json::from_str(&cut).unwrap_or_else(|e| panic!("{e}: {cut}"));
            assert_eq!(v["blocks"].as_array().unwrap().len(), left, "{cut}");
            assert_eq!(v["text"], "t");
        }
    }

    #[test]
    fn the_innermost_blocks_hold_the_cut() {
        // An edit: the inner message's deep block goes, both messages stay.
        let raw = format!(
            r#"{{"subtype":"message_changed","blocks":[{{"type":"divider"}}],"message":{{"ts":"1.0","blocks":[{}],"text":"new"}}}}"#,
            deep_block(80)
        );
        let v: Value = serde_json::from_str(&limit_depth(&raw, MAX_DEPTH)).unwrap();
        assert_eq!(v["blocks"].as_array().unwrap().len(), 1);
        assert_eq!(v["message"]["text"], "new");
        assert_eq!(v["message"]["blocks"], Value::Array(vec![]));
    }

    #[test]
    fn outside_blocks_the_too_deep_value_itself_goes() {
        let raw = format!(
            r#"{{"ts":"1.0","metadata":{{"event_type":"x","event_payload":{{"keep":1,"deep":{}}}}}}}"#,
            nested(200)
        );
        let v: Value = serde_json::from_str(&limit_depth(&raw, MAX_DEPTH)).unwrap();
        assert_eq!(v["metadata"]["event_payload"]["keep"], 1);
        let deep = &v["metadata"]["event_payload"]["deep"];
        // Cut where the limit was reached: under three objects, 124 arrays kept.
        let mut levels = 0;
        let mut at = deep;
        while let Some(inner) = at.as_array() {
            levels += 1;
            match inner.first() {
                Some(next) => at = next,
                None => break,
            }
        }
        assert_eq!(levels + 3, MAX_DEPTH, "cut at the limit, no sooner");
        // A bare list nested too deep: the part past the limit goes.
        assert_eq!(limit_depth(&nested(300), 5), nested(5));
    }

    #[test]
    fn strings_that_look_like_brackets_do_not_count() {
        let raw = format!(r#"{{"text":"{}","blocks":[]}}"#, "[{".repeat(300));
        assert!(matches!(limit_depth(&raw, MAX_DEPTH), Cow::Borrowed(_)));
        let raw = format!(r#"{{"text":"\"[{{\\","blocks":[{}]}}"#, deep_block(70));
        let v: Value = serde_json::from_str(&limit_depth(&raw, MAX_DEPTH)).unwrap();
        assert_eq!(v["text"], r#""[{\"#);
    }

    /// JSON text with lone and paired surrogate escapes, escaped backslashes and plain text.
    fn escapes() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just(r"\ud83d".to_string()),
            Just(r"\ude00".to_string()),
            Just(r"\ud83d\ude00".to_string()),
            Just(r"\uDBFF\uDFFF".to_string()),
            Just(r"\\".to_string()),
            Just(r"\\ud83d".to_string()),
            Just(r"\u00e9".to_string()),
            Just(r#"\""#.to_string()),
            "[a-z 日🔥]{0,4}",
        ];
        prop::collection::vec(piece, 0..12).prop_map(|v| v.concat())
    }

    /// Nested arrays and objects, some past the limit, inside and outside `blocks`.
    fn nesting() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("1".to_string()),
            Just(r#""s[""#.to_string()),
            Just("[]".to_string())
        ];
        leaf.prop_recursive(6, 64, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec(inner.clone(), 0..3).prop_map(|v| {
                    let members: Vec<String> = v
                        .iter()
                        .enumerate()
                        .map(|(i, x)| format!(r#""k{i}":{x}"#))
                        .collect();
                    format!("{{{}}}", members.join(","))
                }),
                inner
                    .clone()
                    .prop_map(|x| format!(r#"{{"blocks":[{x}, 2]}}"#)),
                (inner, 100usize..200).prop_map(|(x, n)| format!(
                    "{}{x}{}",
                    "[".repeat(n),
                    "]".repeat(n)
                )),
            ]
        })
    }

    proptest! {
        #[test]
        fn repaired_strings_always_decode_and_pairs_survive(s in escapes()) {
            let raw = format!(r#"{{"text":"{s}"}}"#);
            let fixed = repair_surrogates(&raw);
            let text = text_of(&fixed);
            let pairs = s.matches(r"\ud83d\ude00").count() - s.matches(r"\\ud83d\ude00").count();
            prop_assert!(text.matches('😀').count() >= pairs, "{} in {:?}", pairs, text);
            if serde_json::from_str::<Value>(&raw).is_ok() {
                prop_assert!(matches!(fixed, Cow::Borrowed(_)), "valid text is left alone");
            }
        }

        #[test]
        fn cut_text_is_valid_json_within_the_limit(v in nesting(), max in 1..=MAX_DEPTH) {
            let cut = limit_depth(&v, max);
            prop_assert!(deepest(cut.as_bytes()) <= max, "{}", cut);
            let parsed = serde_json::from_str::<Value>(&cut);
            prop_assert!(parsed.is_ok(), "{:?}: {}", parsed.err(), cut);
            if deepest(v.as_bytes()) <= max {
                prop_assert!(matches!(cut, Cow::Borrowed(_)), "shallow text is left alone");
            }
        }

        #[test]
        fn any_text_is_walked_without_panic(s in "\\PC{0,200}", raw in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = repair(&s);
            let lossy = String::from_utf8_lossy(&raw);
            let _ = repair(&lossy);
        }
    }
}
