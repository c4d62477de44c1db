//! Which period a call counts in, and calls that end unusually: a call
//! reserved just before midnight and settled after it counts, and alerts,
//! in the day it reserved in (the budgets' clock injected); a budgeted
//! async call whose future is dropped mid-body still settles. (A dead
//! process's reservation expiring: `tests/budgets_atomic.rs`.)

mod common;

use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Mutex as AsyncMutex;

use chrono::{DateTime, Utc};
use panoptic::budget::{Budget, Mode, Period};
use panoptic::{Decimal, Outcome, billable};

type StepError = common::call_error::CallError<&'static str>;

/// The budgets' clock, in milliseconds: the tests move it.
static NOW: AtomicI64 = AtomicI64::new(0);
/// Tests that install a global instance run one at a time.
static SERIAL: AsyncMutex<()> = AsyncMutex::const_new(());

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn at(text: &str) -> i64 {
    text.parse::<DateTime<Utc>>().unwrap().timestamp_millis()
}

fn budget() -> Budget {
    Budget::new("edge", Period::Day, dec("1.00"))
        .provider("user_defined")
        .service("Edge")
        .mode(Mode::Enforce)
        .alerts([50])
}

/// Reserved before midnight; its body runs until after it.
#[billable(
    provider = "user_defined",
    service = "Edge",
    budget = "edge",
    estimate = 0.70,
    amount = 0.60
)]
fn across_midnight() -> Result<(), StepError> {
    NOW.store(at("2026-12-08T00:00:00.100Z"), Ordering::SeqCst);
    Ok(())
}

/// An async call that never finishes on its own: the test drops it once
/// its body has started.
#[billable(
    provider = "user_defined",
    service = "Edge",
    budget = "edge",
    estimate = 0.30
)]
async fn abandoned(started: Arc<tokio::sync::Notify>) -> Result<(), StepError> {
    started.notify_one();
    std::future::pending::<()>().await;
    Ok(())
}

async fn period_of_id(uri: &str, id: &str) -> bson::Document {
    common::client_for(uri)
        .await
        .database(panoptic::budget::BUDGET_DATABASE)
        .collection::<bson::Document>("periods")
        .find_one(bson::doc! { "_id": id })
        .await
        .unwrap()
        .unwrap_or_default()
}

fn decimal(document: &bson::Document, key: &str) -> Decimal {
    document
        .get_decimal128(key)
        .map(|d| panoptic::money::from_decimal128(*d).unwrap())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_across_midnight_counts_and_alerts_in_the_day_it_reserved_in() {
    let _serial = SERIAL.lock().await;
    let server = common::TestServer::start();
    let env = common::unique_env("budget-midnight");
    NOW.store(at("2026-12-07T23:59:59.900Z"), Ordering::SeqCst);
    let alerts = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&alerts);
    let guard = common::builder(&env)
        .mongodb_uri(server.uri())
        .budget(budget())
        .budget_clock(|| DateTime::from_timestamp_millis(NOW.load(Ordering::SeqCst)).unwrap())
        .on_budget_alert(move |alert| seen.lock().unwrap().push(alert.clone()))
        .install()
        .unwrap();
    assert!(across_midnight().is_ok());
    assert!(guard.flush());
    let before = period_of_id(&server.uri(), "edge|2026-12-07").await;
    let after = period_of_id(&server.uri(), "edge|2026-12-08").await;
    assert_eq!(decimal(&before, "spent"), dec("0.60"), "{before:?}");
    assert_eq!(decimal(&before, "reserved"), Decimal::ZERO, "{before:?}");
    // On the day it reserved in (the period's last day), not the next.
    let days = before.get_document("days").unwrap();
    assert_eq!(decimal(days, "2026-12-07"), dec("0.60"), "{days:?}");
    assert!(days.get("2026-12-08").is_none(), "{days:?}");
    assert_eq!(decimal(&after, "spent"), Decimal::ZERO, "{after:?}");
    let alerts = alerts.lock().unwrap().clone();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(
        (
            alerts[0].period.as_str(),
            alerts[0].percent,
            alerts[0].spent
        ),
        ("2026-12-07", Some(50), dec("0.60"))
    );
    drop(guard);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_budgeted_async_call_whose_future_is_dropped_settles() {
    let _serial = SERIAL.lock().await;
    let server = common::TestServer::start();
    let env = common::unique_env("budget-dropped");
    NOW.store(Utc::now().timestamp_millis(), Ordering::SeqCst);
    let guard = common::builder(&env)
        .mongodb_uri(server.uri())
        .budget(budget())
        .budget_clock(|| DateTime::from_timestamp_millis(NOW.load(Ordering::SeqCst)).unwrap())
        .install()
        .unwrap();
    let started = Arc::new(tokio::sync::Notify::new());
    tokio::select! {
        _ = abandoned(Arc::clone(&started)) => panic!("the call cannot finish"),
        () = started.notified() => {}
    }
    // The call's future is dropped here, its reservation held.
    assert!(guard.flush());
    let status = guard.budgets().unwrap().remove(0);
    let events: Vec<_> = common::events_at(&server.uri(), &env, "user_defined_john_doe")
        .await
        .into_iter()
        .filter(|e| e.resource == "abandoned" && e.metadata.extra.get_bool("start").is_err())
        .collect();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].outcome, Outcome::Cancelled);
    // Unpriced: it settles at its estimate, and says so.
    assert_eq!(
        decimal(&events[0].metadata.extra, "budget_settled_at"),
        dec("0.30")
    );
    assert_eq!(status.spent, dec("0.30"));
    assert_eq!(status.reserved, Decimal::ZERO);
    assert_eq!(status.open_reservations, 0);
    drop(guard);
}
