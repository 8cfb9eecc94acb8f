//! Business hours and tiers on screen: a closed pod's rows say when their clocks resume
//! (the short form on a narrow terminal), a Sev1 there keeps its countdown, and the
//! detail names the policy a swarm is held to. Drawn with a fixed "now" (a Sunday), so
//! nothing depends on the hour the tests run.

use chrono::FixedOffset;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::collections::{BTreeSet, HashSet};
use swarmdeck::domain::hours::Hours;
use swarmdeck::domain::{Author, Desk, DeskConfig, Input, Msg, Pod, TierTargets, Ts, Urgency};
use swarmdeck::ui::keymap::Keymap;
use swarmdeck::ui::theme::Theme;
use swarmdeck::ui::view::{Screen, View};
use swarmdeck::ui::{Health, Screenful, render};

const NOW: i64 = 1_795_353_600; // Sunday 2026-11-22 13:20 UTC (14:20 in Berlin)
const API: &str = "C0SWARMAPI";
const BIL: &str = "C0SWARMBIL";

fn request(channel: &str, hours_ago: i64, case: &str, urgency: &str, tier: Option<&str>) -> Input {
    let mut blocks = vec![
        format!("*Case number:*\n{case}"),
        format!("*Urgency:*\n{urgency}"),
        "*Subject:*\nNeeds a hand".to_string(),
    ];
    blocks.extend(tier.map(|t| format!("*Plan:*\n{t}")));
    Input::Message(Msg {
        channel: channel.into(),
        ts: Ts::from_secs(NOW - hours_ago * 3600),
        thread_ts: None,
        author: Author::Bot {
            bot_id: Some("B0WORKFLOW".into()),
        },
        text: format!("New swarm request {case}"),
        block_texts: blocks,
        marker: None,
        edited: None,
        reactions: vec![],
        latest_reply: None,
    })
}

/// The api pod keeps Berlin office hours and a premier tier; billing runs 24/7.
fn desk() -> Desk {
    let mut api = Pod::discovered(API, "swarm-api");
    let mut week = [None; 7];
    for day in week.iter_mut().take(5) {
        *day = Some((9 * 60, 17 * 60));
    }
    api.sla.hours = Some(Hours::new(chrono_tz::Europe::Berlin, week, BTreeSet::new()).unwrap());
    let mut premier = TierTargets::default();
    premier.first_response[Urgency::Sev3 as usize] = Some(30 * 60);
    api.sla.tiers.insert("premier".into(), premier);
    let mut desk = Desk::new(
        DeskConfig::default(),
        [api, Pod::discovered(BIL, "swarm-billing")],
    );
    for input in [
        request(API, 20, "27001", "Sev 3", Some("Premier")),
        request(API, 2, "27002", "Sev 1", None),
        request(BIL, 20, "27003", "Sev 3", None),
    ] {
        desk.apply(input, Ts::from_secs(NOW));
    }
    desk.tick(Ts::from_secs(NOW));
    desk
}

fn draw(desk: &Desk, view: &View, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    let keymap = Keymap::default();
    let theme = Theme::new(false);
    let rows = view.rows(desk, Ts::from_secs(NOW));
    let health = Health {
        connected: 1,
        wanted: 1,
        reconnect_in: None,
        reconnects: 0,
        problem: None,
        last_event_age: Some(1),
        split: None,
        bus_down: false,
        store: None,
    };
    let screen = Screenful {
        desk,
        rows: &rows,
        health: &health,
        workspace: "Acme Support",
        now: Ts::from_secs(NOW),
        today: Ts::from_secs(NOW - NOW % 86_400),
        utc_offset: FixedOffset::east_opt(0).unwrap(),
        keymap: &keymap,
        theme: &theme,
        attention: &HashSet::new(),
        notice: None,
        pending: &HashSet::new(),
        activity: None,
        similar: &[],
    };
    terminal
        .draw(|f| {
            render(&screen, view, f);
        })
        .unwrap();
    let buffer = terminal.backend().buffer();
    (0..buffer.area.height)
        .map(|y| {
            (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn row<'a>(screen: &'a str, case: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(case))
        .unwrap_or_else(|| panic!("a row for {case}:\n{screen}"))
}

#[test]
fn a_closed_pods_rows_say_when_their_clocks_resume() {
    let desk = desk();
    let view = View::default();
    let wide = draw(&desk, &view, 160, 12);
    assert!(
        row(&wide, "27001").contains("after hours · resumes Mon 09:00"),
        "{wide}"
    );
    // Sev1 runs around the clock, and billing keeps no hours: neither says it.
    assert!(!row(&wide, "27002").contains("after hours"), "{wide}");
    assert!(!row(&wide, "27003").contains("after hours"), "{wide}");
    let narrow = draw(&desk, &view, 80, 12);
    assert!(row(&narrow, "27001").contains("off → Mon"), "{narrow}");
}

#[test]
fn the_detail_names_the_policy_that_applies() {
    let desk = desk();
    let mut view = View::default();
    let rows = view.rows(&desk, Ts::from_secs(NOW));
    let key = |case: &str| rows.iter().find(|r| r.swarm.case() == case).unwrap().key();
    let (premier, sev1, billing) = (key("27001"), key("27002"), key("27003"));
    view.screen = Screen::Detail;
    view.selected = Some(premier);
    let screen = draw(&desk, &view, 160, 30);
    assert!(
        screen.contains("SLA: premier · sev3 · business hours Europe/Berlin"),
        "{screen}"
    );
    view.selected = Some(sev1);
    let screen = draw(&desk, &view, 160, 30);
    assert!(screen.contains("SLA: default · sev1 · 24/7"), "{screen}");
    // A pod with one policy for all says nothing more than before.
    view.selected = Some(billing);
    let screen = draw(&desk, &view, 160, 30);
    assert!(!screen.contains("SLA:"), "{screen}");
}
