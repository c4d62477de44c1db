//! Spend is written down before it is counted: a process SIGKILLed while
//! its spend or its settlements wait to be counted loses none of them.
//! The next process on the same spool folder counts what was left, once
//! (twice started, it counts nothing again), and a settlement counted
//! just before the kill, across midnight, is not counted a second time in
//! the next day. Faults are stops at named points in the child
//! (`PANOPTIC_BUDGET_FAULT`), then a real SIGKILL.

mod common;

use common::budget_state::{decimal, period};

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::DateTime;
use panoptic::budget::{Budget, FailurePolicy, Mode, Period};
use panoptic::{Decimal, billable};

type StepError = common::call_error::CallError<&'static str>;

const ORDINARY: u32 = 6;
const BUDGETED: u32 = 3;

/// The budgets' clock in milliseconds; 0: the real clock.
static NOW: AtomicI64 = AtomicI64::new(0);
/// Where a budgeted call's body moves the clock to (0: nowhere).
static MOVE_TO: AtomicI64 = AtomicI64::new(0);
/// One test at a time: they share the clock.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn millis(rfc3339: &str) -> i64 {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_millis()
}

fn budget() -> Budget {
    Budget::new("killed", Period::Day, dec("100"))
        .provider("user_defined")
        .service("Killed")
        .mode(Mode::Enforce)
        .on_unavailable(FailurePolicy::FailOpen)
}

/// In the budget's scope, reserving nothing: counted from the writer.
#[billable(provider = "user_defined", service = "Killed", amount = 0.01)]
fn ordinary() {}

/// Reserves 0.25, settles at 0.10 as it ends.
#[billable(
    provider = "user_defined",
    service = "Killed",
    budget = "killed",
    estimate = 0.25,
    amount = 0.10
)]
fn budgeted() -> Result<(), StepError> {
    let to = MOVE_TO.load(Ordering::SeqCst);
    if to != 0 {
        NOW.store(to, Ordering::SeqCst);
    }
    Ok(())
}

fn handle(uri: &str, env: &str, spool: &Path) -> panoptic::InstallGuard {
    common::resilient(uri, env, spool, "John Doe")
        .operation_timeout(Duration::from_secs(1))
        .budget(budget())
        .budget_clock(|| match NOW.load(Ordering::SeqCst) {
            0 => chrono::Utc::now(),
            at => DateTime::from_timestamp_millis(at).unwrap(),
        })
        .install()
        .unwrap()
}

/// The child: its calls, a flush of its events, then it says so and
/// waits to be killed. One of its budget threads stops at the fault
/// point on the way.
#[test]
fn killed_child() {
    let Ok(uri) = std::env::var("PANOPTIC_KILLED_URI") else {
        return; // run directly, not as a child: nothing to do
    };
    let env = std::env::var("PANOPTIC_KILLED_ENV").unwrap();
    let spool = std::env::var("PANOPTIC_KILLED_SPOOL").unwrap();
    let ordinary_calls: u32 = std::env::var("PANOPTIC_KILLED_ORDINARY")
        .unwrap()
        .parse()
        .unwrap();
    let budgeted_calls: u32 = std::env::var("PANOPTIC_KILLED_BUDGETED")
        .unwrap()
        .parse()
        .unwrap();
    if let Ok(at) = std::env::var("PANOPTIC_KILLED_NOW") {
        NOW.store(millis(&at), Ordering::SeqCst);
    }
    if let Ok(at) = std::env::var("PANOPTIC_KILLED_MOVE_TO") {
        MOVE_TO.store(millis(&at), Ordering::SeqCst);
    }
    let guard = handle(&uri, &env, Path::new(&spool));
    for _ in 0..budgeted_calls {
        budgeted().unwrap();
    }
    for _ in 0..ordinary_calls {
        ordinary();
    }
    // The events reach MongoDB; the budgets' flush gives up at its bound
    // (a budget thread is stopped).
    let _ = guard.flush();
    println!("killed-child: flushed");
    loop {
        std::thread::park();
    }
}

/// Runs the child to `fault` and until it flushed, then SIGKILLs it.
fn run_and_kill(uri: &str, env: &str, spool: &Path, fault: &str, extra: &[(&str, &str)]) {
    run_and_kill_with(uri, env, spool, fault, ORDINARY, BUDGETED, extra);
}

fn run_and_kill_with(
    uri: &str,
    env: &str,
    spool: &Path,
    fault: &str,
    ordinary_calls: u32,
    budgeted_calls: u32,
    extra: &[(&str, &str)],
) {
    let mut command = common::child_test("killed_child");
    command
        .env("PANOPTIC_KILLED_URI", uri)
        .env("PANOPTIC_KILLED_ENV", env)
        .env("PANOPTIC_KILLED_SPOOL", spool)
        .env("PANOPTIC_KILLED_ORDINARY", ordinary_calls.to_string())
        .env("PANOPTIC_KILLED_BUDGETED", budgeted_calls.to_string())
        .env("PANOPTIC_BUDGET_FAULT", fault)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (key, value) in extra {
        command.env(key, value);
    }
    let mut child = command.spawn().unwrap();
    let lines: Vec<String> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .take_while(|l| !l.contains("killed-child: flushed"))
        .collect();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with(&format!("panoptic-fault: {fault}"))),
        "the child stopped at {fault}: {lines:?}"
    );
}

/// The sum of the amounts of the calls' final events.
async fn events_sum(uri: &str, env: &str) -> (usize, Decimal) {
    let events: Vec<_> = common::events_at(uri, env, "user_defined_john_doe")
        .await
        .into_iter()
        .filter(|e| e.service == "Killed" && e.metadata.extra.get_bool("start").is_err())
        .collect();
    (events.len(), events.iter().filter_map(|e| e.amount).sum())
}

fn today_id() -> String {
    format!("killed|{}", chrono::Utc::now().date_naive())
}

/// `period` spent `spent` and holds nothing.
fn assert_settled(period: &bson::Document, spent: Decimal) {
    assert_eq!(decimal(period, "spent"), spent, "counted once: {period:?}");
    assert_eq!(decimal(period, "reserved"), Decimal::ZERO, "{period:?}");
    assert_eq!(period.get_i64("open_count").unwrap_or(0), 0, "{period:?}");
}

/// Starts a process on `spool` that counts what was left, twice.
async fn count_left_twice(uri: &str, env: &str, spool: &Path) {
    for _ in 0..2 {
        let guard = handle(uri, env, spool);
        assert!(guard.flush());
        // Settles what this process has (and what it found) first.
        assert!(guard.budgets().is_some(), "MongoDB answers");
        drop(guard);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_writers_spend_waiting_at_a_sigkill_is_counted_once_by_the_next_process() {
    let _serial = SERIAL.lock().await;
    NOW.store(0, Ordering::SeqCst);
    let server = common::TestServer::start();
    let uri = server.uri();
    let env = common::unique_env("budget-killed-spend");
    let spool = common::temp_dir("budget-killed-spend");
    // The spend loop stops before it counts the writer's first spend;
    // settlements are counted (on the other thread) as calls end.
    run_and_kill(&uri, &env, &spool, "spend:before-count", &[]);
    let (count, total) = events_sum(&uri, &env).await;
    assert_eq!(count as u32, ORDINARY + BUDGETED);
    assert_eq!(
        total,
        dec("0.01") * Decimal::from(ORDINARY) + dec("0.10") * Decimal::from(BUDGETED)
    );
    let killed = period(&uri, &today_id()).await;
    assert_eq!(
        decimal(&killed, "spent"),
        dec("0.10") * Decimal::from(BUDGETED),
        "only the settlements were counted before the kill: {killed:?}"
    );
    count_left_twice(&uri, &env, &spool).await;
    assert_settled(&period(&uri, &today_id()).await, total);
    // The periods are found by budget through an index, not a scan.
    let indexes = common::client_for(&uri)
        .await
        .database(panoptic::budget::BUDGET_DATABASE)
        .collection::<bson::Document>("periods")
        .list_index_names()
        .await
        .unwrap();
    assert!(
        indexes.contains(&"budget_1_start_-1".to_owned()),
        "{indexes:?}"
    );
    let left = std::fs::read_dir(spool.join("budget-backlog"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(left, 0, "every batch counted is removed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_settlement_waiting_at_a_sigkill_is_counted_once_and_frees_its_hold() {
    let _serial = SERIAL.lock().await;
    NOW.store(0, Ordering::SeqCst);
    let server = common::TestServer::start();
    let uri = server.uri();
    let env = common::unique_env("budget-killed-settle");
    let spool = common::temp_dir("budget-killed-settle");
    // The reservation thread stops before it counts the first
    // settlement: the call's 0.25 stays held, its 0.10 not counted.
    run_and_kill_with(&uri, &env, &spool, "settle:before-count", ORDINARY, 1, &[]);
    let (count, total) = events_sum(&uri, &env).await;
    assert_eq!(count as u32, ORDINARY + 1);
    assert_eq!(total, dec("0.01") * Decimal::from(ORDINARY) + dec("0.10"));
    let killed = period(&uri, &today_id()).await;
    assert_eq!(decimal(&killed, "reserved"), dec("0.25"), "{killed:?}");
    assert_eq!(
        decimal(&killed, "spent"),
        dec("0.01") * Decimal::from(ORDINARY),
        "{killed:?}"
    );
    count_left_twice(&uri, &env, &spool).await;
    assert_settled(&period(&uri, &today_id()).await, total);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_settlement_counted_at_midnight_then_killed_is_not_counted_again_the_next_day() {
    let _serial = SERIAL.lock().await;
    NOW.store(0, Ordering::SeqCst);
    let server = common::TestServer::start();
    let uri = server.uri();
    let env = common::unique_env("budget-killed-midnight");
    let spool = common::temp_dir("budget-killed-midnight");
    // Reserved at 23:59:59.900, settled at 00:00:00.100 (in the day it
    // reserved in), then killed before the settlement's batch knows it
    // was counted.
    run_and_kill_with(
        &uri,
        &env,
        &spool,
        "settle:counted",
        0,
        1,
        &[
            ("PANOPTIC_KILLED_NOW", "2026-12-07T23:59:59.900Z"),
            ("PANOPTIC_KILLED_MOVE_TO", "2026-12-08T00:00:00.100Z"),
        ],
    );
    let first = period(&uri, "killed|2026-12-07").await;
    assert_eq!(decimal(&first, "spent"), dec("0.10"), "{first:?}");
    // The next process, after midnight, counts the batch left on disk.
    NOW.store(millis("2026-12-08T00:00:01Z"), Ordering::SeqCst);
    count_left_twice(&uri, &env, &spool).await;
    let first = period(&uri, "killed|2026-12-07").await;
    let second = period(&uri, "killed|2026-12-08").await;
    assert_eq!(decimal(&first, "spent"), dec("0.10"), "{first:?}");
    assert_eq!(decimal(&first, "reserved"), Decimal::ZERO, "{first:?}");
    assert_eq!(decimal(&second, "spent"), Decimal::ZERO, "{second:?}");
    let (count, total) = events_sum(&uri, &env).await;
    assert_eq!((count, total), (1, dec("0.10")));
}
