//! Open calls found through the rollups' lists equal those found in every
//! event: for random calls (some never ended, some ended hours later, some
//! ended after the rollup ran), with windows clean, dirty or written since.
//! Writers here settle in a second, so listed calls are trusted (their
//! collection quiet since the worker looked) within the test.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use bson::Document;
use chrono::{DateTime, Duration as Span, Utc};
use panoptic::naming::{collection_name, database_name};
use panoptic::open_calls::{open_calls, open_calls_in};
use panoptic::query::CostQuery;
use panoptic::rollup::roll_up;
use panoptic::rollup_marks::{self, ALL_LEVELS, Marker};
use panoptic::{BillingEvent, Category, Decimal, Kind, Metadata, Outcome};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const SETTLE: Duration = Duration::from_secs(1);
const USERS: [&str; 3] = ["ann", "ben", "cat"];

/// Inserts as a writer settling in [`SETTLE`] does: marked (and stamped)
/// before and after.
async fn write(client: &mongodb::Client, events: &[BillingEvent]) {
    for e in events {
        let database = database_name(&e.env);
        let collection = collection_name(&e.provider, &e.username);
        let hours = BTreeSet::from([rollup_marks::hour_of(e.ts.timestamp_millis())]);
        let mark = || {
            rollup_marks::mark_levels(
                client,
                &database,
                Some(&collection),
                &hours,
                &ALL_LEVELS,
                Marker::Writer(SETTLE),
            )
        };
        mark().await.unwrap();
        client
            .database(&database)
            .collection::<Document>(&collection)
            .insert_one(e.to_document())
            .await
            .unwrap();
        mark().await.unwrap();
    }
}

/// A call of `user`, `minutes_ago`: its start record, and its final event
/// `ends_after` minutes later when it ended.
fn call(
    env: &str,
    now: DateTime<Utc>,
    user: usize,
    minutes_ago: i64,
    service: usize,
) -> BillingEvent {
    let mut extra = Document::new();
    extra.insert("start", true);
    extra.insert("call_id", bson::oid::ObjectId::new().to_hex());
    extra.insert(
        "estimate",
        bson::Decimal128::from_bytes(panoptic::money::to_decimal128(Decimal::new(25, 3)).bytes()),
    );
    BillingEvent {
        id: bson::oid::ObjectId::new(),
        ts: now - Span::minutes(minutes_ago) - Span::milliseconds(minutes_ago % 991),
        project_id: None,
        env: env.into(),
        username: USERS[user].into(),
        category: Category::Infra,
        provider: "openai".into(),
        service: ["ChatCompletions", "Embeddings"][service].into(),
        resource: format!("fn_{service}"),
        kind: Kind::Billing,
        outcome: Outcome::Ok,
        quantity: 1.0,
        unit: "call".into(),
        amount: None,
        currency: "USD".into(),
        metadata: Metadata {
            extra,
            ..Metadata::default()
        },
    }
}

fn ended(start: &BillingEvent, after_minutes: i64) -> BillingEvent {
    let mut end = start.clone();
    end.id = bson::oid::ObjectId::new();
    end.ts = start.ts + Span::minutes(after_minutes);
    end.metadata.extra.remove("start");
    end.metadata.extra.remove("estimate");
    end.amount = Some(Decimal::new(3, 2));
    end
}

fn ids(calls: &[panoptic::open_calls::OpenCall]) -> Vec<String> {
    let mut ids: Vec<String> = calls.iter().map(|c| c.call_id.clone()).collect();
    ids.sort();
    ids
}

#[derive(Debug, Clone)]
struct Plan {
    user: usize,
    minutes_ago: i64,
    service: usize,
    /// None: never ended; Some((minutes, late)): ended that many minutes
    /// later, written after the rollup ran when `late`.
    end: Option<(i64, bool)>,
}

fn plans() -> impl Strategy<Value = Vec<Plan>> {
    proptest::collection::vec(
        (
            0usize..3,
            0i64..3 * 24 * 60,
            0usize..2,
            proptest::option::of((0i64..240, any::<bool>())),
        )
            .prop_map(|(user, minutes_ago, service, end)| Plan {
                user,
                minutes_ago,
                service,
                end,
            }),
        1..60,
    )
}

#[test]
fn open_calls_from_rollups_equal_those_in_every_event() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client = runtime.block_on(common::client());
    let mut runner = TestRunner::new(Config {
        cases: 6,
        ..Config::default()
    });
    runner
        .run(
            &(plans(), 0i64..4 * 24 * 60, 0usize..4),
            |(plans, since_minutes, filter)| {
                runtime.block_on(async {
                    let env = common::unique_env("rollup_open_calls");
                    let database = database_name(&env);
                    let now = Utc::now();
                    let mut first = Vec::new();
                    let mut late = Vec::new();
                    for plan in &plans {
                        let start = call(&env, now, plan.user, plan.minutes_ago, plan.service);
                        if let Some((after, is_late)) = plan.end {
                            // An end is never stamped ahead of now.
                            let after = after.min(plan.minutes_ago);
                            match is_late {
                                true => late.push(ended(&start, after)),
                                false => first.push(ended(&start, after)),
                            }
                        }
                        first.push(start);
                    }
                    write(&client, &first).await;
                    tokio::time::sleep(SETTLE + Duration::from_millis(200)).await;
                    roll_up(&client, &database, Utc::now(), false, &|_| {})
                        .await
                        .unwrap();
                    let query = {
                        let q = CostQuery::new()
                            .env(&env)
                            .since(now - Span::minutes(since_minutes));
                        match filter {
                            0 => q,
                            1 => q.service("Embeddings"),
                            2 => q.username("ben").provider("openai"),
                            _ => q.until(now - Span::minutes(since_minutes / 2)),
                        }
                    };
                    let all: Vec<BillingEvent> = first.to_vec();
                    prop_assert_eq!(
                        ids(&open_calls(&client, &query).await.unwrap()),
                        ids(&open_calls_in(&query, &all))
                    );
                    // Ends written after the rollup looked: their collections
                    // were written since, so their listed calls are asked again.
                    write(&client, &late).await;
                    let all: Vec<BillingEvent> = first.iter().chain(&late).cloned().collect();
                    prop_assert_eq!(
                        ids(&open_calls(&client, &query).await.unwrap()),
                        ids(&open_calls_in(&query, &all))
                    );
                    tokio::time::sleep(SETTLE + Duration::from_millis(200)).await;
                    roll_up(&client, &database, Utc::now(), false, &|_| {})
                        .await
                        .unwrap();
                    prop_assert_eq!(
                        ids(&open_calls(&client, &query).await.unwrap()),
                        ids(&open_calls_in(&query, &all))
                    );
                    Ok(())
                })
            },
        )
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_ledger_answers_open_calls_from_the_lists_alone() {
    let client = common::client().await;
    let env = common::unique_env("rollup_open_lists");
    let database = database_name(&env);
    let now = Utc::now();
    let starts: Vec<BillingEvent> = (0..30)
        .map(|i| call(&env, now, i % 3, 60 + i as i64 * 90, i % 2))
        .collect();
    let mut events = starts.clone();
    events.extend(starts.iter().step_by(2).map(|s| ended(s, 5)));
    write(&client, &events).await;
    tokio::time::sleep(SETTLE + Duration::from_millis(200)).await;
    roll_up(&client, &database, Utc::now(), false, &|_| {})
        .await
        .unwrap();
    let query = CostQuery::new().env(&env);
    let open = open_calls(&client, &query).await.unwrap();
    assert_eq!(open.len(), 15);
    assert_eq!(ids(&open), ids(&open_calls_in(&query, &events)));

    // Proof the lists answer: one of ann's calls ends behind the
    // writers' backs (no mark, no stamp): still listed, still open.
    let ann_open = &starts[3];
    assert_eq!(ann_open.username, "ann");
    client
        .database(&database)
        .collection::<Document>(&collection_name("openai", "ann"))
        .insert_one(ended(ann_open, 1).to_document())
        .await
        .unwrap();
    assert_eq!(
        open_calls(&client, &query).await.unwrap().len(),
        15,
        "from the lists"
    );

    // A writer's stamp on ann's collection: her listed calls are asked
    // again, and the one that ended is found ended.
    let another = call(&env, now, 0, 0, 0);
    write(&client, &[another.clone(), ended(&another, 0)]).await;
    let open = open_calls(&client, &query).await.unwrap();
    assert_eq!(open.len(), 14, "{open:?}");
    let gone = ann_open.metadata.extra.get_str("call_id").unwrap();
    assert!(open.iter().all(|c| c.call_id != gone));
}
