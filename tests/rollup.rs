//! Rollups answer every query exactly as a scan of every event does: for
//! random events and random queries (filters, groupings, time zones with
//! half- and quarter-hour offsets, ranges off the hour), with windows
//! rolled up, dirty, or written while they are recomputed.

mod common;

use common::rollup::{Seed, event, shown, write};

use bson::Document;
use chrono::{DateTime, Duration as Span, Utc};
use panoptic::naming::{collection_name, database_name};
use panoptic::query::{CostQuery, GroupBy, Tz};
use panoptic::rollup::{is_covered, roll_up};
use panoptic::rollup_marks::{self, HOUR_MS};
use panoptic::{BillingEvent, Decimal, Kind, Outcome};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const ZONES: [Tz; 4] = [
    Tz::UTC,
    Tz::Asia__Kolkata,
    Tz::Asia__Kathmandu,
    Tz::America__Los_Angeles,
];

fn seeds(most: usize) -> impl Strategy<Value = Vec<Seed>> {
    let one = (
        (
            0_i64..4 * 24 * 60,
            0..3_usize,
            0..2_usize,
            0..3_usize,
            0..4_usize,
        ),
        (
            0..10_usize,
            any::<bool>(),
            proptest::option::weighted(0.85, 1..50_000_i64),
        ),
        (any::<bool>(), proptest::option::of(0..200_000_u32)),
        (proptest::option::of(0..2_usize), 0..4_usize),
    )
        .prop_map(
            |(
                (minutes_ago, user, provider, service, resource),
                (kind, outcome, amount),
                (euro, duration),
                (end_user, tags),
            )| Seed {
                minutes_ago,
                user,
                provider,
                service,
                resource,
                kind,
                outcome,
                amount,
                euro,
                duration,
                end_user,
                tags,
            },
        );
    proptest::collection::vec(one, 1..most)
}

/// A random query: filters, grouping, zone, range (often off the hour).
#[derive(Debug, Clone)]
struct Ask {
    by: Vec<usize>,
    zone: usize,
    since_minutes: Option<i64>,
    until_minutes: Option<i64>,
    filter: usize,
}

fn asks() -> impl Strategy<Value = Ask> {
    (
        proptest::collection::vec(0..8_usize, 0..3),
        0..4_usize,
        proptest::option::of(0_i64..5 * 24 * 60),
        proptest::option::weighted(0.3, 0_i64..3 * 24 * 60),
        0..9_usize,
    )
        .prop_map(|(by, zone, since_minutes, until_minutes, filter)| Ask {
            by,
            zone,
            since_minutes,
            until_minutes,
            filter,
        })
}

fn query(ask: &Ask, env: &str, now: DateTime<Utc>) -> CostQuery {
    let mut q = CostQuery::new().env(env);
    q = match ask.filter {
        1 => q.service("ChatCompletions"),
        2 => q.username("bob"),
        3 => q.provider("gcp").username("alice"),
        4 => q.resource("fn_1"),
        5 => q.tag("eu"),
        6 => q.metadata_user("customer-1"),
        7 => q.outcome(Outcome::Error),
        8 => q.kind(Kind::Adjustment),
        _ => q,
    };
    if let Some(m) = ask.since_minutes {
        q = q.since(now - Span::minutes(m) - Span::seconds(m % 61));
    }
    if let Some(m) = ask.until_minutes {
        q = q.until(now - Span::minutes(m));
    }
    let mut by: Vec<GroupBy> = ask.by.iter().map(|&i| GroupBy::ALL[i]).collect();
    by.dedup();
    q.time_zone(ZONES[ask.zone]).group_by(by)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn rollups_answer_every_query_as_a_scan_does() {
    let runtime = runtime();
    let client = runtime.block_on(common::client());
    let mut runner = TestRunner::new(Config {
        cases: 12,
        ..Config::default()
    });
    runner
        .run(
            &(seeds(300), seeds(40), proptest::collection::vec(asks(), 12)),
            |(first, late, asks)| {
                runtime.block_on(async {
                    let env = common::unique_env("rollup_prop");
                    let now = Utc::now();
                    let events: Vec<BillingEvent> =
                        first.iter().map(|s| event(s, &env, now)).collect();
                    write(&client, &events).await;
                    let database = database_name(&env);
                    let report = roll_up(&client, &database, now, false, &|_| {})
                        .await
                        .unwrap();
                    assert!(report.held_by.is_none());
                    assert!(is_covered(&client, &database).await.unwrap());
                    // Late events into rolled-up hours: dirty windows, read
                    // from events until the next pass.
                    let late: Vec<BillingEvent> =
                        late.iter().map(|s| event(s, &env, now)).collect();
                    write(&client, &late).await;
                    let all: Vec<BillingEvent> = events.iter().chain(&late).cloned().collect();
                    for pass in 0..2 {
                        for ask in &asks {
                            let q = query(ask, &env, now);
                            let scanned = q.run_scan(&client).await.unwrap();
                            let rolled = q.run(&client).await.unwrap();
                            prop_assert_eq!(
                                shown(&rolled),
                                shown(&scanned),
                                "pass {} {:?}",
                                pass,
                                q
                            );
                            prop_assert_eq!(
                                shown(&q.run_on_events(&all)),
                                shown(&scanned),
                                "{:?}",
                                q
                            );
                        }
                        roll_up(&client, &database, now, false, &|_| {})
                            .await
                            .unwrap();
                    }
                    Ok(())
                })
            },
        )
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_hours_are_read_from_rollups_and_late_events_make_them_dirty() {
    let client = common::client().await;
    let env = common::unique_env("rollup_dirty");
    let database = database_name(&env);
    let now = Utc::now();
    let seed = |minutes_ago: i64, amount: i64| Seed {
        minutes_ago,
        user: 0,
        provider: 0,
        service: 0,
        resource: 0,
        kind: 9,
        outcome: true,
        amount: Some(amount),
        euro: false,
        duration: Some(1_000),
        end_user: None,
        tags: 0,
    };
    let events: Vec<BillingEvent> = (0..50)
        .map(|i| event(&seed(120 + i * 30, 1_000), &env, now))
        .collect();
    write(&client, &events).await;
    let report = roll_up(&client, &database, now, false, &|_| {})
        .await
        .unwrap();
    assert!(report.collection_hours >= 20, "{report:?}");
    assert!(report.hours >= 20 && report.days >= 1, "{report:?}");
    assert_eq!(report.left_dirty, 0, "{report:?}");

    // Proof that the rollups are read: change an event behind the
    // writer's back (no mark); the report does not see it, the scan does.
    let collection = client
        .database(&database)
        .collection::<Document>(&collection_name("gcp", "alice"));
    collection
        .update_one(
            bson::doc! { "_id": events[10].id },
            bson::doc! { "$set": { "amount": bson::Decimal128::from_bytes(panoptic::money::to_decimal128(Decimal::new(9, 0)).bytes()) } },
        )
        .await
        .unwrap();
    let q = CostQuery::new().env(&env);
    let rolled = q.run(&client).await.unwrap();
    let scanned = q.run_scan(&client).await.unwrap();
    assert_eq!(rolled[0].amount, Decimal::new(50_000, 6), "from rollups");
    assert_eq!(
        scanned[0].amount,
        Decimal::new(49_000, 6) + Decimal::new(9, 0)
    );

    // A late event, marked as the writer marks: its hour is dirty and read
    // from events at once, then rolled up again.
    // Two days ago at noon: a closed day, whatever the time now.
    let noon = (now - Span::days(2))
        .date_naive()
        .and_hms_opt(12, 0, 0)
        .unwrap()
        .and_utc();
    let late = event(&seed((now - noon).num_minutes(), 5_000), &env, now);
    write(&client, std::slice::from_ref(&late)).await;
    let rolled = q.run(&client).await.unwrap();
    assert_eq!(
        rolled[0].amount,
        Decimal::new(55_000, 6),
        "the late event counts at once"
    );
    let report = roll_up(&client, &database, now, false, &|_| {})
        .await
        .unwrap();
    assert_eq!(
        (report.collection_hours, report.hours, report.days),
        (1, 1, 1),
        "{report:?}"
    );
    assert_eq!(
        q.run(&client).await.unwrap()[0].amount,
        Decimal::new(55_000, 6)
    );
    // A change no writer marked is seen after a rebuild.
    let report = roll_up(&client, &database, now, true, &|_| {})
        .await
        .unwrap();
    assert!(report.collection_hours >= 20, "{report:?}");
    let scanned = q.run_scan(&client).await.unwrap();
    assert_eq!(shown(&q.run(&client).await.unwrap()), shown(&scanned));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_landing_while_its_window_is_recomputed_leaves_it_dirty() {
    passes_while_late_events_land(false).await;
}

/// A rebuild writes windows without marking them first: one it finds none
/// for is inserted only if still none, one it lists only if its marks did
/// not move, so late batches (into hours no window holds yet, too) still
/// leave their windows dirty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuilds_while_late_events_land_never_count_one_twice() {
    passes_while_late_events_land(true).await;
}

async fn passes_while_late_events_land(rebuild: bool) {
    let client = common::client().await;
    let env = common::unique_env("rollup_race");
    let database = database_name(&env);
    let now = Utc::now();
    let old_hour = rollup_marks::hour_of((now - Span::hours(5)).timestamp_millis());
    // Four closed hours; the late events reach hours and users the first
    // batch did not.
    let at = |i: i64| {
        DateTime::from_timestamp_millis(old_hour - (i % 4) * HOUR_MS + (i * 997) % HOUR_MS).unwrap()
    };
    let make = |i: i64| {
        let mut e = event(
            &Seed {
                minutes_ago: 0,
                user: (i % 3) as usize,
                provider: 0,
                service: (i % 3) as usize,
                resource: 0,
                kind: 9,
                outcome: true,
                amount: Some(1 + i),
                euro: false,
                duration: Some(500),
                end_user: None,
                tags: 0,
            },
            &env,
            now,
        );
        e.ts = at(i);
        e
    };
    let (events, later): (Vec<(i64, BillingEvent)>, _) = (0..330)
        .map(|i| (i, make(i)))
        .partition(|(i, _)| *i < 30 && i % 3 == 0);
    let events: Vec<BillingEvent> = events.into_iter().map(|(_, e)| e).collect();
    let later: Vec<BillingEvent> = later.into_iter().map(|(_, e)| e).collect();
    write(&client, &events).await;
    // A writer keeps adding late events to the same hour while passes run.
    let writer = {
        let client = client.clone();
        tokio::spawn(async move {
            for event in later {
                write(&client, &[event]).await;
            }
        })
    };
    let mut passes = 0;
    while !writer.is_finished() {
        roll_up(&client, &database, now, rebuild, &|_| {})
            .await
            .unwrap();
        passes += 1;
    }
    writer.await.unwrap();
    let q = CostQuery::new()
        .env(&env)
        .group_by([GroupBy::User, GroupBy::Service]);
    // Before a last pass, and after it: equal to a scan, never more.
    assert_eq!(
        shown(&q.run(&client).await.unwrap()),
        shown(&q.run_scan(&client).await.unwrap())
    );
    roll_up(&client, &database, now, false, &|_| {})
        .await
        .unwrap();
    let rolled = q.run(&client).await.unwrap();
    assert_eq!(shown(&rolled), shown(&q.run_scan(&client).await.unwrap()));
    let total: u64 = rolled.iter().map(|r| r.count).sum();
    assert_eq!(total, 330, "after {passes} passes during the writes");
}

/// The newest `k` of `events` matching `q`, as the events page orders them.
fn newest(q: &CostQuery, events: impl IntoIterator<Item = BillingEvent>, k: usize) -> Vec<String> {
    let mut matching: Vec<BillingEvent> = events.into_iter().filter(|e| q.matches(e)).collect();
    matching.sort_by(|a, b| b.ts.cmp(&a.ts).then_with(|| b.id.cmp(&a.id)));
    matching
        .iter()
        .take(k)
        .map(|e| format!("{} {}", e.ts.timestamp_millis(), e.id))
        .collect()
}

#[test]
fn the_newest_events_found_through_rollups_are_the_newest_of_all() {
    let runtime = runtime();
    let client = runtime.block_on(common::client());
    let mut runner = TestRunner::new(Config {
        cases: 10,
        ..Config::default()
    });
    runner
        .run(
            &(
                seeds(400),
                seeds(30),
                proptest::collection::vec((asks(), 1..60_usize), 8),
            ),
            |(first, late, asks)| {
                runtime.block_on(async {
                    let env = common::unique_env("rollup_newest");
                    let now = Utc::now();
                    let events: Vec<BillingEvent> =
                        first.iter().map(|s| event(s, &env, now)).collect();
                    write(&client, &events).await;
                    let database = database_name(&env);
                    roll_up(&client, &database, now, false, &|_| {})
                        .await
                        .unwrap();
                    // Late events: dirty windows, read whole.
                    let late: Vec<BillingEvent> =
                        late.iter().map(|s| event(s, &env, now)).collect();
                    write(&client, &late).await;
                    let all: Vec<BillingEvent> = events.iter().chain(&late).cloned().collect();
                    for (ask, k) in &asks {
                        let q = query(ask, &env, now);
                        let mut found = q
                            .events(&client, Document::new(), Some(*k as u64))
                            .await
                            .unwrap();
                        found.sort_by(|a, b| b.ts.cmp(&a.ts).then_with(|| b.id.cmp(&a.id)));
                        prop_assert_eq!(
                            newest(&q, found, *k),
                            newest(&q, all.iter().cloned(), *k),
                            "{:?} k {}",
                            q,
                            k
                        );
                    }
                    Ok(())
                })
            },
        )
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_newest_events_of_many_collections_are_found_reading_few() {
    let client = common::client().await;
    let env = common::unique_env("rollup_newest_many");
    let database = database_name(&env);
    let now = Utc::now();
    let hour = rollup_marks::hour_of((now - Span::hours(3)).timestamp_millis());
    // Forty users' collections, their events interleaved in one hour, one
    // in three an error: more collections than are read at once.
    let events: Vec<BillingEvent> = (0..400_i64)
        .map(|i| {
            let mut e = event(
                &Seed {
                    minutes_ago: 0,
                    user: 0,
                    provider: 0,
                    service: (i % 3) as usize,
                    resource: 0,
                    kind: 9,
                    outcome: i % 3 != 0,
                    amount: Some(1 + i),
                    euro: false,
                    duration: Some(500),
                    end_user: None,
                    tags: 0,
                },
                &env,
                now,
            );
            e.username = format!("user{}", (i * 7) % 40);
            e.ts = DateTime::from_timestamp_millis(hour + i * 8_000).unwrap();
            e
        })
        .collect();
    write(&client, &events).await;
    roll_up(&client, &database, now, false, &|_| {})
        .await
        .unwrap();
    for (q, k) in [
        (CostQuery::new().env(&env), 5),
        (CostQuery::new().env(&env).outcome(Outcome::Error), 12),
        (CostQuery::new().env(&env).service("S3"), 1),
        (
            CostQuery::new()
                .env(&env)
                .until(DateTime::from_timestamp_millis(hour + 1_600_000).unwrap()),
            30,
        ),
    ] {
        let found = q.events(&client, Document::new(), Some(k)).await.unwrap();
        assert_eq!(
            newest(&q, found, k as usize),
            newest(&q, events.iter().cloned(), k as usize),
            "{q:?}"
        );
    }
}
