//! Keys are data: each intent has its keys and a description, the defaults can be
//! overridden from the config, and the help screen is generated from this table, so it
//! can never disagree with what the keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::fmt;

/// What the lead asked for, whatever key they pressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Intent {
    Down,
    Up,
    PageDown,
    PageUp,
    Top,
    Bottom,
    Open,
    Close,
    NextPod,
    PrevPod,
    /// Show one pod (1…9 by position).
    Pod(u8),
    AllPods,
    Filter,
    Sort,
    Metrics,
    Assign,
    /// In triage: pick another expert than the top suggestion.
    AssignOther,
    Unassign,
    Promote,
    Resolve,
    Reopen,
    Waiting,
    FollowUp,
    Reply,
    Browse,
    Triage,
    /// In triage: leave this swarm for later.
    Skip,
    Handoff,
    /// A stakeholder update to a promoted swarm's incident channel.
    Update,
    /// Link a likely duplicate to the swarm it duplicates.
    Link,
    Search,
    /// The `:` command line (`:case 27343`, `:pod api`, `:sort newest`).
    Command,
    Help,
    /// Draw the whole screen afresh (after another program wrote over it).
    Redraw,
    Quit,
}

impl Intent {
    /// The name used in the config (`[keys] quit = "q"`).
    pub fn name(self) -> String {
        match self {
            Intent::Down => "down".into(),
            Intent::Up => "up".into(),
            Intent::PageDown => "page_down".into(),
            Intent::PageUp => "page_up".into(),
            Intent::Top => "top".into(),
            Intent::Bottom => "bottom".into(),
            Intent::Open => "open".into(),
            Intent::Close => "close".into(),
            Intent::NextPod => "next_pod".into(),
            Intent::PrevPod => "prev_pod".into(),
            Intent::Pod(n) => format!("pod_{n}"),
            Intent::AllPods => "all_pods".into(),
            Intent::Filter => "filter".into(),
            Intent::Sort => "sort".into(),
            Intent::Metrics => "metrics".into(),
            Intent::Assign => "assign".into(),
            Intent::AssignOther => "assign_other".into(),
            Intent::Unassign => "unassign".into(),
            Intent::Promote => "promote".into(),
            Intent::Resolve => "resolve".into(),
            Intent::Reopen => "reopen".into(),
            Intent::Waiting => "waiting".into(),
            Intent::FollowUp => "follow_up".into(),
            Intent::Reply => "reply".into(),
            Intent::Browse => "browse".into(),
            Intent::Triage => "triage".into(),
            Intent::Skip => "skip".into(),
            Intent::Handoff => "handoff".into(),
            Intent::Update => "update".into(),
            Intent::Link => "link".into(),
            Intent::Search => "search".into(),
            Intent::Command => "command".into(),
            Intent::Help => "help".into(),
            Intent::Redraw => "redraw".into(),
            Intent::Quit => "quit".into(),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Intent::Down => "move down",
            Intent::Up => "move up",
            Intent::PageDown => "page down",
            Intent::PageUp => "page up",
            Intent::Top => "first row",
            Intent::Bottom => "last row",
            Intent::Open => "open the swarm (thread live)",
            Intent::Close => "close the detail, help or filter",
            Intent::NextPod => "next pod",
            Intent::PrevPod => "previous pod",
            Intent::Pod(_) => "show one pod",
            Intent::AllPods => "all pods",
            Intent::Filter => "filter the table (case, subject, pod, assignee)",
            Intent::Sort => "cycle sort: attention (owed, unassigned, breached, due)",
            Intent::Metrics => "metrics: today per pod",
            Intent::Assign => "assign an expert (in triage: the top suggestion)",
            Intent::AssignOther => "pick an expert (in triage: another than the top one)",
            Intent::Unassign => "unassign an expert",
            Intent::Promote => "promote to an incident channel",
            Intent::Resolve => "resolve (asks for a one-line resolution)",
            Intent::Reopen => "reopen (the shown swarm, or the last one resolved)",
            Intent::Waiting => "toggle waiting on the customer (pauses the clock)",
            Intent::FollowUp => "set next steps and a follow-up time",
            Intent::Reply => "reply in the thread",
            Intent::Browse => "open the thread in the browser (or show its link)",
            Intent::Triage => "triage: one swarm at a time, in queue order",
            Intent::Skip => "in triage: skip this swarm",
            Intent::Handoff => "shift handoff: post a summary of open swarms",
            Intent::Update => "stakeholder update to the incident channel (promoted swarms)",
            Intent::Link => "link a likely duplicate to its original (resolves it)",
            Intent::Search => "search resolved swarms (how similar cases were solved)",
            Intent::Command => "command line: :case N, :pod NAME, :sort ORDER, :q",
            Intent::Help => "this help",
            Intent::Redraw => "redraw the screen",
            Intent::Quit => "quit",
        }
    }
}

/// A key as written in the config and shown in help: `q`, `?`, `Enter`, `Ctrl-c`, `Down`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

impl Key {
    pub fn parse(s: &str) -> Option<Key> {
        let (ctrl, rest) = match s.strip_prefix("Ctrl-").or_else(|| s.strip_prefix("C-")) {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let code = match rest {
            "Enter" => KeyCode::Enter,
            "Esc" => KeyCode::Esc,
            "Tab" => KeyCode::Tab,
            "BackTab" | "Shift-Tab" => KeyCode::BackTab,
            "Up" => KeyCode::Up,
            "Down" => KeyCode::Down,
            "Left" => KeyCode::Left,
            "Right" => KeyCode::Right,
            "PageUp" => KeyCode::PageUp,
            "PageDown" => KeyCode::PageDown,
            "Home" => KeyCode::Home,
            "End" => KeyCode::End,
            "Space" => KeyCode::Char(' '),
            one if one.chars().count() == 1 => KeyCode::Char(one.chars().next()?),
            _ => return None,
        };
        Some(Key { code, ctrl })
    }

    fn matches(&self, event: &KeyEvent) -> bool {
        let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
        ctrl == self.ctrl && self.code == event.code
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("Ctrl-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::BackTab => f.write_str("Shift-Tab"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            other => write!(f, "{other:?}"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Keymap {
    bindings: Vec<(Intent, Vec<Key>)>,
}

impl Default for Keymap {
    fn default() -> Self {
        let k = |s: &str| Key::parse(s).expect("a default key parses");
        let mut bindings = vec![
            (Intent::Down, vec![k("j"), k("Down")]),
            (Intent::Up, vec![k("k"), k("Up")]),
            (Intent::PageDown, vec![k("PageDown"), k("Ctrl-d")]),
            (Intent::PageUp, vec![k("PageUp"), k("Ctrl-u")]),
            (Intent::Top, vec![k("g"), k("Home")]),
            (Intent::Bottom, vec![k("G"), k("End")]),
            (Intent::Open, vec![k("Enter")]),
            (Intent::Close, vec![k("Esc")]),
            (Intent::NextPod, vec![k("Tab")]),
            (Intent::PrevPod, vec![k("Shift-Tab")]),
        ];
        for n in 1..=9u8 {
            bindings.push((Intent::Pod(n), vec![k(&n.to_string())]));
        }
        bindings.extend([
            (Intent::AllPods, vec![k("0")]),
            (Intent::Filter, vec![k("/")]),
            (Intent::Sort, vec![k("s")]),
            (Intent::Metrics, vec![k("m")]),
            (Intent::Assign, vec![k("a")]),
            (Intent::AssignOther, vec![k("A")]),
            (Intent::Unassign, vec![k("u")]),
            (Intent::Promote, vec![k("p")]),
            (Intent::Resolve, vec![k("r")]),
            (Intent::Reopen, vec![k("R")]),
            (Intent::Waiting, vec![k("w")]),
            (Intent::FollowUp, vec![k("f")]),
            (Intent::Reply, vec![k("c")]),
            (Intent::Browse, vec![k("o")]),
            (Intent::Triage, vec![k("t")]),
            (Intent::Skip, vec![k("n"), k("Space")]),
            (Intent::Handoff, vec![k("H")]),
            (Intent::Update, vec![k("U")]),
            (Intent::Link, vec![k("L")]),
            (Intent::Search, vec![k("S")]),
            (Intent::Command, vec![k(":")]),
            (Intent::Help, vec![k("?")]),
            (Intent::Redraw, vec![k("Ctrl-l")]),
            (Intent::Quit, vec![k("q"), k("Ctrl-c")]),
        ]);
        Keymap { bindings }
    }
}

impl Keymap {
    /// The defaults with the given `(intent name, keys)` overrides; an unknown intent or
    /// key is an error that names it.
    pub fn with_overrides(overrides: &[(String, Vec<String>)]) -> Result<Keymap, String> {
        let mut map = Keymap::default();
        for (name, keys) in overrides {
            let Some(slot) = map.bindings.iter_mut().find(|(i, _)| i.name() == *name) else {
                let known: Vec<String> = map.bindings.iter().map(|(i, _)| i.name()).collect();
                return Err(format!(
                    "`{name}` is not a key action; known: {}",
                    known.join(", ")
                ));
            };
            slot.1 = keys
                .iter()
                .map(|k| Key::parse(k).ok_or_else(|| format!("`{k}` (for {name}) is not a key: write `q`, `Enter`, `Ctrl-c`, `PageDown`…")))
                .collect::<Result<_, _>>()?;
        }
        Ok(map)
    }

    pub fn intent(&self, event: &KeyEvent) -> Option<Intent> {
        self.bindings
            .iter()
            .find(|(_, keys)| keys.iter().any(|k| k.matches(event)))
            .map(|(i, _)| *i)
    }

    /// The first key of an intent, for hints.
    pub fn key_for(&self, intent: Intent) -> Option<Key> {
        self.bindings
            .iter()
            .find(|(i, _)| *i == intent)
            .and_then(|(_, keys)| keys.first().copied())
    }

    /// Help lines: the keys and what they do; the nine pod keys fold into one line.
    pub fn help(&self) -> Vec<(String, &'static str)> {
        let mut lines = Vec::new();
        let mut pods = Vec::new();
        for (intent, keys) in &self.bindings {
            let shown: Vec<String> = keys.iter().map(Key::to_string).collect();
            if let Intent::Pod(_) = intent {
                pods.extend(shown);
                continue;
            }
            if !pods.is_empty() {
                let all = std::mem::take(&mut pods);
                let label = match (all.first(), all.last()) {
                    (Some(a), Some(b)) if all.len() > 2 => format!("{a}…{b}"),
                    _ => all.join(" "),
                };
                lines.push((label, Intent::Pod(1).describe()));
            }
            lines.push((shown.join(" "), intent.describe()));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn defaults_and_overrides() {
        let map = Keymap::default();
        assert_eq!(map.intent(&press(KeyCode::Char('j'))), Some(Intent::Down));
        assert_eq!(map.intent(&press(KeyCode::Char('3'))), Some(Intent::Pod(3)));
        // What terminals send for Shift-Tab.
        assert_eq!(
            map.intent(&KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some(Intent::PrevPod)
        );
        assert_eq!(
            map.intent(&KeyEvent::new(KeyCode::Char('l'), KeyModifiers::CONTROL)),
            Some(Intent::Redraw)
        );
        assert_eq!(
            map.intent(&KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Intent::Quit)
        );
        let custom = Keymap::with_overrides(&[("quit".into(), vec!["x".into()])]).unwrap();
        assert_eq!(
            custom.intent(&press(KeyCode::Char('x'))),
            Some(Intent::Quit)
        );
        assert_eq!(custom.intent(&press(KeyCode::Char('q'))), None);
        assert!(
            Keymap::with_overrides(&[("fly".into(), vec!["f".into()])])
                .unwrap_err()
                .contains("fly")
        );
        assert!(
            Keymap::with_overrides(&[("quit".into(), vec!["Hyper-q".into()])])
                .unwrap_err()
                .contains("Hyper-q")
        );
    }

    #[test]
    fn help_is_the_keymap() {
        let custom = Keymap::with_overrides(&[("metrics".into(), vec!["M".into()])]).unwrap();
        let help = custom.help();
        assert!(
            help.iter()
                .any(|(k, d)| k == "M" && d.starts_with("metrics"))
        );
        assert!(help.iter().any(|(k, _)| k == "1…9"));
        assert!(!help.iter().any(|(k, _)| k == "m"));
    }
}
