//! A long thread through the real binary (`swarmdeck tail --json`, release) on the
//! in-process emulator: 10,000 replies posted to one swarm's thread, against the floor
//! of the same 10,000 replies spread over 100 swarms (100 each), in the same run.
//!
//! - `thread_10k_print_s` / `thread_floor_print_s`: from the first post to the tail's
//!   last `reply` line. Linear derivation keeps the ratio near 1 (it was ~4.5 min for
//!   the one thread when each reply re-derived its thread).
//! - `thread_10k_restart_s` / `thread_floor_restart_s`: the tail killed and started again
//!   on its store: from the restart to its log saying the store was restored.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::bus::{Slack, Tail, temp_dir};
use super::support::PODS;

pub const REPLIES: usize = 10_000;
/// Replies posted per control call.
const BATCH: usize = 500;

pub struct Thread {
    pub print_s: f64,
    pub floor_print_s: f64,
    pub restart_s: f64,
    pub floor_restart_s: f64,
}

impl Thread {
    pub fn unmeasured() -> Thread {
        Thread {
            print_s: f64::NAN,
            floor_print_s: f64::NAN,
            restart_s: f64::NAN,
            floor_restart_s: f64::NAN,
        }
    }
}

pub async fn measure(bin: &Path) -> Thread {
    let mut out = Thread::unmeasured();
    match replies_into(bin, 1).await {
        Ok((print, restart)) => (out.print_s, out.restart_s) = (print, restart),
        Err(e) => eprintln!("one long thread not measured: {e}"),
    }
    match replies_into(bin, 100).await {
        Ok((print, restart)) => (out.floor_print_s, out.floor_restart_s) = (print, restart),
        Err(e) => eprintln!("the long-thread floor not measured: {e}"),
    }
    out
}

/// `REPLIES` replies spread over `swarms` requests: seconds to print them all, and
/// seconds for a restarted tail to restore its store.
async fn replies_into(bin: &Path, swarms: usize) -> Result<(f64, f64), String> {
    let slack = Slack::start(super::bus::measuring()).await?;
    let dir = temp_dir(&format!("thread-{swarms}"))?;
    let tail = Tail::spawn(bin, &slack, &dir, None, "tail")?;
    let channel = PODS[0].0;
    let mut roots = Vec::new();
    for i in 0..swarms {
        roots.push(slack.request(channel, 40_000 + i as u32).await?);
    }
    let opened = |t: &Tail| t.printed("swarm_opened").map_or(0, |(n, _)| n);
    wait(
        || opened(&tail) >= swarms,
        Duration::from_secs(60),
        "requests",
        &tail,
    )
    .await?;
    let started = Instant::now();
    for batch in (0..REPLIES).collect::<Vec<_>>().chunks(BATCH) {
        let replies: Vec<Value> = batch
            .iter()
            .map(|&k| {
                json!({"type": "message", "channel": channel, "user": "U0EXP00002",
                    "thread_ts": roots[k % swarms], "text": format!("Step {k}")})
            })
            .collect();
        slack.inject(Value::Array(replies)).await?;
    }
    let replied = |t: &Tail| t.printed("reply").map_or(0, |(n, _)| n);
    wait(
        || replied(&tail) >= REPLIES,
        Duration::from_secs(900),
        "replies",
        &tail,
    )
    .await?;
    let (_, last) = tail.printed("reply").expect("counted");
    let print = last.duration_since(started).as_secs_f64();
    let mut tail = tail;
    tail.child.start_kill().map_err(|e| e.to_string())?;
    let _ = tail.child.wait().await;
    let restarted = Instant::now();
    let again = Tail::spawn(bin, &slack, &dir, None, "restarted")?;
    again
        .wait_log("restored from the store", Duration::from_secs(600))
        .await?;
    let restart = restarted.elapsed().as_secs_f64();
    drop(again);
    let _ = std::fs::remove_dir_all(&dir);
    Ok((print, restart))
}

async fn wait(
    done: impl Fn() -> bool,
    within: Duration,
    what: &str,
    tail: &Tail,
) -> Result<(), String> {
    let deadline = Instant::now() + within;
    while !done() {
        if Instant::now() > deadline {
            return Err(format!(
                "the tail did not print all {what} within {within:?}; its log's end:\n{}",
                tail.log_end()
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}
