//! The terminal is the lead's: raw mode and the alternate screen while the dashboard
//! runs, restored on every way out (return, error, panic); a watch on it that ends the
//! dashboard when it goes away; and a browser opened without writing into it.

use color_eyre::eyre::{Result, WrapErr};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::io::Stdout;
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::watch;

pub(crate) type Term = Terminal<CrosstermBackend<Stdout>>;

/// Set once the terminal has gone: nothing can be shown on it any more.
static GONE: AtomicBool = AtomicBool::new(false);

/// Owns the terminal while the dashboard runs: raw mode and the alternate screen on the
/// way in, both undone on the way out — on return, on error and on panic alike.
pub(crate) struct TerminalGuard {
    /// Never dropped: ratatui's drop shows the cursor and `eprintln!`s when it cannot,
    /// and that panics on a dead terminal. [`restore_terminal`] shows the cursor instead.
    pub terminal: ManuallyDrop<Term>,
}

impl TerminalGuard {
    /// `mouse`: capture the mouse (`[ui] mouse`); off, the terminal's own selection works.
    pub fn enter(mouse: bool) -> Result<TerminalGuard> {
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
        if mouse {
            crossterm::execute!(stdout, crossterm::event::EnableMouseCapture)?;
        }
        let terminal = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
        Ok(TerminalGuard {
            terminal: ManuallyDrop::new(terminal),
        })
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
        // Whether or not it was on: a terminal left reporting the mouse is unusable.
        crossterm::event::DisableMouseCapture,
        crossterm::terminal::LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// A panic restores the terminal before its message is printed, so the lead can read it.
/// Once the terminal is gone there is nowhere to print: the log keeps the message, and
/// the default hook (a backtrace resolved at length, then a print that fails) is skipped.
fn install_panic_restore() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if GONE.load(Ordering::SeqCst) {
                tracing::error!(panic = %info, "panicked after the terminal went away");
                return;
            }
            restore_terminal();
            previous(info);
        }));
    });
}

/// Resolves when the terminal has gone away; see [`watch`].
pub(crate) struct Gone(watch::Receiver<bool>);

impl Gone {
    /// Cancel-safe, so it can sit in a `select!` loop.
    pub async fn wait(&mut self) {
        if self.0.wait_for(|gone| *gone).await.is_err() {
            // No terminal to watch: it cannot go away.
            std::future::pending::<()>().await
        }
    }
}

/// Watches the terminal the dashboard reads, from start to exit, apart from crossterm:
/// when its pty closes (tmux killed, SSH dropped) — with a SIGHUP or without — `Gone`
/// resolves and crossterm's reader is silenced. crossterm never reports a dead terminal:
/// its reader thread reads the EOF (or EIO) again and again, a core's worth of CPU, for
/// as long as the process lives.
pub(crate) fn watch() -> Gone {
    let (tx, rx) = watch::channel(false);
    #[cfg(unix)]
    if let Ok(tty) = input() {
        let watching = std::thread::Builder::new()
            .name("terminal-watch".into())
            .spawn(move || {
                wait_for_hangup(&tty);
                silence_input();
                GONE.store(true, Ordering::SeqCst);
                let _ = tx.send(true);
            });
        if let Err(e) = watching {
            tracing::warn!(error = %e, "could not watch the terminal");
        }
    }
    Gone(rx)
}

/// Blocks until the terminal hangs up. poll is asked for no event at all: a hangup or an
/// error is reported anyway, and keys do not wake this thread.
#[cfg(unix)]
fn wait_for_hangup(tty: &std::os::fd::OwnedFd) {
    use rustix::event::{PollFd, PollFlags, poll};
    use std::io::IsTerminal;
    loop {
        let mut polled = [PollFd::new(tty, PollFlags::empty())];
        match poll(&mut polled, None) {
            Err(rustix::io::Errno::INTR) => continue,
            Ok(_)
                if polled[0]
                    .revents()
                    .intersects(PollFlags::HUP | PollFlags::ERR) =>
            {
                return;
            }
            Ok(_) if !polled[0].revents().contains(PollFlags::NVAL) => continue,
            // Some systems cannot poll a tty (macOS and /dev/tty): look at it often instead.
            outcome => {
                tracing::warn!(
                    ?outcome,
                    "cannot poll the terminal; checking it every 250 ms"
                );
                while tty.is_terminal() {
                    std::thread::sleep(std::time::Duration::from_millis(250));
                }
                return;
            }
        }
    }
}

/// The terminal crossterm reads: stdin when it is one, else /dev/tty.
#[cfg(unix)]
fn input() -> std::io::Result<std::os::fd::OwnedFd> {
    use std::io::IsTerminal;
    use std::os::fd::AsFd;
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        stdin.as_fd().try_clone_to_owned()
    } else {
        Ok(std::fs::File::open("/dev/tty")?.into())
    }
}

/// crossterm's reader thread cannot be stopped, and spins on a dead stdin: stdin becomes
/// a pipe that never speaks, so its next read waits for good. (When crossterm opened
/// /dev/tty itself, that one cannot be swapped: the dashboard just leaves quickly.)
fn silence_input() {
    #[cfg(unix)]
    match std::io::pipe() {
        Ok((reader, writer)) => {
            if let Err(e) = rustix::stdio::dup2_stdin(&reader) {
                tracing::warn!(error = %e, "could not silence the dead terminal's reader");
            }
            // The write end stays open, or the read would see EOF and spin again.
            std::mem::forget(writer);
        }
        Err(e) => tracing::warn!(error = %e, "could not silence the dead terminal's reader"),
    }
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
