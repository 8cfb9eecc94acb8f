//! Intake against Workflow-style posts written in every spelling agents and form
//! builders produce: any label of the field, bold or not, with or without a colon, the
//! value on the label's line or the next, Slack links or bare URLs, stray whitespace.

use proptest::prelude::*;
use swarmdeck::domain::{IntakeRules, Urgency};

#[derive(Clone, Debug)]
struct Spelling {
    bold: bool,
    colon: bool,
    next_line: bool,
    upper: bool,
    pad: usize,
}

fn spelling() -> impl Strategy<Value = Spelling> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        0usize..3,
    )
        .prop_map(|(bold, colon, next_line, upper, pad)| Spelling {
            bold,
            colon,
            next_line,
            upper,
            pad,
        })
}

/// One field as a line (or two). Free-text fields need a colon, bold or the next
/// line to be read as labels; the generator keeps to what a form would show.
fn field(label: &str, value: &str, s: &Spelling, free_text: bool) -> String {
    let label = if s.upper {
        label.to_uppercase()
    } else {
        label.to_string()
    };
    let colon = if s.colon || free_text && !s.bold && !s.next_line {
        ":"
    } else {
        ""
    };
    let head = if s.bold {
        format!("*{label}{colon}*")
    } else {
        format!("{label}{colon}")
    };
    let pad = " ".repeat(s.pad);
    if s.next_line {
        format!("{pad}{head}{pad}\n{pad}{value}{pad}")
    } else {
        format!("{pad}{head} {pad}{value}{pad}")
    }
}

const URGENCIES: [(&str, Urgency); 12] = [
    ("Sev 1", Urgency::Sev1),
    ("sev1", Urgency::Sev1),
    ("S1", Urgency::Sev1),
    ("P1", Urgency::Sev1),
    ("Critical", Urgency::Sev1),
    ("Sev 2", Urgency::Sev2),
    ("High", Urgency::Sev2),
    ("3", Urgency::Sev3),
    ("Medium", Urgency::Sev3),
    ("Normal", Urgency::Sev3),
    ("Sev 4", Urgency::Sev4),
    ("Low", Urgency::Sev4),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn every_spelling_of_a_request_is_read(
        case in 10_000u32..99_999,
        urgency in prop::sample::select(&URGENCIES[..]),
        case_label in prop::sample::select(&["Case", "Case number", "Case #"][..]),
        urgency_label in prop::sample::select(&["Urgency", "Severity", "Priority"][..]),
        subject_label in prop::sample::select(&["Subject", "Summary", "Title"][..]),
        link_label in prop::sample::select(&["Link", "Case link"][..]),
        requester_label in prop::sample::select(&["Requested by", "Requester", "Submitted by", "Agent"][..]),
        slack_link in any::<bool>(),
        in_blocks in any::<bool>(),
        spellings in prop::collection::vec(spelling(), 5),
        preamble in prop::sample::select(&["", "*New swarm request*", "Hi team, need a hand:"][..]),
    ) {
        let url = format!("https://support.acme.example/cases/{case}");
        let link = if slack_link { format!("<{url}|Case {case}>") } else { url.clone() };
        let fields = [
            field(case_label, &case.to_string(), &spellings[0], false),
            field(urgency_label, urgency.0, &spellings[1], false),
            field(subject_label, "Exports  stuck at 99%", &spellings[2], true),
            field(link_label, &link, &spellings[3], true),
            field(requester_label, "<@U0REQ00003>", &spellings[4], true),
        ];
        let rules = IntakeRules::default();
        let request = if in_blocks {
            // As section fields: one block text per field, a short fallback.
            let blocks: Vec<String> = fields.to_vec();
            rules.parse(&blocks, preamble)
        } else {
            rules.parse(&[], &format!("{preamble}\n{}", fields.join("\n")))
        };
        let r = request.expect("a request");
        prop_assert_eq!(r.case, case.to_string());
        prop_assert_eq!(r.urgency, urgency.1);
        prop_assert_eq!(r.subject, "Exports stuck at 99%");
        prop_assert_eq!(r.link.as_deref(), Some(url.as_str()));
        prop_assert_eq!(r.requester.as_deref(), Some("U0REQ00003"));
    }

    #[test]
    fn text_without_a_case_field_is_never_a_request(text in "[a-zA-Z ,.!?\n]{0,200}") {
        // Letters only: no digits, so no case number, whatever the words.
        prop_assert_eq!(IntakeRules::default().parse(&[], &text), None);
    }
}

/// Block Kit section fields with the link on the case number (`<url|27370>`) and no
/// Link field: the link on the case is the case link, so promotion can bookmark it.
#[test]
fn a_link_on_the_case_number_in_section_fields_is_the_case_link() {
    let blocks = vec![
        "*Case number*\n<https://crm.example/27370|27370>".to_string(),
        "*Urgency*\nSev 2".to_string(),
        "*Subject*\nCSV export times out".to_string(),
    ];
    let r = IntakeRules::default()
        .parse(&blocks, "New swarm request")
        .expect("a request");
    assert_eq!(r.case, "27370");
    assert_eq!(r.link.as_deref(), Some("https://crm.example/27370"));
}

/// A rich-text request whose case number is a link: the edge writes rich-text links
/// back as `<url|text>`, so the same reading covers it.
#[test]
fn a_rich_text_link_on_the_case_number_is_the_case_link() {
    let blocks: Vec<swarmdeck::slack::wire::Block> = serde_json::from_value(serde_json::json!([
        {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
            {"type": "text", "text": "Case number: ", "style": {"bold": true}},
            {"type": "link", "url": "https://crm.example/27371", "text": "27371"},
            {"type": "text", "text": "\nUrgency: Sev 1\nSubject: Login loops"}
        ]}]}
    ]))
    .unwrap();
    let texts = swarmdeck::slack::translate::block_texts(&blocks);
    let r = IntakeRules::default()
        .parse(&texts, "New swarm request")
        .expect("a request");
    assert_eq!((r.case.as_str(), r.urgency), ("27371", Urgency::Sev1));
    assert_eq!(r.link.as_deref(), Some("https://crm.example/27371"));
}

/// A separate Link field still wins over the link on the case number.
#[test]
fn a_link_field_wins_over_a_link_on_the_case_number() {
    let r = IntakeRules::default()
        .parse(
            &[],
            "Case: <https://old.example/1|27372>\nLink: https://crm.example/27372",
        )
        .expect("a request");
    assert_eq!(r.link.as_deref(), Some("https://crm.example/27372"));
}
