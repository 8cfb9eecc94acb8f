//! `idle_cpu_percent`: the real binary in a tmux pane, connected to a quiet workspace
//! (the emulator with its backlog and no workload: swarms on screen whose clocks tick
//! every second), its CPU time over 10 s from /proc, as a percentage of one core.
//! `idle_cpu_shared_percent`: the same with a `tail` on its store (both watch the
//! store's feed and beat), and the tail's own figure.

use std::path::Path;
use std::time::{Duration, Instant};
use swarmdeck::emulator::{self, EmulatorConfig};

const WINDOW: Duration = Duration::from_secs(10);

/// The dashboard's idle CPU, and the tail's when `with_tail` (as % of a core).
pub async fn idle_cpu(bin: &Path, with_tail: bool) -> Result<(f64, Option<f64>), String> {
    let emu = emulator::start(EmulatorConfig {
        backlog: true,
        ..super::bus::measuring()
    })
    .await
    .map_err(|e| e.to_string())?;
    let dir = std::env::temp_dir().join(format!("swarmdeck-bench-idle-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let socket = format!("swarmdeck-bench-idle-{}", std::process::id());
    let tmux = |args: &[&str]| super::support::tmux(&socket, args);
    // `exec`: the pane's process is the dashboard itself.
    let command = format!(
        "exec env SLACK_API_URL={}/api/ SLACK_APP_TOKEN=xapp-1-bench-000 SLACK_BOT_TOKEN=xoxb-bench-0000 \
         XDG_CONFIG_HOME={d}/config XDG_STATE_HOME={d}/state {bin} --data-dir {d}/data",
        emu.base_url(),
        d = dir.display(),
        bin = bin.display()
    );
    super::support::tmux_session(&socket, &command);
    let tail = with_tail
        .then(|| {
            std::process::Command::new(bin)
                .args(["tail", "--json", "--data-dir"])
                .arg(dir.join("data"))
                .env("SLACK_API_URL", format!("{}/api/", emu.base_url()))
                .env("SLACK_APP_TOKEN", "xapp-1-bench-000")
                .env("SLACK_BOT_TOKEN", "xoxb-bench-0000")
                .env("XDG_CONFIG_HOME", dir.join("config"))
                .env("XDG_STATE_HOME", dir.join("state-tail"))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .map_err(|e| e.to_string())
        })
        .transpose()?;
    let tail_pid = tail.as_ref().map(|t| t.id().to_string());
    let result = measure(&tmux, tail_pid.as_deref()).await;
    if let Some(mut t) = tail {
        let _ = t.kill();
        let _ = t.wait();
    }
    tmux(&["kill-server"]);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn measure(
    tmux: &impl Fn(&[&str]) -> String,
    tail: Option<&str>,
) -> Result<(f64, Option<f64>), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let screen = tmux(&["capture-pane", "-p", "-t", "b"]);
        // Connected, and the backlog (with its clocks) on screen.
        if screen.contains("connected") && screen.contains("sev1") {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("the dashboard never showed the backlog:\n{screen}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Let start-up work (history, names, experts) settle first.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let pid = tmux(&["display-message", "-p", "-t", "b", "#{pane_pid}"]);
    let pid = pid.trim();
    let before = cpu_ticks(pid)?;
    let tail_before = tail.map(cpu_ticks).transpose()?;
    tokio::time::sleep(WINDOW).await;
    let after = cpu_ticks(pid)?;
    let tail_after = tail.map(cpu_ticks).transpose()?;
    // Clock ticks are 1/100 s on Linux (USER_HZ).
    let percent = |ticks: u64| ticks as f64 / 100.0 / WINDOW.as_secs_f64() * 100.0;
    let tail = tail_before.zip(tail_after).map(|(b, a)| percent(a - b));
    Ok((percent(after - before), tail))
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: &str) -> Result<u64, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("no process {pid}: {e}"))?;
    // Fields after the command name (which may hold spaces) are split on whitespace.
    let rest = &stat[stat.rfind(')').ok_or("odd /proc stat")? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of stat; 12 and 13 after the name and state.
    Ok(field(11) + field(12))
}
