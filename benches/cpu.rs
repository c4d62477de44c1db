//! CPU per event: the processor time one call costs across every thread of
//! the process (caller, panoptic's writer, the mongodb driver's runtime),
//! not only the caller's latency. panoptic moves work off the caller's
//! thread; this counts it. The database server is another process and is
//! not counted.
//!
//! Each figure is `CLOCK_PROCESS_CPUTIME_ID` consumed by `iters` calls
//! divided by `iters` (criterion labels it `time`):
//!
//! - `billable_live`: `#[billable]` into a live test database; the clock
//!   stops after `flush()` returned, so the writer's encoding, batching
//!   and the driver's sends are in the figure;
//! - `tracing_json_close`: `#[tracing::instrument]` with a JSON fmt layer
//!   writing one line per call to `io::sink()` (all of it on the caller);
//! - `fastrace`: `#[fastrace::trace]`, one root span per 1,000 calls, a
//!   reporter that discards spans, `fastrace::flush()` inside the clock.
//!
//! Run: `PANOPTIC_TESTDB_BIN=$(scripts/testdb install) cargo bench --bench cpu`

#[path = "../tests/common/mod.rs"]
mod common;
mod workload;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use fastrace::collector::{Config, SpanContext};
use fastrace::prelude::Span;
use panoptic::Panoptic;
use tracing_subscriber::fmt::format::FmtSpan;
use workload::{Discard, billed, fastraced, process_cpu, traced};

/// Calls between two flushes: half the queue, so nothing spills.
const CHUNK: u64 = 32_768;
const CALLS_PER_ROOT: u64 = 1_000;

/// CPU time `run` costs the process.
fn cpu_of(run: impl FnOnce()) -> Duration {
    let before = process_cpu();
    run();
    process_cpu().saturating_sub(before)
}

fn cpu_per_event(c: &mut Criterion) {
    let panoptic = Panoptic::builder()
        .username("bench")
        .env(common::unique_env("cpu"))
        .mongodb_uri(common::mongodb_uri())
        .spool_dir(common::temp_dir("bench-cpu-spool"))
        .queue_capacity(2 * CHUNK as usize)
        .install()
        .expect("panoptic");
    // The first write creates the collection and its indexes.
    billed(0);
    assert!(panoptic.flush());
    fastrace::set_reporter(Discard, Config::default());

    let mut group = c.benchmark_group("cpu_per_event");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("billable_live", |b| {
        b.iter_custom(|iters| {
            cpu_of(|| {
                let mut left = iters;
                while left > 0 {
                    let n = left.min(CHUNK);
                    for i in 0..n {
                        black_box(billed(black_box(i)));
                    }
                    assert!(panoptic.flush(), "flush timed out");
                    left -= n;
                }
            })
        })
    });
    {
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(std::io::sink)
            .with_span_events(FmtSpan::CLOSE)
            .finish();
        let _default = tracing::subscriber::set_default(subscriber);
        group.bench_function("tracing_json_close", |b| {
            b.iter_custom(|iters| {
                cpu_of(|| {
                    for i in 0..iters {
                        black_box(traced(black_box(i)));
                    }
                })
            })
        });
    }
    group.bench_function("fastrace", |b| {
        b.iter_custom(|iters| {
            cpu_of(|| {
                let mut left = iters;
                while left > 0 {
                    let n = left.min(CALLS_PER_ROOT);
                    let root = Span::root("request", SpanContext::random());
                    {
                        let _parent = root.set_local_parent();
                        for i in 0..n {
                            black_box(fastraced(black_box(i)));
                        }
                    }
                    drop(root);
                    left -= n;
                }
                fastrace::flush();
            })
        })
    });
    group.finish();

    let stats = panoptic.stats();
    eprintln!("cpu_per_event: panoptic stats after the run: {stats:?}");
    assert_eq!(
        (stats.spooled, stats.dropped, stats.failed),
        (0, 0, 0),
        "{stats:?}"
    );
    assert_eq!(stats.written, stats.emitted, "{stats:?}");
}

criterion_group!(benches, cpu_per_event);
criterion_main!(benches);
