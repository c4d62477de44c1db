//! `panoptic reconcile --provider gcp` end to end: a workload of BigQuery
//! queries run through panoptic-gcp's client by `#[billable]` functions
//! against a local fake of the BigQuery REST API, so the events really land
//! in the test database; then the same fake answers the billing-export
//! query with rows in BigQuery's f/v form. The bill is worked out here from
//! the bytes each job billed and the labels panoptic sent with it, at the
//! public list price written below, never from panoptic's events or price
//! code.
//!
//! Also: a MongoDB Atlas cluster's fixed cost spread over its callers.
#![cfg(all(feature = "cli", feature = "gcp"))]

mod common;

use std::collections::BTreeMap;
use std::process::Output;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::{Days, NaiveDate, Utc};
use common::fake_bigquery::{self, PROJECT, column, query_reply, row};
use panoptic::gcp::bigquery::{BigQuery, Error, QueryResult};
use panoptic::gcp::billing::BillingExport;
use panoptic::query::{CostQuery, GroupBy, Tz};
use panoptic::reconcile::{BillLine, Fallback, FixedCost, Reconciliation, Share};
use panoptic::{Decimal, Kind, billable};
use serde_json::{Value as Json, json};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// `#[billable]` uses the global instance: one workload at a time (held
/// across the workload's awaits, so tokio's lock; panoptic-core's tokio
/// has `sync`).
static INSTALL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const TABLE: &str = "test-project.billing.gcp_billing_export_v1_01ABCD_234567_89EFGH";
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;
/// The cancelled job: what panoptic saw it read before the cancel, and
/// what BigQuery ran (and bills) in the end.
const SLOW_SEEN: u64 = GIB;
const SLOW_BILLED: u64 = 80 * GIB;
/// Queries run from the console, outside panoptic: no labels.
const OUTSIDE_BILLED: u64 = 40 * GIB;

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

/// BigQuery on-demand list price, 2026: $6.25 per TiB billed; each query
/// bills at least 10 MiB, rounded up to the MiB.
fn bytes_billed(processed: u64) -> u64 {
    (processed.div_ceil(MIB) * MIB).max(10 * MIB)
}

fn list_price(billed: u64) -> Decimal {
    Decimal::from(billed) * dec("6.25") / Decimal::from(1u64 << 40)
}

/// Google's billing day: Pacific time.
fn pacific_today() -> NaiveDate {
    Utc::now()
        .with_timezone(&Tz::America__Los_Angeles)
        .date_naive()
}

#[billable(provider = "gcp", service = "BigQuery")]
async fn daily_report(bq: &BigQuery, bytes: u64) -> Result<QueryResult, Error> {
    bq.query(format!(
        "SELECT day, SUM(views) AS views FROM site.stats GROUP BY day /* bytes={bytes} */"
    ))
    .await
}

/// Labelled `listusers`: the label form of its resource.
#[billable(provider = "gcp", service = "BigQuery", resource = "ListUsers")]
async fn list_users(bq: &BigQuery, bytes: u64) -> Result<QueryResult, Error> {
    bq.query(format!(
        "SELECT id, name FROM app.users /* bytes={bytes} */"
    ))
    .await
}

/// Outlives its deadline: panoptic cancels it and bills what it had read.
#[billable(provider = "gcp", service = "BigQuery")]
async fn slow_export(bq: &BigQuery) -> Result<QueryResult, Error> {
    bq.query("EXPORT DATA OPTIONS(uri='gs://b/*') AS SELECT * FROM site.events /* slow */")
        .await
}

/// Run today: the export has not got its rows yet.
#[billable(provider = "gcp", service = "BigQuery")]
async fn fresh_import(bq: &BigQuery, bytes: u64) -> Result<QueryResult, Error> {
    bq.query(format!(
        "SELECT * FROM staging.import /* fresh bytes={bytes} */"
    ))
    .await
}

/// The fake's jobs.query: answers each workload query with the bytes its
/// SQL names; the slow one does not complete.
fn jobs_query(request: &Request) -> ResponseTemplate {
    static JOB: AtomicU32 = AtomicU32::new(0);
    let body: Json = serde_json::from_slice(&request.body).unwrap();
    let sql = body["query"].as_str().unwrap_or_default();
    if sql.contains("/* slow */") {
        return ResponseTemplate::new(200).set_body_json(json!({
            "kind": "bigquery#queryResponse",
            "jobReference": {"projectId": PROJECT, "jobId": "job_slow", "location": "US"},
            "jobComplete": false
        }));
    }
    let bytes: u64 = sql
        .split("bytes=")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no bytes in {sql}"));
    let job = format!("job_{}", JOB.fetch_add(1, Ordering::Relaxed));
    ResponseTemplate::new(200).set_body_json(query_reply(
        &job,
        json!([column("n", "INTEGER")]),
        vec![row(&["1"])],
        bytes,
        bytes_billed(bytes),
    ))
}

async fn mount_jobs(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(format!("/bigquery/v2/projects/{PROJECT}/queries")))
        .respond_with(jobs_query)
        .with_priority(10)
        .mount(server)
        .await;
    // The cancelled job as jobs.cancel and jobs.get describe it: stopped,
    // with what it had read, and no bytes billed yet.
    let job = json!({
        "kind": "bigquery#job",
        "jobReference": {"projectId": PROJECT, "jobId": "job_slow", "location": "US"},
        "status": {"state": "DONE", "errorResult": {"reason": "stopped",
            "message": "Job execution was cancelled: User requested cancellation"}},
        "statistics": {"totalBytesProcessed": SLOW_SEEN.to_string(),
            "query": {"totalBytesProcessed": SLOW_SEEN.to_string()}}
    });
    Mock::given(method("POST"))
        .and(path(format!(
            "/bigquery/v2/projects/{PROJECT}/jobs/job_slow/cancel"
        )))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"kind": "bigquery#jobCancelResponse", "job": job})),
        )
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/bigquery/v2/projects/{PROJECT}/jobs/job_slow"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(job))
        .mount(server)
        .await;
}

async fn client(server: &MockServer, deadline: Duration) -> BigQuery {
    fake_bigquery::client(&server.uri(), "recon-token")
        .await
        .query_deadline(deadline)
        .build()
        .unwrap()
}

/// One job as the billing export sees it: its labels and bytes billed.
#[derive(Debug, Clone)]
struct Job {
    resource: Option<String>,
    user: Option<String>,
    billed: u64,
}

/// The jobs the fake ran, read off the requests it received: the labels
/// panoptic sent, and the bytes the job billed in the end.
async fn jobs_run(server: &MockServer) -> Vec<Job> {
    let mut jobs = Vec::new();
    for request in server.received_requests().await.unwrap_or_default() {
        if request.method.as_str() != "POST" || !request.url.path().ends_with("/queries") {
            continue;
        }
        let body: Json = serde_json::from_slice(&request.body).unwrap();
        let sql = body["query"].as_str().unwrap();
        let billed = if sql.contains("/* slow */") {
            SLOW_BILLED
        } else if let Some(rest) = sql.split("bytes=").nth(1) {
            bytes_billed(rest.split(' ').next().unwrap().parse().unwrap())
        } else {
            continue; // the export query itself
        };
        let label = |key: &str| body["labels"][key].as_str().map(str::to_owned);
        jobs.push(Job {
            resource: label("panoptic_resource"),
            user: label("panoptic_user"),
            billed,
        });
    }
    jobs
}

/// One billing-export line: a day's BigQuery analysis cost of a label.
#[derive(Debug, Clone)]
struct ExportLine {
    resource: Option<String>,
    user: Option<String>,
    cost: Decimal,
    credits: Vec<(&'static str, Decimal)>,
}

/// Sums the jobs per (resource, user) label, as the export does, at list
/// price rounded to NUMERIC's 9 places.
fn export_lines(jobs: &[Job]) -> Vec<ExportLine> {
    let mut by_label: BTreeMap<(Option<String>, Option<String>), u64> = BTreeMap::new();
    for job in jobs {
        *by_label
            .entry((job.resource.clone(), job.user.clone()))
            .or_default() += job.billed;
    }
    by_label
        .into_iter()
        .map(|((resource, user), billed)| ExportLine {
            resource,
            user,
            cost: list_price(billed).round_dp(9),
            credits: Vec::new(),
        })
        .collect()
}

/// The export query's reply, in BigQuery's f/v form: by label, or summed
/// over labels (resource and user null).
fn export_reply(day: NaiveDate, lines: &[ExportLine], by_label: bool) -> Json {
    let mut rows: Vec<ExportLine> = lines.to_vec();
    if !by_label {
        let cost = lines.iter().map(|l| l.cost).sum();
        let mut credits: BTreeMap<&str, Decimal> = BTreeMap::new();
        for (kind, amount) in lines.iter().flat_map(|l| l.credits.iter()) {
            *credits.entry(kind).or_default() += *amount;
        }
        rows = vec![ExportLine {
            resource: None,
            user: None,
            cost,
            credits: credits.into_iter().collect(),
        }];
    }
    let columns = json!([
        column("date", "DATE"), column("invoice_month", "STRING"), column("cost_type", "STRING"),
        column("service_id", "STRING"), column("service", "STRING"), column("sku_id", "STRING"),
        column("sku", "STRING"), column("resource", "STRING"), column("user", "STRING"),
        column("cost", "NUMERIC"), column("cost_at_list", "NUMERIC"), column("credits", "NUMERIC"),
        {"name": "credits_by_type", "type": "RECORD", "mode": "REPEATED", "fields": [
            {"name": "type", "type": "STRING"}, {"name": "amount", "type": "NUMERIC"}]},
        column("currency", "STRING")
    ]);
    let rows: Vec<Json> = rows
        .iter()
        .map(|line| {
            let credits: Decimal = line.credits.iter().map(|(_, a)| *a).sum();
            let by_type: Vec<Json> = line
                .credits
                .iter()
                .map(|(kind, amount)| json!({"v": {"f": [{"v": kind}, {"v": amount.to_string()}]}}))
                .collect();
            json!({"f": [
                {"v": day.to_string()}, {"v": day.format("%Y%m").to_string()}, {"v": "regular"},
                {"v": "24E6-581D-38E5"}, {"v": "BigQuery"}, {"v": "3362-E469-6BEB"},
                {"v": "Analysis"}, {"v": line.resource}, {"v": line.user},
                {"v": line.cost.to_string()}, {"v": line.cost.to_string()},
                {"v": credits.to_string()}, {"v": by_type}, {"v": "USD"}
            ]})
        })
        .collect();
    query_reply("job_export", columns, rows, 0, 0)
}

/// Answers the export query (as `BillingExport::sql` writes it, matched
/// on the request body) with `lines`.
async fn mount_export(server: &MockServer, day: NaiveDate, lines: &[ExportLine]) {
    let bq = BigQuery::builder(PROJECT)
        .base_url("http://127.0.0.1:9/")
        .build()
        .unwrap();
    for by_label in [false, true] {
        let sql = BillingExport::new(bq.clone(), TABLE)
            .unwrap()
            .by_sku(true)
            .by_label(by_label)
            .sql();
        Mock::given(method("POST"))
            .and(path(format!("/bigquery/v2/projects/{PROJECT}/queries")))
            .and(body_partial_json(json!({"query": sql})))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(export_reply(day, lines, by_label)),
            )
            .with_priority(1)
            .mount(server)
            .await;
    }
}

fn reconcile(env: &str, server: &MockServer, by: &str, extra: &[&str]) -> Output {
    let base = format!("{}/bigquery/v2/", server.uri());
    common::reconcile_cli::command(env)
        .args(["--provider", "gcp", "--gcp-billing-table", TABLE])
        .args(["--gcp-base-url", &base, "--gcp-access-token", "recon-token"])
        .args(["--since", "1d", "--by", by, "--min-difference", "0"])
        .args(extra)
        .output()
        .unwrap()
}

/// The rows of a run that succeeded.
fn rows(output: &Output) -> Vec<Json> {
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    common::reconcile_cli::rows(output)
}

fn money(row: &Json, key: &str) -> Decimal {
    dec(row[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {row}")))
}

fn resource_row<'a>(rows: &'a [Json], resource: &str) -> &'a Json {
    rows.iter()
        .find(|r| r["resource"] == resource)
        .unwrap_or_else(|| panic!("no row for {resource}: {rows:#?}"))
}

/// Within 1 % of the estimate.
fn agrees(row: &Json) {
    let estimate = money(row, "estimate");
    let list = money(row, "list");
    assert!(estimate > Decimal::ZERO, "{row}");
    assert!(
        (list - estimate).abs() <= estimate / dec("100"),
        "estimate and bill differ by more than 1 %: {row}"
    );
    assert_eq!(row["flagged"], false, "{row}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcp_estimates_meet_the_billing_export_per_function_and_gaps_are_explained() {
    let env = common::unique_env("recon_gcp");
    let server = MockServer::start().await;
    mount_jobs(&server).await;
    let bq = client(&server, Duration::from_secs(60)).await;
    let today = pacific_today();

    // 1. A clean workload: the bill is what its jobs billed.
    {
        let _one = INSTALL.lock().await;
        let guard = common::builder(&env).install().unwrap();
        for bytes in [3 * GIB + 12_345, 700 * MIB + 1, 1_000_000] {
            daily_report(&bq, bytes).await.unwrap();
        }
        for bytes in [50 * MIB, 2 * GIB + 1] {
            list_users(&bq, bytes).await.unwrap();
        }
        assert!(guard.flush());
    }
    let clean = jobs_run(&server).await;
    assert_eq!(clean.len(), 5);
    // Labels in label form: the bill knows `listusers`, not `ListUsers`.
    assert!(
        clean
            .iter()
            .any(|j| j.resource.as_deref() == Some("listusers")),
        "{clean:?}"
    );
    assert!(clean.iter().all(|j| j.user.as_deref() == Some("john_doe")));
    let lines = export_lines(&clean);
    let billed: Decimal = lines.iter().map(|l| l.cost).sum();
    mount_export(&server, today, &lines).await;

    let by_day = rows(&reconcile(&env, &server, "day", &[]));
    let row = by_day
        .iter()
        .find(|r| r["day"] == today.to_string())
        .unwrap();
    assert_eq!(money(row, "list"), billed, "{row}");
    agrees(row);

    // Per function, from the job labels: each within 1 %.
    let by_resource = rows(&reconcile(&env, &server, "day,resource", &[]));
    for resource in ["daily_report", "ListUsers"] {
        let row = resource_row(&by_resource, resource);
        assert_eq!(row["day"], today.to_string());
        agrees(row);
    }
    let list_users_bill: Decimal = lines
        .iter()
        .filter(|l| l.resource.as_deref() == Some("listusers"))
        .map(|l| l.cost)
        .sum();
    assert_eq!(
        money(resource_row(&by_resource, "ListUsers"), "list"),
        list_users_bill
    );

    // 2. Gaps: a job cancelled at its deadline that BigQuery bills in
    //    full, queries run outside panoptic, a free-tier credit, and a
    //    day whose rows for the latest queries are not exported yet.
    {
        let _one = INSTALL.lock().await;
        let guard = common::builder(&env).install().unwrap();
        let impatient = client(&server, Duration::ZERO).await;
        let error = slow_export(&impatient).await.unwrap_err();
        assert!(matches!(error, Error::Timeout { .. }), "{error}");
        for bytes in [5 * GIB, 3 * GIB] {
            fresh_import(&bq, bytes).await.unwrap();
        }
        assert!(guard.flush());
    }
    let all_jobs = jobs_run(&server).await;
    let exported: Vec<Job> = all_jobs
        .iter()
        .filter(|j| j.resource.as_deref() != Some("fresh_import"))
        .cloned()
        .chain([Job {
            resource: None,
            user: None,
            billed: OUTSIDE_BILLED,
        }])
        .collect();
    let mut lines = export_lines(&exported);
    let free_tier = dec("-0.004");
    for line in &mut lines {
        if line.resource.as_deref() == Some("daily_report") {
            line.credits.push(("FREE_TIER", free_tier));
        }
    }
    server.reset().await;
    mount_jobs(&server).await;
    mount_export(&server, today, &lines).await;

    let gaps = rows(&reconcile(&env, &server, "day,resource", &[]));
    // Still within 1 % where nothing is missing; the credit is explained.
    let daily = resource_row(&gaps, "daily_report");
    agrees(daily);
    assert_eq!(money(daily, "credits"), free_tier);
    assert!(
        common::reconcile_cli::codes(daily).contains(&"credits".to_owned()),
        "{daily}"
    );
    assert!(
        daily["reasons"].to_string().contains("FREE_TIER"),
        "{daily}"
    );
    agrees(resource_row(&gaps, "ListUsers"));
    // The cancelled job: panoptic billed what it had read, BigQuery the
    // whole job.
    let slow = resource_row(&gaps, "slow_export");
    assert_eq!(money(slow, "list"), list_price(SLOW_BILLED).round_dp(9));
    assert!(money(slow, "difference") > Decimal::ZERO, "{slow}");
    assert!(
        money(slow, "estimate") < money(slow, "list") / dec("10"),
        "{slow}"
    );
    assert!(
        common::reconcile_cli::codes(slow).contains(&"cancelled".to_owned()),
        "{slow}"
    );
    // Its two records (the job's, and the function's error) are one call.
    assert!(
        slow["reasons"].to_string().contains("1 cancelled call"),
        "{slow}"
    );
    assert_eq!(slow["flagged"], true);
    // Console queries: no label, no estimate.
    let outside = resource_row(&gaps, "(none)");
    assert_eq!(
        money(outside, "list"),
        list_price(OUTSIDE_BILLED).round_dp(9)
    );
    assert_eq!(outside["calls"], 0);
    assert!(
        common::reconcile_cli::codes(outside).contains(&"not_estimated".to_owned()),
        "{outside}"
    );
    // Today's rows for the newest queries have not arrived: late data.
    let fresh = resource_row(&gaps, "fresh_import");
    assert_eq!(money(fresh, "list"), Decimal::ZERO);
    assert!(money(fresh, "estimate") > Decimal::ZERO);
    assert!(
        common::reconcile_cli::codes(fresh).contains(&"late_data".to_owned()),
        "{fresh}"
    );

    // Late data is a property of the day: the same gap ten days on is
    // "estimated but not billed", and the cancelled job stays explained.
    let mongo = common::client().await;
    let base = CostQuery::new().env(&env);
    let bill: Vec<BillLine> = lines
        .iter()
        .map(|l| {
            let net = l.cost + l.credits.iter().map(|(_, a)| *a).sum::<Decimal>();
            let mut line = BillLine::new("gcp", today, l.cost, net).service("BigQuery");
            line.resource = l.resource.clone();
            line.user = l.user.clone();
            line
        })
        .collect();
    let recon = Reconciliation::new("gcp", today, today + Days::new(1))
        .time_zone(Tz::America__Los_Angeles)
        .by([GroupBy::Resource])
        .unwrap();
    let reasons = |report: &panoptic::reconcile::Report, resource: &str| -> Vec<&'static str> {
        report
            .rows
            .iter()
            .find(|r| r.key[1] == resource)
            .unwrap_or_else(|| panic!("{resource}: {report:#?}"))
            .reasons
            .iter()
            .map(|r| r.code())
            .collect()
    };
    let now = recon
        .clone()
        .today(today)
        .run(&mongo, &base, &bill)
        .await
        .unwrap();
    assert!(reasons(&now, "fresh_import").contains(&"late_data"));
    assert!(reasons(&now, "slow_export").contains(&"cancelled"));
    let later = recon
        .today(today + Days::new(10))
        .run(&mongo, &base, &bill)
        .await
        .unwrap();
    assert!(!reasons(&later, "fresh_import").contains(&"late_data"));
    assert!(reasons(&later, "fresh_import").contains(&"not_billed"));

    // 3. --apply books every row's difference, to the cent (today's bill
    //    may still change: booked only when asked); a second run writes
    //    nothing new.
    let applied = rows(&reconcile(
        &env,
        &server,
        "day,resource",
        &["--apply", "--include-late"],
    ));
    let difference: Decimal = applied
        .iter()
        .filter(|r| r["day"] != "total")
        .map(|r| money(r, "difference"))
        .sum();
    let expected = billed - money(row, "estimate")
        + list_price(SLOW_BILLED).round_dp(9)
        + list_price(OUTSIDE_BILLED).round_dp(9);
    assert!(difference > Decimal::ZERO);
    let adjustments = common::adjustment_events(&env).await;
    assert!(adjustments.len() >= 5, "{adjustments:#?}");
    let sum: Decimal = adjustments.iter().filter_map(|e| e.amount).sum();
    assert_eq!(sum.round_dp(2), difference.round_dp(2));
    assert_eq!(sum, difference);
    // What the estimate lacks: the slow job's rest and the console's
    // queries, less the fresh imports not billed yet.
    let fresh_estimate = money(fresh, "estimate");
    let slow_estimate = money(slow, "estimate");
    assert_eq!(
        sum.round_dp(2),
        (expected - fresh_estimate - slow_estimate).round_dp(2)
    );
    let again = reconcile(
        &env,
        &server,
        "day,resource",
        &["--apply", "--include-late"],
    );
    common::reconcile_cli::assert_applied_once(&again, &env, &adjustments).await;
    // Reports keep the allocation apart from the estimate.
    let report = CostQuery::new()
        .env(&env)
        .provider("gcp")
        .run(&mongo)
        .await
        .unwrap();
    assert_eq!(report[0].adjusted, sum);
}

#[billable(provider = "mongodb_atlas", service = "Cluster")]
fn find_orders() {}

#[billable(provider = "mongodb_atlas", service = "Cluster")]
fn update_stock() {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_atlas_cluster_is_spread_over_its_callers_by_calls_to_the_cent() {
    let env = common::unique_env("recon_atlas");
    {
        let _one = INSTALL.lock().await;
        let guard = common::builder(&env).install().unwrap();
        for _ in 0..5 {
            find_orders();
        }
        for _ in 0..2 {
            update_stock();
        }
        assert!(guard.flush());
    }
    let today = Utc::now().date_naive();
    let midnight = today.and_hms_opt(0, 0, 0).unwrap().and_utc();
    let from = midnight;
    let to = midnight + chrono::Duration::minutes(12 * 60 + 7);
    // MongoDB Atlas M10 (AWS us-east-1) list price: $0.08 per hour.
    let cost_expected = dec("0.08") * Decimal::from(12 * 60 + 7) / Decimal::from(60);
    let cost = FixedCost::atlas_cluster("M10", from, to).unwrap();
    assert_eq!(cost.amount.round_dp(12), cost_expected.round_dp(12));

    let client = common::client().await;
    let base = CostQuery::new().env(&env);
    // Today is not over: spread all the same.
    let recon = Reconciliation::new("mongodb_atlas", today, today + Days::new(1))
        .by([])
        .unwrap()
        .include_late(true);
    let shares = recon.shares(&client, &base).await.unwrap();
    let adjustments = recon.spread(&cost, &shares, Share::Calls, &Fallback::default());
    assert_eq!(adjustments.len(), 2, "{adjustments:#?}");
    let of = |resource: &str| {
        adjustments
            .iter()
            .find(|e| e.resource == resource)
            .and_then(|e| e.amount)
            .unwrap()
    };
    // 5 calls of 7, and 2 of 7.
    assert_eq!(of("find_orders") + of("update_stock"), cost.amount);
    assert_eq!(
        of("find_orders").round_dp(2),
        (cost_expected * dec("5") / dec("7")).round_dp(2)
    );
    assert_eq!(
        of("update_stock").round_dp(6),
        (cost_expected * dec("2") / dec("7")).round_dp(6)
    );
    assert!(
        adjustments
            .iter()
            .all(|e| e.kind == Kind::Adjustment && e.provider == "mongodb_atlas")
    );
    let first = recon.apply(&client, &adjustments).await.unwrap();
    assert_eq!(first.written, 2);
    let second = recon.apply(&client, &adjustments).await.unwrap();
    assert_eq!((second.written, second.unchanged), (0, 2));
    let report = CostQuery::new()
        .env(&env)
        .provider("mongodb_atlas")
        .group_by([GroupBy::Resource])
        .run(&client)
        .await
        .unwrap();
    let adjusted: Decimal = report.iter().map(|r| r.adjusted).sum();
    assert_eq!(adjusted.round_dp(2), cost_expected.round_dp(2));
    assert_eq!(adjusted, cost.amount);

    // The CLI spreads the same cluster the same way: same ids, nothing new.
    let from_arg = from.to_rfc3339();
    let to_arg = to.to_rfc3339();
    let since = today.to_string();
    let until = (today + Days::new(1)).to_string();
    let out = common::reconcile_cli::command(&env)
        .args(["--provider", "mongodb_atlas", "--atlas-tier", "M10"])
        .args(["--atlas-from", &from_arg, "--atlas-to", &to_arg])
        .args([
            "--since", &since, "--until", &until, "--by", "day", "--apply",
        ])
        .arg("--include-late")
        .output()
        .unwrap();
    let cli_rows = rows(&out);
    let day = cli_rows
        .iter()
        .find(|r| r["day"] == today.to_string())
        .unwrap();
    assert_eq!(money(day, "list"), cost.amount);
    assert_eq!(day["calls"], 7);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("0 written, 2 unchanged, 0 removed"),
        "{stderr}"
    );
}
