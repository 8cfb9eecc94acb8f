//! Fuzzing by property: whatever arrives from Slack or a config file, the parsers do not
//! panic, and the sanitiser's output never holds a control, escape or format character.
//! Brief here; `SWARMDECK_FUZZ_CASES=100000 cargo test --release --test fuzz_inputs` runs long.

use proptest::prelude::*;
use swarmdeck::domain::IntakeRules;
use swarmdeck::domain::text::sanitize;
use swarmdeck::slack::wire;

fn cases() -> u32 {
    std::env::var("SWARMDECK_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// Unicode's format characters (category Cf): invisible, and some reorder text.
fn is_format(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x0890..=0x0891 | 0x08E2
        | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F
        | 0xFEFF | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F
        | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F)
}

/// Text built from the pieces attackers use: escape sequences whole and cut short,
/// C0/C1 controls, bidi and zero-width characters, wide characters, and plain text.
fn hostile_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\u{1b}]0;pwned\u{7}".to_string()),
        Just("\u{1b}]52;c;cHduZWQ=\u{1b}\\".to_string()),
        Just("\u{1b}]8;;https://evil.example\u{1b}\\link\u{1b}]8;;\u{1b}\\".to_string()),
        Just("\u{1b}[2J\u{1b}[H\u{1b}[31m".to_string()),
        Just("\u{1b}[".to_string()),
        Just("\u{1b}]".to_string()),
        Just("\u{1b}P1$r\u{1b}\\".to_string()),
        Just("\u{9b}6n".to_string()),
        Just("\u{9d}0;x\u{9c}".to_string()),
        Just("\u{202e}evil\u{202c}".to_string()),
        Just("\u{2066}\u{200b}\u{feff}\u{e0041}\u{e007f}".to_string()),
        Just("\t\r\n\u{0}\u{7f}\u{85}".to_string()),
        Just("日本語🔥".to_string()),
        "[ -~]{0,12}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn the_sanitiser_lets_no_control_escape_or_format_character_through(
        raw in hostile_text(),
        max in 1usize..400,
    ) {
        let out = sanitize(&raw, max);
        for c in out.chars() {
            prop_assert!(c == '\n' || !c.is_control(), "control {:?} in {:?}", c, out);
            prop_assert!(!is_format(c), "format character {:?} in {:?}", c, out);
        }
        prop_assert!(out.chars().count() <= max + 4, "capped: {} chars", out.chars().count());
    }

    #[test]
    fn any_socket_frame_is_decoded_or_refused_without_panic(text in "\\PC{0,200}") {
        let _ = wire::decode(&text);
    }

    #[test]
    fn any_envelope_shaped_frame_is_decoded_or_refused_without_panic(
        kind in prop_oneof![
            Just("events_api".to_string()),
            Just("hello".to_string()),
            Just("disconnect".to_string()),
            "[a-z_]{0,12}",
        ],
        envelope in prop_oneof![Just("\"e1\"".to_string()), Just("1".to_string()), Just("null".to_string())],
        payload in prop_oneof![
            Just("{}".to_string()),
            Just("null".to_string()),
            Just("{\"event\":{\"type\":\"message\",\"channel\":7}}".to_string()),
            Just("{\"event_id\":\"Ev1\",\"event\":{\"type\":\"message\",\"ts\":\"1.1\",\"text\":\"\\u001b]0;x\\u0007\"}}".to_string()),
            "\\PC{0,80}".prop_map(|s| serde_json::to_string(&s).unwrap()),
        ],
        retry in prop_oneof![Just("0"), Just("-1"), Just("\"x\""), Just("99999999999")].prop_map(String::from),
    ) {
        let frame = format!(
            "{{\"type\":\"{kind}\",\"envelope_id\":{envelope},\"payload\":{payload},\"retry_attempt\":{retry}}}"
        );
        if let Ok(wire::Frame::EventsApi(e)) = wire::decode(&frame) {
            let _ = e.parse_callback();
        }
    }

    #[test]
    fn intake_reads_anything_without_panic(
        text in hostile_text(),
        blocks in prop::collection::vec(hostile_text(), 0..4),
        labelled in "(Case|Urgency|Subject|Link|Requested by)?:? ?\\PC{0,40}",
    ) {
        let rules = IntakeRules::default();
        let _ = rules.parse(&blocks, &format!("{labelled}\n{text}"));
    }

    #[test]
    fn any_config_text_parses_or_names_the_problem(
        text in prop_oneof![
            "\\PC{0,200}",
            "(lead = \"U1\"\n)?(\\[(slack|ui|actions|store|intake|keys)\\]\n)?[a-z_]{1,16} = (\"[^\"\n]{0,10}\"|[0-9]{1,4}|true|\\[\\])\n",
        ],
    ) {
        if let Err(e) = swarmdeck::config::parse(&text) {
            prop_assert!(!e.trim().is_empty());
        }
    }
}
