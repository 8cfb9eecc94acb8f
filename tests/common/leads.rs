//! What the tests of several swarmdecks on one app share: fresh directories, requests
//! with a reply, and reading the table.

use super::Emu;
use super::tail::Tail;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const PODS: [&str; 4] = ["C0SWARMAPI", "C0SWARMBIL", "C0SWARMMOB", "C0SWARMDAT"];

pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("swarmdeck-leads-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The store of a dashboard launched in `dir`.
pub fn store_of(dir: &Path) -> PathBuf {
    dir.join("data/swarmdeck")
}

/// Posts a request for `case` in `pod` and a reply in its thread; returns the thread ts.
pub async fn request_with_reply(emu: &Emu, pod: &str, case: u32) -> String {
    let posted = emu
        .inject(json!({"type": "message", "channel": pod, "user": "U0REQ00001",
            "text": format!("Case: {case}\nUrgency: Sev 3\nSubject: Sync stalls for tenant {case}")}))
        .await;
    let ts = posted["ts"].as_str().unwrap().to_string();
    emu.inject(
        json!({"type": "message", "channel": pod, "user": "U0EXP00002",
        "thread_ts": ts, "text": format!("Looking at {case}")}),
    )
    .await;
    ts
}

/// How many times each case came out as `swarm_opened`.
pub fn opened_counts(tail: &Tail) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for case in tail.cases("swarm_opened") {
        *counts.entry(case).or_default() += 1;
    }
    counts
}

/// The table row of `case` (the header's activity line and the filter may name it too).
pub fn row(screen: &str, case: &str) -> String {
    screen
        .lines()
        .skip(3)
        // The case column, not another row's `dup? #case`.
        .find(|l| l.split_whitespace().take(3).any(|w| w == case) && l.contains(" sev"))
        .unwrap_or_default()
        .to_string()
}
