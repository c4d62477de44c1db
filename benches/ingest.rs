//! Ingest: events per second from emission to acknowledged by a real test
//! database, beside the raw mongodb driver.
//!
//! - `panoptic`: 100,000 calls of a `#[billable]` function, then
//!   `flush()`; timed from the first call until MongoDB acknowledged the
//!   last event (the counters are checked: all written, none spooled). The
//!   queue holds all 100k, so this is the in-memory pipeline. With the
//!   default queue (65,536) what does not fit spills to the disk spool; that
//!   run is made once, untimed, and its counters printed.
//! - `driver_insert_many`: the same 100,000 documents (read back from the
//!   first run) inserted with the driver's unordered `insert_many`, in
//!   batches of the same size (500), into a collection with the same
//!   indexes and the same write concern (journaled): the ceiling.
//! - `driver_insert_one`: one awaited `insert_one` per event (the naive
//!   approach), on the first 10,000 of them; compare per event.
//!
//! Every run writes into a fresh database or collection, dropped afterwards
//! (untimed).
//!
//! Run: `PANOPTIC_TESTDB_BIN=$(scripts/testdb install) cargo bench --bench ingest`

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use bson::{Document, doc};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use mongodb::{Client, Collection, IndexModel};
use panoptic::{Panoptic, billable};

/// Events per run.
const EVENTS: u64 = 100_000;
/// Events per run of the insert_one baseline.
const EVENTS_ONE_BY_ONE: u64 = 10_000;
/// Batch size of panoptic (its default) and of the insert_many baseline.
const BATCH: usize = 500;

#[billable(provider = "gcp", service = "BigQuery")]
#[inline(never)]
fn billed(x: u64) -> u64 {
    x.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17)
}

/// The indexes panoptic creates on each collection.
fn indexes() -> Vec<IndexModel> {
    [
        doc! { "ts": -1 },
        doc! { "service": 1 },
        doc! { "env": 1 },
        doc! { "ts": -1, "service": 1 },
    ]
    .into_iter()
    .map(|keys| IndexModel::builder().keys(keys).build())
    .collect()
}

struct Bench {
    runtime: tokio::runtime::Runtime,
    client: Client,
    /// The documents of one panoptic run, read back from the database.
    documents: Vec<Document>,
}

impl Bench {
    fn new() -> Bench {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let client = runtime.block_on(common::client());
        let mut bench = Bench {
            runtime,
            client,
            documents: Vec::new(),
        };
        // One run to have the documents panoptic writes.
        let (env, _) = bench.panoptic_run(EVENTS as usize + 1, false);
        bench.documents = bench.runtime.block_on(async {
            let documents = common::documents(&env, "gcp_bench").await;
            let database = bench
                .client
                .database(&panoptic::naming::database_name(&env));
            database.drop().await.expect("drop");
            documents
        });
        assert_eq!(bench.documents.len() as u64, EVENTS + 1);
        // The default queue (65,536) cannot hold a burst of 100k: what does
        // not fit is spilled to the spool. Shown once, not timed.
        let (env, _) = bench.panoptic_run(65_536, false);
        bench.drop_env(&env);
        bench
    }

    /// Emits `EVENTS` billable calls and flushes; returns the env used and
    /// the time from the first call to the end of the flush. With
    /// `delivered`, checks that every event was written and none spooled;
    /// else prints the counters.
    fn panoptic_run(&self, queue: usize, delivered: bool) -> (String, Duration) {
        let env = common::unique_env("ingest");
        let guard = Panoptic::builder()
            .username("bench")
            .env(&env)
            .mongodb_uri(common::mongodb_uri())
            .spool_dir(common::temp_dir("bench-spool"))
            .batch_size(BATCH)
            .queue_capacity(queue)
            .shutdown_deadline(Duration::from_secs(120))
            .install()
            .expect("panoptic");
        // Connection, collection and indexes: made before the clock starts.
        billed(0);
        assert!(guard.flush());
        let started = Instant::now();
        for i in 0..EVENTS {
            black_box(billed(black_box(i)));
        }
        assert!(guard.flush(), "flush timed out");
        let elapsed = started.elapsed();
        let stats = guard.stats();
        assert_eq!(stats.emitted, EVENTS + 1, "{stats:?}");
        assert_eq!(stats.failed + stats.dropped, 0, "{stats:?}");
        if delivered {
            assert_eq!(stats.spooled, 0, "spooled: {stats:?}");
            assert_eq!(
                stats.written + stats.duplicates,
                EVENTS + 1,
                "not all written: {stats:?}"
            );
        } else {
            eprintln!(
                "queue of {queue}: {EVENTS} events emitted and flushed in {elapsed:?}; {stats:?}"
            );
        }
        drop(guard);
        (env, elapsed)
    }

    fn drop_env(&self, env: &str) {
        self.runtime.block_on(async {
            self.client
                .database(&panoptic::naming::database_name(env))
                .drop()
                .await
                .expect("drop database");
        });
    }

    /// A new collection with panoptic's indexes, written with panoptic's
    /// default write concern (`{w: 1, j: true}`), so both wait for the
    /// same durability.
    fn fresh_collection(&self) -> Collection<Document> {
        let name = common::unique_env("driver");
        let journaled = mongodb::options::CollectionOptions::builder()
            .write_concern(
                mongodb::options::WriteConcern::builder()
                    .w(mongodb::options::Acknowledgment::Nodes(1))
                    .journal(true)
                    .build(),
            )
            .build();
        let collection = self
            .client
            .database("bench-driver")
            .collection_with_options(&name, journaled);
        self.runtime.block_on(async {
            collection.create_indexes(indexes()).await.expect("indexes");
        });
        collection
    }

    fn drop_collection(&self, collection: &Collection<Document>) {
        self.runtime
            .block_on(async { collection.drop().await })
            .expect("drop collection");
    }

    fn insert_many_run(&self) -> Duration {
        let collection = self.fresh_collection();
        let documents = &self.documents[..EVENTS as usize];
        let elapsed = self.runtime.block_on(async {
            let started = Instant::now();
            for chunk in documents.chunks(BATCH) {
                collection
                    .insert_many(chunk)
                    .ordered(false)
                    .await
                    .expect("insert_many");
            }
            started.elapsed()
        });
        self.drop_collection(&collection);
        elapsed
    }

    fn insert_one_run(&self) -> Duration {
        let collection = self.fresh_collection();
        let documents = &self.documents[..EVENTS_ONE_BY_ONE as usize];
        let elapsed = self.runtime.block_on(async {
            let started = Instant::now();
            for document in documents {
                collection.insert_one(document).await.expect("insert_one");
            }
            started.elapsed()
        });
        self.drop_collection(&collection);
        elapsed
    }
}

fn ingest(c: &mut Criterion) {
    let bench = Bench::new();
    let mut group = c.benchmark_group("ingest");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.warm_up_time(Duration::from_millis(1));
    group.measurement_time(Duration::from_secs(1));

    group.throughput(Throughput::Elements(EVENTS));
    group.bench_function("panoptic", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let (env, elapsed) = bench.panoptic_run(EVENTS as usize + 1, true);
                    bench.drop_env(&env);
                    elapsed
                })
                .sum()
        })
    });
    group.bench_function("driver_insert_many", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| bench.insert_many_run()).sum())
    });
    group.throughput(Throughput::Elements(EVENTS_ONE_BY_ONE));
    group.bench_function("driver_insert_one", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| bench.insert_one_run()).sum())
    });
    group.finish();
}

criterion_group!(benches, ingest);
criterion_main!(benches);
