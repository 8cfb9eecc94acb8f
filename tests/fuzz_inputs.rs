//! Fuzzing by property: whatever arrives from Slack or a config file, the parsers do not
//! panic, and the sanitiser's output never holds a control, escape or format character;
//! a frame or history page with messages serde_json refuses (lone surrogates, nesting
//! past its limit, invalid UTF-8, wrong types) loses at most those messages.
//! Brief here; `SWARMDECK_FUZZ_CASES=100000 cargo test --release --test fuzz_inputs` runs long.

use proptest::prelude::*;
use swarmdeck::domain::IntakeRules;
use swarmdeck::domain::text::sanitize;
use swarmdeck::slack::lenient;
use swarmdeck::slack::wire::{self, Event, MessagePage};

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

/// JSON string content, escaped already, with what serde_json refuses: lone surrogate
/// escapes of either half, reversed pairs; and what it must not be mistaken for: proper
/// pairs, and `\\u` (an escaped backslash, then text).
fn odd_escapes() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just(r"\ud83d".to_string()),
        Just(r"\ude00".to_string()),
        Just(r"\ude00\ud83d".to_string()),
        Just(r"\ud83d\ude00".to_string()),
        Just(r"\\ud83d".to_string()),
        Just(r"\\\ud83d".to_string()),
        Just(r"\u0041".to_string()),
        Just(r#"\""#.to_string()),
        "[a-z 日🔥]{0,6}",
    ];
    prop::collection::vec(piece, 0..10).prop_map(|v| v.concat())
}

/// Bytes that are no UTF-8: stray continuations, cut sequences, encoded surrogates.
fn invalid_utf8() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(vec![0xff]),
        Just(vec![0x80]),
        Just(vec![0xc3]),
        Just(vec![0xe2, 0x82]),
        Just(vec![0xed, 0xa0, 0xbd]),
        Just(vec![0xf0, 0x9f, 0x98]),
        Just(b"ok".to_vec()),
    ];
    prop::collection::vec(piece, 1..6).prop_map(|v| v.concat())
}

/// A rich-text list nested `levels` deep, as a block.
fn deep_block(levels: usize) -> String {
    let open = r#"{"type":"rich_text_list","elements":["#.repeat(levels);
    format!(
        r#"{{"type":"rich_text","elements":[{open}{}]}}"#,
        "]}".repeat(levels)
    )
}

/// One message of a frame or page: fine, odd but readable, or unreadable.
#[derive(Clone, Debug)]
enum Odd {
    Fine,
    Surrogates(String),
    /// Blocks this deep (from 62 levels past serde_json's limit).
    Deep(usize),
    BadUtf8(Vec<u8>),
    /// A ts that is no string: no pre-pass makes this a message.
    WrongType,
    /// Not even an object.
    NotAMessage(&'static str),
}

impl Odd {
    fn readable(&self) -> bool {
        !matches!(self, Odd::WrongType | Odd::NotAMessage(_))
    }

    /// The message's bytes, its ts `"{n}.000001"`.
    fn bytes(&self, n: usize) -> Vec<u8> {
        let message = |text: &[u8], blocks: &str| {
            let mut m = format!(r#"{{"type":"message","channel":"C1","ts":"{n}.000001","text":""#)
                .into_bytes();
            m.extend_from_slice(text);
            m.extend_from_slice(format!(r#"","blocks":[{blocks}]}}"#).as_bytes());
            m
        };
        match self {
            Odd::Fine => message(format!("ok {n}").as_bytes(), ""),
            Odd::Surrogates(s) => message(s.as_bytes(), ""),
            Odd::Deep(levels) => message(b"deep", &deep_block(*levels)),
            Odd::BadUtf8(b) => message(b, ""),
            Odd::WrongType => format!(r#"{{"type":"message","ts":{n},"text":"x"}}"#).into_bytes(),
            Odd::NotAMessage(v) => v.as_bytes().to_vec(),
        }
    }
}

fn odd() -> impl Strategy<Value = Odd> {
    prop_oneof![
        3 => Just(Odd::Fine),
        1 => odd_escapes().prop_map(Odd::Surrogates),
        1 => (0usize..300).prop_map(Odd::Deep),
        1 => invalid_utf8().prop_map(Odd::BadUtf8),
        1 => Just(Odd::WrongType),
        1 => prop_oneof![Just("null"), Just("17"), Just(r#""text""#), Just("[{}]")]
            .prop_map(Odd::NotAMessage),
    ]
}

/// What arrives over the wire, as the client reads it: reqwest's `text()` replaces invalid
/// UTF-8 with U+FFFD (and tungstenite refuses it in a text frame), so the decoders see
/// `str`, never bytes.
fn received(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Tokens of JSON thrown together: brackets, quotes, escapes cut short, keys.
fn json_shards() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("{"),
        Just("}"),
        Just("["),
        Just("]"),
        Just("\""),
        Just("\\"),
        Just("\\u"),
        Just("d83d"),
        Just("\\ud83d"),
        Just(":"),
        Just(","),
        Just("1"),
        Just("\"blocks\""),
        Just(" "),
        Just("日"),
    ];
    prop::collection::vec(piece, 0..300).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn a_page_loses_only_its_unreadable_messages(odds in prop::collection::vec(odd(), 0..12)) {
        let mut bytes = br#"{"ok":true,"messages":["#.to_vec();
        for (n, o) in odds.iter().enumerate() {
            if n > 0 {
                bytes.push(b',');
            }
            bytes.extend(o.bytes(n));
        }
        bytes.extend_from_slice(br#"],"has_more":false}"#);
        let page: MessagePage = serde_json::from_str(&received(&bytes)).expect("the page decodes");
        let readable: Vec<String> = odds
            .iter()
            .enumerate()
            .filter(|(_, o)| o.readable())
            .map(|(n, _)| format!("{n}.000001"))
            .collect();
        let got: Vec<String> = page.messages.iter().filter_map(|m| m.ts.clone()).collect();
        prop_assert_eq!(got, readable, "every readable message, in order");
        prop_assert_eq!(page.unreadable.len(), odds.iter().filter(|o| !o.readable()).count());
        for (m, o) in page.messages.iter().zip(odds.iter().filter(|o| o.readable())) {
            if matches!(o, Odd::Fine) {
                prop_assert_eq!(&m.text, &format!("ok {}", m.ts.as_deref().unwrap().trim_end_matches(".000001")));
            }
        }
    }

    #[test]
    fn an_odd_event_keeps_its_envelope_and_if_it_can_its_message(o in odd()) {
        let mut bytes = br#"{"envelope_id":"e1","payload":{"event_id":"Ev1","event":"#.to_vec();
        bytes.extend(o.bytes(7));
        bytes.extend_from_slice(br#","type":"event_callback"},"type":"events_api","retry_attempt":0}"#);
        let Ok(wire::Frame::EventsApi(envelope)) = wire::decode(&received(&bytes)) else {
            panic!("the envelope must decode, to be acked: {:?}", received(&bytes));
        };
        prop_assert_eq!(&envelope.envelope_id, "e1");
        match envelope.parse_callback() {
            Ok(cb) => {
                prop_assert!(o.readable(), "{:?} read as {:?}", o, cb.event);
                let Event::Message(m) = cb.event else { panic!("a message") };
                prop_assert_eq!(m.ts.as_deref(), Some("7.000001"));
            }
            Err(why) => prop_assert!(!o.readable(), "{:?} refused: {}", o, why),
        }
    }

    #[test]
    fn json_shards_are_repaired_or_refused_without_panic(text in json_shards(), raw in prop::collection::vec(any::<u8>(), 0..200)) {
        for text in [text, received(&raw)] {
            let _ = lenient::repair(&text);
            if let Ok(wire::Frame::EventsApi(e)) = wire::decode(&text) {
                let _ = e.parse_callback();
            }
            let _ = serde_json::from_str::<MessagePage>(&text);
        }
    }

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
