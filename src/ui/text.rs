//! Text for cells: Slack markup made readable, and fitting by display width (a CJK
//! character or an emoji takes two columns; cutting by bytes or chars breaks alignment).

pub use crate::columns::{countdown, duration, fit, width};
use crate::domain::text::unescape_entities;
use unicode_width::UnicodeWidthChar;

/// Slack markup as a person reads it: `<@U1>` → `@name`, `<#C1|x>` → `#x`,
/// `<url|label>` → `label`, `<url>` → `url`, `<!here>` → `@here`, entities undone.
pub fn readable(text: &str, name_of: impl Fn(&str) -> String) -> String {
    readable_with(text, name_of, str::to_string)
}

/// [`readable`], naming channels mentioned without a label (`<#C1>`) too.
pub fn readable_with(
    text: &str,
    name_of: impl Fn(&str) -> String,
    channel_of: impl Fn(&str) -> String,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        out.push_str(&unescape_entities(&rest[..open]));
        let Some(close) = rest[open..].find('>') else {
            out.push_str(&unescape_entities(&rest[open..]));
            return out;
        };
        let inner = &rest[open + 1..open + close];
        let (target, label) = match inner.split_once('|') {
            Some((t, l)) => (t, Some(l)),
            None => (inner, None),
        };
        let shown = if let Some(user) = target.strip_prefix('@') {
            format!("@{}", label.map_or_else(|| name_of(user), str::to_string))
        } else if let Some(channel) = target.strip_prefix('#') {
            format!(
                "#{}",
                label.map_or_else(|| channel_of(channel), str::to_string)
            )
        } else if let Some(special) = target.strip_prefix('!') {
            match label {
                Some(l) => l.to_string(),
                None => format!("@{}", special.split('^').next().unwrap_or(special)),
            }
        } else {
            label.unwrap_or(target).to_string()
        };
        out.push_str(&unescape_entities(&shown));
        rest = &rest[open + close + 1..];
    }
    out.push_str(&unescape_entities(rest));
    out
}

/// Slack's emphasis markers (`*bold*`, `_italic_`, `~strike~`) dropped where they open or
/// close a word; `do_not_honor` keeps its underscores.
pub fn plain(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let edge = |c: Option<&char>| c.is_none_or(|c| !c.is_alphanumeric());
    chars
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            !(matches!(c, '*' | '_' | '~')
                && (edge(i.checked_sub(1).and_then(|p| chars.get(p))) || edge(chars.get(i + 1))))
        })
        .map(|(_, c)| *c)
        .collect()
}

/// Word-wraps text to `max` columns; long words are broken; newlines are kept.
pub fn wrap(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        let mut used = 0;
        for word in paragraph.split(' ') {
            let w = width(word);
            if used > 0 && used + 1 + w > max {
                lines.push(std::mem::take(&mut line));
                used = 0;
            }
            if used > 0 {
                line.push(' ');
                used += 1;
            }
            if w <= max - used {
                line.push_str(word);
                used += w;
                continue;
            }
            for c in word.chars() {
                let cw = c.width().unwrap_or(0);
                if used + cw > max {
                    lines.push(std::mem::take(&mut line));
                    used = 0;
                }
                line.push(c);
                used += cw;
            }
        }
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_markup_reads_as_people_write_it() {
        let names = |u: &str| {
            if u == "U1" {
                "maria".to_string()
            } else {
                u.to_string()
            }
        };
        assert_eq!(
            readable(
                "<@U1> see <https://x.example/a|the case> in <#C1|swarm-api> &amp; <!here>",
                names
            ),
            "@maria see the case in #swarm-api & @here"
        );
        assert_eq!(
            readable("<https://x.example> <@U2|bob> a &lt; b", names),
            "https://x.example @bob a < b"
        );
        assert_eq!(
            readable("<!subteam^S1|@api-experts> unclosed <", names),
            "@api-experts unclosed <"
        );
    }

    #[test]
    fn emphasis_markers_go_identifiers_stay() {
        assert_eq!(
            plain("*Case number:* 27343 _soon_ ~x~"),
            "Case number: 27343 soon x"
        );
        assert_eq!(plain("do_not_honor and 2*3"), "do_not_honor and 2*3");
    }

    #[test]
    fn fitting_counts_columns_not_bytes() {
        assert_eq!(fit("hello world", 20), "hello world");
        assert_eq!(fit("hello world", 8), "hello w…");
        let cut = fit("日本語のテキスト", 7);
        assert_eq!((cut.as_str(), width(&cut)), ("日本語…", 7));
        let cut = fit("🔥🔥🔥🔥", 6);
        assert!(width(&cut) <= 6, "{cut}");
        assert_eq!(fit("two\nlines", 20), "two lines");
    }

    #[test]
    fn wrapping_respects_width() {
        let lines = wrap("the quick brown fox jumps over", 10);
        assert_eq!(lines, ["the quick", "brown fox", "jumps over"]);
        assert!(wrap("aaaaaaaaaaaaaaa", 4).iter().all(|l| width(l) <= 4));
        assert_eq!(wrap("a\n\nb", 10), ["a", "", "b"]);
        assert!(
            wrap("絵文字と日本語の混ざった長い行です", 9)
                .iter()
                .all(|l| width(l) <= 9)
        );
    }

    #[test]
    fn durations() {
        assert_eq!(duration(42), "42s");
        assert_eq!(duration(-125), "2m");
        assert_eq!(duration(3 * 3600 + 5 * 60), "3h05");
        assert_eq!(duration(2 * 86_400 + 4 * 3600), "2d4h");
        assert_eq!(countdown(299), "4:59");
        assert_eq!(countdown(-61), "1:01");
    }
}
