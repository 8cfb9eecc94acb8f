//! The help overlay, generated from what makes the dashboard behave: the keymap, the
//! dialogs' keys, the `:` commands' table and a legend of what the table shows. It
//! scrolls when it does not fit, and takes two columns where there is room.

use super::keymap::{Intent, Keymap};
use super::text::{width, wrap};
use super::view::View;
use super::{Screenful, command, dialog, view};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

/// A part of the help: a heading and its `(keys, what they do)` rows.
pub struct Section {
    pub title: String,
    pub rows: Vec<(String, String)>,
}

fn section(title: &str, rows: &[(&str, &str)]) -> Section {
    Section {
        title: title.to_string(),
        rows: rows
            .iter()
            .map(|(k, w)| (k.to_string(), w.to_string()))
            .collect(),
    }
}

/// What the table shows: every glyph and column it draws (see `table.rs`).
const LEGEND: &[(&str, &str)] = &[
    ("●", "owed a response: the requester spoke, support has not"),
    (
        "!",
        "needs you: a new Sev1, a breach, a follow-up due, a decline",
    ),
    ("sev", "sev1 (most urgent) … sev4"),
    ("age", "since the request was posted"),
    ("sla", "time left on the soonest clock (first response)"),
    (
        "↩ ⏲",
        "that clock is the next response ↩ or the resolution ⏲",
    ),
    (
        "-12m",
        "breached 12 minutes ago (yellow: 75 % of the target used)",
    ),
    ("…", "replies still loading: the clock is not known yet"),
    ("paused", "waiting on the customer: the clock stops"),
    ("—", "nobody is assigned (experts column)"),
    ("re", "replies in the thread"),
    (
        "status",
        "new · assigned · in progress · waiting on customer · promoted (#channel) · follow-up due",
    ),
    (
        "asked",
        "an expert asked (assign = \"ask\"); \"no answer\" past accept_within",
    ),
    (
        "declined",
        "the expert asked said no, and why: pick another",
    ),
    (
        "quiet 25m",
        "an assigned expert silent in the thread that long",
    ),
    (
        "update due",
        "a promoted swarm's stakeholder update is due ([incident] update_every): U posts one",
    ),
    (
        "dup? #27343",
        "likely a duplicate of that open swarm (same case, similar subject): L links",
    ),
    ("⋯", "a move on its way to Slack"),
    (
        "3/40",
        "the selected row of how many, when they do not all fit",
    ),
    (
        "● ○ ·",
        "picker and triage: online · away · presence unknown",
    ),
];

/// Every part of the help, in order.
pub fn sections(keymap: &Keymap, mouse: bool) -> Vec<Section> {
    let keys = Section {
        title: "keys".into(),
        rows: keymap
            .help()
            .into_iter()
            .map(|(k, w)| (k, w.to_string()))
            .collect(),
    };
    let mut commands = Section {
        title: ": commands".into(),
        rows: command::COMMANDS
            .iter()
            .map(|c| (c.usage(), c.what.to_string()))
            .collect(),
    };
    commands.rows.extend(
        command::KEYS
            .iter()
            .map(|(k, w)| (k.to_string(), w.to_string())),
    );
    let mut all = vec![keys, commands, section("filter", view::FILTER_KEYS)];
    all.extend(
        dialog::KEYS
            .iter()
            .map(|(title, rows)| section(title, rows)),
    );
    all.push(section("the table", LEGEND));
    all.push(if mouse {
        section(
            "mouse",
            &[
                ("click", "a row selects it; the selected row opens"),
                ("click", "an item of a dialog's list chooses it"),
                ("wheel", "scrolls the table, the thread or this help"),
                ("Shift-drag", "Shift-drag selects text (the terminal's own)"),
            ],
        )
    } else {
        section(
            "mouse",
            &[("off", "[ui] mouse = true: click rows, wheel scrolls")],
        )
    });
    all
}

/// One line of the help as laid out: a heading, or a row (or its wrapped rest).
#[derive(Clone, Debug, PartialEq, Eq)]
enum HelpLine {
    Heading(String),
    Row { keys: String, what: String },
}

/// The help laid out on a screen: its box, its columns of lines, and how many lines show.
pub struct Layout {
    pub rect: Rect,
    columns: Vec<Vec<HelpLine>>,
    column_width: usize,
    keys_width: usize,
    pub visible: usize,
    /// Lines in the longest column.
    pub total: usize,
}

/// Widest key label kept whole; longer ones are cut.
const MAX_KEYS: usize = 14;
/// Space between two columns.
const GUTTER: usize = 3;

impl Layout {
    pub fn new(keymap: &Keymap, mouse: bool, screen: Rect) -> Layout {
        let sections = sections(keymap, mouse);
        let keys_width = sections
            .iter()
            .flat_map(|s| s.rows.iter())
            .map(|(k, _)| width(k))
            .max()
            .unwrap_or(0)
            .min(MAX_KEYS);
        let natural = sections
            .iter()
            .flat_map(|s| s.rows.iter())
            .map(|(_, w)| keys_width + 2 + width(w))
            .chain(sections.iter().map(|s| width(&s.title)))
            .max()
            .unwrap_or(0);
        // Inside the border, one space each side.
        let room = (screen.width as usize).saturating_sub(4);
        let two = screen.width >= 120;
        let column_width = if two {
            ((room.saturating_sub(GUTTER)) / 2).min(natural)
        } else {
            room.min(natural)
        }
        .max(keys_width + 8);
        let laid: Vec<Vec<HelpLine>> = sections
            .iter()
            .map(|s| lay_out(s, keys_width, column_width))
            .collect();
        let columns = if two {
            split_in_two(laid)
        } else {
            vec![laid.into_iter().flatten().collect()]
        };
        let total = columns.iter().map(Vec::len).max().unwrap_or(0);
        let inner_width = columns.len() * column_width + (columns.len() - 1) * GUTTER;
        let rect = super::popup_rect(screen, inner_width as u16 + 4, total, 2);
        Layout {
            visible: rect.height.saturating_sub(2) as usize,
            rect,
            columns,
            column_width,
            keys_width,
            total,
        }
    }

    /// The furthest the help scrolls: its last line at the bottom of the box.
    pub fn max_scroll(&self) -> usize {
        self.total.saturating_sub(self.visible)
    }

    /// The first line shown for a scroll the lead asked for.
    pub fn first_line(&self, scroll: usize) -> usize {
        scroll.min(self.max_scroll())
    }
}

/// A section's lines in a column: the heading (a rule, not a blank line: 24 lines are
/// few), then each row with its description wrapped under itself.
fn lay_out(s: &Section, keys_width: usize, column_width: usize) -> Vec<HelpLine> {
    let mut lines = vec![HelpLine::Heading(s.title.clone())];
    let what_width = column_width.saturating_sub(keys_width + 2).max(8);
    for (keys, what) in &s.rows {
        for (i, part) in wrap(what, what_width).into_iter().enumerate() {
            let keys = if i == 0 {
                super::text::fit(keys, keys_width)
            } else {
                String::new()
            };
            lines.push(HelpLine::Row { keys, what: part });
        }
    }
    lines
}

/// Sections into two columns, whole, as even as they go; the keys stay first.
fn split_in_two(laid: Vec<Vec<HelpLine>>) -> Vec<Vec<HelpLine>> {
    let total: usize = laid.iter().map(Vec::len).sum();
    let mut best = (usize::MAX, 1);
    let mut left = 0;
    for (i, s) in laid.iter().enumerate() {
        left += s.len();
        let taller = left.max(total - left);
        if taller < best.0 {
            best = (taller, i + 1);
        }
    }
    let mut sections = laid.into_iter();
    let left: Vec<HelpLine> = sections.by_ref().take(best.1).flatten().collect();
    vec![left, sections.flatten().collect()]
}

pub fn render(s: &Screenful<'_>, view: &View, frame: &mut Frame<'_>) {
    let t = s.theme;
    let layout = Layout::new(s.keymap, view.mouse, frame.area());
    let first = layout.first_line(view.help_scroll);
    let key = |i: Intent| {
        s.keymap
            .key_for(i)
            .map(|k| k.to_string())
            .unwrap_or_default()
    };
    let title = format!(" keys — {} closes ", key(Intent::Close));
    let mut block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .title_style(t.title());
    if layout.total > layout.visible {
        let last = (first + layout.visible).min(layout.total);
        let keys = format!(
            "{}/{} {}/{} {}/{}",
            key(Intent::Down),
            key(Intent::Up),
            key(Intent::PageDown),
            key(Intent::PageUp),
            key(Intent::Top),
            key(Intent::Bottom)
        );
        block = block.title_bottom(Line::styled(
            format!(" {}–{last} of {} · {keys} ", first + 1, layout.total),
            t.dim(),
        ));
    }
    frame.render_widget(Clear, layout.rect);
    let inner = block.inner(layout.rect);
    frame.render_widget(block, layout.rect);
    let mut x = inner.x + 1;
    for column in &layout.columns {
        let lines: Vec<Line> = column
            .iter()
            .skip(first)
            .take(layout.visible)
            .map(|l| match l {
                HelpLine::Heading(h) => {
                    let rule = layout.column_width.saturating_sub(width(h) + 4);
                    Line::from(vec![
                        Span::styled("── ", t.dim()),
                        Span::styled(h.clone(), t.attention()),
                        Span::styled(format!(" {}", "─".repeat(rule)), t.dim()),
                    ])
                }
                HelpLine::Row { keys, what } => Line::from(vec![
                    Span::styled(
                        format!("{keys:>width$}  ", width = layout.keys_width),
                        t.title(),
                    ),
                    Span::raw(what.clone()),
                ]),
            })
            .collect();
        let area = Rect {
            x,
            width: (layout.column_width as u16).min(inner.right().saturating_sub(x)),
            ..inner
        };
        frame.render_widget(Paragraph::new(lines), area);
        x += (layout.column_width + GUTTER) as u16;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn screen(w: u16, h: u16) -> Rect {
        Rect::new(0, 0, w, h)
    }

    #[test]
    fn help_scrolls_no_further_than_its_last_line() {
        let layout = Layout::new(&Keymap::default(), false, screen(80, 24));
        assert_eq!(layout.visible, 22, "the whole screen's height");
        assert!(layout.total > layout.visible, "80×24 does not hold it all");
        assert_eq!(layout.first_line(0), 0);
        assert_eq!(layout.first_line(5), 5);
        assert_eq!(layout.first_line(usize::MAX), layout.total - layout.visible);
        assert_eq!(layout.max_scroll(), layout.total - layout.visible);
    }

    #[test]
    fn help_takes_two_columns_where_there_is_room_and_fits_its_box() {
        let narrow = Layout::new(&Keymap::default(), false, screen(80, 24));
        let wide = Layout::new(&Keymap::default(), false, screen(160, 48));
        assert_eq!(narrow.columns.len(), 1);
        assert_eq!(wide.columns.len(), 2);
        assert!(wide.total < narrow.total);
        for l in [&narrow, &wide] {
            for line in l.columns.iter().flatten() {
                if let HelpLine::Row { keys, what } = line {
                    assert!(
                        l.keys_width + 2 + width(what) <= l.column_width,
                        "{keys} {what}"
                    );
                }
            }
        }
        assert!(wide.rect.width <= 160 && narrow.rect.width <= 80);
        assert_eq!(wide.first_line(usize::MAX), wide.max_scroll());
    }

    #[test]
    fn help_names_every_command_and_the_keys_as_configured() {
        let custom = Keymap::with_overrides(&[("command".into(), vec![";".into()])]).unwrap();
        let all = sections(&custom, true);
        let rows: Vec<&(String, String)> = all.iter().flat_map(|s| s.rows.iter()).collect();
        assert!(
            rows.iter()
                .any(|(k, w)| k == ";" && w.starts_with("command line"))
        );
        for c in command::COMMANDS {
            assert!(
                rows.iter()
                    .any(|(k, _)| k.starts_with(&format!(":{}", c.name)))
            );
        }
        assert!(
            rows.iter()
                .any(|(_, w)| w.contains("Shift-drag selects text"))
        );
        let off = sections(&Keymap::default(), false);
        assert!(
            !off.iter()
                .flat_map(|s| s.rows.iter())
                .any(|(_, w)| w.contains("Shift-drag"))
        );
    }
}
