//! What the lead typed, matched and ranked the way fuzzy finders do (nucleo, the matcher
//! of helix and nucleo's pickers): every word must match, closer and earlier matches
//! score higher. A subsequence test alone let a case typed in full match another case
//! and keep it selected.

use nucleo_matcher::pattern::{AtomKind, CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};

pub struct Ranker {
    pattern: Pattern,
    matcher: Matcher,
    buf: Vec<char>,
}

impl Ranker {
    /// `None` for an empty query: everything matches, nothing is ranked.
    pub fn new(query: &str) -> Option<Ranker> {
        if query.trim().is_empty() {
            return None;
        }
        Some(Ranker {
            // Every word fuzzy: a lead typing `!` or `^` means the character, not an
            // operator.
            pattern: Pattern::new(
                query,
                CaseMatching::Ignore,
                Normalization::Smart,
                AtomKind::Fuzzy,
            ),
            matcher: Matcher::new(Config::DEFAULT),
            buf: Vec::new(),
        })
    }

    /// The score of `haystack`, `None` when a word of the query does not match.
    pub fn score(&mut self, haystack: &str) -> Option<u32> {
        self.pattern
            .score(Utf32Str::new(haystack, &mut self.buf), &mut self.matcher)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_must_match_and_closer_matches_rank_higher() {
        let mut r = Ranker::new("web time").unwrap();
        assert!(r.score("27343 webhooks time out api").is_some());
        assert!(r.score("27343 webhooks").is_none(), "`time` must match too");
        let mut r = Ranker::new("27672").unwrap();
        let exact = r.score("27672 Login broken").unwrap();
        let scattered = r.score("2 7 6 7 2 something").unwrap_or(0);
        assert!(exact > scattered);
        assert!(Ranker::new("  ").is_none());
    }
}
