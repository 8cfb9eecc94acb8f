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
        self.wait_for_within(what, DEADLINE)
    }

    /// [`Tmux::wait_for`], for something that takes longer to come.
    pub fn wait_for_within(&self, what: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let screen = self.screen();
            // A line the terminal wrapped (a shell's message printed at the last column a
            // killed dashboard left the cursor in) is read joined too.
            if screen.contains(what) {
                return screen;
            }
            let joined = self.run(&["capture-pane", "-p", "-J", "-t", "lead"]);
            if joined.contains(what) {
                return joined;
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
    let command = format!(
        "{}; echo \"exited with $?\"; sleep 60",
        dashboard_command(base, config, dir, (app, bot))
    );
    launch_pane(name, dir, &command)
}

/// The shell command that runs the dashboard on the Web API at `base`, with its config,
/// state and data in `dir`: for a pane's own command around it.
pub fn dashboard_command(
    base: &str,
    config: Option<&str>,
    dir: &std::path::Path,
    (app, bot): (&str, &str),
) -> String {
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
    format!(
        "env {log} SLACK_API_URL={base}/api/ SLACK_APP_TOKEN={app} SLACK_BOT_TOKEN={bot} XDG_CONFIG_HOME={d}/config \
         XDG_STATE_HOME={d}/state XDG_DATA_HOME={d}/data {config_env} {bin}",
        d = dir.display(),
        bin = env!("CARGO_BIN_EXE_swarmdeck"),
    )
}

/// A fresh tmux server whose one pane (session `lead`, 120×32) runs `command`.
pub fn launch_pane(name: &str, dir: &std::path::Path, command: &str) -> Tmux {
    let tmux = Tmux {
        socket: format!("swarmdeck-{name}-{}", std::process::id()),
        dir: dir.to_path_buf(),
        owns_dir: false,
    };
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "lead",
        "-x",
        "120",
        "-y",
        "32",
        command,
    ]);
    tmux
}

/// The CPU time (user and system) a process has used so far, from /proc; `None` once it
/// has ended (a zombie has: it runs no more).
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name (in parentheses, and it may hold spaces): the state, then
    // utime and stime as the 12th and 13th fields.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    if fields.first() == Some(&"Z") {
        return None;
    }
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_secs_f64(ticks as f64 / clock_ticks() as f64))
}

/// The kernel's clock ticks per second (`getconf CLK_TCK`; 100 almost everywhere).
fn clock_ticks() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100)
    })
}

/// Waits (generously) for `pid` to end. `Ok`: the CPU time it used after `cpu_before`
/// (its last reading before it ended). `Err`: the CPU time it had used by the deadline,
/// when it was still running — it is then killed, so that a failure leaves nothing
/// behind.
pub fn wait_for_end(
    pid: u32,
    cpu_before: Duration,
    within: Duration,
) -> Result<Duration, Duration> {
    let deadline = Instant::now() + within;
    let mut last = cpu_before;
    while let Some(cpu) = cpu_time(pid) {
        last = cpu;
        if Instant::now() > deadline {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            return Err(cpu.saturating_sub(cpu_before));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(last.saturating_sub(cpu_before))
}
