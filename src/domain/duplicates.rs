//! Likely duplicates: a request for a case another open swarm already has (in any pod),
//! or one that says what another open swarm's request says. The case-management seeds
//! name them as what closing too early costs: the customer opens another case, in
//! another channel, and two groups of experts work the same problem.
//!
//! The desk decides at intake, from the open swarms it holds, rather than by a full-text
//! query to the store: the flag must be the same for every lead on the pod and across
//! restarts (it is derived, like the rest of a swarm, not stored), the desk is small
//! (open swarms, not the history the store searches) and pure, and a word overlap over
//! subjects is cheap enough to run on every new request.

use super::intake::Request;
use super::{SwarmId, Ts};
use std::collections::BTreeSet;

/// Why two requests look like the same problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Likeness {
    /// The same case number.
    SameCase,
    /// Subjects that share most of their words.
    SimilarSubject,
}

impl Likeness {
    pub fn as_str(self) -> &'static str {
        match self {
            Likeness::SameCase => "same_case",
            Likeness::SimilarSubject => "similar_subject",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Likeness::SameCase => "same case",
            Likeness::SimilarSubject => "similar subject",
        }
    }
}

/// The open swarm a new request likely duplicates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DuplicateOf {
    pub of: SwarmId,
    pub pod: String,
    pub case: String,
    pub likeness: Likeness,
}

/// A swarm linked to another (`L`): the duplicate says which swarm it duplicates, the
/// original which swarms were linked to it. From the markers in their threads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub other: SwarmId,
    pub case: String,
    pub at: Ts,
}

/// Words shared by so many requests that they say nothing about which problem it is.
const COMMON: &[&str] = &[
    "the",
    "and",
    "for",
    "with",
    "from",
    "after",
    "before",
    "into",
    "onto",
    "not",
    "but",
    "are",
    "was",
    "were",
    "has",
    "have",
    "had",
    "been",
    "being",
    "this",
    "that",
    "these",
    "those",
    "its",
    "our",
    "their",
    "your",
    "they",
    "them",
    "she",
    "his",
    "her",
    "can",
    "cannot",
    "cant",
    "could",
    "does",
    "doesn",
    "doesnt",
    "don",
    "dont",
    "won",
    "wont",
    "isn",
    "isnt",
    "will",
    "when",
    "while",
    "still",
    "some",
    "any",
    "all",
    "every",
    "new",
    "get",
    "gets",
    "getting",
    "got",
    "one",
    "two",
    "out",
    "off",
    "via",
    "per",
    "than",
    "then",
    "too",
    "very",
    "also",
    "just",
    "only",
    "more",
    "most",
    "over",
    "under",
    "again",
    "why",
    "how",
    "what",
    "who",
    "where",
    "which",
    "error",
    "errors",
    "issue",
    "issues",
    "problem",
    "problems",
    "fail",
    "fails",
    "failed",
    "failing",
    "failure",
    "broken",
    "working",
    "work",
    "works",
    "unable",
    "help",
    "please",
    "urgent",
    "request",
    "customer",
    "customers",
    "user",
    "users",
    "account",
    "case",
    "ticket",
];

/// The words of a subject that tell one problem from another: lower case, letters and
/// digits, at least three characters, not one of the [`COMMON`] words, a plural `s` off.
pub fn words(text: &str) -> BTreeSet<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3 && !COMMON.contains(w))
        .map(|w| match w.strip_suffix('s') {
            Some(stem) if stem.chars().count() >= 4 && !stem.ends_with('s') => stem.to_string(),
            _ => w.to_string(),
        })
        .collect()
}

/// Subjects alike: at least three telling words in common, and those most of the words
/// either says (Jaccard ≥ 0.6), so that one shared product name does not make two
/// requests alike.
pub fn subjects_alike(a: &BTreeSet<String>, b: &BTreeSet<String>) -> bool {
    // Cheap first: a new request is compared with every open swarm.
    if a.len() < 3 || b.len() < 3 || a.len().max(b.len()) * 3 > a.len().min(b.len()) * 5 {
        return false;
    }
    let shared = a.intersection(b).count();
    let either = a.len() + b.len() - shared;
    shared >= 3 && shared * 5 >= either * 3
}

/// A case number as compared: no `#`, any case.
pub fn case_key(case: &str) -> String {
    case.trim()
        .trim_start_matches('#')
        .trim()
        .to_ascii_lowercase()
}

/// How `a` and `b` are alike, if they are: the same case first, then the subject.
/// `a_words`/`b_words` are [`words`] of their subjects (kept by the caller, which
/// compares one request with many).
pub fn alike(
    a: &Request,
    a_words: &BTreeSet<String>,
    b: &Request,
    b_words: &BTreeSet<String>,
) -> Option<Likeness> {
    fn bare(c: &str) -> &str {
        c.trim().trim_start_matches('#').trim()
    }
    let (case_a, case_b) = (bare(&a.case), bare(&b.case));
    if !case_a.is_empty() && case_a.eq_ignore_ascii_case(case_b) {
        return Some(Likeness::SameCase);
    }
    subjects_alike(a_words, b_words).then_some(Likeness::SimilarSubject)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telling_words_only() {
        let w = words("Refund stuck in pending for 9 days");
        let expected: BTreeSet<String> = ["refund", "stuck", "pending", "days"]
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(w, expected);
        assert!(words("The error is not the issue").is_empty());
    }

    #[test]
    fn alike_subjects_and_not() {
        let a = words("Refund stuck in pending for 9 days");
        assert!(subjects_alike(&a, &words("refund STUCK pending 9 days!")));
        assert!(!subjects_alike(
            &a,
            &words("Refund webhook returns error for the API")
        ));
        assert!(!subjects_alike(
            &words("The error is not working for the customer"),
            &words("Error: the customer is not working")
        ));
    }
}
