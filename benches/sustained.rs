//! Steady-state cost of a `#[billable]` call under sustained load: calls
//! arrive in rounds (every 2 ms) at 50 %, 100 % and 150 % of the rate the
//! test database drains them, and in the overload pattern (rounds
//! of 10,000 calls every 5 ms). Each call is timed on its own; the first
//! seconds of each load are not counted (the queue fills first).
//!
//! An open-loop load does not fit criterion's model (it sizes its samples
//! from the time an iteration takes, not from a rate), so this bench has
//! its own loop and prints one `raw` line per load with the caller's mean,
//! median and 99th percentile, the process CPU per event (every thread,
//! the database server not counted) and panoptic's counters. The queue is
//! 16,384 events (not the default 65,536) so that overload reaches its
//! steady state within a second.
//!
//! Run: `PANOPTIC_TESTDB_BIN=$(scripts/testdb install) cargo bench --bench sustained`
//! (`SUSTAINED_SECONDS=N` per load, default 6).

#[path = "../tests/common/mod.rs"]
mod common;
mod workload;

use std::hint::black_box;
use std::time::{Duration, Instant};

use panoptic::Panoptic;
use workload::{billed, process_cpu};

const QUEUE: usize = 16_384;
/// Not counted at the start of each load: the queue fills meanwhile.
const SETTLE: Duration = Duration::from_secs(2);

/// Events per second the writer and the database take, calls made as fast
/// as the queue allows and flushed: the drain rate the loads are set from.
fn drain_rate(panoptic: &Panoptic, measure: Duration) -> f64 {
    let started = Instant::now();
    let mut calls = 0u64;
    while calls == 0 || started.elapsed() < measure {
        for i in 0..(QUEUE as u64 / 2) {
            black_box(billed(black_box(i)));
        }
        calls += QUEUE as u64 / 2;
        assert!(panoptic.flush(), "flush timed out");
    }
    calls as f64 / started.elapsed().as_secs_f64()
}

struct Load {
    name: String,
    per_round: u64,
    every: Duration,
}

fn run(panoptic: &Panoptic, load: &Load, settle: Duration, seconds: u64) {
    let before = panoptic.stats();
    // At least one round is counted.
    let total = settle + Duration::from_secs(seconds).max(load.every);
    let mut latencies: Vec<u32> = Vec::new();
    let started = Instant::now();
    let mut counted_calls = 0u64;
    let mut cpu_start = None;
    let mut round = 0u32;
    loop {
        let due = started + load.every * round;
        let now = Instant::now();
        if now >= started + total {
            break;
        }
        if due > now {
            std::thread::sleep(due - now);
        }
        let counting = started.elapsed() >= settle;
        if counting && cpu_start.is_none() {
            cpu_start = Some(process_cpu());
        }
        for i in 0..load.per_round {
            let call = Instant::now();
            black_box(billed(black_box(i)));
            let took = call.elapsed();
            if counting {
                latencies.push(took.as_nanos().min(u128::from(u32::MAX)) as u32);
            }
        }
        if counting {
            counted_calls += load.per_round;
        }
        round += 1;
    }
    let cpu = process_cpu().saturating_sub(cpu_start.unwrap_or_else(process_cpu));
    // Spilled events are replayed before a flush returns: after an
    // overload that is millions of events at the drain rate (minutes; a
    // limit of 30 flushes once ran out with 44k still waiting, none lost).
    assert!((0..200).any(|_| panoptic.flush()), "flush timed out");
    let after = panoptic.stats();
    latencies.sort_unstable();
    let pick = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    let mean = latencies.iter().map(|&n| u64::from(n)).sum::<u64>() as f64 / latencies.len() as f64;
    println!(
        "raw sustained {} calls={} per_round={} every_us={} mean_ns={:.1} p50_ns={} p99_ns={} cpu_ns_per_event={:.1} emitted={} written={} spooled={} dropped={}",
        load.name,
        counted_calls,
        load.per_round,
        load.every.as_micros(),
        mean,
        pick(0.5),
        pick(0.99),
        cpu.as_nanos() as f64 / counted_calls as f64,
        after.emitted - before.emitted,
        after.written - before.written,
        after.spooled - before.spooled,
        after.dropped - before.dropped,
    );
}

fn main() {
    // `cargo test --benches` runs it without `--bench`: once, briefly.
    let quick = !std::env::args().any(|arg| arg == "--bench");
    let seconds: u64 = std::env::var("SUSTAINED_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if quick { 0 } else { 6 });
    let settle = if quick { Duration::ZERO } else { SETTLE };
    let spool = common::temp_dir("bench-sustained-spool");
    let panoptic = Panoptic::builder()
        .username("bench")
        .env(common::unique_env("sustained"))
        .mongodb_uri(common::mongodb_uri())
        .spool_dir(&spool)
        .queue_capacity(QUEUE)
        // The overload pattern spools about 2 million events (~1 GiB) in a
        // few seconds; the default cap (1 GiB) would drop some, and every
        // event must be kept here.
        .spool_max_bytes(8 << 30)
        .install()
        .expect("panoptic");
    billed(0);
    assert!(panoptic.flush());
    let rate = drain_rate(&panoptic, Duration::from_secs(if quick { 0 } else { 3 }));
    println!("raw sustained drain_rate events_per_s={rate:.0}");
    let round = Duration::from_millis(2);
    let mut loads: Vec<Load> = [0.5, 1.0, 1.5]
        .into_iter()
        .map(|share| Load {
            name: format!("load_{:.0}pct", share * 100.0),
            per_round: ((rate * share * round.as_secs_f64()).round() as u64).max(1),
            every: round,
        })
        .collect();
    loads.push(Load {
        name: "overload_10000_per_5ms".into(),
        per_round: 10_000,
        every: Duration::from_millis(5),
    });
    for load in &loads {
        run(&panoptic, load, settle, seconds);
    }
    let stats = panoptic.stats();
    eprintln!("sustained: panoptic stats after the run: {stats:?}");
    assert_eq!((stats.dropped, stats.failed), (0, 0), "{stats:?}");
    // What the overload left in the spool (gigabytes; the harness does not
    // wait minutes for its replay) would fill the disk over a few runs.
    drop(panoptic);
    let _ = std::fs::remove_dir_all(&spool);
}
