//! The real binary in a real terminal (tmux), against the emulator, used as a lead would:
//! a request posted in Slack appears; the keys move, open, show metrics and help; a
//! message full of escape sequences changes nothing outside its cell; `q` leaves the
//! terminal as it was.

mod common;

use common::tmux::{Tmux, launch, launch_pane, tmux_available};
use common::{APP, BOT, DEADLINE};
use serde_json::json;
use std::time::{Duration, Instant};

/// The dashboard in a fresh tmux server, on the emulator, with no config but the env.
fn start_dashboard(emu: &common::Emu, name: &str) -> Tmux {
    start_dashboard_with(emu, name, None)
}

/// The same, with a config file holding `config`.
fn start_dashboard_with(emu: &common::Emu, name: &str, config: Option<&str>) -> Tmux {
    let dir = std::env::temp_dir().join(format!("swarmdeck-tmux-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut tmux = launch(emu.base(), name, config, &dir);
    tmux.owns_dir = true;
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
    tmux.wait_for("today so far");
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
        tmux.kill(signal);
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
    let tmux = start_demo("demo");
    // The promoted one shows its incident channel, cut in the middle to keep its case.
    tmux.wait_for("-sev1-26905");
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
    // Within its first minute, the backlog's two asks are answered from Slack: one
    // expert accepts (the row shows them), one declines (the row says why, and the
    // picker opens on someone else).
    let minute = Duration::from_secs(60);
    tmux.wait_for_within("accepted 26901", minute);
    let screen = tmux.wait_for_within("declined: busy", minute);
    // The picker covers the row's middle; its ends still show.
    assert!(
        screen
            .lines()
            .any(|l| l.contains("26907") && l.contains("declined: busy")),
        "{screen}"
    );
    assert!(screen.contains("assign to 26907"), "{screen}");
    tmux.keys(&["Escape"]);
    tmux.keys(&["q"]);
    tmux.wait_for("exited with 0");
}

/// The lead's core move, by keys: select a Sev1 request, assign an expert with `a`,
/// promote with `p` and Enter. Slack then has the incident channel, named from the
/// template, with the requester, the expert and the lead in it, and each side links to
/// the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_promotes_a_sev1_with_p_and_enter() {
    if !tmux_available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let emu = common::quiet().await;
    let tmux = start_dashboard_with(&emu, "promote", Some("lead = \"U0LEAD0001\"\n"));
    tmux.wait_for("connected");
    emu.inject(json!({"type": "message", "channel": "C0SWARMAPI", "user": "U0REQ00001",
        "text": "Case: 27343\nUrgency: Sev 1\nSubject: EU API returns 502\nLink: https://support.acme.example/cases/27343"}))
    .await;
    emu.inject(
        json!({"type": "message", "channel": "C0SWARMBIL", "user": "U0REQ00002",
        "text": "Case: 27344\nUrgency: Low\nSubject: Invoice question"}),
    )
    .await;
    tmux.wait_for("27344");
    // The Sev1 sorts first; select it explicitly all the same.
    tmux.keys(&["g"]);
    let screen = tmux.wait_for("27343");
    let first_row = screen.lines().nth(3).unwrap_or_default();
    assert!(first_row.contains("27343"), "the Sev1 is on top: {screen}");

    // Assign: the picker offers the api pod's experts (its user group), Priya among them.
    tmux.keys(&["a"]);
    tmux.wait_for("assign to 27343");
    tmux.keys(&["p", "r", "i", "y", "a"]);
    tmux.wait_for("priya.raman");
    tmux.keys(&["Enter"]);
    tmux.wait_for("✓ assign");

    // Promote: the dialog proposes the template's name; Enter confirms.
    tmux.keys(&["p"]);
    let dialog = tmux.wait_for("promote 27343");
    assert!(dialog.contains("#support-api-sev1-27343"), "{dialog}");
    tmux.keys(&["Enter"]);
    tmux.wait_for("✓ promote 27343");
    tmux.wait_for("#support-api-sev1-27343");

    let state = emu.state().await;
    let channels = state["channels"].as_array().unwrap();
    let incident = channels
        .iter()
        .find(|c| c["name"] == "support-api-sev1-27343")
        .expect("the incident channel exists");
    let members = common::members(incident);
    for who in ["U0REQ00001", "U0EXP00001", "U0LEAD0001"] {
        assert!(
            members.contains(&who),
            "{who} is in the channel: {members:?}"
        );
    }
    let id = incident["id"].as_str().unwrap();
    let pod = channels.iter().find(|c| c["id"] == "C0SWARMAPI").unwrap();
    let root = pod["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["text"].as_str().unwrap_or("").contains("27343"))
        .unwrap();
    let root_ts = root["ts"].as_str().unwrap();
    // The thread links to the channel…
    let link_back = pod["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["thread_ts"] == root_ts && m["metadata"]["event_type"] == "swarmdeck_promoted")
        .expect("the promoted marker in the thread");
    assert!(
        link_back["text"]
            .as_str()
            .unwrap()
            .contains(&format!("<#{id}>"))
    );
    // …and the channel to the thread.
    let permalink_part = root_ts.replace('.', "");
    assert!(
        incident["purpose"]
            .as_str()
            .unwrap()
            .contains(&permalink_part),
        "purpose links the thread: {incident}"
    );
    let summary = incident["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metadata"]["event_type"] == "swarmdeck_note")
        .expect("a summary in the channel");
    assert!(summary["text"].as_str().unwrap().contains(&permalink_part));
    assert_eq!(summary["metadata"]["event_payload"]["lead"], "U0LEAD0001");

    tmux.keys(&["q"]);
    tmux.wait_for("exited with 0");
}

/// `f` sets next steps and a due time; when it falls due the row says so and, with
/// `remind_experts`, one reminder is posted in the thread naming the assigned expert.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_up_falls_due_on_the_row_and_in_the_thread() {
    if !tmux_available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let emu = common::quiet().await;
    let config = "lead = \"U0LEAD0001\"\n[actions]\nremind_experts = true\n";
    let tmux = start_dashboard_with(&emu, "follow", Some(config));
    tmux.wait_for("connected");
    let posted = emu
        .inject(
            json!({"type": "message", "channel": "C0SWARMDAT", "user": "U0REQ00003",
            "text": "Case: 27500\nUrgency: Sev 3\nSubject: Export missing rows"}),
        )
        .await;
    let root_ts = posted["ts"].as_str().unwrap().to_string();
    tmux.wait_for("27500");
    tmux.keys(&["a"]);
    tmux.wait_for("assign to 27500");
    // The pod's experts (its user group) are listed once loaded; the top one is taken.
    tmux.wait_for("data · 0 open");
    tmux.keys(&["Enter"]);
    tmux.wait_for("✓ assign");
    tmux.keys(&["f"]);
    tmux.wait_for("next steps");
    tmux.run(&["send-keys", "-t", "lead", "-l", "Ask for the export log"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("follow up when?");
    tmux.keys(&["C-u"]);
    tmux.run(&["send-keys", "-t", "lead", "-l", "3s"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("✓ follow-up on 27500");
    tmux.wait_for("follow-up due");

    let deadline = std::time::Instant::now() + DEADLINE;
    let reminders = loop {
        let state = emu.state().await;
        let reminders: Vec<serde_json::Value> = state["channels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "C0SWARMDAT")
            .unwrap()["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["metadata"]["event_payload"]["note"] == "follow_up_reminder")
            .cloned()
            .collect();
        if !reminders.is_empty() || std::time::Instant::now() > deadline {
            break reminders;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Give a second reminder every chance to (wrongly) appear.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let state = emu.state().await;
    let count = state.to_string().matches("follow_up_reminder").count();
    assert_eq!(reminders.len(), 1, "one reminder: {reminders:?}");
    assert_eq!(count, 1, "still one");
    let text = reminders[0]["text"].as_str().unwrap();
    assert_eq!(reminders[0]["thread_ts"], root_ts.as_str());
    assert!(
        text.contains("<@U0EXP") && text.contains("Ask for the export log"),
        "{text}"
    );
    tmux.keys(&["q"]);
    tmux.wait_for("exited with 0");
}

/// A restart opens at once on what the store held, before (here: without) Slack.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_shows_the_stored_swarms_before_slack_answers() {
    if !tmux_available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let emu = common::quiet().await;
    let first = start_dashboard(&emu, "restart-1");
    first.wait_for("connected");
    for (case, channel) in [("28801", "C0SWARMAPI"), ("28802", "C0SWARMBIL")] {
        emu.inject(
            json!({"type": "message", "channel": channel, "user": "U0REQ00001",
            "text": format!("Case: {case}\nUrgency: Sev 2\nSubject: Stored swarm {case}")}),
        )
        .await;
    }
    first.wait_for("28802");
    first.keys(&["q"]);
    first.wait_for("exited with 0");
    let dir = first.dir.clone();

    // Slack is unreachable now (nothing listens on port 9).
    let second = launch("http://127.0.0.1:9", "restart-2", None, &dir);
    let screen = second.wait_for("28802");
    assert!(
        screen.contains("28801") && screen.contains("Stored swarm"),
        "{screen}"
    );
    assert!(
        !screen.contains("● 2/2 connected"),
        "not connected: {screen}"
    );
    second.wait_for("Slack unreachable");
    second.keys(&["q"]);
    second.wait_for("exited with 0");
    drop(first);
    let _ = std::fs::remove_dir_all(&dir);
}

/// SIGKILL in the middle of a promotion (the invite is held by the emulator), then a
/// restart: the promotion completes, with one channel, one set of invites and one
/// summary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promotion_killed_half_way_completes_once_after_a_restart() {
    if !tmux_available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let emu = common::quiet().await;
    let config = "lead = \"U0LEAD0001\"\n";
    let first = start_dashboard_with(&emu, "killed", Some(config));
    first.wait_for("connected");
    emu.inject(json!({"type": "message", "channel": "C0SWARMAPI", "user": "U0REQ00001",
        "text": "Case: 27900\nUrgency: Sev 1\nSubject: Killed mid-promotion\nLink: https://support.acme.example/cases/27900"}))
        .await;
    first.wait_for("27900");
    let (status, _) = emu
        .control_post(
            "faults",
            json!({"method": "conversations.invite", "delay_ms": 30000, "count": 1}),
        )
        .await;
    assert_eq!(status, 200);
    first.keys(&["p"]);
    first.wait_for("promote 27900");
    first.keys(&["Enter"]);
    // The channel is created; the invite is held: kill it there.
    let deadline = Instant::now() + DEADLINE;
    while !emu
        .state()
        .await
        .to_string()
        .contains("support-api-sev1-27900")
    {
        assert!(Instant::now() < deadline, "the channel was never created");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    first.kill("KILL");
    first.wait_for("exited with 137");
    emu.control_post("faults", json!({"clear": true})).await;
    let dir = first.dir.clone();

    let second = launch(emu.base(), "killed-2", Some(config), &dir);
    second.wait_for("✓ promote 27900");
    second.wait_for("#support-api-sev1-27900");
    let state = emu.state().await;
    let channels = state["channels"].as_array().unwrap();
    let incident: Vec<&serde_json::Value> = channels
        .iter()
        .filter(|c| {
            c["name"]
                .as_str()
                .unwrap()
                .starts_with("support-api-sev1-27900")
        })
        .collect();
    assert_eq!(incident.len(), 1, "one channel");
    let members = common::members(incident[0]);
    for who in ["U0REQ00001", "U0LEAD0001"] {
        assert_eq!(
            members.iter().filter(|m| **m == who).count(),
            1,
            "{who} once: {members:?}"
        );
    }
    let calls = emu.control_get("calls").await;
    let ok = |method: &str| {
        calls
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["method"] == method && c["ok"] == true)
            .count()
    };
    assert_eq!(ok("conversations.create"), 1, "created once");
    assert!(ok("conversations.invite") <= 1, "invited once: {calls}");
    let summaries = incident[0]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["metadata"]["event_payload"]["note"] == "incident_summary")
        .count();
    assert_eq!(summaries, 1, "one summary");
    let links_back = state.to_string().matches("swarmdeck_promoted").count();
    assert_eq!(links_back, 1, "one link back in the thread");
    second.keys(&["q"]);
    second.wait_for("exited with 0");
    drop(first);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Select a case, then filter for another whose request the old selection still fuzzily
/// matches: Enter, Enter opens the case typed, not the one selected before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_filter_opens_the_case_typed_not_the_one_selected_before() {
    if !tmux_available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let emu = common::quiet().await;
    let tmux = start_dashboard(&emu, "wrongswarm");
    tmux.wait_for("connected");
    // "27667 SSO 2FA loop" holds 2, 7, 6, 7, 2 in order: a subsequence match for "27672".
    for (case, subject) in [("27667", "SSO 2FA loop"), ("27672", "Exports time out")] {
        emu.inject(
            json!({"type": "message", "channel": "C0SWARMAPI", "user": "U0REQ00001",
            "text": format!("Case: {case}\nUrgency: Sev 2\nSubject: {subject}")}),
        )
        .await;
        tmux.wait_for(case);
    }
    // Select 27667 and check it is the one the detail opens.
    tmux.keys(&["g"]);
    for _ in 0..3 {
        tmux.keys(&["Enter"]);
        let detail = tmux.wait_for("thread ·");
        if detail.contains("SSO 2FA loop") {
            break;
        }
        tmux.keys(&["Escape", "j"]);
    }
    tmux.keys(&["Escape"]);
    tmux.wait_for("Exports time out");
    for key in ["/", "2", "7", "6", "7", "2", "Enter", "Enter"] {
        tmux.keys(&[key]);
    }
    let detail = tmux.wait_for("thread ·");
    assert!(
        detail.contains("Exports time out") && !detail.contains("SSO 2FA loop"),
        "the detail of 27672: {detail}"
    );
    tmux.keys(&["Escape", "Escape", "q"]);
    tmux.wait_for("exited with 0");
}

/// Two lines pasted into the reply box, full of move keys: no Slack call, no other
/// dialog, the text in the box; pasted outside a field, nothing happens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pasted_move_keys_stay_text() {
    if !tmux_available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let emu = common::quiet().await;
    let tmux = start_dashboard(&emu, "paste");
    tmux.wait_for("connected");
    emu.inject(
        json!({"type": "message", "channel": "C0SWARMAPI", "user": "U0REQ00001",
        "text": "Case: 27700\nUrgency: Sev 3\nSubject: Paste me"}),
    )
    .await;
    tmux.wait_for("27700");
    let posts = |calls: &serde_json::Value| {
        calls
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["method"] == "chat.postMessage")
            .count()
    };
    let before = posts(&emu.control_get("calls").await);
    let paste = |text: &str| {
        tmux.run(&["set-buffer", "-b", "lead-paste", text]);
        tmux.run(&["paste-buffer", "-p", "-d", "-b", "lead-paste", "-t", "lead"]);
        std::thread::sleep(Duration::from_millis(300));
    };
    // Outside a field: the keys in it do nothing (no sort, no dialog, no quit).
    paste("s c a p r H q\nt");
    let screen = tmux.wait_for("Pasted text goes into a text field");
    assert!(screen.contains("27700"), "still the table: {screen}");
    // Into the reply box: the text, both lines, nothing sent.
    tmux.keys(&["c"]);
    tmux.wait_for("reply in the thread");
    paste("first line s c a p r H\nsecond line q");
    let screen = tmux.wait_for("second line q");
    assert!(screen.contains("first line s c a p r H"), "{screen}");
    assert!(
        screen.contains("reply in the thread"),
        "the reply box is still open: {screen}"
    );
    assert!(!screen.contains("assign to") && !screen.contains("promote 27700"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let calls = emu.control_get("calls").await;
    assert_eq!(posts(&calls), before, "nothing was posted");
    // Enter sends the two lines as one reply.
    tmux.keys(&["Enter"]);
    tmux.wait_for("✓ reply on 27700");
    let pod = emu.channel_state("swarm-api").await;
    let reply = pod["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["text"].as_str().unwrap_or("").contains("second line q"))
        .expect("the reply is in Slack");
    assert_eq!(
        reply["text"].as_str().unwrap(),
        "first line s c a p r H\nsecond line q"
    );
    tmux.keys(&["q"]);
    tmux.wait_for("exited with 0");
}

/// `w` twice on a promoted swarm: waiting on, then off again (its status stays
/// `promoted`, so the toggle must follow the pauses, not the status).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_toggles_twice_on_a_promoted_swarm() {
    if !tmux_available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let emu = common::quiet().await;
    let tmux = start_dashboard_with(&emu, "waiting", Some("lead = \"U0LEAD0001\"\n"));
    tmux.wait_for("connected");
    emu.inject(
        json!({"type": "message", "channel": "C0SWARMAPI", "user": "U0REQ00001",
        "text": "Case: 27801\nUrgency: Sev 1\nSubject: Ledger sync stalled"}),
    )
    .await;
    tmux.wait_for("27801");
    tmux.keys(&["g", "p"]);
    tmux.wait_for("promote 27801");
    tmux.keys(&["Enter"]);
    tmux.wait_for("✓ promote 27801");
    tmux.wait_for("-sev1-27801");
    // The table's row (the header's activity line names the case too).
    let row = |screen: &str| {
        screen
            .lines()
            .skip(3)
            .find(|l| l.contains("27801"))
            .unwrap_or_default()
            .to_string()
    };
    tmux.keys(&["w"]);
    tmux.wait_for("✓ 27801 waiting on customer");
    let screen = tmux.wait_for("paused");
    assert!(row(&screen).contains("paused"), "{screen}");
    tmux.keys(&["w"]);
    tmux.wait_for("✓ 27801 not waiting");
    let deadline = Instant::now() + DEADLINE;
    loop {
        let screen = tmux.screen();
        if !row(&screen).contains("paused") {
            break;
        }
        assert!(Instant::now() < deadline, "still paused: {screen}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let pod = emu.channel_state("swarm-api").await;
    let waiting: Vec<bool> = pod["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["metadata"]["event_type"] == "swarmdeck_waiting")
        .map(|m| m["metadata"]["event_payload"]["waiting"].as_bool().unwrap())
        .collect();
    assert_eq!(waiting, [true, false], "on, then off, in Slack too");
    tmux.keys(&["q"]);
    tmux.wait_for("exited with 0");
}

/// The demo in a fresh tmux server (as a new user runs it).
fn start_demo(name: &str) -> Tmux {
    let dir = std::env::temp_dir().join(format!("swarmdeck-tmux-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let command = format!(
        "env -u SLACK_APP_TOKEN -u SLACK_BOT_TOKEN -u SLACK_API_URL XDG_CONFIG_HOME={d}/config \
         XDG_STATE_HOME={d}/state XDG_DATA_HOME={d}/data {bin} demo --data-dir {d}/demo; \
         echo \"exited with $?\"; sleep 60",
        d = dir.display(),
        bin = env!("CARGO_BIN_EXE_swarmdeck"),
    );
    let mut tmux = launch_pane(name, &dir, &command);
    tmux.owns_dir = true;
    tmux
}

/// The case numbers of the table's rows, top to bottom, as the screen shows them.
fn cases_on(screen: &str) -> Vec<String> {
    screen
        .lines()
        .skip(3)
        .filter_map(|l| {
            l.split_whitespace()
                .take(3)
                .find(|w| w.len() >= 4 && w.chars().all(|c| c.is_ascii_digit()))
                .map(str::to_string)
        })
        .collect()
}

/// `:case N` Enter opens that swarm's detail, whichever row was selected: a case the
/// demo really seeds, read off the screen (the last row, never the selected first one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_opens_the_case_typed() {
    if !tmux_available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let tmux = start_demo("command");
    tmux.wait_for("-sev1-26905");
    let screen = tmux.wait_for("connected");
    let cases = cases_on(&screen);
    assert!(cases.len() >= 3, "rows with cases: {screen}");
    let case = cases.last().unwrap().clone();
    let flags = tmux.run(&["display-message", "-p", "-t", "lead", "#{mouse_any_flag}"]);
    assert_eq!(
        flags.trim(),
        "0",
        "without [ui] mouse the terminal keeps its mouse"
    );
    tmux.keys(&[":"]);
    tmux.wait_for("Tab case pod sort help quit");
    tmux.run(&["send-keys", "-t", "lead", "-l", &format!("case {case}")]);
    tmux.wait_for(&format!(":case {case}"));
    tmux.keys(&["Enter"]);
    let detail = tmux.wait_for("thread ·");
    assert!(
        detail.contains(&format!("#{case} ")),
        "the detail of {case}: {detail}"
    );
    // A case that is not open says so, and the detail stays.
    tmux.keys(&[":"]);
    tmux.run(&["send-keys", "-t", "lead", "-l", "case 1"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("No open swarm for case 1.");
    tmux.keys(&["Escape", "q"]);
    tmux.wait_for("exited with 0");
}

/// With `[ui] mouse = true`, a click on a row selects it and a second click opens it:
/// the mouse as the terminal reports it (SGR sequences, as tmux would pass them on).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_click_on_a_row_selects_it_and_a_second_opens_it() {
    if !tmux_available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let emu = common::quiet().await;
    let tmux = start_dashboard_with(&emu, "mouse", Some("[ui]\nmouse = true\n"));
    tmux.wait_for("connected");
    for (case, subject) in [("27801", "Clicked first"), ("27802", "Clicked second")] {
        emu.inject(
            json!({"type": "message", "channel": "C0SWARMAPI", "user": "U0REQ00001",
            "text": format!("Case: {case}\nUrgency: Sev 3\nSubject: {subject}")}),
        )
        .await;
        tmux.wait_for(case);
    }
    let reports = |tmux: &Tmux| {
        let flags = tmux.run(&[
            "display-message",
            "-p",
            "-t",
            "lead",
            "#{mouse_any_flag}#{mouse_sgr_flag}",
        ]);
        flags.trim() == "11"
    };
    assert!(
        reports(&tmux),
        "the terminal was asked for the mouse, as SGR"
    );
    let screen = tmux.screen();
    // The row not selected (the first is, until the lead moves): its line on screen.
    let cases = cases_on(&screen);
    let target = cases.get(1).expect("two rows").clone();
    let row = screen
        .lines()
        .position(|l| l.contains(&target))
        .expect("the row is on screen");
    let click = |row: usize| {
        // SGR: button 0 pressed (`M`) then released (`m`), at 1-based column;row.
        for end in ["M", "m"] {
            let sequence = format!("\u{1b}[<0;30;{}{end}", row + 1);
            tmux.run(&["send-keys", "-t", "lead", "-l", &sequence]);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    click(row);
    let after = tmux.screen();
    assert!(
        !after.contains("thread ·"),
        "one click only selects: {after}"
    );
    click(row);
    let detail = tmux.wait_for("thread ·");
    assert!(
        detail.contains(&format!("#{target} ")),
        "the detail of the row clicked, {target}: {detail}"
    );
    // A click on a pod in the header shows that pod; on it again, every pod.
    tmux.keys(&["Escape"]);
    tmux.wait_for("Clicked second");
    let header = tmux.screen().lines().next().unwrap_or_default().to_string();
    let at = header
        .find("2 bil")
        .expect("billing numbered in the header");
    let column = header[..at].chars().count() + 2;
    let click_at = |column: usize| {
        for end in ["M", "m"] {
            let sequence = format!("\u{1b}[<0;{column};1{end}");
            tmux.run(&["send-keys", "-t", "lead", "-l", &sequence]);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    click_at(column);
    tmux.wait_for("No open swarm matches");
    click_at(column);
    tmux.wait_for("Clicked second");
    // Help says how to select text now that the mouse is the dashboard's: at its end.
    tmux.keys(&["?"]);
    tmux.wait_for("keys — Esc closes");
    tmux.keys(&["G"]);
    let end = tmux.wait_for("Shift-drag selects text");
    assert!(!end.contains("── keys ──"), "scrolled past the top: {end}");
    tmux.keys(&["Escape", "q"]);
    tmux.wait_for("exited with 0");
    assert!(!reports(&tmux), "the terminal is given its mouse back");
}

/// Flags, joined emoji and CJK in subjects: the screen after opening and leaving the
/// detail, the metrics and the help is the screen a full redraw (Ctrl-L) draws — no cell
/// left stale where the terminal counted a width the dashboard did not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emoji_sequences_leave_no_stale_cell() {
    if !tmux_available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let emu = common::quiet().await;
    let tmux = start_dashboard(&emu, "graphemes");
    tmux.wait_for("No open swarms");
    tmux.wait_for("connected");
    for (channel, case, subject) in [
        ("C0SWARMAPI", "32001", "🇪🇺 EU webhooks late 🇯🇵 too"),
        ("C0SWARMBIL", "32002", "👩‍💻 portal down for 👨‍👩‍👧 family plan"),
        ("C0SWARMAPI", "32003", "請求書の日本語 and 1️⃣ keycap 👍🏽"),
    ] {
        emu.inject(
            json!({"type": "message", "channel": channel, "user": "U0REQ00001",
                          "text": format!("Case: {case}\nUrgency: Sev 2\nSubject: {subject}")}),
        )
        .await;
        tmux.wait_for(case);
    }
    let screen = tmux.wait_for("[EU] EU webhooks late [JP] too");
    assert!(
        screen.contains("👩 portal down for 👨 family plan") && screen.contains("請求書の日本語"),
        "{screen}"
    );
    assert!(
        !screen.contains('\u{200d}') && !screen.contains('\u{1f1ea}'),
        "{screen}"
    );
    // Ages and countdowns tick between two captures: compare the screens without digits,
    // and go round again if a tick still moved a line.
    let masked = |s: &str| s.replace(|c: char| c.is_ascii_digit(), "#");
    let mut last = (String::new(), String::new());
    for _ in 0..3 {
        tmux.keys(&["Enter"]);
        tmux.wait_for("thread ·");
        tmux.keys(&["Escape"]);
        tmux.wait_for("subject");
        tmux.keys(&["m"]);
        tmux.wait_for("today so far");
        tmux.keys(&["m", "?"]);
        tmux.wait_for("keys — Esc closes");
        tmux.keys(&["Escape"]);
        tmux.wait_for("subject");
        let drawn = tmux.screen();
        tmux.keys(&["C-l"]);
        let fresh = tmux.screen();
        if masked(&drawn) == masked(&fresh) {
            return;
        }
        last = (drawn, fresh);
    }
    panic!(
        "the screen differs from a fresh redraw:\n{}\n--- redrawn ---\n{}",
        last.0, last.1
    );
}
