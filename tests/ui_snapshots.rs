//! Every view of the dashboard as the lead sees it, at 80×24 and 160×48, drawn from a
//! desk fed through the same Slack translation as live events: long subjects, emoji,
//! right-to-left text, escape sequences in messages, and an empty workspace.

use chrono::FixedOffset;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::{Value, json};
use std::collections::HashSet;
use swarmdeck::domain::moves::Promotion;
use swarmdeck::domain::{Desk, DeskConfig, Input, Pod, Similar, SwarmId, Ts};
use swarmdeck::slack::translate::Translator;
use swarmdeck::slack::wire::Event;
use swarmdeck::ui::dialog::{
    Asks, Dialog, Found, Picker, PromoteForm, Prompt, UpdatePart, UpdateText,
};
use swarmdeck::ui::keymap::{Intent, Keymap};
use swarmdeck::ui::theme::Theme;
use swarmdeck::ui::triage::Triage;
use swarmdeck::ui::view::{Screen, View};
use swarmdeck::ui::{Activity, Health, Screenful, StoreTrouble, Tone, render};

const NOW: i64 = 1_795_440_000; // 2026-11-22 13:20 UTC, a fixed "now"

fn ts(mins_ago: i64) -> String {
    format!("{}.000100", NOW - mins_ago * 60)
}

fn request(channel: &str, mins_ago: i64, case: u32, urgency: &str, subject: &str) -> Value {
    let field = |l: &str, v: &str| json!({"type": "mrkdwn", "text": format!("*{l}:*\n{v}")});
    json!({"type": "message", "subtype": "bot_message", "bot_id": "B0WORKFLOW", "channel": channel,
           "ts": ts(mins_ago), "text": format!("New swarm request {case}"),
           "blocks": [{"type": "section", "fields": [field("Case number", &case.to_string()), field("Urgency", urgency)]},
                      {"type": "section", "text": {"type": "mrkdwn", "text": format!("*Subject:*\n{subject}")}},
                      {"type": "section", "fields": [field("Case link", &format!("<https://support.acme.example/cases/{case}|Case {case}>")),
                                                     field("Requested by", "<@U0REQ00001>")]}]})
}

fn reply(channel: &str, root_mins_ago: i64, mins_ago: i64, user: &str, text: &str) -> Value {
    json!({"type": "message", "channel": channel, "user": user, "ts": ts(mins_ago),
           "thread_ts": ts(root_mins_ago), "text": text})
}

fn marker(
    channel: &str,
    root_mins_ago: i64,
    mins_ago: i64,
    event_type: &str,
    payload: Value,
) -> Value {
    json!({"type": "message", "channel": channel, "user": "U0SWARMBOT", "bot_id": "B0SWARMBOT",
           "ts": ts(mins_ago), "thread_ts": ts(root_mins_ago), "text": "swarmdeck",
           "metadata": {"event_type": event_type, "event_payload": payload}})
}

fn desk_with(events: Vec<Value>) -> Desk {
    desk_of(
        vec![
            Pod::discovered("C0SWARMAPI", "swarm-api"),
            Pod::discovered("C0SWARMBIL", "swarm-billing"),
            Pod::discovered("C0SWARMMOB", "swarm-mobile"),
        ],
        events,
    )
}

fn desk_of(pods: Vec<Pod>, events: Vec<Value>) -> Desk {
    let mut desk = Desk::new(DeskConfig::default(), pods);
    for (user, name) in [
        ("U0REQ00001", "ben.agent"),
        ("U0EXP00001", "priya.raman"),
        ("U0EXP00002", "tomás.ek"),
        ("U0EXP00003", "李小龍"),
        ("U0LEAD0001", "dana.lead"),
    ] {
        desk.apply(
            Input::UserNamed {
                user: user.into(),
                name: name.into(),
            },
            Ts::from_secs(NOW),
        );
    }
    feed(&mut desk, events);
    desk
}

/// Events through the same translation as live ones, then the clocks ticked to now.
fn feed(desk: &mut Desk, events: Vec<Value>) {
    let t = Translator::from_ids("U0SWARMBOT", Some("B0SWARMBOT"));
    for e in events {
        let event: Event = serde_json::from_value(e).unwrap();
        for input in t.translate(&event) {
            desk.apply(input, Ts::from_secs(NOW));
        }
    }
    desk.tick(Ts::from_secs(NOW));
}

fn busy_desk() -> Desk {
    desk_with(busy_events())
}

fn busy_events() -> Vec<Value> {
    let api = "C0SWARMAPI";
    let bil = "C0SWARMBIL";
    let mob = "C0SWARMMOB";
    vec![
        request(
            api,
            11,
            27343,
            "Sev 1",
            "Webhooks delayed by 20+ minutes for every EU tenant since the 14:00 deploy, customers escalating through their account managers",
        ),
        marker(
            api,
            11,
            8,
            "swarmdeck_assigned",
            json!({"expert": "U0EXP00001", "lead": "U0LEAD0001"}),
        ),
        reply(
            api,
            11,
            6,
            "U0EXP00001",
            "Looking now: <https://status.acme.example|status page> is green. cc <@U0EXP00002>",
        ),
        request(
            bil,
            190,
            27344,
            "Sev 3",
            "Refund stuck in pending 🔥🔥 for 9 days 💸",
        ),
        reply(bil, 190, 160, "U0EXP00002", "Can you share the refund ID?"),
        reply(
            bil,
            190,
            20,
            "U0REQ00001",
            "Customer sent it, attached to the case.",
        ),
        request(
            mob,
            125,
            27345,
            "P1",
            "שגיאה בהתחברות — iOS app crashes on launch",
        ),
        marker(
            mob,
            125,
            120,
            "swarmdeck_assigned",
            json!({"expert": "U0EXP00003", "lead": "U0LEAD0001"}),
        ),
        json!({"type": "message", "channel": "C0INC0001", "user": "U0EXP00003", "ts": ts(100),
               "text": "Crash is in the keychain migration; rolling back 8.4.1.\u{1b}]52;c;cHduZWQ=\u{7}"}),
        json!({"type": "message", "channel": "C0INC0001", "user": "U0LEAD0001", "ts": ts(95),
               "text": "Thanks, status page updated."}),
        marker(
            mob,
            125,
            110,
            "swarmdeck_promoted",
            json!({"incident_channel": "support-mobile-sev1-27345", "incident_channel_id": "C0INC0001", "lead": "U0LEAD0001"}),
        ),
        reply(
            mob,
            125,
            100,
            "U0EXP00003",
            "Hotfix in review.\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}[10;10H moved?",
        ),
        request(
            api,
            52,
            27346,
            "High",
            "OAuth token refresh returns invalid_grant",
        ),
        request(
            bil,
            300,
            27347,
            "Low",
            "Invoice PDF shows the wrong VAT rate (日本語の請求書)",
        ),
        reply(bil, 300, 240, "U0EXP00002", "Asked for the invoice number."),
        marker(bil, 300, 239, "swarmdeck_waiting", json!({"waiting": true})),
        request(api, 400, 27348, "Sev 4", "Resolved earlier"),
        reply(api, 400, 380, "U0EXP00001", "Fixed."),
        marker(
            api,
            400,
            379,
            "swarmdeck_resolved",
            json!({"resolution": "cache purge"}),
        ),
    ]
}

fn draw(desk: &Desk, view: &View, w: u16, h: u16, color: bool) -> Terminal<TestBackend> {
    draw_with(desk, view, w, h, color, &HashSet::new(), None)
}

/// Resolved swarms as the store's search would find them.
fn similar() -> Vec<Similar> {
    vec![
        Similar {
            swarm: SwarmId::new("C0SWARMMOB", Ts(1)),
            case: "26012".into(),
            pod: "mobile".into(),
            subject: "iOS crash on launch".into(),
            resolution: "Rolled back the keychain migration".into(),
            link: "https://acme.slack.com/archives/C0SWARMMOB/p1".into(),
        },
        Similar {
            swarm: SwarmId::new("C0SWARMMOB", Ts(2)),
            case: "25877".into(),
            pod: "mobile".into(),
            subject: "App crashes after update".into(),
            resolution: String::new(),
            link: "https://acme.slack.com/archives/C0SWARMMOB/p2".into(),
        },
    ]
}

fn draw_with(
    desk: &Desk,
    view: &View,
    w: u16,
    h: u16,
    color: bool,
    pending: &HashSet<SwarmId>,
    activity: Option<&Activity>,
) -> Terminal<TestBackend> {
    let health = Health {
        connected: 2,
        wanted: 2,
        reconnect_in: None,
        reconnects: 3,
        problem: None,
        last_event_age: Some(4),
        split: None,
        bus_down: false,
        store: None,
    };
    draw_in(desk, view, (w, h), color, pending, activity, &health)
}

fn draw_in(
    desk: &Desk,
    view: &View,
    (w, h): (u16, u16),
    color: bool,
    pending: &HashSet<SwarmId>,
    activity: Option<&Activity>,
    health: &Health,
) -> Terminal<TestBackend> {
    let similar = if view.screen == Screen::List {
        Vec::new()
    } else {
        similar()
    };
    let similar = similar.as_slice();
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    let keymap = Keymap::default();
    let theme = Theme::new(color);
    let attention = HashSet::from([SwarmId::new("C0SWARMAPI", Ts::parse(&ts(11)).unwrap())]);
    let rows = view.rows(desk, Ts::from_secs(NOW));
    let screen = Screenful {
        desk,
        rows: &rows,
        health,
        workspace: "Acme Support",
        now: Ts::from_secs(NOW),
        today: Ts::from_secs(NOW - NOW % 86_400),
        utc_offset: FixedOffset::east_opt(0).unwrap(),
        keymap: &keymap,
        theme: &theme,
        attention: &attention,
        notice: None,
        pending,
        activity,
        similar,
    };
    terminal
        .draw(|f| {
            render(&screen, view, f);
        })
        .unwrap();
    assert_clean(terminal.backend());
    terminal
}

/// No cell holds a control or format character: nothing from Slack can act on the
/// terminal or reorder what the lead reads.
fn assert_clean(backend: &TestBackend) {
    for cell in backend.buffer().content() {
        assert!(
            !cell
                .symbol()
                .chars()
                .any(|c| c.is_control() || swarmdeck::domain::text::is_invisible_format(c)),
            "a control or format character reached a cell: {:?}",
            cell.symbol()
        );
    }
}

fn view_after(desk: &Desk, intents: &[Intent]) -> View {
    let mut view = View::default();
    let pods: Vec<String> = desk.pods().map(|p| p.channel.clone()).collect();
    for i in intents {
        let rows = view.rows(desk, Ts::from_secs(NOW));
        view.reconcile(&rows);
        view.apply(*i, &rows, &pods);
    }
    let rows = view.rows(desk, Ts::from_secs(NOW));
    view.reconcile(&rows);
    view
}

macro_rules! snapshot_both_sizes {
    ($name:literal, $desk:expr, $view:expr) => {
        for (w, h) in [(80u16, 24u16), (160, 48)] {
            let terminal = draw(&$desk, &$view, w, h, true);
            insta::assert_snapshot!(format!("{}_{w}x{h}", $name), terminal.backend());
        }
    };
}

#[test]
fn the_list_view() {
    snapshot_both_sizes!("list", busy_desk(), view_after(&busy_desk(), &[]));
}

/// The header's first line as drawn, `w` cells wide.
fn top_line(terminal: &Terminal<TestBackend>, w: u16) -> String {
    (0..w)
        .map(|x| terminal.backend().buffer()[(x, 0)].symbol().to_string())
        .collect()
}

/// Other consumers on the app: the header says the stream is split and where the fix
/// is, in words, in an 80-column terminal as in a wide one.
#[test]
fn a_split_stream_is_said_in_the_header() {
    let desk = busy_desk();
    let view = view_after(&desk, &[]);
    let health = Health {
        connected: 2,
        wanted: 2,
        last_event_age: Some(4),
        split: Some(2),
        ..Health::default()
    };
    for (w, h) in [(80, 12), (140, 12)] {
        let terminal = draw_in(&desk, &view, (w, h), false, &HashSet::new(), None, &health);
        let top = top_line(&terminal, w);
        assert!(top.contains("2 other connections"), "{w} columns: {top}");
        insta::assert_snapshot!(format!("split_{w}"), terminal.backend());
    }
}

/// The store cannot write: the header says so with the file, and that moves are held
/// (the move waiting shows it too), in an 80-column terminal (where a healthy connection
/// gives it its room) as in a wide one.
#[test]
fn a_full_disk_is_said_in_the_header_and_the_move_waits() {
    let desk = busy_desk();
    let view = view_after(&desk, &[]);
    let health = Health {
        connected: 2,
        wanted: 2,
        last_event_age: Some(4),
        store: Some(StoreTrouble {
            what: "disk full".into(),
            path: "~/.local/share/swarmdeck/swarmdeck.db".into(),
        }),
        ..Health::default()
    };
    let pending = HashSet::from([key_of(&desk, "27343")]);
    let activity = Activity {
        text: "⋯ 27343 waiting on customer: held until the store can write".into(),
        tone: Tone::Pending,
    };
    for (w, h) in [(80, 12), (140, 12)] {
        let terminal = draw_in(
            &desk,
            &view,
            (w, h),
            false,
            &pending,
            Some(&activity),
            &health,
        );
        let top = top_line(&terminal, w);
        assert!(
            top.contains("✗ store: disk full (") && top.contains("swarmdeck.db) — moves are held"),
            "{w} columns: {top}"
        );
        if w >= 120 {
            assert!(
                top.contains("connected"),
                "the connection still shows: {top}"
            );
        }
        insta::assert_snapshot!(format!("store_full_{w}"), terminal.backend());
    }
}

#[test]
fn the_detail_view_of_a_promoted_swarm_with_an_escape_laden_reply() {
    let desk = busy_desk();
    let mut view = view_after(&desk, &[]);
    let rows = view.rows(&desk, Ts::from_secs(NOW));
    let i = rows.iter().position(|r| r.swarm.case() == "27345").unwrap();
    view.selected = Some(rows[i].key());
    view.screen = Screen::Detail;
    snapshot_both_sizes!("detail", desk, view);
}

/// The busy desk and the week before it (times UTC, the lead's zone in these tests;
/// now is 13:20): some swarms resolved the day they opened, one across midnight, one
/// that waited on the customer overnight, one still open.
fn busy_week() -> Desk {
    const DAY: i64 = 1_440;
    let (api, bil, mob) = ("C0SWARMAPI", "C0SWARMBIL", "C0SWARMMOB");
    let resolved = |channel, root, at| {
        marker(
            channel,
            root,
            at,
            "swarmdeck_resolved",
            json!({"resolution": "fixed"}),
        )
    };
    let waiting = |channel, root, at, on: bool| {
        marker(
            channel,
            root,
            at,
            "swarmdeck_waiting",
            json!({"waiting": on}),
        )
    };
    // Yesterday 10:00: answered in 12 min, resolved in 3 h.
    let a = DAY + 200;
    // Two days ago 22:30: resolved at 02:00, the next day.
    let b = 2 * DAY - 550;
    // Three days ago 09:00: waiting on the customer from +1 h to +20 h, resolved at +26 h.
    let c = 3 * DAY + 260;
    // Five days ago 11:00: resolved in 50 min.
    let d = 5 * DAY + 140;
    // Four days ago 15:00: answered after 90 min, still open.
    let e = 4 * DAY - 100;
    // Six days ago 08:00 and 14:00: both resolved the same day.
    let (f, g) = (6 * DAY + 320, 6 * DAY - 40);
    let mut desk = busy_desk();
    feed(
        &mut desk,
        vec![
            request(api, a, 27301, "Sev 2", "Rate limits hit at 10% of quota"),
            reply(api, a, a - 12, "U0EXP00001", "Quota cache was stale."),
            resolved(api, a, a - 180),
            request(api, b, 27302, "Sev 1", "Checkout API 502s in ap-south"),
            reply(api, b, b - 25, "U0EXP00002", "Paging the edge team."),
            resolved(api, b, b - 210),
            request(bil, c, 27303, "Sev 3", "Duplicate charge on annual plan"),
            reply(bil, c, c - 40, "U0EXP00002", "Which invoice?"),
            waiting(bil, c, c - 60, true),
            waiting(bil, c, c - 1_200, false),
            resolved(bil, c, c - 1_560),
            request(bil, d, 27304, "Sev 4", "Receipt language"),
            reply(bil, d, d - 8, "U0EXP00002", "Locale fixed."),
            resolved(bil, d, d - 50),
            request(
                mob,
                e,
                27305,
                "Sev 2",
                "Push notifications late on Android 15",
            ),
            reply(mob, e, e - 90, "U0EXP00003", "Reproduced on a Pixel 9."),
            request(mob, f, 27306, "Sev 3", "Dark mode unreadable in settings"),
            reply(mob, f, f - 5, "U0EXP00003", "Known, patch in 8.4.2."),
            resolved(mob, f, f - 240),
            request(api, g, 27307, "Sev 4", "Docs example uses the old endpoint"),
            reply(api, g, g - 3, "U0EXP00001", "Updated the docs."),
            resolved(api, g, g - 60),
        ],
    );
    desk
}

#[test]
fn the_metrics_view() {
    let desk = busy_week();
    snapshot_both_sizes!("metrics", desk, view_after(&desk, &[Intent::Metrics]));
}

#[test]
fn the_help_overlay() {
    let desk = busy_desk();
    snapshot_both_sizes!("help", desk, view_after(&desk, &[Intent::Help]));
}

/// Help at 80×24 does not fit: a page down shows what follows, and where it is.
#[test]
fn the_help_overlay_scrolled() {
    let desk = busy_desk();
    let view = view_after(&desk, &[Intent::Help, Intent::PageDown, Intent::Down]);
    assert_eq!(
        view.help_scroll, 11,
        "a page (10, from the last draw) and a line"
    );
    let terminal = draw(&desk, &view, 80, 24, true);
    insta::assert_snapshot!("help_80x24_scrolled", terminal.backend());
}

#[test]
fn one_pod_filtered_and_sorted() {
    let desk = busy_desk();
    let mut view = view_after(&desk, &[Intent::Pod(2), Intent::Sort]);
    assert_eq!(view.pod.as_deref(), Some("C0SWARMBIL"));
    view.filter = "refund".into();
    snapshot_both_sizes!("billing_filtered", desk, view);
}

#[test]
fn an_empty_workspace() {
    let desk = desk_with(vec![]);
    snapshot_both_sizes!("empty", desk, View::default());
    snapshot_both_sizes!("empty_metrics", desk, view_after(&desk, &[Intent::Metrics]));
}

#[test]
fn no_color_still_shows_state() {
    let desk = busy_desk();
    let terminal = draw(&desk, &View::default(), 80, 24, false);
    let colored = terminal
        .backend()
        .buffer()
        .content()
        .iter()
        .filter(|c| c.fg != ratatui::style::Color::Reset || c.bg != ratatui::style::Color::Reset)
        .count();
    assert_eq!(colored, 0, "NO_COLOR: no colours at all");
    insta::assert_snapshot!("list_no_color_80x24", terminal.backend());
}

#[test]
fn the_selection_stays_on_its_swarm_as_rows_re_sort() {
    let desk = busy_desk();
    let mut view = view_after(&desk, &[Intent::Bottom]);
    let chosen = view.selected.clone().unwrap();
    let before = view.selected_index;
    // A new Sev1 arrives and sorts ahead of the selected swarm.
    let mut desk = desk;
    let t = Translator::from_ids("U0SWARMBOT", Some("B0SWARMBOT"));
    let event: Event =
        serde_json::from_value(request("C0SWARMAPI", 0, 27999, "Sev 1", "new and urgent")).unwrap();
    for input in t.translate(&event) {
        desk.apply(input, Ts::from_secs(NOW));
    }
    let rows = view.rows(&desk, Ts::from_secs(NOW));
    view.reconcile(&rows);
    assert_eq!(
        view.selected.as_ref(),
        Some(&chosen),
        "the selection stays on its swarm"
    );
    assert_eq!(view.selected_index, before + 1, "which moved down a row");
}

#[test]
fn until_the_lead_moves_the_top_row_is_selected_as_the_backlog_arrives() {
    let desk = busy_desk();
    let mut view = View::default();
    let rows = view.rows(&desk, Ts::from_secs(NOW));
    view.reconcile(&rows);
    let first = view.selected.clone().unwrap();
    // Support answers the top swarm (it needed a response): it drops down the table.
    let mut desk = desk;
    let t = Translator::from_ids("U0SWARMBOT", Some("B0SWARMBOT"));
    let event: Event =
        serde_json::from_value(reply("C0SWARMBIL", 190, 0, "U0EXP00002", "on it")).unwrap();
    for input in t.translate(&event) {
        desk.apply(input, Ts::from_secs(NOW));
    }
    let rows = view.rows(&desk, Ts::from_secs(NOW));
    view.reconcile(&rows);
    assert_eq!(view.selected_index, 0);
    assert_eq!(view.selected.as_ref(), Some(&rows[0].key()));
    assert_ne!(
        rows[0].key(),
        first,
        "the top row changed, and the selection with it"
    );
}

fn key_of(desk: &Desk, case: &str) -> SwarmId {
    desk.swarms().find(|s| s.case() == case).unwrap().id()
}

/// The busy desk, with the api pod's experts known (as the group loader tells the desk).
fn desk_with_experts() -> Desk {
    let mut desk = busy_desk();
    for (user, name, skills, active) in [
        ("U0EXP00001", "priya.raman", vec!["api", "auth"], Some(true)),
        (
            "U0EXP00002",
            "tomás.ek",
            vec!["api", "webhooks"],
            Some(false),
        ),
        ("U0EXP00003", "李小龍", vec!["mobile"], None),
        ("U0EXP00004", "grace.hall", vec!["billing"], Some(true)),
    ] {
        desk.apply(
            Input::Expert {
                user: user.into(),
                name: name.into(),
                skills: skills.into_iter().map(String::from).collect(),
            },
            Ts::from_secs(NOW),
        );
        if let Some(active) = active {
            desk.apply(
                Input::Presence {
                    user: user.into(),
                    active,
                },
                Ts::from_secs(NOW),
            );
        }
    }
    desk
}

#[test]
fn the_assign_picker_ranks_by_skill_presence_and_load() {
    let desk = desk_with_experts();
    let mut view = view_after(&desk, &[]);
    view.dialog = Some(Dialog::Pick(Picker {
        swarm: key_of(&desk, "27346"),
        unassign: false,
        query: String::new(),
        selected: 0,
    }));
    snapshot_both_sizes!("assign_picker", desk, view);
}

#[test]
fn the_promote_dialog_shows_severity_name_and_access() {
    let desk = busy_desk();
    let view = promoting(&desk, "27343");
    snapshot_both_sizes!("promote_dialog", desk, view);
}

/// The table with the promote dialog open on `case`, as `p` opens it.
fn promoting(desk: &Desk, case: &str) -> View {
    let key = key_of(desk, case);
    let swarm = desk.by_id(&key).unwrap();
    let mut view = view_after(desk, &[]);
    view.dialog = Some(Dialog::Promote(PromoteForm {
        promotion: Promotion::proposed(desk, swarm),
        swarm: key,
        name_edited: false,
    }));
    view
}

#[test]
fn the_resolve_prompt_offers_to_archive_the_incident_channel() {
    let desk = busy_desk();
    let mut view = view_after(&desk, &[]);
    view.dialog = Some(Dialog::Ask(Prompt {
        swarm: Some(key_of(&desk, "27345")),
        asks: Asks::Resolution {
            incident: Some("support-mobile-sev1-27345".into()),
            archive: Some(true),
        },
        input: "Rolled back 8.4.1".into(),
        suggested: false,
        error: None,
    }));
    snapshot_both_sizes!("resolve_prompt", desk, view);
}

#[test]
fn triage_walks_the_queue_with_suggestions() {
    let desk = desk_with_experts();
    let mut view = view_after(&desk, &[]);
    let mut triage = Triage::start(&desk, Ts::from_secs(NOW));
    assert_eq!(triage.left(), triage.total());
    let first = triage.current(&desk).unwrap();
    assert_eq!(
        desk.by_id(&first).unwrap().case(),
        "27344",
        "the requester answered and a response is owed: first (needs response leads the attention order)"
    );
    view.triage = Some(triage);
    view.screen = Screen::Triage;
    snapshot_both_sizes!("triage", desk, view);
    let mut triage = view.triage.take().unwrap();
    while triage.current(&desk).is_some() {
        triage.next();
    }
    view.triage = Some(triage);
    snapshot_both_sizes!("triage_done", desk, view);
}

#[test]
fn a_pending_move_shows_on_its_row_and_in_the_header() {
    let desk = busy_desk();
    let view = view_after(&desk, &[]);
    let pending = HashSet::from([key_of(&desk, "27343")]);
    let activity = Activity {
        text: "⋯ promote 27343 to #support-api-sev1-27343: conversations.create: ratelimited, retrying in 2s".into(),
        tone: Tone::Pending,
    };
    for (w, h) in [(80u16, 24u16), (160, 48)] {
        let terminal = draw_with(&desk, &view, w, h, true, &pending, Some(&activity));
        insta::assert_snapshot!(format!("pending_{w}x{h}"), terminal.backend());
    }
}

/// Experts answering from Slack, on the rows: asked (and overdue), declined with its
/// reason, quiet past `quiet_after`; and the header counts the quiet.
#[test]
fn experts_asked_declined_and_quiet_show_on_their_rows() {
    let api = "C0SWARMAPI";
    let asked = |root: i64, at: i64, ask: &str| {
        marker(
            api,
            root,
            at,
            "swarmdeck_asked",
            json!({"case": "x", "lead": "U0LEAD0001", "expert": "U0EXP00001", "ask": ask}),
        )
    };
    let desk = desk_with(vec![
        request(api, 3, 28001, "Sev 2", "Asked a minute ago"),
        asked(3, 1, "ask-1"),
        request(api, 40, 28002, "Sev 2", "Asked long ago, no answer"),
        asked(40, 30, "ask-2"),
        request(api, 20, 28003, "Sev 2", "Declined"),
        asked(20, 19, "ask-3"),
        marker(
            api,
            20,
            18,
            "swarmdeck_declined",
            json!({"case": "x", "expert": "U0EXP00001", "ask": "ask-3", "reason": "busy"}),
        ),
        request(api, 90, 28004, "Sev 2", "Assigned and silent"),
        marker(
            api,
            90,
            80,
            "swarmdeck_assigned",
            json!({"case": "x", "expert": "U0EXP00002"}),
        ),
    ]);
    let view = view_after(&desk, &[]);
    for (w, h) in [(80u16, 12u16), (160, 12)] {
        let terminal = draw(&desk, &view, w, h, true);
        let text = screen_text(&terminal);
        for said in ["asked", "no answer", "declined", "quiet", "1 quiet"] {
            assert!(text.contains(said), "{said} at {w} columns:\n{text}");
        }
        insta::assert_snapshot!(format!("experts_answering_{w}"), terminal.backend());
    }
}

#[test]
fn search_results_show_how_similar_swarms_were_resolved() {
    let desk = busy_desk();
    let mut view = view_after(&desk, &[]);
    view.dialog = Some(Dialog::Found(Found {
        query: "ios crash".into(),
        matches: similar(),
        selected: 1,
    }));
    snapshot_both_sizes!("search_results", desk, view);
}

/// Every hostile form Slack text can take — OSC (title, clipboard, hyperlink), CSI (clear,
/// cursor, colours), C0 and C1 controls, bidi overrides, zero-width and tag characters —
/// in subjects, replies, names, channel names and an incident channel: every view draws
/// the words and none of the rest.
#[test]
fn hostile_slack_text_never_reaches_a_cell_raw() {
    let nasty = |word: &str| {
        format!(
            "{word}\u{1b}]0;title\u{7}\u{1b}]52;c;cHduZWQ=\u{1b}\\\u{1b}]8;;https://evil.example\u{1b}\\here\u{1b}]8;;\u{1b}\\\u{1b}[2J\u{1b}[H\u{1b}[5;5H\u{1b}[31mred\u{1b}[0m\u{7}\u{8}\r\u{85}\u{9b}6n\u{202e}desrever\u{202c}\u{200b}\u{e0041}end"
        )
    };
    let api = "C0SWARMAPI";
    let mut desk = desk_with(vec![
        request(api, 30, 29001, "Sev 1", &nasty("Subject")),
        reply(api, 30, 20, "U0EVIL0001", &nasty("Reply")),
        marker(
            api,
            30,
            19,
            "swarmdeck_promoted",
            json!({"incident_channel": nasty("incident"), "incident_channel_id": "C0EVIL001"}),
        ),
        json!({"type": "message", "channel": "C0EVIL001", "user": "U0EVIL0001", "ts": ts(18), "text": nasty("Log")}),
        json!({"type": "channel_rename", "channel": {"id": "C0EVIL001", "name": nasty("chan")}}),
    ]);
    let evil: swarmdeck::slack::wire::User = serde_json::from_value(json!({
        "id": "U0EVIL0001", "name": "evil", "profile": {"display_name": nasty("Mallory")}
    }))
    .unwrap();
    desk.apply(
        Input::UserNamed {
            user: evil.id.clone(),
            name: swarmdeck::slack::translate::display_name(&evil),
        },
        Ts::from_secs(NOW),
    );
    let (id, name) = swarmdeck::slack::translate::channel_name("C0EVIL002", &nasty("pod"));
    desk.apply(Input::ChannelNamed { id, name }, Ts::from_secs(NOW));
    desk.apply(
        Input::Expert {
            user: "U0EVIL0001".into(),
            name: "ignored".into(),
            skills: vec!["api".into()],
        },
        Ts::from_secs(NOW),
    );
    let key = key_of(&desk, "29001");
    let mut views = vec![view_after(&desk, &[]), view_after(&desk, &[Intent::Help])];
    let mut detail = view_after(&desk, &[]);
    detail.selected = Some(key.clone());
    detail.screen = Screen::Detail;
    views.push(detail);
    let mut triage = view_after(&desk, &[]);
    triage.triage = Some(Triage::start(&desk, Ts::from_secs(NOW)));
    triage.screen = Screen::Triage;
    views.push(triage);
    let mut picker = view_after(&desk, &[]);
    picker.dialog = Some(Dialog::Pick(Picker {
        swarm: key,
        unassign: false,
        query: String::new(),
        selected: 0,
    }));
    views.push(picker);
    for view in &views {
        for (w, h) in [(80u16, 24u16), (160, 48)] {
            // draw() asserts every cell clean.
            let terminal = draw(&desk, view, w, h, true);
            let text: String = terminal
                .backend()
                .buffer()
                .content()
                .iter()
                .map(|c| c.symbol())
                .collect();
            assert!(
                !text.contains("title") && !text.contains("evil.example"),
                "{text}"
            );
        }
    }
    let mut detail = view_after(&desk, &[]);
    detail.selected = Some(key_of(&desk, "29001"));
    detail.screen = Screen::Detail;
    let terminal = draw(&desk, &detail, 160, 48, true);
    let text: String = terminal
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    for word in ["Subject", "Reply", "Log", "Mallory", "desrever"] {
        assert!(text.contains(word), "{word} is shown: {text}");
    }
}

/// The busy desk's swarms in five pods: more than an 80-column header can name.
fn five_pod_desk() -> Desk {
    let mut pods: Vec<Pod> = busy_desk().pods().cloned().collect();
    pods.push(Pod::discovered("C0SWARMSEA", "swarm-search"));
    pods.push(Pod::discovered("C0SWARMIDN", "swarm-identity"));
    desk_of(pods, busy_events())
}

/// The screen as the lead reads it, a line per row: a wide character once, without the
/// cell it covers.
fn screen_text(terminal: &Terminal<TestBackend>) -> String {
    let buffer = terminal.backend().buffer();
    let mut text = String::new();
    for y in 0..buffer.area.height {
        let mut x = 0;
        while x < buffer.area.width {
            let symbol = buffer[(x, y)].symbol();
            text.push_str(symbol);
            x += unicode_width::UnicodeWidthStr::width(symbol).max(1) as u16;
        }
        text.push('\n');
    }
    text
}

/// The bottom line as drawn.
fn bottom_line(terminal: &Terminal<TestBackend>, w: u16, h: u16) -> String {
    (0..w)
        .map(|x| terminal.backend().buffer()[(x, h - 1)].symbol().to_string())
        .collect()
}

/// The header names the pods with their number keys, and a narrower one says less
/// rather than cut a name: short names, then the count (with the pod shown).
#[test]
fn the_header_names_numbered_pods_and_degrades_whole() {
    let desk = five_pod_desk();
    let all = view_after(&desk, &[]);
    for w in [80u16, 200] {
        let terminal = draw(&desk, &all, w, 8, false);
        let top = top_line(&terminal, w);
        assert!(!top.contains('…'), "{w} columns, nothing cut: {top}");
        insta::assert_snapshot!(format!("header_{w}"), terminal.backend());
    }
    let wide = top_line(&draw(&desk, &all, 200, 8, false), 200);
    assert!(
        wide.contains("1 api 2 billing 3 identity 4 mobile 5 search"),
        "{wide}"
    );
    // At 80 a fresh event's age gives its room to the pods: five by their short names,
    // three by their whole names; narrower, the count.
    let narrow = top_line(&draw(&desk, &all, 80, 8, false), 80);
    assert!(
        narrow.contains("1 api 2 bil 3 ide 4 mob 5 sea "),
        "{narrow}"
    );
    let three = top_line(&draw(&busy_desk(), &all, 80, 8, false), 80);
    assert!(three.contains("1 api 2 billing 3 mobile "), "{three}");
    let narrower = top_line(&draw(&desk, &all, 64, 8, false), 64);
    assert!(narrower.contains("· 5 pods"), "{narrower}");
    let billing = view_after(&desk, &[Intent::Pod(2)]);
    let narrower = top_line(&draw(&desk, &billing, 64, 8, false), 64);
    assert!(narrower.contains("2 billing · 5 pods"), "{narrower}");
}

/// The footer at 120 columns: whole hints only, help and quit always last.
#[test]
fn the_footer_drops_whole_hints_and_keeps_help_and_quit() {
    let desk = busy_desk();
    for (w, view) in [
        (120u16, view_after(&desk, &[])),
        (80, view_after(&desk, &[])),
        (60, view_after(&desk, &[])),
        (80, view_after(&desk, &[Intent::Open])),
    ] {
        let terminal = draw(&desk, &view, w, 8, false);
        let footer = bottom_line(&terminal, w, 8);
        assert!(
            footer.trim_end().ends_with("? help · q quit") && !footer.contains('…'),
            "{w} columns: {footer}"
        );
        if w == 120 && view.screen == Screen::List {
            assert!(footer.contains("a assign"), "room for moves: {footer}");
            insta::assert_snapshot!("footer_120", terminal.backend());
        }
    }
}

/// Shift-Tab goes back through the pods as Tab goes forward, through "all".
#[test]
fn shift_tab_shows_the_previous_pod() {
    let desk = busy_desk();
    let pod = |intents: &[Intent]| view_after(&desk, intents).pod;
    assert_eq!(pod(&[Intent::PrevPod]).as_deref(), Some("C0SWARMMOB"));
    assert_eq!(
        pod(&[Intent::PrevPod, Intent::PrevPod]).as_deref(),
        Some("C0SWARMBIL")
    );
    assert_eq!(pod(&[Intent::Pod(1), Intent::PrevPod]), None);
    assert_eq!(
        pod(&[Intent::NextPod, Intent::NextPod, Intent::PrevPod]).as_deref(),
        Some("C0SWARMAPI")
    );
}

/// Spare width goes to the subject, then the experts, then the status; the reply count
/// is never cut.
#[test]
fn wide_tables_give_spare_width_by_priority() {
    let mut events = busy_events();
    for i in 0..3 {
        events.push(marker(
            "C0SWARMAPI",
            11,
            7 - i,
            "swarmdeck_assigned",
            json!({"expert": format!("U0EXP0000{}", i + 1), "lead": "U0LEAD0001"}),
        ));
    }
    // A thread 12,345 replies long: five digits.
    let root = ts(52);
    for i in 0..12_345 {
        events.push(json!({"type": "message", "channel": "C0SWARMAPI", "user": "U0EXP00002",
                           "ts": format!("{}.{i:06}", NOW - 50 * 60), "thread_ts": root, "text": "+1"}));
    }
    let desk = desk_with(events);
    let view = view_after(&desk, &[]);
    let text = |w: u16| screen_text(&draw(&desk, &view, w, 12, false));
    let wide = text(200);
    assert!(wide.contains("priya.raman, tomás.ek, 李小龍"), "{wide}");
    assert!(wide.contains("#support-mobile-sev1-27345"), "{wide}");
    assert!(wide.contains(" 12345 "), "{wide}");
    let narrow = text(80);
    assert!(narrow.contains(" 12345 "), "{narrow}");
}

/// The busy desk with stakeholders configured: the api pod invites legal and comms on a
/// Sev1 (Slack has said who is in them), and the mobile pod's Sev1 stakeholders hear
/// every 30 minutes (its promoted 27345 has had no update yet).
fn stakeholder_desk() -> Desk {
    let mut api = Pod::discovered("C0SWARMAPI", "swarm-api");
    api.invite_groups[0] = vec!["legal".into(), "comms".into()];
    let mut mobile = Pod::discovered("C0SWARMMOB", "swarm-mobile");
    mobile.sla.update_every[0] = Some(30 * 60);
    let mut desk = desk_of(
        vec![api, Pod::discovered("C0SWARMBIL", "swarm-billing"), mobile],
        busy_events(),
    );
    for (handle, members) in [
        ("legal", vec!["U1", "U2", "U3"]),
        ("comms", vec!["U3", "U4"]),
    ] {
        desk.apply(
            Input::Group {
                handle: handle.into(),
                members: members.into_iter().map(String::from).collect(),
            },
            Ts::from_secs(NOW),
        );
    }
    desk
}

#[test]
fn stakeholders_previewed_on_promotion_and_an_update_due_on_the_row() {
    let desk = stakeholder_desk();
    let view = promoting(&desk, "27343");
    snapshot_both_sizes!("promote_dialog_stakeholders", desk, view);
    let view = view_after(&desk, &[]);
    let screen = screen_text(&draw(&desk, &view, 160, 48, false));
    let row = screen
        .lines()
        .find(|l| l.contains("27345"))
        .unwrap_or_default();
    assert!(row.contains("update due"), "{screen}");
}

#[test]
fn the_update_composer_shows_the_parts_typed_and_suggests_the_next_update() {
    let desk = stakeholder_desk();
    let mut view = view_after(&desk, &[]);
    view.dialog = Some(Dialog::Ask(Prompt {
        swarm: Some(key_of(&desk, "27345")),
        asks: Asks::Update {
            part: UpdatePart::NextUpdate,
            draft: UpdateText {
                status: "Rolled back 8.4.1; crash rate falling".into(),
                impact: "iOS users on 8.4.1 could not log in".into(),
                next: String::new(),
                suggested_next: "30m".into(),
            },
        },
        input: "30m".into(),
        suggested: true,
        error: None,
    }));
    snapshot_both_sizes!("update_composer", desk, view);
}

/// A likely duplicate: `dup? #27343` in its row's status cell (the original's row and an
/// unrelated request's say nothing of it), and a line in its detail naming the original.
#[test]
fn a_likely_duplicate_shows_on_its_row_and_in_its_detail() {
    let (api, billing) = ("C0SWARMAPI", "C0SWARMBIL");
    let desk = desk_with(vec![
        request(
            billing,
            50,
            27343,
            "Sev 3",
            "Refund stuck in pending for 9 days",
        ),
        request(
            billing,
            40,
            27344,
            "Sev 3",
            "Refund API returns the error 500",
        ),
        request(
            api,
            5,
            27400,
            "Sev 3",
            "Refund still stuck in pending after 9 days",
        ),
    ]);
    let mut view = view_after(&desk, &[]);
    let terminal = draw(&desk, &view, 120, 10, true);
    let text = screen_text(&terminal);
    let row = |case: &str| {
        text.lines()
            .find(|l| l.split_whitespace().take(3).any(|w| w == case))
            .unwrap_or_default()
            .to_string()
    };
    assert!(row("27400").contains("dup? #27343"), "{text}");
    assert!(
        !row("27343").contains("dup?") && !row("27344").contains("dup?"),
        "{text}"
    );
    insta::assert_snapshot!("duplicate_row_120", terminal.backend());
    let rows = view.rows(&desk, Ts::from_secs(NOW));
    let i = rows.iter().position(|r| r.swarm.case() == "27400").unwrap();
    view.selected = Some(rows[i].key());
    view.screen = Screen::Detail;
    let terminal = draw(&desk, &view, 120, 16, true);
    let text = screen_text(&terminal);
    assert!(
        text.contains("likely of #27343 (billing pod, similar subject) · L links them"),
        "{text}"
    );
    insta::assert_snapshot!("duplicate_detail_120", terminal.backend());
}
