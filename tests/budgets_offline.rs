//! Budgets known offline: a budget defined only in the database (as
//! `panoptic budgets set` defines it) is cached beside the spool by a
//! process that read it, and a process started while the server is frozen
//! (SIGSTOP) applies its policy from that cache: `fail_closed` refuses.

mod common;

use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use panoptic::budget::{Budget, BudgetStore, FailurePolicy, Mode, Period};
use panoptic::{Decimal, Outcome, billable};

type StepError = common::call_error::CallError<&'static str>;

static RAN: AtomicU32 = AtomicU32::new(0);

#[billable(
    provider = "user_defined",
    service = "Offline",
    budget = "offline",
    estimate = 0.10,
    amount = 0.10
)]
fn guarded() -> Result<(), StepError> {
    RAN.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_budget_set_in_the_database_keeps_its_policy_while_the_server_is_frozen() {
    let server = common::TestServer::start();
    let env = common::unique_env("budget-offline");
    let spool = common::temp_dir("budget-offline");
    // Defined only in the database, by the call `panoptic budgets set` makes.
    let client = common::client_for(&server.uri()).await;
    BudgetStore::new(&client)
        .set(
            &Budget::new("offline", Period::Day, Decimal::from_str("10").unwrap())
                .provider("user_defined")
                .service("Offline")
                .mode(Mode::Enforce)
                .on_unavailable(FailurePolicy::FailClosed),
        )
        .await
        .unwrap();
    let handle = |uri: &str| {
        common::resilient(uri, &env, &spool, "John Doe")
            .operation_timeout(Duration::from_secs(1))
            .budgets_from_database()
            .install()
            .unwrap()
    };
    // A process that reads the database's budgets caches them.
    {
        let guard = handle(&server.uri());
        assert!(guarded().is_ok());
        assert!(guard.flush());
    }
    let cache = spool.join("budgets.cache");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&cache).expect("the cache").permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let cached = bson::Document::from_reader(std::fs::File::open(&cache).unwrap()).unwrap();
    assert!(cached.get_datetime("saved_at").is_ok(), "{cached:?}");

    server.freeze();
    RAN.store(0, Ordering::SeqCst);
    let guard = handle(&server.uri());
    match guarded() {
        Err(StepError::OverBudget(refused)) => {
            assert!(refused.unanswered, "{refused:?}");
            assert!(refused.unavailable.is_some(), "{refused:?}");
        }
        other => panic!("a cached fail_closed budget must refuse: {other:?}"),
    }
    assert_eq!(RAN.load(Ordering::SeqCst), 0);
    server.thaw();
    assert!(guard.flush());
    drop(guard);
    let refused: Vec<_> = common::events_at(&server.uri(), &env, "user_defined_john_doe")
        .await
        .into_iter()
        .filter(|e| e.outcome == Outcome::Refused)
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
}
