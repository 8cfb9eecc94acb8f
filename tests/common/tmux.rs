//! The real binary in a tmux server: keys in, the screen out.

use super::{APP, BOT, DEADLINE};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Tmux {
    pub socket: String,
    pub dir: PathBuf,
    /// Whether dropping this removes `dir` (not when a restart reuses it).
    pub owns_dir: bool,
}

impl Tmux {
    pub fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "lead"])
    }

    pub fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.run(&["send-keys", "-t", "lead", k]);
            std::thread::sleep(Duration::from_millis(80));
        }
    }

    /// The dashboard's pid: the pane shell's child (from /proc: no procps needed).
    pub fn dashboard_pid(&self) -> String {
        let shell = self.run(&["display-message", "-p", "-t", "lead", "#{pane_pid}"]);
        let shell = shell.trim();
        let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children"))
            .unwrap_or_default();
        children
            .split_whitespace()
            .next()
            .expect("the dashboard runs under the pane's shell")
            .to_string()
    }

    pub fn kill(&self, signal: &str) {
        let status = Command::new("sh")
            .args(["-c", &format!("kill -{signal} {}", self.dashboard_pid())])
            .status()
            .expect("sh runs");
        assert!(status.success());
    }

    /// Waits (generously) until the screen shows `what`.
    pub fn wait_for(&self, what: &str) -> String {
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
        if self.owns_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

pub fn tmux_available() -> bool {
    let found = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found && std::env::var_os("SWARMDECK_REQUIRE_TMUX").is_some() {
        panic!("tmux is required here (SWARMDECK_REQUIRE_TMUX) but not installed");
    }
    found
}

/// The dashboard on the Web API at `base`, with its config, state and data in `dir`
/// (kept when this session ends, so a restart finds its store).
pub fn launch(base: &str, name: &str, config: Option<&str>, dir: &std::path::Path) -> Tmux {
    launch_as(base, name, config, dir, (APP, BOT))
}

/// [`launch`] with the app's tokens `(app, bot)`: one of several apps.
pub fn launch_as(
    base: &str,
    name: &str,
    config: Option<&str>,
    dir: &std::path::Path,
    (app, bot): (&str, &str),
) -> Tmux {
    let dir = dir.to_path_buf();
    let tmux = Tmux {
        socket: format!("swarmdeck-{name}-{}", std::process::id()),
        dir: dir.clone(),
        owns_dir: false,
    };
    let config_env = match config {
        Some(text) => {
            let path = dir.join("swarmdeck.toml");
            std::fs::write(&path, text).unwrap();
            format!("SWARMDECK_CONFIG={}", path.display())
        }
        None => String::new(),
    };
    // `SWARMDECK_TEST_LOG=info cargo test …`: the dashboards' logs say more, for a failure.
    let log = std::env::var("SWARMDECK_TEST_LOG")
        .map(|l| format!("RUST_LOG={l}"))
        .unwrap_or_default();
    let command = format!(
        "env {log} SLACK_API_URL={base}/api/ SLACK_APP_TOKEN={app} SLACK_BOT_TOKEN={bot} XDG_CONFIG_HOME={d}/config \
         XDG_STATE_HOME={d}/state XDG_DATA_HOME={d}/data {config_env} {bin}; echo \"exited with $?\"; sleep 60",
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
