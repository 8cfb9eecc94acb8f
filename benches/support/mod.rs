//! What the benchmarks share: a desk of synthetic swarms across four pods, as the store or
//! the socket would bring them, and one frame of the main view.

#![allow(dead_code)]

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::path::{Path, PathBuf};
use std::process::Command;
use swarmdeck::domain::{Author, Desk, DeskConfig, Input, Msg, Pod, Ts};
use swarmdeck::ui::keymap::Keymap;
use swarmdeck::ui::theme::Theme;
use swarmdeck::ui::view::View;
use swarmdeck::ui::{Health, Screenful, render};

pub const PODS: [(&str, &str); 4] = [
    ("C0SWARMAPI", "swarm-api"),
    ("C0SWARMBIL", "swarm-billing"),
    ("C0SWARMMOB", "swarm-mobile"),
    ("C0SWARMDAT", "swarm-data"),
];

/// Swarm `i`: its pod channel, its request's ts (seconds), and the request as a
/// Workflow Builder post's text.
pub fn swarm(i: usize, now: i64) -> (&'static str, i64, String) {
    let (channel, _) = PODS[i % PODS.len()];
    let at = now - 3_600 - (i as i64 % 86_000);
    let urgency = ["Sev 1", "Sev 2", "Sev 3", "Sev 4"][i % 4];
    let text = format!(
        "*Case number:* {}\n*Urgency:* {urgency}\n*Subject:* Synthetic swarm {i} about webhooks and invoices\n*Case link:* <https://support.acme.example/cases/{}|Case>\n*Requested by:* <@U0REQ00001>",
        100_000 + i,
        100_000 + i
    );
    (channel, at, text)
}

/// A ts unique per swarm within its second.
pub fn ts(secs: i64, i: usize) -> String {
    format!("{secs}.{:06}", i % 1_000_000)
}

pub fn pods() -> Vec<Pod> {
    PODS.iter()
        .map(|(id, name)| Pod::discovered(id, name))
        .collect()
}

pub fn message(channel: &str, ts: Ts, thread: Option<Ts>, user: &str, text: String) -> Msg {
    Msg {
        channel: channel.into(),
        ts,
        thread_ts: thread,
        author: Author::Person(user.into()),
        text,
        block_texts: vec![],
        marker: None,
        edited: None,
        reactions: vec![],
        latest_reply: None,
    }
}

/// `n` open swarms, each a request and one reply.
pub fn desk(n: usize, now: i64) -> Desk {
    let mut desk = Desk::new(DeskConfig::default(), pods());
    let mut inputs = Vec::with_capacity(n * 2);
    for i in 0..n {
        let (channel, at, text) = swarm(i, now);
        let root = Ts::parse(&ts(at, i)).unwrap();
        inputs.push(Input::Message(message(
            channel,
            root,
            None,
            "U0REQ00001",
            text,
        )));
        inputs.push(Input::Message(message(
            channel,
            root.plus_secs(60),
            Some(root),
            "U0EXP00001",
            "Looking".into(),
        )));
    }
    desk.restore(inputs, Ts::from_secs(now));
    desk
}

/// One frame of the main view, as the app draws it: the rows, then the draw.
pub fn frame(terminal: &mut Terminal<TestBackend>, desk: &Desk, now: i64) {
    let (keymap, theme) = (Keymap::default(), Theme::new(true));
    let health = Health {
        connected: 2,
        wanted: 2,
        ..Health::default()
    };
    let (attention, pending) = (Default::default(), Default::default());
    let view = View::default();
    let now = Ts::from_secs(now);
    let rows = view.rows(desk, now);
    let screen = Screenful {
        desk,
        rows: &rows,
        health: &health,
        workspace: "Acme Support",
        now,
        today: Ts::from_secs(now.secs() - now.secs() % 86_400),
        utc_offset: chrono::FixedOffset::east_opt(0).unwrap(),
        keymap: &keymap,
        theme: &theme,
        attention: &attention,
        notice: None,
        pending: &pending,
        activity: None,
        similar: &[],
    };
    terminal
        .draw(|f| {
            render(&screen, &view, f);
        })
        .unwrap();
}

/// The `swarmdeck` binary of the same profile as the running example, built if need be.
pub fn binary() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    // target/<profile>/examples/bench → target/<profile>/swarmdeck
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("swarmdeck"))
        .ok_or("no target directory")?;
    let release = bin.to_string_lossy().contains("/release/");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--bin", "swarmdeck"])
        .args(release.then_some("--release"))
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() || !bin.exists() {
        return Err("could not build the swarmdeck binary".into());
    }
    Ok(bin)
}

/// Runs `tmux -L <socket> <args>`; its stdout (empty if tmux failed).
pub fn tmux(socket: &str, args: &[&str]) -> String {
    Command::new("tmux")
        .arg("-L")
        .arg(socket)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// A detached 160×48 tmux session `b` on `socket` running `command`.
pub fn tmux_session(socket: &str, command: &str) {
    tmux(
        socket,
        &[
            "new-session",
            "-d",
            "-s",
            "b",
            "-x",
            "160",
            "-y",
            "48",
            command,
        ],
    );
}
