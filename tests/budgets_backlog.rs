//! Spend counted exactly once, durably: with a `fail_open` budget and the
//! server frozen (SIGSTOP), every call runs and the spend MongoDB cannot
//! take is kept on disk beside the spool. After the thaw, two later
//! processes each start on a copy of that spool folder: each replays the
//! spool and counts the kept spend, and the period's `spent` still equals
//! the sum of the events, counted once.

mod common;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use panoptic::budget::{Budget, FailurePolicy, Mode, Period};
use panoptic::{Decimal, billable};

type StepError = common::call_error::CallError<&'static str>;

const ORDINARY: usize = 5;
const BUDGETED: usize = 3;

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

/// A call in the budget's scope that reserves nothing.
#[billable(provider = "user_defined", service = "Backlog", amount = 0.01)]
fn ordinary() {}

#[billable(
    provider = "user_defined",
    service = "Backlog",
    budget = "kept",
    estimate = 0.10,
    amount = 0.10
)]
fn budgeted() -> Result<(), StepError> {
    Ok(())
}

fn handle(uri: &str, env: &str, spool: &Path) -> panoptic::InstallGuard {
    common::resilient(uri, env, spool, "John Doe")
        .operation_timeout(Duration::from_secs(1))
        .budget(
            Budget::new("kept", Period::Day, dec("100"))
                .provider("user_defined")
                .service("Backlog")
                .mode(Mode::Enforce)
                .on_unavailable(FailurePolicy::FailOpen),
        )
        .install()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn fail_open_spend_is_kept_on_disk_and_counted_once_by_later_processes() {
    let server = common::TestServer::start();
    let uri = server.uri();
    let env = common::unique_env("budget-backlog");
    let spool = common::temp_dir("budget-backlog");
    {
        let guard = handle(&uri, &env, &spool);
        assert!(budgeted().is_ok());
        assert!(guard.flush());
        server.freeze();
        for _ in 0..ORDINARY {
            ordinary();
        }
        for _ in 0..BUDGETED {
            assert!(budgeted().is_ok(), "fail_open runs every call");
        }
        // Events spooled, and their spend told to the budgets (which
        // cannot count it now: `None`).
        let _ = guard.flush();
        assert!(guard.budgets().is_none());
    }
    let kept = std::fs::read_dir(spool.join("budget-backlog"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert!(kept > 0, "the spend not counted is on disk");
    let (first, second) = (common::temp_dir("copy"), common::temp_dir("copy"));
    common::budget_state::copy_dir(&spool, &first);
    common::budget_state::copy_dir(&spool, &second);
    server.thaw();

    // Two processes replay the same spool and count the same backlog.
    for copy in [&first, &second] {
        let guard = handle(&uri, &env, copy);
        assert!(guard.flush());
        let status = guard.budgets().expect("MongoDB answers").remove(0);
        assert_eq!(status.reserved, Decimal::ZERO);
    }
    let guard = handle(&uri, &env, &common::temp_dir("last"));
    let status = guard.budgets().expect("MongoDB answers").remove(0);
    drop(guard);
    let events: Vec<_> = common::events_at(&uri, &env, "user_defined_john_doe")
        .await
        .into_iter()
        .filter(|e| e.service == "Backlog" && e.metadata.extra.get_bool("start").is_err())
        .collect();
    assert_eq!(events.len(), 1 + ORDINARY + BUDGETED, "{events:?}");
    let total: Decimal = events.iter().filter_map(|e| e.amount).sum();
    assert_eq!(total, dec("0.45"));
    assert_eq!(status.spent, total, "counted once: {status:?}");
    assert_eq!(status.reserved, Decimal::ZERO);
}
