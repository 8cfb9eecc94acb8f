//! Text in columns, for the dashboard and the report's table alike: display width (a CJK
//! character or an emoji takes two columns; cutting by bytes or chars breaks alignment),
//! fitting to a width, and durations short enough for a cell.

use crate::domain::text::one_line;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Display width in terminal columns.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// One line cut to `max` columns, with `…` when cut. Never splits a wide character.
pub fn fit(text: &str, max: usize) -> String {
    let line = one_line(text);
    if width(&line) <= max {
        return line;
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in line.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > max - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// One line cut to `max` columns in the middle, keeping its start and its end: for
/// names whose end tells them apart (`#support-api-sev2-27343-2`).
pub fn fit_middle(text: &str, max: usize) -> String {
    let line = one_line(text);
    if width(&line) <= max || max < 5 {
        return fit(&line, max);
    }
    let chars: Vec<char> = line.chars().collect();
    let budget = max - 1;
    let mut tail = Vec::new();
    let mut used = 0;
    // The end gets the larger half: it holds what differs.
    for c in chars.iter().rev() {
        let w = c.width().unwrap_or(0);
        if used + w > budget - budget / 3 {
            break;
        }
        tail.push(*c);
        used += w;
    }
    let mut head = String::new();
    for c in &chars {
        let w = c.width().unwrap_or(0);
        if used + w > budget {
            break;
        }
        head.push(*c);
        used += w;
    }
    head.push('…');
    head.extend(tail.iter().rev());
    head
}

/// A count with its noun in the right number: `1 reply`, `2 replies`, `0 follow-ups`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Spare columns handed out in priority order: each column gets what it `wants` (beyond
/// what it has) before the next gets any. Returns what each got and what is left over.
pub fn share(spare: usize, wants: &[usize]) -> (Vec<usize>, usize) {
    let mut left = spare;
    let got = wants
        .iter()
        .map(|want| {
            let given = (*want).min(left);
            left -= given;
            given
        })
        .collect();
    (got, left)
}

/// A duration for a cell: `45s`, `12m`, `3h05`, `2d4h`; negative is "ago"-free (the
/// caller says which way it points).
pub fn duration(secs: i64) -> String {
    let s = secs.abs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h{:02}", s / 3600, s % 3600 / 60),
        _ => format!("{}d{}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// A countdown: `m:ss` under ten minutes (it ticks), else as [`duration`].
pub fn countdown(secs: i64) -> String {
    if secs.abs() < 600 {
        format!("{}:{:02}", secs.abs() / 60, secs.abs() % 60)
    } else {
        duration(secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_take_the_noun_in_their_number() {
        assert_eq!(count(0, "reply", "replies"), "0 replies");
        assert_eq!(count(1, "reply", "replies"), "1 reply");
        assert_eq!(count(12_345, "follow-up", "follow-ups"), "12345 follow-ups");
    }

    #[test]
    fn spare_columns_go_first_to_the_first_in_need() {
        assert_eq!(share(10, &[4, 3, 5]), (vec![4, 3, 3], 0));
        assert_eq!(share(20, &[4, 3, 5]), (vec![4, 3, 5], 8));
        assert_eq!(share(0, &[4, 3]), (vec![0, 0], 0));
    }

    #[test]
    fn a_name_cut_in_the_middle_keeps_what_tells_it_apart() {
        let a = fit_middle("#support-api-sev2-27343", 16);
        let b = fit_middle("#support-api-sev2-27343-2", 16);
        assert_ne!(a, b);
        assert!(b.ends_with("27343-2") && b.starts_with("#sup"), "{b}");
        assert_eq!(width(&b), 16);
        assert_eq!(fit_middle("#short", 16), "#short");
    }
}
