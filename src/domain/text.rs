//! The one sanitiser for text from Slack. Slack text is untrusted: it reaches cells,
//! titles and logs, where an escape sequence would act on the lead's terminal. The raw
//! text stays in the store; everything the desk keeps has been through here.

/// Text as it may be shown: escape sequences (CSI, OSC, DCS, SOS/PM/APC) removed whole,
/// C0/C1 controls and invisible format characters (bidi overrides, zero-width) dropped,
/// tabs expanded, newlines kept, and at most `max_chars` characters (an ellipsis marks a cut).
pub fn sanitize(raw: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(raw.len().min(max_chars * 4));
    let mut kept = 0usize;
    let mut column = 0usize;
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if kept >= max_chars {
            out.push('…');
            break;
        }
        match c {
            '\u{1b}' => match chars.next() {
                Some('[') => skip_csi(&mut chars),
                Some(']' | 'P' | 'X' | '^' | '_') => skip_string(&mut chars),
                // A two-character escape (ESC 7, ESC c …): both go.
                _ => {}
            },
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            '\n' => {
                out.push('\n');
                kept += 1;
                column = 0;
            }
            '\t' => {
                let spaces = 4 - column % 4;
                for _ in 0..spaces {
                    out.push(' ');
                }
                kept += spaces;
                column += spaces;
            }
            c if c.is_control() || is_invisible_format(c) => {}
            c => {
                out.push(c);
                kept += 1;
                column += 1;
            }
        }
    }
    out
}

/// One line for a table cell: newlines become spaces, runs of spaces collapse.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    // Parameters and intermediates, up to the final byte (0x40..=0x7e).
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) {
            return;
        }
    }
}

fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    // Up to BEL, ST (ESC \) or the C1 ST.
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => return,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                return;
            }
            _ => {}
        }
    }
}

/// Unicode's format characters (category Cf): invisible, and some reorder the text
/// around them (bidi) or smuggle text past a reader (the tag characters, U+E0000…).
pub fn is_invisible_format(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x0890..=0x0891 | 0x08E2
        | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F
        | 0xFEFF | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F
        | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F
    )
}

/// Slack's own escaping of `&`, `<` and `>` in message text, undone.
pub fn unescape_entities(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_go_whole_not_just_the_escape_byte() {
        assert_eq!(sanitize("a\u{1b}[31mred\u{1b}[0m b", 100), "ared b");
        assert_eq!(
            sanitize(
                "x\u{1b}]0;pwned title\u{7}y \u{1b}]8;;http://e\u{1b}\\link\u{1b}]8;;\u{1b}\\",
                100
            ),
            "xy link"
        );
        assert_eq!(sanitize("\u{1b}P1$r0m\u{1b}\\ok", 100), "ok");
        assert_eq!(sanitize("\u{9b}2Jgone?", 100), "gone?");
        assert_eq!(sanitize("bell\u{7} cr\r back\u{8}", 100), "bell cr back");
    }

    #[test]
    fn invisible_format_characters_and_bidi_overrides_are_dropped() {
        assert_eq!(sanitize("ad\u{202e}txt.exe", 100), "adtxt.exe");
        assert_eq!(sanitize("zero\u{200b}width\u{feff}", 100), "zerowidth");
    }

    #[test]
    fn tabs_expand_newlines_stay_and_length_is_capped() {
        assert_eq!(sanitize("a\tb\n\tc", 100), "a   b\n    c");
        assert_eq!(sanitize("héllo wörld", 5), "héllo…");
        assert_eq!(sanitize("日本語 ✅", 100), "日本語 ✅");
    }

    #[test]
    fn entities_and_single_lines() {
        assert_eq!(unescape_entities("a &lt;b&gt; &amp;amp;"), "a <b> &amp;");
        assert_eq!(one_line("  two\n lines  "), "two lines");
    }
}
