//! The one sanitiser for text from Slack. Slack text is untrusted: it reaches cells,
//! titles and logs, where an escape sequence would act on the lead's terminal. The raw
//! text stays in the store; everything the desk keeps has been through here.

use unicode_segmentation::UnicodeSegmentation;

/// Text as it may be shown: escape sequences (CSI, OSC, DCS, SOS/PM/APC) removed whole,
/// C0/C1 controls and invisible format characters (bidi overrides, zero-width) dropped,
/// tabs expanded, newlines kept, and at most `max_chars` characters (an ellipsis marks a cut);
/// then the emoji sequences terminals draw at different widths folded ([`fold_graphemes`]).
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
            // The joiner stays until the folding, which needs it to see a sequence.
            c if c.is_control() || (is_invisible_format(c) && c != ZWJ) => {}
            c => {
                out.push(c);
                kept += 1;
                column += 1;
            }
        }
    }
    // A flag folds to twice its characters: the cap holds for what is shown.
    fold(&out, max_chars.max(kept))
}

const ZWJ: char = '\u{200d}';

/// Grapheme clusters whose width terminals disagree on, as something every terminal
/// draws alike — else a cell is left stale where the terminal and the dashboard counted
/// differently: a flag (two regional indicators) as its letters, `[EU]`; a sequence
/// joined by ZWJ (👩‍💻, 👨‍👩‍👧) as its first emoji; a keycap (`1️⃣`) as its key; skin
/// tones and emoji-or-text selectors dropped. CJK and combining accents stay: all agree.
pub fn fold_graphemes(text: &str) -> String {
    fold(text, usize::MAX)
}

/// [`fold_graphemes`], at most `max_chars` characters after folding (an ellipsis marks a
/// cut, which never splits what one grapheme became).
fn fold(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len());
    let mut count = 0;
    for g in text.graphemes(true) {
        let piece = fold_one(g);
        count += piece.chars().count();
        // The sanitiser's own ellipsis past the cap is the one that marks it.
        if count > max_chars {
            out.push('…');
            break;
        }
        out.push_str(&piece);
    }
    out
}

fn fold_one(g: &str) -> String {
    let letters: String = g.chars().filter_map(regional_letter).collect();
    if !letters.is_empty() {
        return format!("[{letters}]");
    }
    let keycap = g.contains('\u{20e3}');
    let joined = g.contains(ZWJ);
    g.chars()
        .enumerate()
        .filter(|&(i, c)| {
            let disputed = matches!(c, '\u{fe0e}' | '\u{fe0f}' | '\u{20e3}' | ZWJ)
                || ('\u{1f3fb}'..='\u{1f3ff}').contains(&c);
            // Of a joined sequence only its first emoji; of a keycap only its key.
            !(disputed || (i > 0 && (joined || keycap)))
        })
        .map(|(_, c)| c)
        .collect()
}

/// The letter a regional indicator stands for (🇪 → `E`).
fn regional_letter(c: char) -> Option<char> {
    let offset = (c as u32).checked_sub(0x1f1e6)?;
    (offset < 26).then(|| char::from(b'A' + offset as u8))
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
    fn flags_joined_emoji_and_keycaps_fold_to_what_terminals_agree_on() {
        assert_eq!(sanitize("EU 🇪🇺 and 🇯🇵", 100), "EU [EU] and [JP]");
        assert_eq!(sanitize("dev 👩‍💻 family 👨‍👩‍👧!", 100), "dev 👩 family 👨!");
        assert_eq!(sanitize("press 1️⃣ then #️⃣", 100), "press 1 then #");
        assert_eq!(sanitize("ok 👍🏽 ❤️ ☺︎", 100), "ok 👍 ❤ ☺");
        // A lone indicator is a letter too; a stray joiner goes.
        assert_eq!(sanitize("🇪 a\u{200d}b", 100), "[E] ab");
        // The cap counts what is shown: a flag is four characters, and never half cut.
        assert_eq!(sanitize("🇪🇺🇪🇺🇪🇺", 6), "[EU]…");
        // What every terminal draws alike stays as it is.
        assert_eq!(sanitize("日本語 🔥 café ✅", 100), "日本語 🔥 café ✅");
    }

    /// Pieces of text that terminals draw alike and the ones they do not, in any order.
    fn emoji_soup() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let piece = prop_oneof![
            Just("🇪".to_string()),
            Just("🇺".to_string()),
            Just("\u{200d}".to_string()),
            Just("\u{fe0f}".to_string()),
            Just("\u{fe0e}".to_string()),
            Just("\u{20e3}".to_string()),
            Just("🏽".to_string()),
            Just("👩".to_string()),
            Just("💻".to_string()),
            Just("❤".to_string()),
            Just("日本".to_string()),
            Just("e\u{301}".to_string()),
            Just("1".to_string()),
            Just(" ".to_string()),
            any::<char>().prop_map(String::from),
        ];
        proptest::collection::vec(piece, 0..24).prop_map(|p| p.concat())
    }

    proptest::proptest! {
        /// Folded text is as wide as its graphemes added up, and as its code points: no
        /// sequence is left whose width a terminal could count otherwise.
        #[test]
        fn folded_text_is_as_wide_as_its_graphemes(raw in emoji_soup()) {
            use unicode_width::UnicodeWidthStr;
            // Lines are drawn apart: a newline has no width of its own to agree on.
            let folded = sanitize(&raw, 1_000).replace('\n', "");
            let each: usize = folded.graphemes(true).map(UnicodeWidthStr::width).sum();
            proptest::prop_assert_eq!(folded.width(), each, "{:?} from {:?}", folded, raw);
            // A terminal that counts code points alone comes to the same.
            let by_char: usize = folded
                .chars()
                .map(|c| unicode_width::UnicodeWidthChar::width(c).unwrap_or(0))
                .sum();
            proptest::prop_assert_eq!(by_char, each, "{:?} from {:?}", folded, raw);
            proptest::prop_assert!(
                !folded.chars().any(|c| c == ZWJ || regional_letter(c).is_some()),
                "{:?} from {:?}", folded, raw
            );
        }
    }

    #[test]
    fn entities_and_single_lines() {
        assert_eq!(unescape_entities("a &lt;b&gt; &amp;amp;"), "a <b> &amp;");
        assert_eq!(one_line("  two\n lines  "), "two lines");
    }
}
