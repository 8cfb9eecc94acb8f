//! The terminal going away ends the dashboard — in the list, in a dialog, mid-move,
//! while connecting, before the first frame — every time, at once, and without a spin on
//! the dead terminal: the CPU it uses after is bounded. Two ways to lose the terminal:
//! `tmux kill-server` (the kernel's SIGHUP reaches the dashboard when the pane's shell
//! dies), and `tmux kill-pane` under a shell that ignores SIGHUP (the pty closes, and no
//! signal comes at all). A move already made stays in the store's outbox.

mod common;

use common::tmux::{Tmux, cpu_time, dashboard_command, launch_pane, tmux_available, wait_for_end};
use common::{APP, BOT};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Rounds in the list, a dialog and connecting; fewer for the slower set-ups.
const ROUNDS: usize = 10;
const FEWER_ROUNDS: usize = 3;
/// Generous: a dashboard that ends does so in milliseconds.
const END_WITHIN: Duration = Duration::from_secs(10);
/// CPU a dashboard may use after its terminal went: a bound, not a timing. A spin on
/// the dead terminal (or a backtrace resolved for a panic nobody can read) takes more.
const CPU_AFTER: Duration = Duration::from_millis(500);

#[derive(Clone, Copy, Debug)]
enum Way {
    /// `tmux kill-server`: SIGHUP, and the pty gone.
    KillServer,
    /// `tmux kill-pane` with the server still up, under a shell that passes on no SIGHUP:
    /// only the pty closing says the terminal went.
    ClosePty,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    /// The table, connected.
    List,
    /// A reply being typed.
    Dialog,
    /// A reply sent, which Slack holds.
    MidMove,
    /// A restart whose Slack does not answer: the header says connecting.
    Connecting,
    /// A first run whose Slack does not answer: "connecting to Slack", no UI yet.
    FirstRun,
}

const CASE: &str = "27811";
/// What the log says when the dashboard leaves in order (`why=` follows).
const LEFT: &str = ": leaving";

/// An emulator, and a dashboard folder whose store holds one open swarm.
struct Rig {
    emu: common::Emu,
    dir: PathBuf,
    name: String,
}

impl Rig {
    async fn new(name: &str) -> Rig {
        let emu = common::quiet().await;
        let dir =
            std::env::temp_dir().join(format!("swarmdeck-gone-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let rig = Rig {
            emu,
            dir,
            name: name.to_string(),
        };
        // A first run that sees the swarm posted and leaves with q: the store has both.
        let first = rig.pane("seed", &rig.dir, "", "; echo \"exited with $?\"; sleep 60");
        first.wait_for("connected");
        rig.emu
            .inject(
                json!({"type": "message", "channel": "C0SWARMAPI", "user": "U0REQ00001",
                "text": format!("Case: {CASE}\nUrgency: Sev 2\nSubject: The terminal goes away")}),
            )
            .await;
        first.wait_for(CASE);
        first.keys(&["q"]);
        first.wait_for("exited with 0");
        rig
    }

    /// The dashboard on `dir`, in a fresh tmux server: `before` and `after` it in the
    /// pane's shell.
    fn pane(&self, round: &str, dir: &Path, before: &str, after: &str) -> Tmux {
        // RUST_BACKTRACE as many Rust users set it: a panic on the way out would cost a
        // resolved backtrace, which the CPU bound would catch. At info, the log says how
        // the dashboard left (SWARMDECK_TEST_LOG, if set, must keep info).
        let command = format!(
            "{before} RUST_BACKTRACE=1 RUST_LOG=swarmdeck=info {}{after}",
            dashboard_command(self.emu.base(), None, dir, (APP, BOT))
        );
        launch_pane(&format!("{}-{round}", self.name), dir, &command)
    }

    async fn fault(&self, fault: serde_json::Value) {
        let (status, body) = self.emu.control_post("faults", fault).await;
        assert_eq!(status, 200, "{body}");
    }

    /// Round after round: the dashboard brought into `mode`, the terminal taken away
    /// `way`; it ends each time, soon, having used little CPU since.
    async fn rounds(&self, way: Way, mode: Mode) {
        match mode {
            Mode::Connecting | Mode::FirstRun => {
                self.fault(json!({"method": "auth.test", "delay_ms": 600_000}))
                    .await
            }
            Mode::MidMove => {
                self.fault(json!({"method": "chat.postMessage", "delay_ms": 600_000}))
                    .await
            }
            Mode::List | Mode::Dialog => {}
        }
        let rounds = match mode {
            Mode::List | Mode::Dialog | Mode::Connecting => ROUNDS,
            Mode::MidMove | Mode::FirstRun => FEWER_ROUNDS,
        };
        for round in 0..rounds {
            let dir = match mode {
                Mode::FirstRun => {
                    let fresh = self.dir.join(format!("first-{round}"));
                    std::fs::create_dir_all(&fresh).unwrap();
                    fresh
                }
                _ => self.dir.clone(),
            };
            let status = dir.join("exit-status");
            let _ = std::fs::remove_file(&status);
            let tmux = match way {
                // The shell stays (and does not exec the dashboard), as in the other tests.
                Way::KillServer => self.pane(&round.to_string(), &dir, "", "; sleep 60"),
                Way::ClosePty => {
                    let after = format!("; echo $? > {}", status.display());
                    let tmux = self.pane(&round.to_string(), &dir, "trap '' HUP;", &after);
                    // Keeps the server up: only the dashboard's pty closes.
                    tmux.run(&["new-window", "-d", "-t", "lead", "sleep 600"]);
                    tmux
                }
            };
            let reply = format!("reply {round}");
            match mode {
                Mode::List => {
                    tmux.wait_for("connected");
                    tmux.wait_for(CASE);
                }
                Mode::Dialog => {
                    tmux.wait_for("connected");
                    tmux.wait_for(CASE);
                    tmux.keys(&["c"]);
                    tmux.wait_for("reply in the thread");
                    tmux.keys(&["half a reply"]);
                    tmux.wait_for("half a reply");
                }
                Mode::MidMove => {
                    tmux.wait_for("connected");
                    tmux.wait_for(CASE);
                    tmux.keys(&["c"]);
                    tmux.wait_for("reply in the thread");
                    tmux.keys(&[&reply, "Enter"]);
                    tmux.wait_for(&format!("⋯ reply on {CASE}"));
                }
                Mode::Connecting => {
                    // The store's swarms are drawn while Slack is still out of reach (the
                    // first frame may come a moment before the restored rows do).
                    tmux.wait_for("connecting");
                    let screen = tmux.wait_for(CASE);
                    assert!(
                        screen.contains("connecting"),
                        "restored from the store: {screen}"
                    );
                }
                Mode::FirstRun => {
                    tmux.wait_for("connecting to Slack");
                }
            }
            let log_path = dir.join("state/swarmdeck/swarmdeck.log");
            let read_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
            let left_before = read_log().matches(LEFT).count();
            let pid: u32 = tmux.dashboard_pid().parse().unwrap();
            let before = cpu_time(pid).expect("the dashboard runs");
            match way {
                Way::KillServer => {
                    tmux.run(&["kill-server"]);
                }
                Way::ClosePty => {
                    tmux.run(&["kill-pane", "-t", "lead:0"]);
                }
            }
            let ended = wait_for_end(pid, before, END_WITHIN);
            let log = read_log();
            match ended {
                Ok(cpu) => assert!(
                    cpu <= CPU_AFTER,
                    "{way:?} in {mode:?}, round {round}: {cpu:?} of CPU after the terminal went\n{log}"
                ),
                Err(cpu) => panic!(
                    "{way:?} in {mode:?}, round {round}: still running {END_WITHIN:?} after the terminal went, {cpu:?} of CPU since\n{log}"
                ),
            }
            assert_eq!(
                log.matches(LEFT).count(),
                left_before + 1,
                "{way:?} in {mode:?}, round {round}: the log says the dashboard left (no abort)\n{log}"
            );
            if let Way::ClosePty = way {
                // The shell that outlived the pty says how the dashboard ended: not by
                // an abort (134) or a panic (101).
                let deadline = std::time::Instant::now() + END_WITHIN;
                let said = loop {
                    let said = std::fs::read_to_string(&status).unwrap_or_default();
                    if said.ends_with('\n') || std::time::Instant::now() > deadline {
                        break said;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                };
                assert_eq!(
                    said.trim(),
                    "0",
                    "{mode:?}, round {round}: exit status\n{log}"
                );
            }
            if mode == Mode::MidMove {
                let store = swarmdeck::store::Store::open(&dir.join("data/swarmdeck")).unwrap();
                let pending = store.pending_actions().unwrap();
                assert!(
                    pending.iter().any(|p| p.action.contains(&reply)),
                    "round {round}: the reply Slack held is still in the outbox: {pending:?}"
                );
            }
            drop(tmux);
        }
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn rounds(name: &str, way: Way, mode: Mode) {
    if !tmux_available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    Rig::new(name).await.rounds(way, mode).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_server_ends_the_dashboard_in_the_list() {
    rounds("ks-list", Way::KillServer, Mode::List).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_server_ends_the_dashboard_in_a_dialog() {
    rounds("ks-dialog", Way::KillServer, Mode::Dialog).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_server_ends_the_dashboard_while_connecting() {
    rounds("ks-connecting", Way::KillServer, Mode::Connecting).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_server_ends_the_dashboard_mid_move_and_the_move_stays_queued() {
    rounds("ks-move", Way::KillServer, Mode::MidMove).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_server_ends_a_first_run_still_connecting() {
    rounds("ks-first", Way::KillServer, Mode::FirstRun).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_pty_ends_the_dashboard_in_the_list() {
    rounds("pty-list", Way::ClosePty, Mode::List).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_pty_ends_the_dashboard_in_a_dialog() {
    rounds("pty-dialog", Way::ClosePty, Mode::Dialog).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_pty_ends_the_dashboard_while_connecting() {
    rounds("pty-connecting", Way::ClosePty, Mode::Connecting).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_pty_ends_the_dashboard_mid_move_and_the_move_stays_queued() {
    rounds("pty-move", Way::ClosePty, Mode::MidMove).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_pty_ends_a_first_run_still_connecting() {
    rounds("pty-first", Way::ClosePty, Mode::FirstRun).await;
}

/// A config holding tokens that others can read: the dashboard says so on its screen
/// (the log, where the warning also goes, is not where a lead looks).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_others_can_read_is_flagged_on_the_screen() {
    if !tmux_available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let emu = common::quiet().await;
    let dir = std::env::temp_dir().join(format!("swarmdeck-gone-config-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("swarmdeck.toml");
    std::fs::write(&config, format!("[slack]\nbot_token = \"{BOT}\"\n")).unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let command = format!(
        "SWARMDECK_CONFIG={} {}; echo \"exited with $?\"; sleep 60",
        config.display(),
        dashboard_command(emu.base(), None, &dir, (APP, BOT))
    );
    let tmux = launch_pane("gone-config", &dir, &command);
    let screen = tmux.wait_for("others can read it");
    assert!(
        screen.contains(&format!("chmod 600 {}", config.display())),
        "the fix, with the file: {screen}"
    );
    // Once: the next key clears it.
    tmux.keys(&["j"]);
    let deadline = std::time::Instant::now() + common::DEADLINE;
    while tmux.screen().contains("others can read it") {
        assert!(std::time::Instant::now() < deadline, "the notice stays");
        std::thread::sleep(Duration::from_millis(100));
    }
    tmux.keys(&["q"]);
    tmux.wait_for("exited with 0");
    drop(tmux);
    let _ = std::fs::remove_dir_all(&dir);

    // Private, it is not mentioned.
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(&config, format!("[slack]\nbot_token = \"{BOT}\"\n")).unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let tmux = launch_pane("gone-config-private", &dir, &command);
    let screen = tmux.wait_for("connected");
    assert!(!screen.contains("others can read it"), "{screen}");
    tmux.keys(&["q"]);
    tmux.wait_for("exited with 0");
    drop(tmux);
    let _ = std::fs::remove_dir_all(&dir);
}
