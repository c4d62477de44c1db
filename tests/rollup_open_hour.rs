//! The hour still being written is rolled up once it settles, through the
//! real writer: a report of it then reads one window per database, not
//! every collection, and stays equal to a scan while the writer goes on.
//! The writers here settle in 2 s, so the rule is exercised in seconds.

mod common;

use std::time::Duration;

use bson::{Document, doc};
use chrono::Utc;
use futures_util::TryStreamExt;
use panoptic::naming::{collection_name, database_name};
use panoptic::query::{CostQuery, GroupBy};
use panoptic::rollup::{is_covered, roll_up};
use panoptic::rollup_marks;
use panoptic::{Decimal, Provider};

use common::rollup::shown;

const SETTLE_SECONDS: u64 = 2;

fn writer(env: &str) -> panoptic::Panoptic {
    common::builder(env)
        .rollup_settle(Duration::from_secs(SETTLE_SECONDS))
        .build()
        .unwrap()
}

/// Hour windows of `database` starting at `hour`, with their `dirty` flag.
async fn window_state(client: &mongodb::Client, database: &str, hour: i64) -> Vec<(i32, bool)> {
    let windows = client
        .database(rollup_marks::DATABASE)
        .collection::<Document>(rollup_marks::WINDOWS);
    let found: Vec<Document> = windows
        .find(doc! { "db": database, "t": bson::DateTime::from_millis(hour) })
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let mut state: Vec<(i32, bool)> = found
        .iter()
        .map(|w| (w.get_i32("l").unwrap(), w.get_bool("dirty").unwrap()))
        .collect();
    state.sort();
    state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hour_being_written_is_rolled_up_once_settled_and_stays_exact() {
    let client = common::client().await;
    let env = common::unique_env("rollup_open");
    let database = database_name(&env);
    let panoptic = writer(&env);
    let bq = panoptic.logger(Provider::Gcp, "BigQuery");
    let record = |n: u32| {
        for i in 0..n {
            panoptic::invoice!(bq, "daily_report"; "amount" => "0.25", "quantity" => 1u64, "duration_ms" => f64::from(i % 50));
        }
        assert!(panoptic.flush());
    };
    let hour = rollup_marks::hour_of(Utc::now().timestamp_millis());
    record(100);
    let now = Utc::now();
    if rollup_marks::hour_of(now.timestamp_millis()) != hour {
        eprintln!("the hour turned while recording; the next run checks it");
        return;
    }
    // Just written: not settled, so not rolled up (the first pass marks
    // what exists, as a rebuild does).
    let report = roll_up(&client, &database, now, false, &|_| {})
        .await
        .unwrap();
    assert!(is_covered(&client, &database).await.unwrap());
    let open = window_state(&client, &database, hour).await;
    assert!(
        open.iter().any(|&(level, dirty)| level == 0 && dirty),
        "{open:?} {report:?}"
    );

    tokio::time::sleep(Duration::from_millis(SETTLE_SECONDS * 1_000 + 500)).await;
    let report = roll_up(&client, &database, Utc::now(), false, &|_| {})
        .await
        .unwrap();
    assert_eq!(report.left_dirty, 0, "{report:?}");
    assert!(
        report.collection_hours >= 1 && report.hours >= 1,
        "{report:?}"
    );
    let settled = window_state(&client, &database, hour).await;
    assert!(
        settled.iter().all(|&(_, dirty)| !dirty) && settled.iter().any(|&(l, _)| l == 1),
        "the open hour's collection, hour and day windows are clean: {settled:?}"
    );

    // Proof the open hour is read from its rollup: an event changed
    // behind the writer's back (no mark) is not seen; a scan sees it.
    let collection = client
        .database(&database)
        .collection::<Document>(&collection_name("gcp", "John Doe"));
    let some = collection.find_one(doc! {}).await.unwrap().unwrap();
    collection
        .update_one(
            doc! { "_id": some.get_object_id("_id").unwrap() },
            doc! { "$set": { "quantity": 1_001_i64 } },
        )
        .await
        .unwrap();
    let q = CostQuery::new()
        .env(&env)
        .since(Utc::now() - chrono::Duration::hours(2));
    let rolled = q.run(&client).await.unwrap();
    assert_eq!(rolled[0].quantity, 100.0, "from the open hour's rollup");
    assert_eq!(q.run_scan(&client).await.unwrap()[0].quantity, 1_100.0);
    collection
        .update_one(
            doc! { "_id": some.get_object_id("_id").unwrap() },
            doc! { "$set": { "quantity": 1_i64 } },
        )
        .await
        .unwrap();

    // The writer goes on: its next batch marks the hour again (its last
    // mark is more than half a period old), so the report counts it at
    // once, read from events.
    record(10);
    let rolled = q.run(&client).await.unwrap();
    assert_eq!(
        (rolled[0].count, rolled[0].amount),
        (110, Decimal::new(2_750, 2))
    );
    let now_hour = rollup_marks::hour_of(Utc::now().timestamp_millis());
    if now_hour == hour {
        let state = window_state(&client, &database, hour).await;
        assert!(
            state.iter().all(|&(_, dirty)| dirty),
            "marked again: {state:?}"
        );
    }
    drop(panoptic);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_while_the_writer_writes_the_open_hour_never_lose_or_double_a_call() {
    let client = common::client().await;
    let env = common::unique_env("rollup_open_race");
    let database = database_name(&env);
    let panoptic = writer(&env);
    let written = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    // A writer records in bursts with pauses around the settle period, so
    // windows settle, are rolled up, and are written again meanwhile.
    let writer = {
        let panoptic = panoptic.clone();
        let written = written.clone();
        std::thread::spawn(move || {
            let run = panoptic.logger(Provider::Gcp, "CloudRun");
            let users = ["ann", "ben", "cat"];
            for burst in 0..8u64 {
                for i in 0..40u64 {
                    let user = users[((burst + i) % 3) as usize];
                    panoptic::invoice!(run, "render"; "amount" => "0.001", "quantity" => 1u64, "user" => user);
                }
                assert!(panoptic.flush());
                written.fetch_add(40, std::sync::atomic::Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(750 * (burst % 4) * SETTLE_SECONDS));
            }
        })
    };
    let q = CostQuery::new()
        .env(&env)
        .since(Utc::now() - chrono::Duration::hours(2))
        .group_by([GroupBy::User]);
    let mut passes = 0;
    let mut rolled_open = 0;
    while !writer.is_finished() {
        let report = roll_up(&client, &database, Utc::now(), false, &|_| {})
            .await
            .unwrap();
        rolled_open += report.collection_hours;
        passes += 1;
        // Whatever the writer is doing, a report equals a scan of what is
        // in the database when both ran (no insert between them: read
        // twice, equal scans around it).
        let before = q.run_scan(&client).await.unwrap();
        let report = q.run(&client).await.unwrap();
        let after = q.run_scan(&client).await.unwrap();
        if shown(&before) == shown(&after) {
            assert_eq!(shown(&report), shown(&before), "pass {passes}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    writer.join().unwrap();
    assert!(
        rolled_open >= 2,
        "windows of the open hour were rolled up during the writes: {rolled_open}"
    );
    tokio::time::sleep(Duration::from_millis(SETTLE_SECONDS * 1_000 + 500)).await;
    roll_up(&client, &database, Utc::now(), false, &|_| {})
        .await
        .unwrap();
    let report = q.run(&client).await.unwrap();
    assert_eq!(shown(&report), shown(&q.run_scan(&client).await.unwrap()));
    let total: u64 = report.iter().map(|r| r.count).sum();
    assert_eq!(total, written.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(total, 8 * 40);
    drop(panoptic);
}
