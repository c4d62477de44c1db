//! A reservation is one write, whole or not at all: a process SIGKILLed
//! right after its hold leaves a reservation that expiry finds and gives
//! back, so that `spent + reserved` ends equal to what the events say; and
//! what a reservation costs in round trips, counted by the driver's
//! command events.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bson::doc;
use chrono::Utc;
use mongodb::event::EventHandler;
use mongodb::event::command::CommandEvent;
use mongodb::options::ClientOptions;
use panoptic::budget::{Budget, BudgetStore, FailurePolicy, Mode, Period};
use panoptic::{Decimal, billable};

type StepError = common::call_error::CallError<&'static str>;

const TTL: Duration = Duration::from_secs(60);

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn budget() -> Budget {
    Budget::new("atomic", Period::Day, dec("10"))
        .provider("user_defined")
        .service("Atomic")
        .mode(Mode::Enforce)
        .on_unavailable(FailurePolicy::FailClosed)
        .reservation_ttl(TTL)
}

#[billable(
    provider = "user_defined",
    service = "Atomic",
    budget = "atomic",
    estimate = 0.25,
    amount = 0.10
)]
fn step() -> Result<(), StepError> {
    Ok(())
}

/// The child: makes budgeted calls; with `PANOPTIC_BUDGET_FAULT` set it
/// stops right after its first hold, and is killed there.
#[test]
fn atomic_child() {
    let Ok(uri) = std::env::var("PANOPTIC_ATOMIC_URI") else {
        return; // run directly, not as a child: nothing to do
    };
    let env = std::env::var("PANOPTIC_ATOMIC_ENV").unwrap();
    let guard = common::builder(&env)
        .mongodb_uri(uri)
        .budget(budget())
        .install()
        .unwrap();
    let calls: u32 = std::env::var("PANOPTIC_ATOMIC_CALLS")
        .unwrap()
        .parse()
        .unwrap();
    for _ in 0..calls {
        step().unwrap();
    }
    assert!(guard.flush());
}

fn run_child(uri: &str, env: &str, calls: u32, fault: Option<&str>) -> std::process::Child {
    let mut command = common::child_test("atomic_child");
    command
        .env("PANOPTIC_ATOMIC_URI", uri)
        .env("PANOPTIC_ATOMIC_ENV", env)
        .env("PANOPTIC_ATOMIC_CALLS", calls.to_string())
        .env_remove("PANOPTIC_BUDGET_FAULT")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(point) = fault {
        command.env("PANOPTIC_BUDGET_FAULT", point);
    }
    command.spawn().unwrap()
}

fn decimal(document: &bson::Document, key: &str) -> Decimal {
    panoptic::money::from_decimal128(*document.get_decimal128(key).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_process_killed_right_after_its_hold_leaves_nothing_expiry_cannot_find() {
    let server = common::TestServer::start();
    let uri = server.uri();
    let env = common::unique_env("budget-atomic");
    // Two calls that settle, in a process that ends normally.
    let done = run_child(&uri, &env, 2, None).wait_with_output().unwrap();
    assert!(done.status.success());
    // Then one killed (SIGKILL) right after its hold was written.
    let mut child = run_child(&uri, &env, 1, Some("reserve:held"));
    // The test harness may print its own words first on the line.
    let line = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .find(|l| l.contains("panoptic-fault: "))
        .expect("the child reached its crash point");
    assert!(line.ends_with("panoptic-fault: reserve:held"), "{line}");
    child.kill().unwrap();
    child.wait().unwrap();

    let client = common::client_for(&uri).await;
    let store = BudgetStore::new(&client);
    let now = Utc::now();
    // The dead call's hold is there, and on record beside it.
    let before = store.status_read_only(&budget(), now).await.unwrap();
    assert_eq!(before.reserved, dec("0.25"));
    assert_eq!(before.open_reservations, 1);
    // After its expiry it is given back, once.
    let later = now + chrono::Duration::from_std(TTL).unwrap() + chrono::Duration::seconds(1);
    let after = store.status(&budget(), later).await.unwrap();
    let again = store.status(&budget(), later).await.unwrap();
    let events: Decimal = common::events_at(&uri, &env, "user_defined_john_doe")
        .await
        .into_iter()
        .filter(|e| e.service == "Atomic" && e.metadata.extra.get_bool("start").is_err())
        .filter_map(|e| e.amount)
        .sum();
    assert_eq!(events, dec("0.20"));
    for status in [&after, &again] {
        assert_eq!(status.reserved, Decimal::ZERO);
        assert_eq!(status.open_reservations, 0);
        assert_eq!(status.spent + status.reserved, events);
    }
    let period = client
        .database(panoptic::budget::BUDGET_DATABASE)
        .collection::<bson::Document>("periods")
        .find_one(doc! { "budget": "atomic" })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(decimal(&period, "remaining"), dec("10") - events);
}

/// Round trips of each budget operation, counted as the commands the
/// driver sends (the README quotes these numbers).
#[tokio::test(flavor = "multi_thread")]
async fn a_reservation_is_one_round_trip_once_its_period_is_open() {
    let server = common::TestServer::start();
    let sent = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&sent);
    let mut options = ClientOptions::parse(server.uri()).await.unwrap();
    options.command_event_handler = Some(EventHandler::callback(move |event| {
        if let CommandEvent::Started(started) = event
            && !matches!(
                started.command_name.as_str(),
                "hello" | "isMaster" | "ismaster" | "ping" | "buildInfo" | "endSessions"
            )
        {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    }));
    let client = mongodb::Client::with_options(options).unwrap();
    let store = BudgetStore::new(&client);
    let budget = budget();
    let now = Utc::now();
    sent.store(0, Ordering::SeqCst);
    store
        .reserve(&budget, "first", dec("0.25"), now)
        .await
        .unwrap()
        .unwrap();
    let first = sent.swap(0, Ordering::SeqCst);
    store
        .reserve(&budget, "second", dec("0.25"), now)
        .await
        .unwrap()
        .unwrap();
    let second = sent.swap(0, Ordering::SeqCst);
    store
        .settle(&budget, Some("second"), dec("0.10"), now)
        .await
        .unwrap();
    let settle = sent.swap(0, Ordering::SeqCst);
    println!(
        "round trips: first reservation of a period {first}, later ones {second}, settle {settle}"
    );
    assert_eq!(second, 1, "a reservation in an open period is one write");
    // The first of a period: the write that misses, a read, the period
    // opened, the write again.
    assert_eq!(first, 4);
    // The reservation found (with what it holds), then taken and counted
    // in one write.
    assert_eq!(settle, 2);
}
