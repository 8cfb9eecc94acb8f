//! `cargo bench`: the hot paths one by one — reading a request (intake), applying Slack
//! events to the desk, and drawing the main view with 10,000 live swarms.

mod support;

use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::hint::black_box;
use std::time::{Duration, Instant};
use swarmdeck::domain::{Input, IntakeRules, Ts};

fn intake(c: &mut Criterion) {
    let rules = IntakeRules::default();
    let (_, _, text) = support::swarm(7, 1_700_000_000);
    let blocks: Vec<String> = text.lines().map(|l| l.replacen(": ", ":\n", 1)).collect();
    c.bench_function("intake: a Workflow Builder request (blocks)", |b| {
        b.iter(|| rules.parse(black_box(&blocks), black_box(&text)))
    });
    c.bench_function("intake: a request typed by hand (text)", |b| {
        b.iter(|| rules.parse(black_box(&[]), black_box(&text)))
    });
}

fn desk(c: &mut Criterion) {
    let now = 1_700_000_000;
    let mut desk = support::desk(10_000, now);
    let mut n = 0usize;
    c.bench_function("desk: a reply into a desk of 10,000 swarms", |b| {
        b.iter(|| {
            // Round the swarms, so no thread grows long.
            n += 1;
            let i = n % 10_000;
            let (channel, at, _) = support::swarm(i, now);
            let root = Ts::parse(&support::ts(at, i)).unwrap();
            let ts = Ts(root.0 + 120_000_000 + n as i64);
            let reply = support::message(channel, ts, Some(root), "U0EXP00002", "on it".into());
            desk.apply(Input::Message(reply), Ts::from_secs(now))
        })
    });
    c.bench_function("desk: a new request", |b| {
        let mut desk = support::desk(0, now);
        let mut i = 0;
        b.iter(|| {
            i += 1;
            let (channel, at, text) = support::swarm(20_000 + i, now);
            let msg = support::message(
                channel,
                Ts::parse(&support::ts(at, i)).unwrap(),
                None,
                "U0REQ00001",
                text,
            );
            desk.apply(Input::Message(msg), Ts::from_secs(now))
        })
    });
}

/// One reply into a thread of 10, 1,000 and 10,000 replies: the cost must not follow
/// the thread's length. Each desk takes at most a tenth of its length in measured
/// replies before it is rebuilt (untimed), so a thread stays within 10 % of its size
/// (the 10-reply thread within 60 %: five untimed replies warm each rebuild).
fn long_threads(c: &mut Criterion) {
    let now = 1_700_000_000;
    let mut group = c.benchmark_group("desk: a reply into a thread of");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_millis(200));
    const WARM: usize = 5;
    for n in [10usize, 1_000, 10_000] {
        let (channel, at, text) = support::swarm(0, now);
        let root = Ts::parse(&support::ts(at, 0)).unwrap();
        let reply = |k: usize| {
            let ts = Ts(root.0 + 1_000_000 + k as i64 * 1_000);
            let user = ["U0EXP00002", "U0EXP00003", "U0REQ00001"][k % 3];
            Input::Message(support::message(
                channel,
                ts,
                Some(root),
                user,
                "on it".into(),
            ))
        };
        let mut thread = vec![Input::Message(support::message(
            channel,
            root,
            None,
            "U0REQ00001",
            text,
        ))];
        thread.extend((0..n).map(reply));
        let chunk = (n as u64 / 10).clamp(1, 100);
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            b.iter_custom(|iters| {
                let mut measured = Duration::ZERO;
                let mut done = 0;
                while done < iters {
                    let mut desk = support::desk(0, now);
                    desk.restore(thread.clone(), Ts::from_secs(now));
                    // A few untimed first: the rebuild leaves the caches cold, and a live
                    // thread's next reply finds them warm.
                    for k in 0..WARM {
                        black_box(desk.apply(reply(n + k), Ts::from_secs(now)));
                    }
                    let take = chunk.min(iters - done);
                    let replies: Vec<Input> =
                        (0..take as usize).map(|k| reply(n + WARM + k)).collect();
                    let started = Instant::now();
                    for r in replies {
                        black_box(desk.apply(r, Ts::from_secs(now)));
                    }
                    measured += started.elapsed();
                    done += take;
                }
                measured
            })
        });
    }
    group.finish();
}

fn render(c: &mut Criterion) {
    let now = 1_700_000_000;
    let full = support::desk(10_000, now);
    let empty = support::desk(0, now);
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();
    c.bench_function("render: main view, 10,000 swarms", |b| {
        b.iter(|| support::frame(&mut terminal, &full, now))
    });
    c.bench_function("render: main view, empty (floor)", |b| {
        b.iter(|| support::frame(&mut terminal, &empty, now))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = intake, desk, long_threads, render
}
criterion_main!(benches);
