//! The real binary in a real terminal (tmux), against the emulator, used as a lead would:
//! a request posted in Slack appears; the keys move, open, show metrics and help; a
//! message full of escape sequences changes nothing outside its cell; `q` leaves the
//! terminal as it was.

mod common;

use common::{APP, BOT, DEADLINE};
use serde_json::json;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
    dir: PathBuf,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "lead"])
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.run(&["send-keys", "-t", "lead", k]);
            std::thread::sleep(Duration::from_millis(80));
        }
    }

    /// Waits (generously) until the screen shows `what`.
    fn wait_for(&self, what: &str) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let screen = self.screen();
            if screen.contains(what) {
                return screen;
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(self.dir.join("state/swarmdeck/swarmdeck.log"))
                    .unwrap_or_default();
                panic!("the screen never showed {what:?}:\n{screen}\n--- log ---\n{log}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn tmux_available() -> bool {
    let found = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found && std::env::var_os("SWARMDECK_REQUIRE_TMUX").is_some() {
        panic!("tmux is required here (SWARMDECK_REQUIRE_TMUX) but not installed");
    }
    found
}

/// The dashboard in a fresh tmux server, on the emulator, with no config but the env.
fn start_dashboard(emu: &common::Emu, name: &str) -> Tmux {
    let dir = std::env::temp_dir().join(format!("swarmdeck-tmux-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let tmux = Tmux {
        socket: format!("swarmdeck-{name}-{}", std::process::id()),
        dir: dir.clone(),
    };
    let command = format!(
        "env SLACK_API_URL={base}/api/ SLACK_APP_TOKEN={APP} SLACK_BOT_TOKEN={BOT} XDG_CONFIG_HOME={d}/config \
         XDG_STATE_HOME={d}/state XDG_DATA_HOME={d}/data {bin}; echo \"exited with $?\"; sleep 60",
        base = emu.base(),
        d = dir.display(),
        bin = env!("CARGO_BIN_EXE_swarmdeck"),
    );
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "lead",
        "-x",
        "120",
        "-y",
        "32",
        &command,
    ]);
    tmux
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_drives_the_dashboard_in_a_real_terminal() {
    if !tmux_available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let emu = common::quiet().await;
    let tmux = start_dashboard(&emu, "drive");
    let dir = tmux.dir.clone();
    let title_before = tmux.run(&["display-message", "-p", "-t", "lead", "#{pane_title}"]);
    tmux.wait_for("No open swarms");
    tmux.wait_for("connected");

    // A request posted in Slack appears.
    emu.inject(
        json!({"type": "message", "channel": "C0SWARMAPI", "user": "U0REQ00001",
                      "text": "Case: 31337\nUrgency: Sev 1\nSubject: Checkout API returns 502"}),
    )
    .await;
    let screen = tmux.wait_for("31337");
    assert!(
        screen.contains("Checkout API returns 502") && screen.contains("sev1"),
        "{screen}"
    );

    // Escape sequences in Slack text: a title change, a clear screen, cursor moves.
    let nasty = "Evil\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}[H\u{1b}[31mred\u{1b}[0m\u{1b}[5;5Hsubject";
    emu.inject(
        json!({"type": "message", "channel": "C0SWARMBIL", "user": "U0REQ00002",
                      "text": format!("Case: 31338\nUrgency: Low\nSubject: {nasty}")}),
    )
    .await;
    let screen = tmux.wait_for("31338");
    assert!(
        screen.contains("Evilredsubject"),
        "the text, without its escapes: {screen}"
    );
    let first_line = screen.lines().next().unwrap_or_default();
    assert!(
        first_line.starts_with("swarmdeck · Acme Support"),
        "the header is intact: {screen}"
    );
    assert!(screen.contains("31337"), "nothing was cleared: {screen}");
    let title_after = tmux.run(&["display-message", "-p", "-t", "lead", "#{pane_title}"]);
    assert_eq!(
        title_before, title_after,
        "the terminal title did not change"
    );
    assert!(!title_after.contains("pwned"));

    // Navigation, detail, metrics, help.
    tmux.keys(&["j", "k"]);
    tmux.keys(&["Enter"]);
    let detail = tmux.wait_for("thread ·");
    assert!(detail.contains("requester"), "{detail}");
    tmux.keys(&["Escape"]);
    tmux.wait_for("subject");
    tmux.keys(&["m"]);
    tmux.wait_for("today, per pod");
    tmux.keys(&["m", "?"]);
    tmux.wait_for("keys — Esc closes");
    tmux.keys(&["Escape"]);
    let back = tmux.wait_for("31337");
    assert!(!back.contains("keys — Esc closes"));

    // q leaves cleanly: exit status 0, the alternate screen gone.
    tmux.keys(&["q"]);
    let after = tmux.wait_for("exited with 0");
    assert!(
        !after.contains("31337"),
        "the dashboard's screen is gone: {after}"
    );
    let log = std::fs::read_to_string(dir.join("state/swarmdeck/swarmdeck.log"))
        .expect("the dashboard logs to a file in the XDG state dir");
    assert!(
        !log.contains(BOT) && !log.contains(APP),
        "no token in the log"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_and_sighup_restore_the_terminal() {
    if !tmux_available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let emu = common::quiet().await;
    for signal in ["TERM", "HUP"] {
        let tmux = start_dashboard(&emu, &format!("sig{signal}"));
        tmux.wait_for("No open swarms");
        let shell = tmux.run(&["display-message", "-p", "-t", "lead", "#{pane_pid}"]);
        // The dashboard is the pane shell's child (read from /proc: no procps needed).
        let shell = shell.trim();
        let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children"))
            .unwrap_or_default();
        let child = children
            .split_whitespace()
            .next()
            .expect("the dashboard runs under the pane's shell");
        let status = Command::new("sh")
            .args(["-c", &format!("kill -{signal} {child}")])
            .status()
            .expect("sh runs");
        assert!(status.success());
        let after = tmux.wait_for("exited with 0");
        assert!(
            !after.contains("No open swarms"),
            "SIG{signal}: the alternate screen is gone: {after}"
        );
    }
}

/// What a new user runs first: `swarmdeck demo` opens on a backlog from several pods,
/// with no tokens and no config, and `q` leaves cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_opens_on_a_backlog_from_several_pods() {
    if !tmux_available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("swarmdeck-tmux-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let tmux = Tmux {
        socket: format!("swarmdeck-demo-{}", std::process::id()),
        dir: dir.clone(),
    };
    let command = format!(
        "env -u SLACK_APP_TOKEN -u SLACK_BOT_TOKEN -u SLACK_API_URL XDG_CONFIG_HOME={d}/config \
         XDG_STATE_HOME={d}/state XDG_DATA_HOME={d}/data {bin} demo --data-dir {d}/demo; \
         echo \"exited with $?\"; sleep 60",
        d = dir.display(),
        bin = env!("CARGO_BIN_EXE_swarmdeck"),
    );
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "lead",
        "-x",
        "120",
        "-y",
        "32",
        &command,
    ]);
    tmux.wait_for("#support-mobile-se");
    let screen = tmux.wait_for("connected");
    let pods: std::collections::HashSet<&str> = screen
        .lines()
        .skip(3)
        .filter_map(|l| l.get(2..).and_then(|l| l.split_whitespace().next()))
        .filter(|p| ["api", "billing", "mobile", "data"].contains(p))
        .collect();
    assert!(pods.len() >= 3, "rows from several pods: {screen}");
    assert!(
        screen.contains("breaching") && screen.contains("connected"),
        "{screen}"
    );
    tmux.keys(&["q"]);
    tmux.wait_for("exited with 0");
}
