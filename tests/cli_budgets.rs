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

/// `report --forecast`: a daily series seeded in the test database; each
/// row's projection is worked out by hand below.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_forecast_projects_each_row_to_the_end_of_the_period() {
    use bson::doc;

    let server = common::TestServer::start();
    let uri = server.uri();
    let env = common::unique_env("cli-forecast");
    {
        let panoptic = common::builder(&env).mongodb_uri(&uri).build().unwrap();
        let work = panoptic.logger(panoptic::Provider::UserDefined, "Work");
        let other = panoptic.logger(panoptic::Provider::UserDefined, "Other");
        // (resource, amount): one event each, moved to its day below.
        for (resource, amount) in [
            ("oct31", "100.00"),
            ("nov01", "2.00"),
            ("nov02", "4.00"),
            ("nov04", "6.00"),
            ("nov05", "1.00"),
        ] {
            panoptic::invoice!(work, "step"; "resource" => resource, "amount" => amount);
        }
        panoptic::invoice!(other, "step"; "resource" => "nov05_other", "amount" => "1.50");
        assert!(panoptic.flush());
    }
    let collection = common::client_for(&uri)
        .await
        .database(&panoptic::naming::database_name(&env))
        .collection::<bson::Document>("user_defined_john_doe");
    for (resource, ts) in [
        ("oct31", "2026-10-31T12:00:00Z"),
        ("nov01", "2026-11-01T12:00:00Z"),
        ("nov02", "2026-11-02T12:00:00Z"),
        ("nov04", "2026-11-04T12:00:00Z"),
        ("nov05", "2026-11-05T08:00:00Z"),
        ("nov05_other", "2026-11-05T09:00:00Z"),
    ] {
        let at: chrono::DateTime<chrono::Utc> = ts.parse().unwrap();
        let moved = collection
            .update_many(
                doc! { "resource": resource },
                doc! { "$set": { "ts": bson::DateTime::from_chrono(at) } },
            )
            .await
            .unwrap();
        assert_eq!(moved.modified_count, 1, "{resource}");
    }
    let args = [
        "report",
        "--env",
        env.as_str(),
        "--by",
        "service",
        "--since",
        "2026-10-01",
        "--until",
        "2026-11-05T12:00:00Z",
        "--forecast",
        "month",
        "--format",
        "json",
    ];
    let output = panoptic(&args, &uri);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let report: serde_json::Value = serde_json::from_str(&succeed(output)).unwrap();
    let rows = &report["rows"];
    let row = |service: &str| -> (Decimal, Decimal) {
        let row = rows
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["service"] == service)
            .unwrap_or_else(|| panic!("{rows:#}"));
        let money = |key: &str| Decimal::from_str(row[key].as_str().unwrap()).unwrap();
        (money("amount"), money("forecast"))
    };
    // Work, November (30 days) as of the 5th: spent 2 + 4 + 0 + 6 + 1 = 13;
    // the complete days 1–4 average (2 + 4 + 0 + 6) / 4 = 3; 25 days left:
    // 13 + 3 × 25 = 88. October's 100 is in the range, not in the period.
    assert_eq!(row("Work"), (Decimal::from(113), Decimal::from(88)));
    // Other: only today's 1.50; the complete days average 0.
    assert_eq!(row("Other"), (Decimal::new(150, 2), Decimal::new(150, 2)));
    // The whole report: 88 + 1.50, in its one currency, with the calls it
    // leaves out (none).
    assert!(
        stderr.contains(
            "forecast for 2026-11 (UTC) as of 2026-11-05T12:00:00Z: \
             89.5 USD (so far: all 5 calls priced)"
        ),
        "{stderr}"
    );
    assert_eq!(report["totals"][0]["forecast"], "89.5", "{report}");
    // Without the flag: no forecast column.
    let plain = succeed(panoptic(&args[..args.len() - 4], &uri));
    assert!(!plain.contains("forecast"), "{plain}");
    let table = succeed(panoptic(
        &[
            "report",
            "--env",
            &env,
            "--since",
            "2026-10-01",
            "--until",
            "2026-11-05T12:00:00Z",
            "--forecast",
        ],
        &uri,
    ));
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        &header[..4],
        ["service", "currency", "amount", "forecast"],
        "{table}"
    );
}

/// What a budget leaves out is in its listing: EUR spend with no rate and
/// an unpriced call, as columns, as JSON fields and as notes under the
/// table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budgets_list_what_spent_leaves_out() {
    let server = common::TestServer::start();
    let uri = server.uri();
    succeed(panoptic(
        &[
            "budgets",
            "set",
            "ops",
            "--limit",
            "10",
            "--period",
            "day",
            "--provider",
            "user_defined",
        ],
        &uri,
    ));
    {
        let panoptic = common::builder(&common::unique_env("cli-budgets-cover"))
            .mongodb_uri(&uri)
            .budgets_from_database()
            .budget_rates(panoptic::budget::Rates::none())
            .build()
            .unwrap();
        let log = panoptic.logger(panoptic::Provider::UserDefined, "Work");
        panoptic::invoice!(log, "usd"; "amount" => "1.50");
        panoptic::invoice!(log, "eur"; "amount" => "12.50", "currency" => "EUR");
        panoptic::invoice!(log, "unknown");
        assert!(panoptic.budgets().is_some());
    }
    let json = succeed(panoptic(&["budgets", "list", "--format", "json"], &uri));
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    let row = &rows[0];
    assert_eq!(row["spent"], "1.5");
    assert_eq!(row["unpriced"], "1");
    assert_eq!(row["not_counted"], "12.50 EUR");
    assert_eq!(row["uncounted"]["EUR"], "12.50");
    assert_eq!(
        row["notes"],
        serde_json::json!([
            "12.50 EUR not counted: no EUR→USD rate (give one in PANOPTIC_RATES)",
            "1 unpriced call not counted (no amount, no estimate)"
        ])
    );
    let table = succeed(panoptic(&["budgets"], &uri));
    assert!(
        table.contains("\nops: 12.50 EUR not counted: no EUR→USD rate")
            && table.contains("\nops: 1 unpriced call not counted"),
        "{table}"
    );
}
