//! `panoptic report` over a month of BigQuery runs billed to a fake
//! billing account: the runs really go through panoptic-gcp's client
//! against a local fake of the REST API and land in the test database;
//! the report takes the account's free TiB off once. The expected figures
//! are worked out here from the public price, never from panoptic's table.
#![cfg(all(feature = "cli", feature = "gcp"))]

mod common;

use std::str::FromStr;

use chrono::{Datelike, TimeZone, Utc};
use common::fake_bigquery::{self, column, query_reply, row};
use panoptic::Decimal;
use panoptic::billable;
use panoptic::gcp::bigquery::{BigQuery, Error, QueryResult};
use panoptic::query::{CostQuery, Tz};
use panoptic::reconcile::{BillLine, Reconciliation};
use serde_json::{Value as Json, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const GIB: u64 = 1 << 30;
/// Each run bills 300 GiB: five of them cross the free TiB in the fourth.
const RUN_BILLED: u64 = 300 * GIB;
const RUNS: u64 = 5;

/// BigQuery on-demand list price, 2026: $6.25 per TiB billed; the first
/// TiB of each month and billing account is free.
fn list_price(billed: u64) -> Decimal {
    Decimal::from(billed) * Decimal::from_str("6.25").unwrap() / Decimal::from(1u64 << 40)
}

#[billable(provider = "gcp", service = "BigQuery")]
async fn monthly_rollup(bq: &BigQuery) -> Result<QueryResult, Error> {
    bq.query("SELECT day, SUM(views) AS views FROM site.stats GROUP BY day")
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_months_report_over_a_fake_account_crosses_the_free_tier_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/bigquery/v2/projects/test-project/queries"))
        .respond_with(ResponseTemplate::new(200).set_body_json(query_reply(
            "job_month",
            json!([column("day", "DATE"), column("views", "INTEGER")]),
            vec![row(&["2026-11-25", "1200"])],
            RUN_BILLED,
            RUN_BILLED,
        )))
        .expect(RUNS)
        .mount(&server)
        .await;

    let env = common::unique_env("gcp_free_tier");
    // One account per run of the test: the free tier spans environments.
    let account = format!("01FAKE-{}", env.replace('_', "-"));
    let guard = common::builder(&env).install().unwrap();
    let bq = fake_bigquery::client(&server.uri(), "free-tier-token")
        .await
        .billing_account(account.clone())
        .build()
        .unwrap();
    for _ in 0..RUNS {
        monthly_rollup(&bq).await.unwrap();
    }
    assert!(guard.flush());
    drop(guard);

    // The Pacific month so far.
    let now = Utc::now().with_timezone(&Tz::America__Los_Angeles);
    let month_start = Tz::America__Los_Angeles
        .with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .unwrap()
        .with_timezone(&Utc);
    let since = month_start.to_rfc3339();
    let spool = common::temp_dir("free-tier-spool");
    let output = common::cli::run(
        &[
            "report",
            "--env",
            &env,
            "--provider",
            "gcp",
            "--since",
            &since,
            "--by",
            "service",
            "--format",
            "json",
        ],
        &common::mongodb_uri(),
        &spool,
    );
    let stderr = common::cli::text(&output.stderr);
    let stdout = common::cli::succeed(output);
    let report: Json = serde_json::from_str(&stdout).unwrap();
    let rows = report["rows"].as_array().unwrap();
    let bigquery: Vec<&Json> = rows.iter().filter(|r| r["service"] == "BigQuery").collect();
    assert_eq!(bigquery.len(), 1, "{report:#}");
    // 1,500 GiB at list, less the free 1,024.
    let expected = list_price(RUNS * RUN_BILLED - 1024 * GIB);
    let amount = Decimal::from_str(bigquery[0]["amount"].as_str().unwrap()).unwrap();
    assert_eq!(amount, expected, "{report:#}");
    // Said once, for the account and month.
    let credits: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("free tier") && l.contains(&account))
        .collect();
    assert_eq!(credits.len(), 1, "{stderr}");
    assert!(credits[0].contains("-6.25 USD"), "{stderr}");
    std::fs::remove_dir_all(&spool).ok();

    // Reconciled against Google's bill for today (the export shows the
    // free TiB as $0 usage), the estimate matches it.
    let today = now.date_naive();
    let bill = [BillLine::new("gcp", today, expected, expected)];
    let recon = Reconciliation::new("gcp", today, today.succ_opt().unwrap())
        .time_zone(Tz::America__Los_Angeles)
        .by([])
        .unwrap();
    let client = common::client().await;
    let report = recon
        .run(&client, &CostQuery::new().env(&env), &bill)
        .await
        .unwrap();
    assert_eq!(report.rows.len(), 1, "{report:?}");
    assert_eq!(report.rows[0].estimate, expected, "{report:?}");
    assert!(report.rows[0].difference.is_zero(), "{report:?}");
}
