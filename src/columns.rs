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
