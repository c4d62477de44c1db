//! `panoptic budgets set|list|rm` against the real test database, with a
//! process that picks the budget up from the database and spends in it.

mod common;

use std::process::{Command, Output};
use std::str::FromStr;

use panoptic::{BudgetExceeded, Decimal, billable};

fn panoptic(args: &[&str], uri: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_panoptic"))
        .args(args)
        .env("MONGODB_URI", uri)
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap()
}

fn succeed(output: Output) -> String {
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    );
    assert!(output.status.success(), "{stdout}\n{stderr}");
    stdout
}

#[derive(Debug)]
struct Refused(#[allow(dead_code)] BudgetExceeded);

impl From<BudgetExceeded> for Refused {
    fn from(e: BudgetExceeded) -> Self {
        Refused(e)
    }
}

#[billable(
    provider = "openai",
    service = "ChatCompletions",
    budget = "team-ai",
    estimate = 0.25,
    amount = 0.15
)]
fn summarize(n: u32) -> Result<u32, Refused> {
    Ok(n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budgets_are_set_listed_spent_and_removed() {
    let server = common::TestServer::start();
    let uri = server.uri();
    succeed(panoptic(
        &[
            "budgets",
            "set",
            "team-ai",
            "--limit",
            "1.00",
            "--period",
            "month",
            "--tz",
            "Europe/Paris",
            "--mode",
            "enforce",
            "--provider",
            "openai",
            "--alerts",
            "90",
        ],
        &uri,
    ));
    // A bad limit is one clear line, and a non-zero exit.
    let bad = panoptic(
        &["budgets", "set", "x", "--limit", "lots", "--period", "day"],
        &uri,
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("`lots` is not an amount"));

    {
        let env = common::unique_env("cli-budgets");
        let guard = common::builder(&env)
            .mongodb_uri(&uri)
            .budgets_from_database()
            .install()
            .unwrap();
        // Reserves 0.25 each, spends 0.15: after six, 0.90 spent; the
        // seventh fits (0.90 + 0.25 > 1.00 does not): refused.
        let ran = (0..7).filter(|n| summarize(*n).is_ok()).count();
        assert_eq!(ran, 6);
        assert!(guard.budgets().is_some());
    }
    let json = succeed(panoptic(&["budgets", "list", "--format", "json"], &uri));
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    let row = &rows[0];
    assert_eq!(row["budget"], "team-ai");
    assert_eq!(row["mode"], "enforce");
    assert_eq!(
        Decimal::from_str(row["spent"].as_str().unwrap()).unwrap(),
        Decimal::new(90, 2)
    );
    assert_eq!(row["reserved"], "0");
    assert_eq!(row["limit"], "1 USD");
    assert_eq!(row["scope"], "provider=openai");
    assert!(row["period"].as_str().unwrap().ends_with("(Europe/Paris)"));
    let table = succeed(panoptic(&["budgets"], &uri));
    assert!(
        table.lines().next().unwrap().starts_with("budget"),
        "{table}"
    );
    assert!(table.contains("team-ai"), "{table}");

    succeed(panoptic(&["budgets", "rm", "team-ai"], &uri));
    let gone = panoptic(&["budgets", "rm", "team-ai"], &uri);
    assert!(!gone.status.success());
    assert!(String::from_utf8_lossy(&gone.stderr).contains("no budget named `team-ai`"));
    let empty = succeed(panoptic(&["budgets", "list", "--format", "json"], &uri));
    assert_eq!(empty.trim(), "[]");
}
