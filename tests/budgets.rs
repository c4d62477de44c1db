//! Budgets that hold before the call, against the real test database:
//! processes competing for one budget, settlement on error and panic,
//! alerts sent once across processes, a period that rolls over at
//! midnight in its own time zone, and MongoDB down under each policy.

mod common;

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};

use bson::doc;
use chrono::{DateTime, Utc};
use panoptic::budget::{Budget, FailurePolicy, Mode, Period};
use panoptic::{Decimal, Outcome, Provider, billable};

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

/// A step refused by `cap`, or failed (`"failed"`).
type WorkError = common::call_error::CallError<&'static str>;

#[billable(
    provider = "user_defined",
    service = "Work",
    budget = "cap",
    estimate = 0.10,
    amount = 0.10
)]
fn paid_step(n: u32) -> Result<u32, WorkError> {
    Ok(n)
}

#[billable(
    provider = "user_defined",
    service = "Work",
    budget = "cap",
    estimate = 0.50
)]
fn failing_step() -> Result<u32, WorkError> {
    Err(WorkError::Failed("failed"))
}

#[billable(
    provider = "user_defined",
    service = "Work",
    budget = "cap",
    estimate = 0.25,
    amount = 0.20
)]
fn panicking_step() -> Result<u32, WorkError> {
    panic!("the step broke")
}

#[billable(
    provider = "user_defined",
    service = "Work",
    budget = "cap",
    estimate = 0.20,
    amount = 0.20
)]
async fn async_step() -> Result<u32, WorkError> {
    Ok(1)
}

/// The mixed run's calls, each reserving $0.10: one settles below its
/// estimate, one above, one fails (no amount: it settles at its
/// estimate), one panics (at its amount).
#[billable(
    provider = "user_defined",
    service = "Work",
    budget = "cap",
    estimate = 0.10,
    amount = 0.05
)]
fn below_step() -> Result<u32, WorkError> {
    Ok(0)
}

#[billable(
    provider = "user_defined",
    service = "Work",
    budget = "cap",
    estimate = 0.10,
    amount = 0.15
)]
fn above_step() -> Result<u32, WorkError> {
    Ok(0)
}

#[billable(
    provider = "user_defined",
    service = "Work",
    budget = "cap",
    estimate = 0.10
)]
fn failing_mixed_step() -> Result<u32, WorkError> {
    Err(WorkError::Failed("failed"))
}

#[billable(
    provider = "user_defined",
    service = "Work",
    budget = "cap",
    estimate = 0.10,
    amount = 0.08
)]
fn panicking_mixed_step() -> Result<u32, WorkError> {
    panic!("the mixed step broke")
}

/// Call `n` of a mixed run: whether its body ran (it was not refused).
fn mixed_step(n: u32) -> bool {
    let result = match n % 4 {
        0 => below_step(),
        1 => above_step(),
        2 => failing_mixed_step(),
        _ => match std::panic::catch_unwind(panicking_mixed_step) {
            Ok(result) => result,
            Err(_) => return true,
        },
    };
    !matches!(result, Err(WorkError::OverBudget(_)))
}

/// Every call names the budget `cap`: each test runs its own server, so
/// each has its own `cap`.
fn budget(limit: &str) -> Budget {
    Budget::new("cap", Period::Day, dec(limit))
        .provider("user_defined")
        .service("Work")
        .mode(Mode::Enforce)
        .alerts([80])
}

/// A period document of the budget `name`, by the periods collection.
async fn period_of(uri: &str, name: &str) -> bson::Document {
    let client = common::client_for(uri).await;
    client
        .database(panoptic::budget::BUDGET_DATABASE)
        .collection::<bson::Document>("periods")
        .find_one(doc! { "budget": name })
        .await
        .unwrap()
        .unwrap_or_default()
}

fn decimal(document: &bson::Document, key: &str) -> Decimal {
    panoptic::money::from_decimal128(*document.get_decimal128(key).unwrap()).unwrap()
}

/// A child process: one of the processes sharing a budget. Its threads
/// make `PANOPTIC_CALLS` calls each; it prints how many ran.
#[test]
fn budget_child() {
    let Ok(threads) = std::env::var("PANOPTIC_BUDGET_THREADS") else {
        return;
    };
    let threads: u32 = threads.parse().unwrap();
    let calls: u32 = std::env::var("PANOPTIC_CALLS").unwrap().parse().unwrap();
    let env = std::env::var("PANOPTIC_BUDGET_ENV").unwrap();
    let limit = std::env::var("PANOPTIC_BUDGET_LIMIT").unwrap();
    let fired = Arc::new(AtomicU32::new(0));
    let seen = Arc::clone(&fired);
    let mut defined = budget(&limit);
    if let Ok(url) = std::env::var("PANOPTIC_BUDGET_WEBHOOK") {
        defined = defined.webhook(url);
    }
    let guard = common::builder(&env)
        .budget(defined)
        .on_budget_alert(move |_| {
            seen.fetch_add(1, Ordering::SeqCst);
        })
        .install()
        .unwrap();
    let ran = Arc::new(AtomicU32::new(0));
    let workers: Vec<_> = (0..threads)
        .map(|thread| {
            let ran = Arc::clone(&ran);
            let mixed = std::env::var_os("PANOPTIC_BUDGET_MIXED").is_some();
            std::thread::spawn(move || {
                for n in 0..calls {
                    let done = if mixed {
                        // Each thread starts at another kind of call.
                        mixed_step(n + thread)
                    } else {
                        paid_step(n).is_ok()
                    };
                    if done {
                        ran.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    // Settles what this process spent before reporting.
    let statuses = guard.budgets().expect("budgets answer");
    assert_eq!(statuses.len(), 1);
    drop(guard);
    println!(
        "BUDGET-CHILD ran={} alerts={}",
        ran.load(Ordering::SeqCst),
        fired.load(Ordering::SeqCst)
    );
}

/// Runs `processes` children against `uri`, with `extra` in their
/// environment; returns (ran, alerts) of each and every `panoptic: alert:`
/// line they printed.
fn run_children(
    uri: &str,
    extra: &[(&str, &str)],
    processes: usize,
    threads: u32,
    calls: u32,
    env: &str,
    limit: &str,
) -> (Vec<(u32, u32)>, Vec<String>) {
    let children: Vec<_> = (0..processes)
        .map(|_| {
            common::child_test("budget_child")
                .env("PANOPTIC_BUDGET_THREADS", threads.to_string())
                .env("PANOPTIC_CALLS", calls.to_string())
                .env("PANOPTIC_BUDGET_ENV", env)
                .env("PANOPTIC_BUDGET_LIMIT", limit)
                .env("MONGODB_URI", uri)
                .envs(extra.iter().copied())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut alert_lines = Vec::new();
    let results = children
        .into_iter()
        .map(|child| {
            let output = child.wait_with_output().unwrap();
            let stdout = String::from_utf8_lossy(&output.stdout);
            alert_lines.extend(
                String::from_utf8_lossy(&output.stderr)
                    .lines()
                    .filter(|l| l.starts_with("panoptic: alert:"))
                    .map(str::to_owned),
            );
            assert!(
                output.status.success(),
                "{stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            let line = stdout
                .lines()
                .find_map(|l| l.find("BUDGET-CHILD").map(|at| &l[at..]))
                .unwrap_or_else(|| panic!("{stdout}"));
            let field = |name: &str| -> u32 {
                line.split_whitespace()
                    .find_map(|w| w.strip_prefix(name))
                    .unwrap()
                    .parse()
                    .unwrap()
            };
            (field("ran="), field("alerts="))
        })
        .collect();
    (results, alert_lines)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_cannot_overshoot_an_enforced_budget() {
    let server = common::TestServer::start();
    let uri = server.uri();
    let env = common::unique_env("budget-race");
    // 2 processes × 4 threads × 10 calls of $0.10 under $1.00.
    let (results, _) = run_children(&uri, &[], 2, 4, 10, &env, "1.00");
    let ran: u32 = results.iter().map(|(ran, _)| ran).sum();
    // Spent + reserved never passes the limit: exactly ten fit.
    assert_eq!(ran, 10, "{results:?}");
    // The calls, not the alert record the budget logged beside them.
    let events: Vec<_> = common::events_at(&uri, &env, "user_defined_john_doe")
        .await
        .into_iter()
        .filter(|e| e.service == "Work" && e.metadata.extra.get_bool("start").is_err())
        .collect();
    assert_eq!(events.len(), 80, "every attempt is recorded");
    let refused = events
        .iter()
        .filter(|e| e.outcome == Outcome::Refused)
        .count();
    assert_eq!(refused, 70);
    let spent: Decimal = events.iter().filter_map(|e| e.amount).sum();
    assert_eq!(spent, dec("1.00"));
    let period = period_of(&uri, "cap").await;
    assert_eq!(decimal(&period, "spent"), dec("1.00"));
    assert_eq!(decimal(&period, "reserved"), Decimal::ZERO);

    // Calls that settle below and above their estimates and end every
    // way a call can (ok, error, panic), two processes sharing $1.00 (a
    // server of their own: `cap`'s period above is spent).
    let server = common::TestServer::start();
    let uri = server.uri();
    let env = common::unique_env("budget-race-mixed");
    let (results, _) = run_children(
        &uri,
        &[("PANOPTIC_BUDGET_MIXED", "1")],
        2,
        4,
        8,
        &env,
        "1.00",
    );
    let ran: u32 = results.iter().map(|(ran, _)| ran).sum();
    let events: Vec<_> = common::events_at(&uri, &env, "user_defined_john_doe")
        .await
        .into_iter()
        .filter(|e| e.service == "Work" && e.metadata.extra.get_bool("start").is_err())
        .collect();
    assert_eq!(events.len(), 64, "every attempt is recorded");
    let ended: Vec<_> = events
        .iter()
        .filter(|e| e.outcome != Outcome::Refused)
        .collect();
    assert_eq!(ended.len() as u32, ran, "{results:?}");
    for outcome in [Outcome::Ok, Outcome::Error, Outcome::Panic] {
        assert!(
            ended.iter().any(|e| e.outcome == outcome),
            "no call ended {outcome:?}: {:?}",
            ended
                .iter()
                .map(|e| (e.outcome, e.resource.as_str(), e.amount))
                .collect::<Vec<_>>()
        );
    }
    assert!(ran < 64, "the budget refused some: {results:?}");
    // What each call settled at: its amount, or (unpriced) its estimate.
    let settled: Decimal = ended
        .iter()
        .map(|e| {
            e.amount
                .filter(|a| !a.is_zero())
                .unwrap_or_else(|| decimal(&e.metadata.extra, "budget_settled_at"))
        })
        .sum();
    let above = ended
        .iter()
        .filter(|e| e.amount == Some(dec("0.15")))
        .count();
    let period = period_of(&uri, "cap").await;
    let spent = decimal(&period, "spent");
    assert_eq!(spent, settled, "{period:?}");
    assert_eq!(decimal(&period, "reserved"), Decimal::ZERO);
    assert_eq!(period.get_i64("open_count").unwrap_or(0), 0, "{period:?}");
    // No overshoot beyond what calls spent above their estimates: each
    // call was let in only while its estimate fit.
    assert!(
        spent <= dec("1.00") + dec("0.05") * Decimal::from(above),
        "{spent} spent, {above} above their estimates"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_fires_once_across_four_processes() {
    let server = common::TestServer::start();
    let uri = server.uri();
    let env = common::unique_env("budget-alert");
    // 4 processes × 3 calls of $0.10 under $1.00: the 80 % line ($0.80)
    // is crossed by whichever process settles the eighth call.
    // The webhook fails once (a 503) before it takes the alert: retried.
    let hook = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&hook)
        .await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path("/alerts"))
        .respond_with(wiremock::ResponseTemplate::new(204))
        .mount(&hook)
        .await;
    let url = format!("{}/alerts", hook.uri());
    let (results, lines) = run_children(
        &uri,
        &[("PANOPTIC_BUDGET_WEBHOOK", &url)],
        4,
        1,
        3,
        &env,
        "1.00",
    );
    let fired: u32 = results.iter().map(|(_, alerts)| alerts).sum();
    assert_eq!(fired, 1, "{results:?}");
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(lines[0].contains("crossed 80 %"), "{}", lines[0]);
    let posts = hook.received_requests().await.unwrap();
    assert_eq!(posts.len(), 2, "one failed attempt, one delivery");
    let alert: serde_json::Value = serde_json::from_slice(&posts[1].body).unwrap();
    assert_eq!(alert["budget"], "cap");
    assert_eq!(alert["threshold"], 80);
    assert_eq!(alert["limit"], "1.00");
    // The alert is on record, and reports still count 12 calls: an alert
    // is not a call.
    let client = common::client_for(&uri).await;
    let database = client.database(&panoptic::naming::database_name(&env));
    let mut alerts = 0;
    for name in database.list_collection_names().await.unwrap() {
        alerts += database
            .collection::<bson::Document>(&name)
            .count_documents(bson::doc! { "metadata.alert": true })
            .await
            .unwrap();
    }
    assert_eq!(alerts, 1);
    let rows = panoptic::query::CostQuery::new()
        .env(&env)
        .run(&client)
        .await
        .unwrap();
    assert_eq!(rows.iter().map(|r| r.count).sum::<u64>(), 12, "{rows:?}");
}

/// Everything that installs a global instance, one after the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reservations_settle_roll_over_and_follow_their_failure_policy() {
    // Error, panic and async calls all settle their reservations.
    let server = common::TestServer::start();
    let env = common::unique_env("budget-settle");
    {
        let guard = common::builder(&env)
            .mongodb_uri(server.uri())
            .budget(budget("10"))
            .install()
            .unwrap();
        assert!(matches!(failing_step(), Err(WorkError::Failed("failed"))));
        let panicked = std::panic::catch_unwind(panicking_step);
        assert!(panicked.is_err());
        assert_eq!(async_step().await.unwrap(), 1);
        let status = guard.budgets().unwrap().remove(0);
        // The failed call reported no amount: it settles at its estimate
        // (0.50); the panic at its amount (0.20); the async call 0.20.
        assert_eq!(status.spent, dec("0.90"));
        assert_eq!(status.reserved, Decimal::ZERO);
        assert_eq!(status.open_reservations, 0);
        let events: Vec<_> = common::events_at(&server.uri(), &env, "user_defined_john_doe")
            .await
            .into_iter()
            .filter(|e| e.service == "Work" && e.metadata.extra.get_bool("start").is_err())
            .collect();
        let failed = events.iter().find(|e| e.outcome == Outcome::Error).unwrap();
        assert_eq!(
            decimal(&failed.metadata.extra, "budget_settled_at"),
            dec("0.50")
        );
        let mut call_ids: Vec<_> = events
            .iter()
            .map(|e| e.metadata.extra.get_str("call_id").unwrap().to_owned())
            .collect();
        // Each reservation is on record as a start record with the same id.
        let mut started: Vec<_> = common::events_at(&server.uri(), &env, "user_defined_john_doe")
            .await
            .into_iter()
            .filter(|e| e.metadata.extra.get_bool("start") == Ok(true))
            .map(|e| {
                assert_eq!((e.kind, e.amount), (panoptic::Kind::Billing, None));
                e.metadata.extra.get_str("call_id").unwrap().to_owned()
            })
            .collect();
        call_ids.sort();
        started.sort();
        assert_eq!(call_ids.len(), 3);
        assert_eq!(started, call_ids);
    }

    // A day budget in Los Angeles rolls over at midnight there.
    let server = common::TestServer::start();
    let env = common::unique_env("budget-clock");
    let now = Arc::new(AtomicI64::new(
        "2026-11-28T07:59:00Z"
            .parse::<DateTime<Utc>>()
            .unwrap()
            .timestamp_millis(),
    ));
    let clock = Arc::clone(&now);
    {
        let guard = common::builder(&env)
            .mongodb_uri(server.uri())
            .budget(budget("0.25").time_zone("America/Los_Angeles"))
            .budget_clock(move || {
                DateTime::from_timestamp_millis(clock.load(Ordering::SeqCst)).unwrap()
            })
            .install()
            .unwrap();
        assert!(paid_step(1).is_ok());
        assert!(paid_step(2).is_ok());
        // 0.20 held or spent of 0.25: a third 0.10 does not fit on the 27th.
        match paid_step(3) {
            Err(WorkError::OverBudget(refused)) => assert_eq!(refused.period, "2026-11-27"),
            other => panic!("expected a refusal, got {other:?}"),
        }
        // 08:00 UTC is midnight in Los Angeles: a new day, a new budget.
        now.store(
            "2026-11-28T08:00:01Z"
                .parse::<DateTime<Utc>>()
                .unwrap()
                .timestamp_millis(),
            Ordering::SeqCst,
        );
        assert!(paid_step(4).is_ok());
        assert!(guard.flush());
        let statuses = guard.budgets().unwrap();
        assert_eq!(statuses[0].period.name, "2026-11-28");
        assert_eq!(statuses[0].spent, dec("0.10"));
        for (period, spent) in [("2026-11-27", "0.20"), ("2026-11-28", "0.10")] {
            let document = period_of_id(&server.uri(), &format!("cap|{period}")).await;
            assert_eq!(decimal(&document, "spent"), dec(spent), "{period}");
        }
    }

    // MongoDB down: fail-open runs the call, fail-closed refuses it.
    let dead = format!("mongodb://127.0.0.1:{}/", common::free_port());
    for (policy, runs) in [
        (FailurePolicy::FailOpen, true),
        (FailurePolicy::FailClosed, false),
    ] {
        let spool = common::temp_dir("budget-down");
        let guard = common::resilient(
            &dead,
            &common::unique_env("budget-down"),
            &spool,
            "John Doe",
        )
        .operation_timeout(std::time::Duration::from_millis(500))
        .budget(budget("1").on_unavailable(policy))
        .install()
        .unwrap();
        match (paid_step(9), runs) {
            (Ok(9), true) => {}
            (Err(WorkError::OverBudget(refused)), false) => {
                assert!(refused.unavailable.is_some(), "{refused:?}");
            }
            (other, _) => panic!("{policy:?}: {other:?}"),
        }
        drop(guard);
    }
}

/// Events a full queue sends to the spool count as spent like the others:
/// the spend is told to the budgets when an event is encoded, whoever
/// encodes it (the writer, a caller spilling, the writer spooling a
/// backed-up queue).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spilled_events_count_against_their_budget() {
    let server = common::TestServer::start();
    let env = common::unique_env("budget-spill");
    let panoptic = common::builder(&env)
        .mongodb_uri(format!("{}?serverSelectionTimeoutMS=20000", server.uri()))
        .operation_timeout(std::time::Duration::from_secs(20))
        .budget(
            Budget::new("spill", Period::Day, dec("1000"))
                .provider("gcp")
                .service("BigQuery")
                .mode(Mode::Observe),
        )
        .queue_capacity(4)
        .batch_size(2)
        .build()
        .unwrap();
    let log = panoptic.logger(Provider::Gcp, "BigQuery");
    panoptic::invoice!(log, "warm_up"; "amount" => "0.10");
    assert!(panoptic.flush());
    // The writer's next insert hangs: a 4-event queue overflows at once.
    server.freeze();
    for _ in 0..500 {
        panoptic::invoice!(log, "step"; "amount" => "0.10");
    }
    server.thaw();
    assert!(panoptic.flush());
    let stats = panoptic.stats();
    assert!(stats.spooled >= 400, "the queue must spill: {stats:?}");
    assert_eq!(stats.written, 501, "{stats:?}");
    let status = panoptic.budgets().unwrap().remove(0);
    assert_eq!(status.spent, dec("50.10"), "{stats:?}");
}

async fn period_of_id(uri: &str, id: &str) -> bson::Document {
    common::client_for(uri)
        .await
        .database(panoptic::budget::BUDGET_DATABASE)
        .collection::<bson::Document>("periods")
        .find_one(doc! { "_id": id })
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no period {id}"))
}

#[billable(
    provider = "user_defined",
    service = "Work",
    start_record,
    amount = 0.30
)]
fn dies_mid_call() {
    // The start record is durable; the process dies before the call ends.
    panoptic::global().unwrap().flush();
    std::process::exit(0);
}

#[billable(
    provider = "user_defined",
    service = "Work",
    start_record,
    amount = 0.30
)]
fn ends_normally() {}

/// The child that dies in the middle of a call.
#[test]
fn dying_child() {
    let Ok(env) = std::env::var("PANOPTIC_DYING_ENV") else {
        return;
    };
    let _guard = common::builder(&env).install().unwrap();
    ends_normally();
    dies_mid_call();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_whose_process_died_is_an_open_call() {
    let server = common::TestServer::start();
    let env = common::unique_env("open-call");
    let status = common::child_test("dying_child")
        .env("PANOPTIC_DYING_ENV", &env)
        .env("MONGODB_URI", server.uri())
        .output()
        .unwrap();
    assert!(status.status.success());
    let client = common::client_for(&server.uri()).await;
    let query = panoptic::query::CostQuery::new().env(&env);
    let open = panoptic::open_calls::open_calls(&client, &query)
        .await
        .unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].resource, "dies_mid_call");
    assert_eq!(open[0].estimate, Some(dec("0.30")));
    // Start records are never summed as spend: the ended call alone counts.
    let rows = query.run(&client).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].count, rows[0].amount, rows[0].unpriced),
        (1, dec("0.30"), 0)
    );
}

/// A budget defined only in the file `PANOPTIC_BUDGETS` names (no budget
/// method on the builder) is on and enforced: the facade's builder reads
/// the file and hands core the budget engine. A child process, so the
/// variable is its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_from_the_panoptic_budgets_file_is_enforced() {
    let server = common::TestServer::start();
    let uri = server.uri();
    let dir = common::temp_dir("budgets-file");
    let file = dir.join("budgets.toml");
    std::fs::write(
        &file,
        r#"
[[budget]]
name = "cap"
period = "day"
limit = "0.30"
mode = "enforce"
scope = { provider = "user_defined", service = "Work" }
"#,
    )
    .unwrap();
    let output = common::child_test("budgets_file_child")
        .env("PANOPTIC_BUDGETS", &file)
        .env("MONGODB_URI", &uri)
        .env("PANOPTIC_BUDGET_ENV", common::unique_env("budgets-file"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // $0.10 a call under $0.30: three run, the other two are refused.
    assert!(
        stdout.contains("BUDGETS-FILE ran=3 budgets=cap"),
        "{stdout}"
    );
    let period = period_of(&uri, "cap").await;
    assert_eq!(decimal(&period, "limit"), dec("0.30"));
    assert_eq!(decimal(&period, "spent"), dec("0.30"));
}

/// The child of the test above: a handle with no budget method at all.
#[test]
fn budgets_file_child() {
    let Ok(env) = std::env::var("PANOPTIC_BUDGET_ENV") else {
        return; // run directly, not as a child: nothing to do
    };
    let guard = common::builder(&env)
        .mongodb_uri(std::env::var("MONGODB_URI").unwrap())
        .install()
        .unwrap();
    let ran = (0..5).filter(|n| paid_step(*n).is_ok()).count();
    let names: Vec<String> = guard
        .budgets()
        .expect("budgets are on")
        .into_iter()
        .map(|s| s.budget.name)
        .collect();
    println!("BUDGETS-FILE ran={ran} budgets={}", names.join(","));
}
