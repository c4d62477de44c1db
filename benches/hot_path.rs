//! Hot path: what one call of a trivial function costs, bare and under each
//! kind of instrumentation, in one process and one run.
//!
//! - `bare`: no instrumentation;
//! - `billable_uninstalled`: `#[billable]`, no `Panoptic` installed (runs
//!   first: installing is global and cannot be undone for this check);
//! - `tracing_json_close`: `#[tracing::instrument]`, a `tracing-subscriber`
//!   JSON fmt layer to `io::sink()` that writes one line per call (span
//!   close), the closest peer of one billing event per call;
//! - `tracing_json_default`: the same layer with its default settings (span
//!   events off: the span is built and its fields formatted, nothing written);
//! - `fastrace`: `#[fastrace::trace]` under a root span, with a reporter that
//!   discards what it is given (one root per 1,000 calls, its cost included);
//! - `billable_live`: `#[billable]` with a `Panoptic` installed whose MongoDB
//!   drain writes to a real test database in the background. Calls are timed
//!   in chunks that fit the queue, with a `flush()` (not timed) between
//!   chunks, so no event is spooled or dropped; the counters are checked at
//!   the end. The writer is busy the whole time, as under load;
//! - `hot_path_sparse/*`: one call at a time, 200 µs apart (untimed), so the
//!   writer thread is asleep at each call, as in a service that bills now and
//!   then; `bare` is the same loop without instrumentation (timer included).
//!   At 5,000 calls/s the test database on this machine is still busy
//!   storing them (a third of a core), so `hot_path_isolated/*` does the same
//!   2 ms apart, the server idle too; `fastrace` beside them, the peer
//!   that touches the least memory in a call;
//! - `*_thread_cpu`: the same calls timed by the calling thread's own CPU
//!   clock instead of the wall clock: what a call costs its thread, without
//!   the time it waits for a core held by the writer or the database server
//!   (this machine has two);
//!
//! Each of them also as an `async fn` awaited under a tokio runtime
//! (group `hot_path_async`).
//!
//! With the feature `tracing`, group `hot_path_tracing_events`:
//! `billable_live` under a `tracing` subscriber (the registry, panoptic's
//! layer and a JSON fmt layer to `io::sink()`), with `.tracing_events`
//! off and on in the same run, and on with the layer alone (no fmt layer):
//! what making each call a `tracing` event costs the caller.
//!
//! With the feature `otel`, group `hot_path_otel`: `billable_live` without
//! the OpenTelemetry export, with it (no active span: the call site looks
//! for one), and with it inside an active span (the call site notes its
//! trace and span ids, prices the call and adds it to the span as an
//! event), in the same run. The export's SDK providers have
//! no exporter here: what is measured is the caller's side.
//!
//! Run: `PANOPTIC_TESTDB_BIN=$(scripts/testdb install) cargo bench --bench hot_path`
//! (add `--features tracing` for the `tracing` events group, `--features
//! otel` for the OpenTelemetry group as well)

#[path = "../tests/common/mod.rs"]
mod common;
mod workload;

use std::hint::black_box;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use fastrace::collector::{Config, SpanContext};
use fastrace::prelude::Span;
use panoptic::{InstallGuard, Panoptic, billable};
use tracing_subscriber::fmt::format::FmtSpan;
use workload::{Discard, bare, billed, fastraced, thread_cpu, traced, work};

#[inline(never)]
async fn bare_async(x: u64) -> u64 {
    work(x)
}

#[billable(provider = "gcp", service = "BigQuery")]
#[inline(never)]
async fn billed_async(x: u64) -> u64 {
    work(x)
}

#[tracing::instrument]
#[inline(never)]
async fn traced_async(x: u64) -> u64 {
    work(x)
}

#[fastrace::trace]
#[inline(never)]
async fn fastraced_async(x: u64) -> u64 {
    work(x)
}

/// Calls per fastrace root span.
const CALLS_PER_ROOT: u64 = 1_000;

/// In-memory queue of the live Panoptic, and the calls timed between two
/// flushes (half the queue: the writer drains while calls go on, and the
/// rest is headroom).
const QUEUE_CAPACITY: usize = 65_536;
const CHUNK: u64 = (QUEUE_CAPACITY / 2) as u64;
/// Fewest calls timed in a row in `billable_live`.
const MIN_CHUNK: u64 = 4_096;
/// Pause before each call of the `_sparse` variants.
const SPARSE_PAUSE: Duration = Duration::from_micros(200);
/// Pause before each call of the `_isolated` variants.
const ISOLATED_PAUSE: Duration = Duration::from_millis(2);

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

/// Times `iters` synchronous calls of `f`.
fn time_calls(iters: u64, f: fn(u64) -> u64) -> Duration {
    let started = Instant::now();
    for i in 0..iters {
        black_box(f(black_box(i)));
    }
    started.elapsed()
}

/// Times `iters` awaited calls of an async fn inside one `block_on`.
fn time_async_calls<F, Fut>(iters: u64, f: F) -> Duration
where
    F: Fn(u64) -> Fut,
    Fut: std::future::Future<Output = u64>,
{
    runtime().block_on(async {
        let started = Instant::now();
        for i in 0..iters {
            black_box(f(black_box(i)).await);
        }
        started.elapsed()
    })
}

/// Times `iters` calls in chunks of at most `CHUNK`, flushing the live
/// Panoptic (untimed) after each chunk so its queue never overflows. Fewer
/// than `MIN_CHUNK` calls are timed as `MIN_CHUNK` calls and scaled: a
/// handful of calls after a flush would time the writer thread's wake-up,
/// which `billable_live_sparse` measures on its own.
fn time_in_chunks(
    panoptic: &Panoptic,
    iters: u64,
    mut timed: impl FnMut(u64) -> Duration,
) -> Duration {
    if iters < MIN_CHUNK {
        let elapsed = timed(MIN_CHUNK);
        assert!(panoptic.flush(), "flush timed out");
        return elapsed.mul_f64(iters as f64 / MIN_CHUNK as f64);
    }
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(CHUNK);
        total += timed(n);
        assert!(panoptic.flush(), "flush timed out");
        left -= n;
    }
    total
}

/// Times `iters` calls one by one, each after a pause (untimed) long
/// enough for the writer thread to go back to sleep: the cost of an
/// isolated call, as in a service that bills now and then. The timer's own
/// cost is in the figure; compare with the same loop over `bare`.
fn time_sparse(iters: u64, f: fn(u64) -> u64, pause: Duration) -> Duration {
    let mut total = Duration::ZERO;
    for i in 0..iters {
        std::thread::sleep(pause);
        let started = Instant::now();
        black_box(f(black_box(i)));
        total += started.elapsed();
    }
    total
}

/// 16 pages of 4 KiB, read one word each by `touch_16_pages`.
static PAGES: [[u64; 512]; 16] = [[1; 512]; 16];

#[inline(never)]
fn touch_16_pages(x: u64) -> u64 {
    PAGES
        .iter()
        .fold(x, |sum, page| sum.wrapping_add(black_box(page)[7]))
}

/// Times `iters` fastrace calls, one root span per `CALLS_PER_ROOT` calls.
fn time_fastrace(iters: u64, mut calls: impl FnMut(u64)) -> Duration {
    let started = Instant::now();
    let mut left = iters;
    while left > 0 {
        let n = left.min(CALLS_PER_ROOT);
        let root = Span::root("request", SpanContext::random());
        {
            let _parent = root.set_local_parent();
            calls(n);
        }
        drop(root);
        left -= n;
    }
    started.elapsed()
}

fn live_panoptic() -> InstallGuard {
    let guard = Panoptic::builder()
        .username("bench")
        .env(common::unique_env("hot_path"))
        .mongodb_uri(common::mongodb_uri())
        .spool_dir(common::temp_dir("bench-spool"))
        .queue_capacity(QUEUE_CAPACITY)
        .install()
        .expect("panoptic");
    // First write creates the collection and its indexes: not a hot-path cost.
    billed(0);
    assert!(guard.flush());
    guard
}

fn check_delivered(panoptic: &Panoptic, what: &str) {
    assert!(panoptic.flush());
    let stats = panoptic.stats();
    eprintln!("{what}: panoptic stats after the run: {stats:?}");
    assert_eq!(
        stats.spooled, 0,
        "{what}: events went to the spool: {stats:?}"
    );
    assert_eq!(stats.dropped, 0, "{what}: events were dropped: {stats:?}");
    assert_eq!(stats.failed, 0, "{what}: events failed: {stats:?}");
    assert_eq!(
        stats.written, stats.emitted,
        "{what}: not every event was written: {stats:?}"
    );
}

fn tracing_json(close: bool) -> tracing::subscriber::DefaultGuard {
    let builder = tracing_subscriber::fmt().json().with_writer(std::io::sink);
    let subscriber = if close {
        builder.with_span_events(FmtSpan::CLOSE).finish()
    } else {
        builder.finish()
    };
    tracing::subscriber::set_default(subscriber)
}

fn fast_group<'c>(
    c: &'c mut Criterion,
    name: &str,
) -> criterion::BenchmarkGroup<'c, criterion::measurement::WallTime> {
    let mut group = c.benchmark_group(name);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(2));
    group
}

/// Calls `pause` apart, bare, `#[billable]` into the live drain and fastrace,
/// measured for `millis`; the caller may add peers before `finish()`.
fn spaced_group<'c>(
    c: &'c mut Criterion,
    name: &str,
    pause: Duration,
    millis: u64,
    guard: &InstallGuard,
) -> criterion::BenchmarkGroup<'c, criterion::measurement::WallTime> {
    let mut group = c.benchmark_group(name);
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(10));
    group.measurement_time(Duration::from_millis(millis));
    group.bench_function("bare", |b| {
        b.iter_custom(|iters| time_sparse(iters, bare, pause))
    });
    group.bench_function("billable_live", |b| {
        b.iter_custom(|iters| {
            let elapsed = time_sparse(iters, billed, pause);
            assert!(guard.flush());
            elapsed
        })
    });
    // The peer that touches the least memory per call (its root span is
    // opened and closed untimed).
    group.bench_function("fastrace", |b| {
        b.iter_custom(|iters| {
            let root = Span::root("request", SpanContext::random());
            let _parent = root.set_local_parent();
            time_sparse(iters, fastraced, pause)
        })
    });
    group
}

/// Nothing installed yet: the bare function and `#[billable]` without a
/// `Panoptic`. Must run before anything installs one in this process.
fn uninstalled(c: &mut Criterion) {
    let mut group = fast_group(c, "hot_path");
    group.bench_function("bare", |b| b.iter_custom(|iters| time_calls(iters, bare)));
    group.bench_function("billable_uninstalled", |b| {
        b.iter_custom(|iters| time_calls(iters, billed))
    });
    group.finish();

    let mut group = fast_group(c, "hot_path_async");
    group.bench_function("bare", |b| {
        b.iter_custom(|iters| time_async_calls(iters, bare_async))
    });
    group.bench_function("billable_uninstalled", |b| {
        b.iter_custom(|iters| time_async_calls(iters, billed_async))
    });
    group.finish();
}

/// The peers: tracing with a JSON fmt layer, fastrace with a collector.
fn peers(c: &mut Criterion) {
    fastrace::set_reporter(Discard, Config::default());

    let mut group = fast_group(c, "hot_path");
    {
        let _default = tracing_json(true);
        group.bench_function("tracing_json_close", |b| {
            b.iter_custom(|iters| time_calls(iters, traced))
        });
    }
    {
        let _default = tracing_json(false);
        group.bench_function("tracing_json_default", |b| {
            b.iter_custom(|iters| time_calls(iters, traced))
        });
    }
    group.bench_function("fastrace", |b| {
        b.iter_custom(|iters| {
            time_fastrace(iters, |n| {
                for i in 0..n {
                    black_box(fastraced(black_box(i)));
                }
            })
        })
    });
    group.bench_function("fastrace_thread_cpu", |b| {
        b.iter_custom(|iters| {
            thread_cpu(|| {
                time_fastrace(iters, |n| {
                    for i in 0..n {
                        black_box(fastraced(black_box(i)));
                    }
                });
            })
        })
    });
    {
        let _default = tracing_json(true);
        group.bench_function("tracing_json_close_thread_cpu", |b| {
            b.iter_custom(|iters| {
                thread_cpu(|| {
                    time_calls(iters, traced);
                })
            })
        });
    }
    group.finish();

    let mut group = fast_group(c, "hot_path_async");
    {
        let _default = tracing_json(true);
        group.bench_function("tracing_json_close", |b| {
            b.iter_custom(|iters| time_async_calls(iters, traced_async))
        });
    }
    group.bench_function("fastrace", |b| {
        b.iter_custom(|iters| {
            runtime().block_on(async {
                let started = Instant::now();
                let mut left = iters;
                while left > 0 {
                    let n = left.min(CALLS_PER_ROOT);
                    let root = Span::root("request", SpanContext::random());
                    {
                        let _parent = root.set_local_parent();
                        for i in 0..n {
                            black_box(fastraced_async(black_box(i)).await);
                        }
                    }
                    drop(root);
                    left -= n;
                }
                started.elapsed()
            })
        })
    });
    group.finish();
    fastrace::flush();
}

/// `#[billable]` with a live MongoDB drain. Each timed call becomes a
/// document the test database must take (about 20k/s here), so these are
/// sampled over fewer calls.
fn live(c: &mut Criterion) {
    let guard = live_panoptic();
    for (name, is_async) in [("hot_path", false), ("hot_path_async", true)] {
        let mut group = c.benchmark_group(name);
        group.sample_size(20);
        group.warm_up_time(Duration::from_millis(50));
        group.measurement_time(Duration::from_millis(100));
        group.bench_function("billable_live", |b| {
            b.iter_custom(|iters| {
                time_in_chunks(&guard, iters, |n| {
                    if is_async {
                        time_async_calls(n, billed_async)
                    } else {
                        time_calls(n, billed)
                    }
                })
            })
        });
        group.finish();
    }
    let mut group = c.benchmark_group("hot_path");
    group.sample_size(20);
    group.warm_up_time(Duration::from_millis(50));
    group.measurement_time(Duration::from_millis(100));
    group.bench_function("billable_live_thread_cpu", |b| {
        b.iter_custom(|iters| {
            time_in_chunks(&guard, iters, |n| {
                thread_cpu(|| {
                    time_calls(n, billed);
                })
            })
        })
    });
    group.finish();

    spaced_group(c, "hot_path_sparse", SPARSE_PAUSE, 50, &guard).finish();

    let mut group = spaced_group(c, "hot_path_isolated", ISOLATED_PAUSE, 200, &guard);
    {
        let _default = tracing_json(true);
        group.bench_function("tracing_json_close", |b| {
            b.iter_custom(|iters| time_sparse(iters, traced, ISOLATED_PAUSE))
        });
    }
    // What this machine charges for memory gone cold during a pause: a
    // read from each of 16 pages, no instrumentation at all.
    group.bench_function("touch_16_pages", |b| {
        b.iter_custom(|iters| time_sparse(iters, touch_16_pages, ISOLATED_PAUSE))
    });
    group.finish();
    check_delivered(&guard, "billable_live");
    drop(guard);
}

/// `.tracing_events` off and on, under the same subscriber, then on with
/// panoptic's layer alone.
#[cfg(feature = "tracing")]
fn tracing_events(c: &mut Criterion) {
    use panoptic::tracing::PanopticLayer;
    use tracing_subscriber::layer::SubscriberExt;

    let mut group = c.benchmark_group("hot_path_tracing_events");
    group.sample_size(20);
    group.warm_up_time(Duration::from_millis(50));
    group.measurement_time(Duration::from_millis(100));
    for (name, on, json) in [
        ("billable_live_events_off", false, true),
        ("billable_live_events_on", true, true),
        ("billable_live_events_on_layer_only", true, false),
    ] {
        let guard = Panoptic::builder()
            .username("bench")
            .env(common::unique_env("hot_path_tracing"))
            .mongodb_uri(common::mongodb_uri())
            .spool_dir(common::temp_dir("bench-spool"))
            .queue_capacity(QUEUE_CAPACITY)
            .tracing_events(on)
            .install()
            .expect("panoptic");
        billed(0);
        assert!(guard.flush());
        let registry = tracing_subscriber::registry().with(PanopticLayer::new());
        let _default = if json {
            let fmt = tracing_subscriber::fmt::layer()
                .json()
                .with_writer(std::io::sink);
            tracing::subscriber::set_default(registry.with(fmt))
        } else {
            tracing::subscriber::set_default(registry)
        };
        group.bench_function(name, |b| {
            b.iter_custom(|iters| time_in_chunks(&guard, iters, |n| time_calls(n, billed)))
        });
        check_delivered(&guard, name);
    }
    group.finish();
}

#[cfg(not(feature = "tracing"))]
fn tracing_events(_: &mut Criterion) {}

/// The OpenTelemetry export off, on, and on inside an active span.
#[cfg(feature = "otel")]
fn otel(c: &mut Criterion) {
    use panoptic::tracing::otel::opentelemetry::trace::{Tracer, TracerProvider};
    use panoptic::tracing::otel::{OtelExport, opentelemetry_sdk};

    let mut group = c.benchmark_group("hot_path_otel");
    group.sample_size(20);
    group.warm_up_time(Duration::from_millis(50));
    group.measurement_time(Duration::from_millis(100));
    let app = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let tracer = app.tracer("bench");
    for (name, on, in_span) in [
        ("billable_live_otel_off", false, false),
        ("billable_live_otel_on", true, false),
        ("billable_live_otel_on_in_span", true, true),
    ] {
        let builder = Panoptic::builder()
            .username("bench")
            .env(common::unique_env("hot_path_otel"))
            .mongodb_uri(common::mongodb_uri())
            .spool_dir(common::temp_dir("bench-spool"))
            .queue_capacity(QUEUE_CAPACITY);
        let builder = if on {
            builder.otel(std::sync::Arc::new(OtelExport::new(
                opentelemetry_sdk::trace::SdkTracerProvider::builder().build(),
                opentelemetry_sdk::metrics::SdkMeterProvider::builder().build(),
            )))
        } else {
            builder
        };
        let guard = builder.install().expect("panoptic");
        billed(0);
        assert!(guard.flush());
        let mut measure = || {
            group.bench_function(name, |b| {
                b.iter_custom(|iters| time_in_chunks(&guard, iters, |n| time_calls(n, billed)))
            });
        };
        if in_span {
            tracer.in_span("request", |_| measure());
        } else {
            measure();
        }
        check_delivered(&guard, name);
    }
    group.finish();
}

#[cfg(not(feature = "otel"))]
fn otel(_: &mut Criterion) {}

criterion_group!(benches, uninstalled, peers, live, tracing_events, otel);
criterion_main!(benches);
