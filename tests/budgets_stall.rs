//! Budgets when MongoDB stalls under load: the server is frozen (SIGSTOP)
//! mid-run while three threads keep making ordinary calls in the budget's
//! scope, so the writer and the budget broker have spend to count. Every
//! budgeted call made while the server is frozen must get its budget's
//! policy — `fail_closed` refuses it, `fail_open` runs it and says so —
//! and return before the server thaws; a reservation answered after its
//! caller gave up must be given back.
//!
//! No wall-clock threshold is asserted: each call takes a ticket from one
//! counter as it returns, the thaw takes one too, and every call's ticket
//! must come before the thaw's. The thaw waits for the calls, or at most
//! a backstop long enough for any broker to answer, so that a broker that
//! only answers once the server is back fails the test instead of hanging
//! it.

mod common;

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use bson::doc;
use panoptic::budget::{Budget, FailurePolicy, Mode, Period};
use panoptic::{Decimal, InstallGuard, Outcome, billable};

type StallError = common::call_error::CallError<&'static str>;

/// Tests that install a global instance run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());
/// How many budgeted bodies ran.
static RAN: AtomicU64 = AtomicU64::new(0);
/// Tickets: the order in which budgeted calls returned and the server thawed.
static TICKET: AtomicU64 = AtomicU64::new(0);

const BUDGET: &str = "stall";
const COLLECTION: &str = "user_defined_john_doe";
/// Budgeted callers while frozen: two threads of sync calls, two threads
/// each driving async calls on its own runtime (no time driver: the
/// async path must not need one).
const CALLS_PER_CALLER: usize = 2;
const CALLERS: usize = 4;
/// How long the thaw waits at most for the budgeted calls: a backstop,
/// never reached by a broker that keeps its bound.
const BACKSTOP: Duration = Duration::from_secs(30);

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

/// An ordinary call in the budget's scope: spend, never reserved.
#[billable(provider = "user_defined", service = "Stall", amount = 0.01)]
fn ordinary() {}

#[billable(
    provider = "user_defined",
    service = "Stall",
    budget = "stall",
    estimate = 0.10,
    amount = 0.10
)]
fn warm_up() -> Result<(), StallError> {
    Ok(())
}

#[billable(
    provider = "user_defined",
    service = "Stall",
    budget = "stall",
    estimate = 0.10,
    amount = 0.10
)]
fn guarded() -> Result<(), StallError> {
    RAN.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

#[billable(
    provider = "user_defined",
    service = "Stall",
    budget = "stall",
    estimate = 0.10,
    amount = 0.10
)]
async fn guarded_async() -> Result<(), StallError> {
    RAN.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

/// Runs a future to completion on a runtime of its own (the test
/// functions are synchronous: the budgeted sync calls block).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// What a stalled run saw.
struct Stalled {
    /// Each budgeted call's result and the ticket it took as it returned.
    results: Vec<(Result<(), StallError>, u64)>,
    /// The thaw's ticket.
    thawed_at: u64,
    guard: InstallGuard,
}

/// Installs an enforced budget with `policy` (operation timeout 1 s, the
/// bound of a reservation), makes one budgeted call while the server
/// answers, starts three threads of ordinary calls, freezes the server,
/// makes the budgeted calls, thaws, and stops the load.
fn stalled_run(server: &common::TestServer, env: &str, policy: FailurePolicy) -> Stalled {
    RAN.store(0, Ordering::SeqCst);
    let guard = common::builder(env)
        .mongodb_uri(server.uri())
        .operation_timeout(Duration::from_secs(1))
        .budget(
            Budget::new(BUDGET, Period::Day, dec("1000000"))
                .provider("user_defined")
                .service("Stall")
                .mode(Mode::Enforce)
                .on_unavailable(policy),
        )
        .install()
        .unwrap();
    // Synced, connected and held once while the server answers.
    assert!(warm_up().is_ok());
    assert!(guard.flush());

    let stop = Arc::new(AtomicBool::new(false));
    let made = Arc::new(AtomicU64::new(0));
    let load: Vec<_> = (0..3)
        .map(|_| {
            let stop = Arc::clone(&stop);
            let made = Arc::clone(&made);
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    ordinary();
                    made.fetch_add(1, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(1));
                }
            })
        })
        .collect();
    while made.load(Ordering::SeqCst) < 300 {
        std::thread::sleep(Duration::from_millis(5));
    }

    server.freeze();
    let results = Arc::new(Mutex::new(Vec::new()));
    let (done, finished) = mpsc::channel();
    let callers: Vec<_> = (0..CALLERS)
        .map(|n| {
            let results = Arc::clone(&results);
            let done = done.clone();
            std::thread::spawn(move || {
                for _ in 0..CALLS_PER_CALLER {
                    let result = if n % 2 == 0 {
                        guarded()
                    } else {
                        tokio::runtime::Builder::new_current_thread()
                            .build()
                            .unwrap()
                            .block_on(guarded_async())
                    };
                    let ticket = TICKET.fetch_add(1, Ordering::SeqCst);
                    results.lock().unwrap().push((result, ticket));
                }
                let _ = done.send(());
            })
        })
        .collect();
    let backstop = Instant::now() + BACKSTOP;
    for _ in 0..CALLERS {
        let left = backstop.saturating_duration_since(Instant::now());
        if finished.recv_timeout(left).is_err() {
            break;
        }
    }
    let thawed_at = TICKET.fetch_add(1, Ordering::SeqCst);
    server.thaw();
    // The load stops first: a broker that answers behind spend must not
    // be kept busy by new spend while its callers wait.
    stop.store(true, Ordering::SeqCst);
    for thread in load {
        thread.join().unwrap();
    }
    for caller in callers {
        caller.join().unwrap();
    }
    let results = std::mem::take(&mut *results.lock().unwrap());
    assert_eq!(results.len(), CALLERS * CALLS_PER_CALLER);
    Stalled {
        results,
        thawed_at,
        guard,
    }
}

/// The final events of the budgeted calls made while frozen.
fn frozen_call_events(server: &common::TestServer, env: &str) -> Vec<panoptic::BillingEvent> {
    block_on(common::events_at(&server.uri(), env, COLLECTION))
        .into_iter()
        .filter(|e| e.resource == "guarded" || e.resource == "guarded_async")
        .filter(|e| e.metadata.extra.get_bool("start").is_err())
        .collect()
}

#[test]
fn fail_closed_under_load_refuses_every_budgeted_call_sync_and_async() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let server = common::TestServer::start();
    let env = common::unique_env("stall-closed");
    let run = stalled_run(&server, &env, FailurePolicy::FailClosed);
    for (result, ticket) in &run.results {
        match result {
            Err(StallError::OverBudget(refused)) => {
                assert!(refused.unavailable.is_some(), "{refused:?}");
            }
            other => panic!("a fail_closed call while frozen must be refused: {other:?}"),
        }
        assert!(
            *ticket < run.thawed_at,
            "refused only after the server thawed (ticket {ticket}, thaw {})",
            run.thawed_at
        );
    }
    assert_eq!(RAN.load(Ordering::SeqCst), 0, "no refused body may run");
    assert!(run.guard.flush());
    assert_frozen_events(&server, &env, Outcome::Refused, "fail_closed");
}

#[test]
fn fail_open_under_load_runs_every_call_and_says_so() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let server = common::TestServer::start();
    let env = common::unique_env("stall-open");
    let run = stalled_run(&server, &env, FailurePolicy::FailOpen);
    for (result, ticket) in &run.results {
        assert!(result.is_ok(), "a fail_open call must run: {result:?}");
        assert!(
            *ticket < run.thawed_at,
            "ran only after the server thawed (ticket {ticket}, thaw {})",
            run.thawed_at
        );
    }
    assert_eq!(
        RAN.load(Ordering::SeqCst),
        (CALLERS * CALLS_PER_CALLER) as u64
    );
    assert!(run.guard.flush());
    assert_frozen_events(&server, &env, Outcome::Ok, "fail_open");
}

/// Every budgeted call made while frozen ended `outcome`, its event
/// saying which policy applied.
fn assert_frozen_events(server: &common::TestServer, env: &str, outcome: Outcome, policy: &str) {
    let events = frozen_call_events(server, env);
    assert_eq!(events.len(), CALLERS * CALLS_PER_CALLER, "{events:?}");
    for event in events {
        assert_eq!(event.outcome, outcome);
        assert_eq!(
            event.metadata.extra.get_str("budget_unanswered"),
            Ok(policy),
            "{:?}",
            event.metadata.extra
        );
    }
}

/// Each refused call's reservation was sent to the frozen server, which
/// answers it once it thaws: the broker gives that money back at once
/// instead of leaving it reserved until its TTL.
#[test]
fn late_answers_to_refused_calls_are_released() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let server = common::TestServer::start();
    let env = common::unique_env("stall-late");
    let run = stalled_run(&server, &env, FailurePolicy::FailClosed);
    assert!(run.results.iter().all(|(r, _)| r.is_err()));
    // Waits (bounded) for what the broker still has in flight, late
    // reservations and their release included.
    assert!(run.guard.flush());
    let _ = run.guard.budgets();
    let period = block_on(async {
        let client = common::client_for(&server.uri()).await;
        let db = client.database(panoptic::budget::BUDGET_DATABASE);
        db.collection::<bson::Document>("periods")
            .find_one(doc! { "budget": BUDGET })
            .await
            .unwrap()
            .expect("the period document")
    });
    // The reservations in flight live in the period document.
    let reservations = period.get_document("open").map_or(0, |open| open.len());
    let reserved =
        panoptic::money::from_decimal128(*period.get_decimal128("reserved").unwrap()).unwrap();
    assert_eq!(reserved, Decimal::ZERO, "{period:?}");
    assert_eq!(reservations, 0, "{period:?}");
}
