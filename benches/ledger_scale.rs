//! Reading the ledger back at the size it is written: seeds `EVENTS`
//! events (default 1,000,000) over the last 30 days into `COLLECTIONS`
//! users' collections (default 1) of the env `scale`, in the exact
//! document shape `BillingEvent::into_document` writes, and times the
//! library's read paths, each `RUNS` times (default 3), printing the raw
//! seconds. Each user uses about 2 of 8 services (one collection: all 8),
//! about 50 resources overall; about one event in 1,000 is a start record
//! whose call never ended, one in 20 is unpriced, one in 50 failed. No
//! rollup marks are written: the data is as if written before rollups.
//!
//! `LEDGER_SCALE_STEP` picks what to do: `seed` (seed only), `time` (time
//! what is there), unset (both); `drop-open-call-indexes` drops the open
//! calls' two indexes, for `panoptic indexes` to be timed making them as
//! on a database written before them. `scripts/ledger-scale` seeds with
//! it and times the release CLI.
//!
//! Run: `PANOPTIC_TESTDB_BIN=$(scripts/testdb install) cargo bench --bench ledger_scale`
//! (`EVENTS=100000` for a quick look; `MONGODB_URI` to use a server of
//! your own: it must be empty of the `panoptic-scale` database).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use bson::Document;
use chrono::{DateTime, DurationRound, Utc};
use futures_util::{StreamExt, TryStreamExt};
use panoptic::query::{CostQuery, GroupBy};
use panoptic::{BillingEvent, Category, Decimal, Kind, Metadata, Outcome};

const ENV: &str = "scale";
const PROVIDER: &str = "user_defined";
const SERVICES: [&str; 8] = [
    "BigQuery",
    "CloudRun",
    "CloudStorage",
    "ChatCompletions",
    "Embeddings",
    "S3",
    "Lambda",
    "DynamoDB",
];
const DAYS: i64 = 30;
/// Documents per `insert_many`.
const BATCH: u64 = 10_000;
/// Batches in flight at once: the server has two cores.
const INSERTS_IN_FLIGHT: usize = 2;

fn number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// A well-mixed hash of `i` (splitmix64): the data is the same every run.
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The data set: `events` over `collections` users, ending at `now`.
#[derive(Clone, Copy)]
struct Shape {
    events: u64,
    collections: u64,
    now: DateTime<Utc>,
}

impl Shape {
    fn username(&self, user: u64) -> String {
        if self.collections == 1 {
            "scale".to_owned()
        } else {
            format!("user_{user:04}")
        }
    }

    fn collection(&self, user: u64) -> String {
        panoptic::naming::collection_name(PROVIDER, &self.username(user))
    }

    /// Event `i`: user `i % collections`, its time spread evenly over the
    /// 30 days, the rest drawn from a hash of `i`.
    fn event(&self, i: u64) -> Document {
        let user = i % self.collections;
        let h = mix(i);
        let service = if self.collections == 1 {
            h % 8
        } else {
            // Two services per user, different for neighbouring users.
            let pair = [user % 8, (user + 1 + (user / 8) % 7) % 8];
            pair[((h >> 8) % 2) as usize]
        };
        // Seven resources per service, 50 in all.
        let resource = format!("resource_{}", (service * 7 + (h >> 16) % 7) % 50);
        let age_ms = (DAYS * 86_400_000) as u64 * i / self.events.max(1);
        let ts = self.now - chrono::Duration::milliseconds(age_ms as i64 + 1);
        // Drawn from a second hash, so that they fall in every collection.
        let g = mix(!i);
        let start = g.is_multiple_of(1_000);
        let unpriced = !start && (g >> 10).is_multiple_of(20);
        let failed = !start && (g >> 20).is_multiple_of(50);
        // 0.5 ms to about 16 s, spread evenly on a log scale.
        let duration_ms = 0.5 * 10f64.powf(4.5 * ((h >> 24) % 10_000) as f64 / 10_000.0);
        let mut extra = Document::new();
        if start {
            extra.insert("start", true);
            extra.insert("call_id", format!("call-{i}"));
            extra.insert(
                "estimate",
                panoptic::money::to_decimal128(Decimal::new(25, 3)),
            );
        } else if unpriced {
            extra.insert("unpriced", "no price for this model");
        }
        BillingEvent {
            id: bson::oid::ObjectId::new(),
            ts,
            project_id: Some("scale".into()),
            env: ENV.into(),
            username: self.username(user),
            category: Category::Infra,
            provider: PROVIDER.into(),
            service: SERVICES[service as usize].into(),
            resource: resource.clone(),
            kind: if start { Kind::Billing } else { Kind::Invoice },
            outcome: if failed { Outcome::Error } else { Outcome::Ok },
            quantity: if start { 0.0 } else { 1.0 },
            unit: "call".into(),
            amount: (!start && !unpriced).then(|| Decimal::new(((h >> 40) % 10_000) as i64 + 1, 6)),
            currency: "USD".into(),
            metadata: Metadata {
                function_name: Some(resource),
                module_path: Some("scale::service".into()),
                duration_ms: (!start).then_some(duration_ms),
                error: failed.then(|| "upstream timed out".to_owned()),
                extra,
                ..Metadata::default()
            },
        }
        .into_document()
    }
}

/// Seeds the data set: each collection's events in batches, a few batches
/// in flight; the event indexes created first, as the writer does.
async fn seed(client: &mongodb::Client, shape: Shape) -> Duration {
    let database = client.database(&panoptic::naming::database_name(ENV));
    database.drop().await.ok();
    for user in 0..shape.collections {
        database
            .collection::<Document>(&shape.collection(user))
            .create_indexes(panoptic::index_models())
            .await
            .unwrap();
    }
    let started = Instant::now();
    // Collection `user` holds the events `user`, `user + collections`, ….
    let batches = (0..shape.collections).flat_map(|user| {
        let count =
            shape.events / shape.collections + u64::from(user < shape.events % shape.collections);
        (0..count.div_ceil(BATCH)).map(move |b| (user, b * BATCH, ((b + 1) * BATCH).min(count)))
    });
    let done = std::sync::atomic::AtomicU64::new(0);
    futures_util::stream::iter(batches)
        .map(|(user, from, to)| {
            let database = database.clone();
            let done = &done;
            async move {
                let documents: Vec<Document> = (from..to)
                    .map(|j| shape.event(j * shape.collections + user))
                    .collect();
                database
                    .collection::<Document>(&shape.collection(user))
                    .insert_many(documents)
                    .await
                    .unwrap();
                let total = done.fetch_add(to - from, std::sync::atomic::Ordering::Relaxed);
                let step = shape.events / 10;
                if step > 0 && (total + to - from) / step > total / step {
                    eprintln!(
                        "seeded {} events in {:.0} s",
                        total + to - from,
                        started.elapsed().as_secs_f64()
                    );
                }
            }
        })
        .buffer_unordered(INSERTS_IN_FLIGHT)
        .collect::<Vec<()>>()
        .await;
    started.elapsed()
}

async fn time<T: std::fmt::Debug>(label: &str, runs: u64, mut step: impl AsyncFnMut() -> T) {
    for run in 1..=runs {
        let started = Instant::now();
        let answer = step().await;
        println!(
            "raw {label} run {run}: {:.3} s ({answer:?})",
            started.elapsed().as_secs_f64()
        );
    }
}

/// Times the library's read paths over what is there.
async fn time_reads(client: &mongodb::Client, runs: u64) {
    // As the CLI reads `--since 30d`: from the hour (see its `parse_time`).
    let mid_hour = Utc::now() - chrono::Duration::days(DAYS);
    let since = mid_hour.duration_trunc(chrono::Duration::hours(1)).unwrap();
    let query = CostQuery::new().env(ENV).since(since);
    for by in [GroupBy::Service, GroupBy::Resource] {
        let grouped = query.clone().group_by([by]);
        time(
            &format!("lib CostQuery::run by {}", by.as_str()),
            runs,
            async || grouped.run(client).await.unwrap().len(),
        )
        .await;
    }
    // A range starting mid-hour: that hour read from events, collection by
    // collection.
    let grouped = CostQuery::new()
        .env(ENV)
        .since(mid_hour)
        .group_by([GroupBy::Service]);
    time(
        "lib CostQuery::run by service, since mid-hour",
        runs,
        async || grouped.run(client).await.unwrap().len(),
    )
    .await;
    time("lib open_calls (rows)", runs, async || {
        panoptic::open_calls::open_calls(client, &query)
            .await
            .unwrap()
            .len()
    })
    .await;
    // The dashboard's first events page asks for one more than a page.
    let week = CostQuery::new()
        .env(ENV)
        .since(Utc::now() - chrono::Duration::days(7));
    time("lib CostQuery::events newest 51 (rows)", runs, async || {
        week.events(client, Document::new(), Some(51))
            .await
            .unwrap()
            .len()
    })
    .await;
    if let Ok(collections) = client
        .database(&panoptic::naming::database_name(ENV))
        .list_collection_names()
        .await
        && collections.len() > 1
    {
        // Why the listing reads collection by collection: one `$unionWith`
        // of 100 collections, each sub-pipeline its newest 51 by index.
        let filter = week.filter();
        let newest = vec![
            bson::doc! { "$match": filter },
            bson::doc! { "$sort": { "ts": -1 } },
            bson::doc! { "$limit": 51 },
        ];
        let mut pipeline = newest.clone();
        for other in collections.iter().skip(1).take(99) {
            pipeline
                .push(bson::doc! { "$unionWith": { "coll": other, "pipeline": newest.clone() } });
        }
        pipeline.push(bson::doc! { "$sort": { "ts": -1 } });
        pipeline.push(bson::doc! { "$limit": 51 });
        let first = client
            .database(&panoptic::naming::database_name(ENV))
            .collection::<Document>(&collections[0]);
        time(
            "peer $unionWith of 100 collections, newest 51 each (rows)",
            runs,
            async || {
                first
                    .aggregate(pipeline.clone())
                    .await
                    .unwrap()
                    .try_collect::<Vec<_>>()
                    .await
                    .unwrap()
                    .len()
            },
        )
        .await;
    }
    let failed = week.clone().outcome(Outcome::Error);
    time(
        "lib CostQuery::events newest 51, outcome error (rows)",
        runs,
        async || {
            failed
                .events(client, Document::new(), Some(51))
                .await
                .unwrap()
                .len()
        },
    )
    .await;
}

/// Drops the indexes `panoptic::index_models` gives for open calls (the
/// partial and the sparse one) from every collection of the env.
async fn drop_open_call_indexes(client: &mongodb::Client) {
    let database = client.database(&panoptic::naming::database_name(ENV));
    for collection in database.list_collection_names().await.unwrap() {
        let collection = database.collection::<Document>(&collection);
        for model in panoptic::index_models() {
            let options = model.options.clone().unwrap_or_default();
            if options.sparse.is_some() || options.partial_filter_expression.is_some() {
                let name = model
                    .keys
                    .iter()
                    .map(|(field, direction)| format!("{field}_{direction}"))
                    .collect::<Vec<_>>()
                    .join("_");
                collection.drop_index(name).await.unwrap();
            }
        }
    }
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; nothing here takes arguments.
    let shape = Shape {
        events: number("EVENTS", 1_000_000),
        collections: number("COLLECTIONS", 1).max(1),
        now: Utc::now(),
    };
    let runs = number("RUNS", 3);
    let step = std::env::var("LEDGER_SCALE_STEP").unwrap_or_default();
    let client = common::client().await;
    if step == "drop-open-call-indexes" {
        drop_open_call_indexes(&client).await;
        return;
    }
    if step != "time" {
        let seeded = seed(&client, shape).await;
        println!(
            "raw seed {} events into {} collection(s): {:.1} s ({:.0} events/s)",
            shape.events,
            shape.collections,
            seeded.as_secs_f64(),
            shape.events as f64 / seeded.as_secs_f64()
        );
    }
    if step != "seed" {
        time_reads(&client, runs).await;
    }
}
