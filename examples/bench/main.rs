//! `cargo run --release --example bench -- [--json]`: swarmdeck's whole path measured
//! beside a floor taken in the same run on the same machine.
//!
//! - ingest over a loopback WebSocket against the floor and the sender, ack latency and
//!   resident memory after 100,000 messages (`ingest.rs`);
//! - event → rendered frame on a paced stream (`ingest.rs`);
//! - one draw of the main view with 10,000 swarms, and the first frame of the real binary
//!   on a store of 10,000 swarms (`start.rs`);
//! - idle CPU of the real binary connected to a quiet workspace (`idle.rs`);
//! - the team bus: fan-out latency to three processes on one app against one process
//!   alone, and a restarted process's catch-up from the stream against Slack's strict
//!   history (`bus.rs`);
//! - a thread of 10,000 replies through `tail`, against the same replies over 100
//!   swarms, and the restart on that store (`thread.rs`).
//!
//! The last line of output is one JSON object (with `--json`, the only line on stdout).

#[path = "../../benches/support/mod.rs"]
mod support;

mod bus;
mod fake_slack;
mod idle;
mod ingest;
mod start;
mod thread;

use serde_json::json;
use start::{SWARMS, round};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--ingest-child") {
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        let unique = args[3].parse().expect("a count");
        runtime.block_on(ingest::child(
            &args[2],
            unique,
            std::path::Path::new(&args[4]),
        ));
        return;
    }
    let json_only = args.iter().any(|a| a == "--json");
    // `--only ingest,frame,render,start,idle,bus,thread`: some of the measurements (the rest null).
    let only: Option<Vec<String>> = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .map(|list| list.split(',').map(str::to_string).collect());
    let wanted = |name: &str| only.as_ref().is_none_or(|o| o.iter().any(|x| x == name));
    let say = |line: String| {
        if !json_only {
            println!("{line}");
        }
    };
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");

    let ingest = if wanted("ingest") {
        runtime.block_on(ingest::measure()).unwrap_or_else(|e| {
            eprintln!("ingest not measured: {e}");
            ingest::Ingest::unmeasured()
        })
    } else {
        ingest::Ingest::unmeasured()
    };
    say(format!(
        "ingest of {} messages: swarmdeck {:.0}/s, floor {:.0}/s (ratio {:.3}), sender {:.0}/s; ack p99 {:.1} ms at 10k/s, {:.1} ms in the flood; \
         resident {:.1} MB at a steady 10k/s, {:.1} MB after the flood (at start {:.1} MB)",
        ingest::MESSAGES,
        ingest.swarmdeck_per_s,
        ingest.floor_per_s,
        ingest.swarmdeck_per_s / ingest.floor_per_s,
        ingest.sender_per_s,
        ingest.ack_p99_ms,
        ingest.ack_p99_flood_ms,
        ingest.rss_mb,
        ingest.rss_flood_mb,
        ingest.rss_floor_mb,
    ));

    let (e2f_p50, e2f_p99) = if wanted("frame") {
        runtime
            .block_on(ingest::event_to_frame())
            .unwrap_or_else(|e| {
                eprintln!("event to frame not measured: {e}");
                (f64::NAN, f64::NAN)
            })
    } else {
        (f64::NAN, f64::NAN)
    };
    say(format!(
        "event → frame at 500 events/s: p50 {e2f_p50:.0} µs, p99 {e2f_p99:.0} µs"
    ));

    let (render, render_floor) = if wanted("render") {
        start::render_medians()
    } else {
        (f64::NAN, f64::NAN)
    };
    say(format!(
        "render, main view 160x48: {SWARMS} swarms {render:.0} µs, empty {render_floor:.0} µs (ratio {:.1})",
        render / render_floor.max(1.0)
    ));

    let (first, first_floor) = if wanted("start") {
        start::first_frames().unwrap_or_else(|e| {
            eprintln!("first frame not measured: {e}");
            (f64::NAN, f64::NAN)
        })
    } else {
        (f64::NAN, f64::NAN)
    };
    say(format!(
        "first frame from process start: {SWARMS} swarms in the store {first:.0} ms, empty store {first_floor:.0} ms (ratio {:.2})",
        first / first_floor
    ));

    let idle_with = |with_tail: bool| {
        if !wanted("idle") {
            return (f64::NAN, None);
        }
        support::binary()
            .and_then(|bin| runtime.block_on(idle::idle_cpu(&bin, with_tail)))
            .unwrap_or_else(|e| {
                eprintln!("idle CPU not measured: {e}");
                (f64::NAN, None)
            })
    };
    let (idle, _) = idle_with(false);
    say(format!(
        "idle, connected and quiet, clocks ticking: {idle:.2} % of a core"
    ));
    let (idle_shared, idle_tail) = idle_with(true);
    let idle_tail = idle_tail.unwrap_or(f64::NAN);
    say(format!(
        "idle with a tail on its store: dashboard {idle_shared:.2} %, tail {idle_tail:.2} % of a core"
    ));

    let bus = if wanted("bus") {
        match support::binary() {
            Ok(bin) => runtime.block_on(bus::measure(&bin)),
            Err(e) => {
                eprintln!("bus not measured: {e}");
                bus::Bus::unmeasured()
            }
        }
    } else {
        bus::Bus::unmeasured()
    };
    say(format!(
        "bus fan-out of {} requests at {}/s to {} tails on one app: p50 {:.1} ms, p99 {:.1} ms; \
         one tail alone, no bus: p50 {:.1} ms, p99 {:.1} ms (ratio {:.2} at p50, {:.2} at p99)",
        bus::REQUESTS,
        bus::PER_SECOND,
        bus::TAILS,
        bus.fanout_p50_ms,
        bus.fanout_p99_ms,
        bus.no_bus_p50_ms,
        bus.no_bus_p99_ms,
        bus.fanout_p50_ms / bus.no_bus_p50_ms,
        bus.fanout_p99_ms / bus.no_bus_p99_ms,
    ));
    let history_slack_s = bus.history_s * bus::TIME_SCALE;
    say(format!(
        "catch-up of a restarted tail after {} missed requests: from the stream {:.2} s ({} history calls meanwhile); \
         from strict history {:.2} s at time scale {}, {:.0} s against Slack (ratio {:.0})",
        bus::MISSED,
        bus.stream_s,
        bus.stream_history_calls
            .map_or("?".to_string(), |n| n.to_string()),
        bus.history_s,
        bus::TIME_SCALE,
        history_slack_s,
        history_slack_s / bus.stream_s,
    ));

    let thread = if wanted("thread") {
        match support::binary() {
            Ok(bin) => runtime.block_on(thread::measure(&bin)),
            Err(e) => {
                eprintln!("long thread not measured: {e}");
                thread::Thread::unmeasured()
            }
        }
    } else {
        thread::Thread::unmeasured()
    };
    say(format!(
        "{} replies through tail: into one thread {:.2} s, over 100 swarms {:.2} s (ratio {:.2}); \
         restart on that store {:.2} s, {:.2} s (ratio {:.2})",
        thread::REPLIES,
        thread.print_s,
        thread.floor_print_s,
        thread.print_s / thread.floor_print_s,
        thread.restart_s,
        thread.floor_restart_s,
        thread.restart_s / thread.floor_restart_s,
    ));

    let out = json!({
        "ingest_events_per_s": round(ingest.swarmdeck_per_s),
        "floor_events_per_s": round(ingest.floor_per_s),
        "ingest_ratio": round3(ingest.swarmdeck_per_s / ingest.floor_per_s),
        "sender_events_per_s": round(ingest.sender_per_s),
        "ack_p99_ms": round(ingest.ack_p99_ms),
        "ack_p99_flood_ms": round(ingest.ack_p99_flood_ms),
        "event_to_frame_p50_us": round(e2f_p50),
        "event_to_frame_p99_us": round(e2f_p99),
        "render_10k_median_us": round(render),
        "render_floor_median_us": round(render_floor),
        "render_ratio": round(render / render_floor),
        "first_frame_10k_ms": round(first),
        "first_frame_floor_ms": round(first_floor),
        "first_frame_ratio": round(first / first_floor),
        "rss_mb_100k": round(ingest.rss_mb),
        "rss_mb_100k_flood": round(ingest.rss_flood_mb),
        "rss_floor_mb": round(ingest.rss_floor_mb),
        "idle_cpu_percent": round3(idle),
        "idle_cpu_shared_percent": round3(idle_shared),
        "idle_cpu_tail_percent": round3(idle_tail),
        "bus_fanout_p50_ms": round(bus.fanout_p50_ms),
        "bus_fanout_p99_ms": round(bus.fanout_p99_ms),
        "no_bus_p50_ms": round(bus.no_bus_p50_ms),
        "no_bus_p99_ms": round(bus.no_bus_p99_ms),
        "bus_fanout_ratio": round3(bus.fanout_p50_ms / bus.no_bus_p50_ms),
        "catch_up_stream_s": round3(bus.stream_s),
        "catch_up_history_s": round3(bus.history_s),
        "catch_up_history_slack_s": round(history_slack_s),
        "catch_up_ratio": round(history_slack_s / bus.stream_s),
        "catch_up_stream_history_calls": bus.stream_history_calls,
        "thread_10k_print_s": round3(thread.print_s),
        "thread_floor_print_s": round3(thread.floor_print_s),
        "thread_print_ratio": round3(thread.print_s / thread.floor_print_s),
        "thread_10k_restart_s": round3(thread.restart_s),
        "thread_floor_restart_s": round3(thread.floor_restart_s),
        "thread_restart_ratio": round3(thread.restart_s / thread.floor_restart_s),
    });
    println!("{out}");
}

fn round3(x: f64) -> serde_json::Value {
    if x.is_finite() {
        json!((x * 1000.0).round() / 1000.0)
    } else {
        serde_json::Value::Null
    }
}
