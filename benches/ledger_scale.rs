//! Reading the ledger back at the size it is written: seeds `EVENTS`
//! events of the quickstart's shape (default 1,000,000, 30 days, 8
//! services, 50 resources, 1 in 1,000 a start record whose call never
//! ended) into one collection of the test database, in the exact document
//! shape `BillingEvent::into_document` writes, then times each step a
//! `panoptic report` runs, beside a plain `$match` + `$group` by service
//! (the peer), each `RUNS` times (default 3), and prints the raw seconds.
//!
//! Run: `PANOPTIC_TESTDB_BIN=$(scripts/testdb install) cargo bench --bench ledger_scale`
//! (`EVENTS=100000` for a quick look; `MONGODB_URI` to use a server of
//! your own: it must be empty of the `panoptic-scale` database).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use bson::{Document, doc};
use chrono::Utc;
use futures_util::TryStreamExt;
use panoptic::query::{CostQuery, GroupBy};
use panoptic::{BillingEvent, Category, Decimal, Kind, Metadata, Outcome};

const ENV: &str = "scale";
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

fn number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// Event `i` of `count`: spread over the last 30 days, one in a thousand
/// a start record, one in twenty unpriced, one in fifty failed.
fn event(i: u64, count: u64) -> Document {
    let age = Duration::from_secs(30 * 86_400 * i / count.max(1));
    let start = i % 1_000 == 999;
    let mut extra = Document::new();
    if start {
        extra.insert("start", true);
        extra.insert("call_id", format!("call-{i}"));
    } else if i.is_multiple_of(20) {
        extra.insert("unpriced", "no amount given");
    }
    BillingEvent {
        id: bson::oid::ObjectId::new(),
        ts: Utc::now() - age,
        project_id: Some("scale".into()),
        env: ENV.into(),
        username: "scale".into(),
        category: Category::Infra,
        provider: "user_defined".into(),
        service: SERVICES[(i % 8) as usize].into(),
        resource: format!("resource_{}", i % 50),
        kind: if start { Kind::Billing } else { Kind::Invoice },
        outcome: if i.is_multiple_of(50) {
            Outcome::Error
        } else {
            Outcome::Ok
        },
        quantity: 1.0,
        unit: "call".into(),
        amount: (!start && !i.is_multiple_of(20)).then(|| Decimal::new((i % 97) as i64 + 1, 4)),
        currency: "USD".into(),
        metadata: Metadata {
            function_name: Some(format!("resource_{}", i % 50)),
            duration_ms: Some(1.0 + (i % 400) as f64 * 0.37),
            extra,
            ..Metadata::default()
        },
    }
    .into_document()
}

async fn seed(client: &mongodb::Client, count: u64) -> Duration {
    let collection = client
        .database(&panoptic::naming::database_name(ENV))
        .collection::<Document>("user_defined_scale");
    collection.drop().await.ok();
    for keys in panoptic::index_models() {
        collection.create_index(keys).await.unwrap();
    }
    let started = Instant::now();
    let batch = 10_000;
    let mut i = 0;
    while i < count {
        let end = (i + batch).min(count);
        let documents: Vec<Document> = (i..end).map(|j| event(j, count)).collect();
        collection.insert_many(documents).await.unwrap();
        i = end;
    }
    started.elapsed()
}

/// The peer: what a user would write by hand for "cost by service".
async fn plain_group(client: &mongodb::Client, since: bson::DateTime) -> usize {
    let collection = client
        .database(&panoptic::naming::database_name(ENV))
        .collection::<Document>("user_defined_scale");
    let pipeline = vec![
        doc! { "$match": { "ts": { "$gte": since } } },
        doc! { "$group": { "_id": "$service", "amount": { "$sum": "$amount" }, "count": { "$sum": 1 } } },
    ];
    let rows: Vec<Document> = collection
        .aggregate(pipeline)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    rows.len()
}

/// panoptic's pipeline by service with its duration bucket taken out of
/// the group key: what the bucket costs, measured.
async fn without_buckets(client: &mongodb::Client, query: &CostQuery) -> usize {
    let collection = client
        .database(&panoptic::naming::database_name(ENV))
        .collection::<Document>("user_defined_scale");
    let mut pipeline = query.clone().group_by([GroupBy::Service]).pipeline();
    if let Ok(group) = pipeline[1].get_document_mut("$group")
        && let Ok(id) = group.get_document_mut("_id")
    {
        id.remove("_duration_bucket");
    }
    let rows: Vec<Document> = collection
        .aggregate(pipeline)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    rows.len()
}

async fn time<T>(label: &str, runs: u64, mut step: impl AsyncFnMut() -> T) {
    for run in 1..=runs {
        let started = Instant::now();
        let _ = step().await;
        println!(
            "raw {label} run {run}: {:.3} s",
            started.elapsed().as_secs_f64()
        );
    }
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; nothing here takes arguments.
    let count = number("EVENTS", 1_000_000);
    let runs = number("RUNS", 3);
    let uri = common::mongodb_uri();
    let client = mongodb::Client::with_uri_str(&uri).await.unwrap();
    let seeded = seed(&client, count).await;
    println!(
        "seeded {count} events in {:.1} s ({:.0} events/s)",
        seeded.as_secs_f64(),
        count as f64 / seeded.as_secs_f64()
    );
    let since = Utc::now() - chrono::Duration::days(30);
    let query = CostQuery::new().env(ENV).since(since);
    time("plain $match+$group by service", runs, async || {
        plain_group(&client, bson::DateTime::from_chrono(since)).await
    })
    .await;
    time(
        "panoptic's pipeline by service, no duration bucket",
        runs,
        async || without_buckets(&client, &query).await,
    )
    .await;
    for by in [GroupBy::Service, GroupBy::Resource] {
        let grouped = query.clone().group_by([by]);
        time(
            &format!("CostQuery::run by {}", by.as_str()),
            runs,
            async || grouped.run(&client).await.unwrap().len(),
        )
        .await;
    }
    time("open_calls", runs, async || {
        panoptic::open_calls::open_calls(&client, &query)
            .await
            .unwrap()
            .len()
    })
    .await;
}
