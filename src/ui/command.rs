//! The `:` command line, k9s style: one table of commands (name, what its argument is,
//! what it does) that parsing, completion and help all read, so help can never disagree
//! with what a command does. Pure: the lead's controller carries out what a line means.

use super::Screenful;
use super::view::Sort;
use crate::domain::Desk;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// What a command's argument is, for completion and help.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    None,
    /// A case number of an open swarm.
    Case,
    /// A pod's name, or `all`.
    Pod,
    /// One of the table's sort orders.
    Sort,
}

pub struct Spec {
    pub name: &'static str,
    /// A shorter name that runs it too (`:q`).
    pub alias: Option<&'static str>,
    pub arg: Arg,
    pub what: &'static str,
}

impl Spec {
    /// How help writes it: `:case N`, `:quit (:q)`.
    pub fn usage(&self) -> String {
        let arg = match self.arg {
            Arg::None => "",
            Arg::Case => " N",
            Arg::Pod => " NAME",
            Arg::Sort => " ORDER",
        };
        match self.alias {
            Some(a) => format!(":{}{arg} :{a}", self.name),
            None => format!(":{}{arg}", self.name),
        }
    }
}

pub const COMMANDS: &[Spec] = &[
    Spec {
        name: "case",
        alias: None,
        arg: Arg::Case,
        what: "open that open swarm's detail (:case 27343)",
    },
    Spec {
        name: "pod",
        alias: None,
        arg: Arg::Pod,
        what: "show one pod; :pod all or :pod shows every pod",
    },
    Spec {
        name: "sort",
        alias: None,
        arg: Arg::Sort,
        what: "sort the table: attention, newest, urgency or pod",
    },
    Spec {
        name: "help",
        alias: None,
        arg: Arg::None,
        what: "this help",
    },
    Spec {
        name: "quit",
        alias: Some("q"),
        arg: Arg::None,
        what: "quit",
    },
];

/// A line the lead settled on, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Run {
    Case(String),
    /// `None`: every pod.
    Pod(Option<String>),
    Sort(Sort),
    Help,
    Quit,
}

fn spec(name: &str) -> Option<&'static Spec> {
    let name = name.to_lowercase();
    COMMANDS
        .iter()
        .find(|c| c.name == name || c.alias == Some(name.as_str()))
}

/// The command names, as a notice lists them.
fn known() -> String {
    COMMANDS
        .iter()
        .map(|c| format!(":{}", c.name))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A typed line (without its `:`) as a command; the error is the notice to show.
pub fn parse(line: &str) -> Result<Run, String> {
    let line = line.trim().trim_start_matches(':');
    let (name, arg) = match line.split_once(char::is_whitespace) {
        Some((name, arg)) => (name, arg.trim()),
        None => (line, ""),
    };
    let Some(spec) = spec(name) else {
        return Err(format!("`:{name}` is not a command; known: {}", known()));
    };
    match spec.arg {
        Arg::Case => {
            let case = arg.trim_start_matches('#');
            if case.is_empty() {
                return Err("`:case` needs a case number: :case 27343".into());
            }
            Ok(Run::Case(case.to_string()))
        }
        Arg::Pod if arg.is_empty() || arg.eq_ignore_ascii_case("all") => Ok(Run::Pod(None)),
        Arg::Pod => Ok(Run::Pod(Some(arg.to_string()))),
        Arg::Sort => Sort::ALL
            .into_iter()
            .find(|s| s.label().eq_ignore_ascii_case(arg))
            .map(Run::Sort)
            .ok_or_else(|| format!("`{arg}` is not a sort; sorts: {}", sort_names().join(" "))),
        Arg::None if spec.name == "help" => Ok(Run::Help),
        Arg::None => Ok(Run::Quit),
    }
}

fn sort_names() -> Vec<String> {
    Sort::ALL.iter().map(|s| s.label().to_string()).collect()
}

/// What Tab can complete an argument with: the desk's pods and its open swarms' cases.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Choices {
    pub pods: Vec<String>,
    pub cases: Vec<String>,
}

impl Choices {
    pub fn of(desk: &Desk) -> Choices {
        let pods = desk.pods().map(|p| p.name.clone()).collect();
        let mut cases: Vec<String> = desk
            .swarms()
            .filter(|s| s.is_open() && !s.case().is_empty())
            .map(|s| s.case().to_string())
            .collect();
        cases.sort();
        cases.dedup();
        Choices { pods, cases }
    }
}

/// The word being typed and what it may become: command names before the first space,
/// the command's arguments after it.
fn candidates(line: &str, choices: &Choices) -> (usize, Vec<String>) {
    let Some((name, _)) = line.split_once(' ') else {
        let names = COMMANDS.iter().map(|c| c.name.to_string()).collect();
        return (0, starting(names, line));
    };
    let start = name.len() + 1;
    let typed = line[start..].trim_start();
    let start = line.len() - typed.len();
    let all = match spec(name).map(|s| s.arg) {
        Some(Arg::Case) => choices.cases.clone(),
        Some(Arg::Pod) => std::iter::once("all".to_string())
            .chain(choices.pods.iter().cloned())
            .collect(),
        Some(Arg::Sort) => sort_names(),
        Some(Arg::None) | None => Vec::new(),
    };
    (start, starting(all, typed))
}

fn starting(all: Vec<String>, typed: &str) -> Vec<String> {
    let typed = typed.to_lowercase();
    all.into_iter()
        .filter(|c| c.to_lowercase().starts_with(&typed))
        .collect()
}

/// Tab: the word being typed as far as every candidate shares; a single candidate whole,
/// followed by a space when a command's argument comes next.
pub fn complete(line: &str, choices: &Choices) -> String {
    let (start, found) = candidates(line, choices);
    let names: Vec<&str> = found.iter().map(String::as_str).collect();
    let Some(common) = super::dialog::common_prefix(&names) else {
        return line.to_string();
    };
    if common.chars().count() < line[start..].chars().count() {
        return line.to_string();
    }
    let mut out = format!("{}{common}", &line[..start]);
    let takes_arg = start == 0 && spec(&common).is_some_and(|s| s.arg != Arg::None);
    if found.len() == 1 && takes_arg {
        out.push(' ');
    }
    out
}

/// Longest line the prompt takes: a command is a word and an argument.
const MAX_LINE: usize = 120;

/// What the keys do on the command line, for help (see [`CommandLine::on_key`]).
pub const KEYS: &[(&str, &str)] = &[
    ("Tab", "complete the command, a case, a pod or a sort"),
    ("Enter", "run it"),
    ("Esc", "cancel (so does Backspace on an empty line)"),
];

/// The command line being typed, in the footer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommandLine {
    pub input: String,
}

/// What a key did to the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Typed {
    Keep,
    Cancel,
    /// Enter: the line to run.
    Run(String),
}

impl CommandLine {
    pub fn on_key(&mut self, key: KeyEvent, choices: &Choices) -> Typed {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => return Typed::Cancel,
            KeyCode::Enter if self.input.trim().is_empty() => return Typed::Cancel,
            KeyCode::Enter => return Typed::Run(self.input.trim().to_string()),
            KeyCode::Tab => self.input = complete(&self.input, choices),
            // Backspace on an empty line leaves it, as in vim and k9s.
            KeyCode::Backspace if self.input.is_empty() => return Typed::Cancel,
            KeyCode::Backspace => {
                self.input.pop();
            }
            KeyCode::Char('u') if ctrl => self.input.clear(),
            KeyCode::Char(c) if !ctrl && self.input.chars().count() < MAX_LINE => {
                self.input.push(c)
            }
            _ => {}
        }
        Typed::Keep
    }

    /// Pasted text goes into the line as text (one line, nothing invisible), never keys.
    pub fn paste(&mut self, text: &str) {
        let room = MAX_LINE.saturating_sub(self.input.chars().count());
        self.input.extend(
            text.chars()
                .filter(|c| !crate::domain::text::is_invisible_format(*c))
                .map(|c| if c.is_control() { ' ' } else { c })
                .take(room),
        );
    }
}

/// The prompt in the footer: what is typed, then what Tab could make of it.
pub fn render(s: &Screenful<'_>, line: &CommandLine, frame: &mut Frame<'_>, area: Rect) {
    let t = s.theme;
    let (_, found) = candidates(&line.input, &Choices::of(s.desk));
    let typed = super::text::width(&line.input) + 2;
    let room = (area.width as usize).saturating_sub(typed + 2);
    let hint = if found.is_empty() {
        "Enter run · Esc cancel".to_string()
    } else {
        format!("Tab {}", found.join(" "))
    };
    let line = Line::from(vec![
        Span::styled(":", t.attention()),
        Span::raw(line.input.clone()),
        Span::styled("▏", t.attention()),
        Span::styled(format!(" {}", super::text::fit(&hint, room)), t.dim()),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choices() -> Choices {
        Choices {
            pods: vec!["api".into(), "billing".into(), "mobile".into()],
            cases: vec!["27343".into(), "27348".into(), "31000".into()],
        }
    }

    #[test]
    fn lines_parse_into_commands() {
        assert_eq!(parse("case 27343"), Ok(Run::Case("27343".into())));
        assert_eq!(parse(" case #27343 "), Ok(Run::Case("27343".into())));
        assert_eq!(parse("pod api"), Ok(Run::Pod(Some("api".into()))));
        assert_eq!(parse("pod all"), Ok(Run::Pod(None)));
        assert_eq!(parse("pod"), Ok(Run::Pod(None)));
        assert_eq!(parse("sort newest"), Ok(Run::Sort(Sort::Newest)));
        assert_eq!(parse("SORT Urgency"), Ok(Run::Sort(Sort::Urgency)));
        assert_eq!(parse("q"), Ok(Run::Quit));
        assert_eq!(parse("quit"), Ok(Run::Quit));
        assert_eq!(parse("help"), Ok(Run::Help));
    }

    #[test]
    fn a_bad_line_says_what_would_do() {
        let unknown = parse("fly away").unwrap_err();
        assert!(unknown.contains(":fly"), "{unknown}");
        for c in COMMANDS {
            assert!(unknown.contains(&format!(":{}", c.name)), "{unknown}");
        }
        assert!(parse("case").unwrap_err().contains("case number"));
        let sort = parse("sort size").unwrap_err();
        assert!(
            sort.contains("size") && sort.contains("attention"),
            "{sort}"
        );
    }

    #[test]
    fn tab_completes_the_command_then_its_argument() {
        let c = choices();
        assert_eq!(complete("ca", &c), "case ");
        assert_eq!(complete("s", &c), "sort ");
        assert_eq!(complete("h", &c), "help", "no argument: no space");
        assert_eq!(
            complete("case 273", &c),
            "case 2734",
            "as far as both share"
        );
        assert_eq!(complete("case 2734", &c), "case 2734");
        assert_eq!(complete("case 31", &c), "case 31000");
        assert_eq!(complete("pod b", &c), "pod billing");
        assert_eq!(complete("pod A", &c), "pod a", "all and api share `a`");
        assert_eq!(complete("sort n", &c), "sort newest");
        assert_eq!(
            complete("sort x", &c),
            "sort x",
            "nothing matches: unchanged"
        );
        assert_eq!(complete("zz", &c), "zz");
        assert_eq!(complete("quit ", &c), "quit ");
    }

    #[test]
    fn the_line_takes_keys_and_pastes_as_text() {
        let c = choices();
        let mut line = CommandLine::default();
        let key = |code| KeyEvent::new(code, KeyModifiers::NONE);
        for ch in "ca".chars() {
            assert_eq!(line.on_key(key(KeyCode::Char(ch)), &c), Typed::Keep);
        }
        line.on_key(key(KeyCode::Tab), &c);
        line.paste("31\u{202e}\n");
        assert_eq!(line.input, "case 31 ");
        assert_eq!(
            line.on_key(key(KeyCode::Enter), &c),
            Typed::Run("case 31".into())
        );
        assert_eq!(line.on_key(key(KeyCode::Esc), &c), Typed::Cancel);
        let mut empty = CommandLine::default();
        assert_eq!(empty.on_key(key(KeyCode::Backspace), &c), Typed::Cancel);
        assert_eq!(empty.on_key(key(KeyCode::Enter), &c), Typed::Cancel);
    }

    #[test]
    fn every_sort_order_can_be_named() {
        for sort in Sort::ALL {
            assert_eq!(
                parse(&format!("sort {}", sort.label())),
                Ok(Run::Sort(sort))
            );
        }
    }
}
