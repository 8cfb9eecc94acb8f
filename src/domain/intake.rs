//! Recognising a swarm request: a pod-channel message that carries a case field, as a
//! Workflow Builder form posts it (Block Kit sections and fields, rich text, the text
//! fallback) or as an agent types it by hand.

use super::Urgency;
use super::text::{one_line, unescape_entities};

/// The fields of a swarm request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub case: String,
    pub urgency: Urgency,
    /// False when no urgency was given or it was not understood (then it is `default_urgency`).
    pub urgency_known: bool,
    pub subject: String,
    pub link: Option<String>,
    /// The requester's user id, when the post names them with a mention.
    pub requester: Option<String>,
    /// The requester as written, when it is not a mention.
    pub requester_name: Option<String>,
    /// The customer's tier (`premier`), lowercase, from a `Tier`, `Plan` or
    /// `Entitlement` field: a configured tier word's tier, else the value as written.
    pub tier: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Case,
    Urgency,
    Subject,
    Link,
    Requester,
    Tier,
}

/// Which labels name which field, and which words mean which urgency. Configurable;
/// the defaults are DESIGN §3 "Intake defaults".
#[derive(Clone, Debug)]
pub struct IntakeRules {
    /// Lowercase labels, longest first (so `case link` wins over `case`).
    labels: Vec<(String, Field)>,
    /// Normalised words (lowercase, letters and digits only) to urgency.
    urgency_words: Vec<(String, Urgency)>,
    /// Normalised words to the tier they mean (`enterprise` → `premier`).
    tier_words: Vec<(String, String)>,
    pub default_urgency: Urgency,
}

impl Default for IntakeRules {
    fn default() -> Self {
        let labels = [
            (
                Field::Case,
                &["case", "case number", "case #", "case no", "case id"][..],
            ),
            (Field::Urgency, &["urgency", "severity", "priority"][..]),
            (Field::Subject, &["subject", "summary", "title"][..]),
            (Field::Link, &["link", "case link"][..]),
            (
                Field::Requester,
                &["requested by", "requester", "submitted by", "agent"][..],
            ),
            (Field::Tier, &["tier", "plan", "entitlement"][..]),
        ];
        let urgency = [
            (
                Urgency::Sev1,
                &["sev1", "s1", "p1", "1", "critical", "urgent"][..],
            ),
            (Urgency::Sev2, &["sev2", "s2", "p2", "2", "high"][..]),
            (
                Urgency::Sev3,
                &["sev3", "s3", "p3", "3", "medium", "normal"][..],
            ),
            (Urgency::Sev4, &["sev4", "s4", "p4", "4", "low"][..]),
        ];
        let mut rules = IntakeRules {
            labels: Vec::new(),
            urgency_words: Vec::new(),
            tier_words: Vec::new(),
            default_urgency: Urgency::Sev3,
        };
        for (field, words) in labels {
            for w in words {
                rules.add_label(w, field);
            }
        }
        for (u, words) in urgency {
            for w in words {
                rules.add_urgency_word(w, u);
            }
        }
        rules
    }
}

impl IntakeRules {
    /// Rules with only the given labels and urgency words (config replaces the defaults).
    pub fn empty(default_urgency: Urgency) -> Self {
        IntakeRules {
            labels: Vec::new(),
            urgency_words: Vec::new(),
            tier_words: Vec::new(),
            default_urgency,
        }
    }

    pub fn add_label(&mut self, label: &str, field: Field) {
        let label = label.trim().trim_end_matches(':').trim().to_lowercase();
        if label.is_empty() || self.labels.iter().any(|(l, _)| *l == label) {
            return;
        }
        self.labels.push((label, field));
        self.labels.sort_by_key(|(l, _)| std::cmp::Reverse(l.len()));
    }

    pub fn add_urgency_word(&mut self, word: &str, urgency: Urgency) {
        let word = normalise_word(word);
        if !word.is_empty() {
            self.urgency_words.retain(|(w, _)| *w != word);
            self.urgency_words.push((word, urgency));
        }
    }

    /// A word that means `tier` in a tier field (`Enterprise` → `premier`).
    pub fn add_tier_word(&mut self, word: &str, tier: &str) {
        let word = normalise_word(word);
        if !word.is_empty() {
            self.tier_words.retain(|(w, _)| *w != word);
            self.tier_words.push((word, tier.trim().to_lowercase()));
        }
    }

    /// The tier a tier field's value names: a tier word's tier, else the value itself,
    /// lowercase; `None` for a value too long to be a tier (a sentence).
    pub fn tier(&self, value: &str) -> Option<String> {
        let value = readable(value).to_lowercase();
        let key = normalise_word(&value);
        if let Some((_, t)) = self.tier_words.iter().find(|(w, _)| *w == key) {
            return Some(t.clone());
        }
        (!key.is_empty() && value.split_whitespace().count() <= 3).then_some(value)
    }

    /// The urgency a value names: the whole value (`Sev 1`), else its words one by one
    /// and in pairs (`Sev 1 - Critical`, `P2 (high)`).
    pub fn urgency(&self, value: &str) -> Option<Urgency> {
        let lookup = |w: &str| {
            self.urgency_words
                .iter()
                .find(|(word, _)| word == w)
                .map(|(_, u)| *u)
        };
        let value = strip_link(value);
        if let Some(u) = lookup(&normalise_word(&value)) {
            return Some(u);
        }
        let words: Vec<String> = value
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(normalise_word)
            .collect();
        for pair in words.windows(2) {
            if let Some(u) = lookup(&format!("{}{}", pair[0], pair[1])) {
                return Some(u);
            }
        }
        words.iter().find_map(|w| lookup(w))
    }

    /// Reads a request from a message's block texts and its text fallback; `None` when
    /// there is no case field.
    pub fn parse(&self, block_texts: &[String], fallback: &str) -> Option<Request> {
        let mut found: [Option<String>; 6] = Default::default();
        for chunk in block_texts.iter().map(String::as_str).chain([fallback]) {
            self.read_chunk(chunk, &mut found);
        }
        let [case, urgency, subject, link, requester, tier] = found;
        let case_value = case?;
        let case = case_number(&case_value)?;
        let parsed_urgency = urgency.as_deref().and_then(|u| self.urgency(u));
        let (requester, requester_name) = match requester.as_deref().map(mention_or_name) {
            Some(Requester::Id(id)) => (Some(id), None),
            Some(Requester::Name(name)) => (None, Some(name)),
            None => (None, None),
        };
        Some(Request {
            case,
            urgency: parsed_urgency.unwrap_or(self.default_urgency),
            urgency_known: parsed_urgency.is_some(),
            subject: subject.map(|s| readable(&s)).unwrap_or_default(),
            // A form may put the link on the case number itself (`<url|27370>` in a
            // field, or a rich-text link, which reaches intake as the same markup):
            // without a link field, that is the case link.
            link: link
                .as_deref()
                .and_then(first_url)
                .or_else(|| first_url(&case_value)),
            requester,
            requester_name,
            tier: tier.as_deref().and_then(|t| self.tier(t)),
        })
    }

    fn read_chunk(&self, chunk: &str, found: &mut [Option<String>; 6]) {
        let lines: Vec<&str> = chunk.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let Some(hit) = self.label_of(line) else {
                continue;
            };
            let slot = &mut found[hit.field as usize];
            if slot.is_some() {
                continue;
            }
            let value = if hit.value.is_empty() {
                // The value is on the next line, as Block Kit fields show it.
                lines[i + 1..]
                    .iter()
                    .map(|l| l.trim())
                    .find(|l| !l.is_empty())
                    .filter(|l| self.label_of(l).is_none())
                    .map(str::to_string)
            } else if hit.marked || self.plausible(hit.field, &hit.value) {
                Some(hit.value)
            } else {
                None
            };
            if let Some(v) = value.filter(|v| !strip_emphasis(v).is_empty()) {
                *slot = Some(v);
            }
        }
    }

    /// Without a colon or bold, `Case 27343` is a label only if the value looks right:
    /// otherwise "case is still open" in a paragraph would be read as a case field.
    fn plausible(&self, field: Field, value: &str) -> bool {
        match field {
            Field::Case => case_number(value).is_some() && value.split_whitespace().count() == 1,
            Field::Urgency => {
                self.urgency(value).is_some() && value.split_whitespace().count() <= 2
            }
            Field::Link => first_url(value).is_some(),
            Field::Subject | Field::Requester | Field::Tier => false,
        }
    }

    fn label_of(&self, line: &str) -> Option<LabelHit> {
        let trimmed = line.trim_start();
        let rest = trimmed.trim_start_matches(['*', '_', '>', ' ', '•', '-']);
        let mut marked = rest.len() != trimmed.len() && trimmed.starts_with(['*', '_']);
        let (label, field) = self.labels.iter().find(|(label, _)| {
            rest.get(..label.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(label))
                && !rest[label.len()..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_alphanumeric())
        })?;
        let mut value = rest[label.len()..].trim_start_matches(['*', '_', ' ']);
        if let Some(after) = value.strip_prefix(':') {
            marked = true;
            value = after;
        }
        let value = value.trim_start_matches(['*', '_', ' ']).trim_end();
        Some(LabelHit {
            field: *field,
            value: value.to_string(),
            marked,
        })
    }
}

struct LabelHit {
    field: Field,
    value: String,
    /// A colon or bold made it unmistakably a label.
    marked: bool,
}

fn normalise_word(word: &str) -> String {
    word.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn strip_emphasis(s: &str) -> &str {
    s.trim_matches(['*', '_', '~', '`', ' '])
}

/// `<url|text>` → `text`, `<url>` → `url`, `<@U1|name>` → `@name`; the rest unchanged.
fn strip_link(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            out.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let inner = &rest[open + 1..open + close];
        let shown = match inner.split_once('|') {
            Some((target, label)) if target.starts_with('@') => format!("@{label}"),
            Some((_, label)) => label.to_string(),
            None => inner.to_string(),
        };
        out.push_str(&shown);
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// Text for showing: links reduced to their labels, entities undone, one line.
fn readable(text: &str) -> String {
    one_line(strip_emphasis(&unescape_entities(&strip_link(text))))
}

/// The case number in a value: the first token of letters, digits and dashes that has
/// a digit in it (`#27343`, `*27343*`, `<https://…|27343>`, `CASE-0042`).
pub fn case_number(value: &str) -> Option<String> {
    strip_link(value)
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .map(|t| t.trim_matches(['-', '_']))
        .find(|t| t.chars().any(|c| c.is_ascii_digit()) && t.len() <= 40)
        .map(str::to_string)
}

/// The first URL in a value: Slack's `<url|label>` / `<url>`, or a bare one.
pub fn first_url(value: &str) -> Option<String> {
    let value = unescape_entities(value);
    let mut rest = value.as_str();
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        let target = rest[open + 1..open + close].split('|').next().unwrap_or("");
        if target.starts_with("http://") || target.starts_with("https://") {
            return Some(target.to_string());
        }
        rest = &rest[open + close + 1..];
    }
    value
        .split_whitespace()
        .map(|w| w.trim_matches(['*', '_', '(', ')', '<', '>', ',']))
        .find(|w| w.starts_with("http://") || w.starts_with("https://"))
        .map(str::to_string)
}

enum Requester {
    Id(String),
    Name(String),
}

fn mention_or_name(value: &str) -> Requester {
    if let Some(start) = value.find("<@") {
        let inner = &value[start + 2..];
        let end = inner.find(['>', '|']).unwrap_or(inner.len());
        let id = &inner[..end];
        if !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Requester::Id(id.to_string());
        }
    }
    Requester::Name(readable(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Option<Request> {
        IntakeRules::default().parse(&[], text)
    }

    #[test]
    fn a_typed_request_with_colons() {
        let r = parse(
            "Case: 27343\nUrgency: Sev 1\nSubject: Webhooks  failing\nLink: https://support.acme.example/cases/27343\nhelp?",
        )
        .unwrap();
        assert_eq!(r.case, "27343");
        assert_eq!(r.urgency, Urgency::Sev1);
        assert!(r.urgency_known);
        assert_eq!(r.subject, "Webhooks failing");
        assert_eq!(
            r.link.as_deref(),
            Some("https://support.acme.example/cases/27343")
        );
        assert_eq!(r.requester, None);
    }

    #[test]
    fn workflow_fields_with_bold_labels_and_values_on_the_next_line() {
        let blocks = vec![
            "*Case number:*\n27343".to_string(),
            "*Urgency:*\nHigh".to_string(),
            "*Subject:*\nSSO login loops for &lt;EU&gt; users".to_string(),
            "*Case link:*\n<https://support.acme.example/cases/27343|Case 27343>".to_string(),
            "*Requested by:*\n<@U0REQ00001>".to_string(),
        ];
        let r = IntakeRules::default()
            .parse(&blocks, "New swarm request")
            .unwrap();
        assert_eq!(r.case, "27343");
        assert_eq!(r.urgency, Urgency::Sev2);
        assert_eq!(r.subject, "SSO login loops for <EU> users");
        assert_eq!(
            r.link.as_deref(),
            Some("https://support.acme.example/cases/27343")
        );
        assert_eq!(r.requester.as_deref(), Some("U0REQ00001"));
    }

    #[test]
    fn label_spellings() {
        for (text, case) in [
            ("Case # 27343", "27343"),
            ("case#27343", "27343"),
            ("*Case*  27343", "27343"),
            ("**CASE NUMBER** : #27343", "27343"),
            ("_Case no_: CASE-0042", "CASE-0042"),
            ("  Case:   <https://x.example/c/27343|27343>  ", "27343"),
            ("Case\n\n 27343", "27343"),
            ("• Case: 27343", "27343"),
        ] {
            assert_eq!(
                parse(text).map(|r| r.case).as_deref(),
                Some(case),
                "{text:?}"
            );
        }
    }

    #[test]
    fn prose_that_mentions_a_case_is_not_a_request() {
        for text in [
            "The case is still open, any ideas?",
            "Casey: can you look?",
            "case: none yet",
            "Showcase 27343",
            "Subject: no case here",
        ] {
            assert_eq!(parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn urgency_words() {
        let rules = IntakeRules::default();
        for (v, u) in [
            ("Sev 1", Urgency::Sev1),
            ("sev1", Urgency::Sev1),
            ("S1", Urgency::Sev1),
            ("P1", Urgency::Sev1),
            ("Critical", Urgency::Sev1),
            ("Sev 1 - Critical", Urgency::Sev1),
            (":fire: P2 (High)", Urgency::Sev2),
            ("2", Urgency::Sev2),
            ("Medium", Urgency::Sev3),
            ("normal", Urgency::Sev3),
            ("LOW", Urgency::Sev4),
            ("*4*", Urgency::Sev4),
        ] {
            assert_eq!(rules.urgency(v), Some(u), "{v:?}");
        }
        assert_eq!(rules.urgency("whenever"), None);
        let r = parse("Case: 1\nUrgency: whenever").unwrap();
        assert_eq!((r.urgency, r.urgency_known), (Urgency::Sev3, false));
    }

    #[test]
    fn requester_as_mention_or_name_and_bare_links() {
        let r = parse("Case: 9\nRequester: <@U123|maria>\nLink: see https://c.example/9, thanks")
            .unwrap();
        assert_eq!(r.requester.as_deref(), Some("U123"));
        assert_eq!(r.link.as_deref(), Some("https://c.example/9"));
        let r = parse("Case: 9\nSubmitted by: *Maria Lopez*").unwrap();
        assert_eq!(r.requester_name.as_deref(), Some("Maria Lopez"));
    }

    #[test]
    fn the_first_value_wins_and_blocks_come_before_the_fallback() {
        let blocks = vec!["*Case:* 111".to_string()];
        let r = IntakeRules::default().parse(&blocks, "Case: 222").unwrap();
        assert_eq!(r.case, "111");
    }

    #[test]
    fn configured_labels_and_words() {
        let mut rules = IntakeRules::empty(Urgency::Sev4);
        rules.add_label("Ticket:", Field::Case);
        rules.add_label("Impact", Field::Urgency);
        rules.add_urgency_word("Blocker", Urgency::Sev1);
        let r = rules.parse(&[], "Ticket: 77\nImpact: blocker").unwrap();
        assert_eq!((r.case.as_str(), r.urgency), ("77", Urgency::Sev1));
        assert_eq!(rules.parse(&[], "Case: 77"), None);
    }
}
