//! `swarmdeck tail --json`, the real binary, its lines collected as they come.

use serde_json::Value;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub struct Tail {
    pub child: Child,
    pub lines: Arc<Mutex<Vec<String>>>,
    pub stderr: Arc<Mutex<String>>,
}

impl Tail {
    /// `tail --json --consumer <consumer>` on the store in `data_dir`, as the app whose
    /// tokens are `(app, bot)`, with the config file `config` if any.
    pub fn spawn(
        api_url: &str,
        data_dir: &Path,
        consumer: &str,
        tokens: (&str, &str),
        config: Option<&Path>,
    ) -> Tail {
        let mut cmd = Tail::command(api_url, data_dir, consumer, tokens, config);
        Tail::collect(cmd.spawn().expect("swarmdeck runs"))
    }

    /// The command [`Tail::spawn`] runs, for a test to add to before [`Tail::collect`].
    pub fn command(
        api_url: &str,
        data_dir: &Path,
        consumer: &str,
        (app, bot): (&str, &str),
        config: Option<&Path>,
    ) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_swarmdeck"));
        cmd.args(["tail", "--json", "--consumer", consumer])
            .arg("--data-dir")
            .arg(data_dir)
            .env("SLACK_API_URL", api_url)
            .env("SLACK_APP_TOKEN", app)
            .env("SLACK_BOT_TOKEN", bot)
            .env("XDG_CONFIG_HOME", data_dir.join("config-home"))
            .env("XDG_STATE_HOME", data_dir.join(format!("state-{consumer}")))
            .env_remove("RUST_LOG")
            .env_remove("SWARMDECK_TEAM_BUS")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        match config {
            Some(path) => cmd.env("SWARMDECK_CONFIG", path),
            None => cmd.env_remove("SWARMDECK_CONFIG"),
        };
        cmd
    }

    /// A `tail` started with its stdout and stderr piped: its lines, collected.
    pub fn collect(mut child: Child) -> Tail {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
        let sink = lines.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = out.next_line().await {
                sink.lock().unwrap().push(line);
            }
        });
        let mut err = BufReader::new(child.stderr.take().unwrap()).lines();
        let sink = stderr.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = err.next_line().await {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        Tail {
            child,
            lines,
            stderr,
        }
    }

    /// The lines printed so far, as JSON.
    pub fn events(&self) -> Vec<Value> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }

    /// The cases of the `kind` lines printed so far, in order.
    pub fn cases(&self, kind: &str) -> Vec<String> {
        self.events()
            .iter()
            .filter(|e| e["type"] == kind)
            .filter_map(|e| e["case"].as_str().map(str::to_string))
            .collect()
    }

    /// Waits (generously) until `done` holds of the lines printed.
    pub async fn wait_until(&self, what: &str, done: impl Fn(&[Value]) -> bool) {
        let deadline = std::time::Instant::now() + super::DEADLINE * 2;
        loop {
            if done(&self.events()) {
                return;
            }
            if std::time::Instant::now() > deadline {
                panic!(
                    "tail never printed {what}: {:?}\n--- stderr ---\n{}",
                    self.lines.lock().unwrap(),
                    self.stderr.lock().unwrap()
                );
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}
