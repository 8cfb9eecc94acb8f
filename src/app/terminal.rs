//! The terminal is the lead's: raw mode and the alternate screen while the dashboard
//! runs, restored on every way out (return, error, panic); and a browser opened without
//! writing into it.

use color_eyre::eyre::{Result, WrapErr};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::io::Stdout;

pub(crate) type Term = Terminal<CrosstermBackend<Stdout>>;

/// Owns the terminal while the dashboard runs: raw mode and the alternate screen on the
/// way in, both undone on the way out — on return, on error and on panic alike.
pub(crate) struct TerminalGuard {
    pub terminal: Term,
}

impl TerminalGuard {
    pub fn enter() -> Result<TerminalGuard> {
        install_panic_restore();
        crossterm::terminal::enable_raw_mode()
            .wrap_err("could not put the terminal in raw mode")?;
        let mut stdout = std::io::stdout();
        crossterm::execute!(
            stdout,
            crossterm::terminal::EnterAlternateScreen,
            // Pasted text arrives as one paste, never as keys: a pasted `s` or `c` must
            // not re-sort the table or open a reply.
            crossterm::event::EnableBracketedPaste,
            crossterm::cursor::Hide
        )?;
        let terminal = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
        Ok(TerminalGuard { terminal })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

pub fn restore_terminal() {
    let _ = crossterm::terminal::disable_raw_mode();
    let _ = crossterm::execute!(
        std::io::stdout(),
        crossterm::event::DisableBracketedPaste,
        crossterm::terminal::LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// A panic restores the terminal before its message is printed, so the lead can read it.
fn install_panic_restore() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_terminal();
            previous(info);
        }));
    });
}

/// Opens `url` where there is a browser; otherwise says the links, for the lead to copy.
pub(crate) fn opened(url: &str, case_link: Option<&str>) -> String {
    match open_in_browser(url) {
        Ok(()) => format!("Opened {url}"),
        Err(_) => {
            let mut links = format!("Thread: {url}");
            if let Some(l) = case_link.filter(|l| *l != url) {
                links.push_str(&format!(" · Case: {l}"));
            }
            links
        }
    }
}

/// Opens a URL with the desktop's opener, when there is a desktop to open it on.
fn open_in_browser(url: &str) -> std::io::Result<()> {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some()
    {
        "xdg-open"
    } else {
        return Err(std::io::Error::other("no display to open a browser on"));
    };
    // The child must not write into the terminal the dashboard owns.
    std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(|_| ())
}
