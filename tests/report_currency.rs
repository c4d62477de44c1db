//! `panoptic report` with amounts in two currencies, against the real test
//! database and the spool: never one sum of two currencies, a converted
//! total only through the user's dated rates (shown beside it), and every
//! total saying how many calls it leaves out as unpriced.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use panoptic::query::{CostQuery, GroupBy};
use panoptic::{BillingEvent, Decimal, Panoptic, Provider};
use serde_json::Value;

/// The range every test reports: its last day is 2026-12-07.
const RANGE: [&str; 4] = ["--since", "2026-12-01", "--until", "2026-12-08"];

/// EUR→USD at 1.08 from 2026-12-01, and 1.20 from 2026-12-09 (after the
/// range: never applied here).
const RATES: &str = "\
[[rate]]
from = \"EUR\"
to = \"USD\"
rate = \"1.08\"
date = \"2026-12-01\"

[[rate]]
from = \"EUR\"
to = \"USD\"
rate = \"1.20\"
date = \"2026-12-09\"
";

use common::cli::{succeed, text};

fn panoptic(args: &[&str], uri: &str, spool: &Path, rates: Option<&Path>) -> Output {
    let mut command = common::cli::command(uri, spool);
    command.args(args);
    if let Some(rates) = rates {
        command.env("PANOPTIC_RATES", rates);
    }
    command.output().unwrap()
}

fn rate_file(dir: &Path) -> PathBuf {
    let path = dir.join("rates.toml");
    std::fs::write(&path, RATES).unwrap();
    path
}

fn event(
    service: &str,
    resource: &str,
    amount: Option<&str>,
    currency: &str,
    day: u32,
) -> BillingEvent {
    BillingEvent {
        username: "currency user".into(),
        amount: amount.map(|a| a.parse().unwrap()),
        currency: currency.into(),
        metadata: panoptic::Metadata {
            duration_ms: Some(10.0),
            ..panoptic::Metadata::default()
        },
        ..common::stored_invoice(
            ("user_defined", service, resource),
            Decimal::ZERO,
            Utc.with_ymd_and_hms(2026, 12, day, 10, 0, 0).unwrap(),
        )
    }
}

/// In the test database, in a new env: `Pricing` cost 10 × 1 EUR (on the
/// 5th) and 2.50 USD (on the 6th), plus 3 USD calls nobody priced (the
/// 6th); `Adhoc` had 2 calls, all unpriced (the 6th). By hand: 10 EUR and
/// 2.5 USD, never 12.5; converted, 10 × 1.08 + 2.50 = 13.30 USD.
async fn stored_events() -> String {
    let env = common::unique_env("currency");
    let mut events: Vec<BillingEvent> = (0..10)
        .map(|_| event("Pricing", "quote", Some("1"), "EUR", 5))
        .collect();
    events.push(event("Pricing", "quote", Some("2.50"), "USD", 6));
    for _ in 0..3 {
        events.push(event("Pricing", "quote", None, "USD", 6));
    }
    for _ in 0..2 {
        events.push(event("Adhoc", "export", None, "USD", 6));
    }
    let documents: Vec<_> = events
        .iter_mut()
        .map(|e| {
            e.env = env.clone();
            e.to_document()
        })
        .collect();
    common::client()
        .await
        .database(&panoptic::naming::database_name(&env))
        .collection::<bson::Document>("user_defined_currency_user")
        .insert_many(documents)
        .await
        .unwrap();
    env
}

fn report_args<'a>(env: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["report", "--env", env];
    args.extend(RANGE);
    args.extend(extra);
    args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_currencies_are_two_rows_and_two_totals_in_every_format() {
    let env = stored_events().await;
    let uri = common::mongodb_uri();
    let dir = common::temp_dir("currency-split");
    let spool = dir.join("spool");

    // Table: a row per currency for `Pricing`, a total per currency, and
    // beside each total the calls it leaves out.
    let table = succeed(panoptic(&report_args(&env, &[]), &uri, &spool, None));
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("service  currency  amount"), "{table}");
    let pricing: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("Pricing"))
        .collect();
    assert_eq!(pricing.len(), 2, "one row per currency:\n{table}");
    let cells = |line: &str| {
        line.split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(cells(pricing[0])[..3], ["Pricing", "EUR", "10"], "{table}");
    assert_eq!(cells(pricing[1])[..3], ["Pricing", "USD", "2.5"], "{table}");
    assert!(!table.contains("12.5"), "never one sum:\n{table}");
    let adhoc = lines.iter().find(|l| l.starts_with("Adhoc")).unwrap();
    assert_eq!(
        cells(adhoc)[..5],
        ["Adhoc", "USD", "unpriced", "0", "2"],
        "all unpriced: never a bare 0:\n{table}"
    );
    assert!(
        lines.contains(&"total  10 EUR  (all 10 calls priced)"),
        "{table}"
    );
    assert!(
        lines.contains(&"total  2.5 USD  (5 calls unpriced, not counted)"),
        "{table}"
    );

    // CSV: a currency column; totals after the rows, one per currency.
    let csv = succeed(panoptic(
        &report_args(&env, &["--format", "csv"]),
        &uri,
        &spool,
        None,
    ));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "service,currency,amount,adjusted,unpriced,quantity,count,errors,p50_ms,p95_ms"
    );
    assert!(lines[1].starts_with("Pricing,EUR,10,0,0,10,10,0,"), "{csv}");
    assert!(lines[2].starts_with("Pricing,USD,2.5,0,3,4,4,0,"), "{csv}");
    assert!(lines[3].starts_with("Adhoc,USD,,0,2,2,2,0,"), "{csv}");
    assert_eq!(
        lines[4..],
        ["total,EUR,10,0,0,,10,0,,", "total,USD,2.5,0,5,,6,0,,"]
    );

    // JSON: rows and totals apart, each with its currency and unpriced.
    let json: Value = serde_json::from_str(&succeed(panoptic(
        &report_args(&env, &["--format", "json"]),
        &uri,
        &spool,
        None,
    )))
    .unwrap();
    let rows = json["rows"].as_array().unwrap();
    let shown: Vec<(&str, &str, Value, u64)> = rows
        .iter()
        .map(|r| {
            (
                r["service"].as_str().unwrap(),
                r["currency"].as_str().unwrap(),
                r["amount"].clone(),
                r["unpriced"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("Pricing", "EUR", Value::from("10"), 0),
            ("Pricing", "USD", Value::from("2.5"), 3),
            ("Adhoc", "USD", Value::Null, 2),
        ]
    );
    let totals = json["totals"].as_array().unwrap();
    assert_eq!(totals.len(), 2, "{json}");
    assert_eq!(
        (
            &totals[0]["currency"],
            &totals[0]["amount"],
            &totals[0]["unpriced"]
        ),
        (&Value::from("EUR"), &Value::from("10"), &Value::from(0))
    );
    assert_eq!(
        (
            &totals[1]["currency"],
            &totals[1]["amount"],
            &totals[1]["unpriced"]
        ),
        (&Value::from("USD"), &Value::from("2.5"), &Value::from(5))
    );

    // HTML: a total and a chart per currency; the unpriced calls beside the
    // total, in the legend and in the bars' tooltips.
    let page = dir.join("report.html");
    succeed(panoptic(
        &report_args(&env, &["--html", page.to_str().unwrap()]),
        &uri,
        &spool,
        None,
    ));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains(
            "<p class=\"total\" data-currency=\"EUR\">Total: <strong>10 EUR</strong> \
             <span class=\"unpriced\">(all 10 calls priced)</span>"
        ),
        "{html}"
    );
    assert!(
        html.contains(
            "<p class=\"total\" data-currency=\"USD\">Total: <strong>2.5 USD</strong> \
             <span class=\"unpriced\">(5 calls unpriced, not counted)</span>"
        ),
        "{html}"
    );
    assert!(html.contains("<svg id=\"cost-per-day-EUR\""), "{html}");
    assert!(html.contains("<svg id=\"cost-per-day-USD\""), "{html}");
    assert!(
        html.contains("<title>2026-12-06 · Pricing: 2.5 USD (3 calls unpriced)</title>"),
        "{html}"
    );
    assert!(html.contains("Adhoc (unpriced: 2 calls)"), "{html}");
    assert!(!html.contains("12.5"), "never one sum:\n{html}");
    assert!(
        html.contains("<td>quote</td><td>Pricing</td><td>EUR</td><td class=\"n\">10</td>"),
        "{html}"
    );
    assert!(
        html.contains("<td>export</td><td>Adhoc</td><td>USD</td><td class=\"n\">unpriced</td>"),
        "{html}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asked_for_one_currency_the_total_is_converted_with_its_rate_shown() {
    let env = stored_events().await;
    let uri = common::mongodb_uri();
    let dir = common::temp_dir("currency-convert");
    let spool = dir.join("spool");
    let rates = rate_file(&dir);
    let rates_arg = rates.to_str().unwrap();
    // 10 EUR × 1.08 (the rate of 2026-12-01, in effect on the 7th, the
    // range's last day; not the 1.20 of the 9th) + 2.50 USD.
    let rate = "1 EUR = 1.08 USD (2026-12-01)";

    let table = succeed(panoptic(
        &report_args(&env, &["--currency", "USD", "--rates", rates_arg]),
        &uri,
        &spool,
        None,
    ));
    let pricing: Vec<&str> = table.lines().filter(|l| l.starts_with("Pricing")).collect();
    assert_eq!(pricing.len(), 1, "{table}");
    let cells: Vec<&str> = pricing[0].split_whitespace().collect();
    assert_eq!(cells[..3], ["Pricing", "USD", "13.3"], "{table}");
    assert!(pricing[0].contains(rate), "the rate beside it: {table}");
    let totals: Vec<&str> = table.lines().filter(|l| l.starts_with("total")).collect();
    assert_eq!(
        totals,
        [format!(
            "total  13.3 USD (converted at {rate})  (5 calls unpriced, not counted)"
        )],
        "{table}"
    );

    // The rate file named by PANOPTIC_RATES, as by --rates.
    let json: Value = serde_json::from_str(&succeed(panoptic(
        &report_args(&env, &["--currency", "usd", "--format", "json"]),
        &uri,
        &spool,
        Some(&rates),
    )))
    .unwrap();
    assert_eq!(json["rows"][0]["service"], "Pricing");
    assert_eq!(json["rows"][0]["currency"], "USD");
    assert_eq!(json["rows"][0]["amount"], "13.3");
    assert_eq!(json["rows"][0]["rate"], rate);
    assert_eq!(json["rows"][0]["unpriced"], 3);
    assert_eq!(json["rows"][1]["rate"], Value::Null, "nothing converted");
    assert_eq!(json["totals"].as_array().unwrap().len(), 1, "{json}");
    assert_eq!(json["totals"][0]["amount"], "13.3");
    assert_eq!(json["totals"][0]["rate"], rate);
    assert_eq!(json["totals"][0]["unpriced"], 5);
    assert_eq!(json["converted"]["rates_on"], "2026-12-07");

    let csv = succeed(panoptic(
        &report_args(&env, &["--currency", "USD", "--format", "csv"]),
        &uri,
        &spool,
        Some(&rates),
    ));
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("service,currency,amount,rate,adjusted,unpriced"));
    assert!(
        lines[1].starts_with(&format!("Pricing,USD,13.3,{rate},0,3,")),
        "{csv}"
    );
    assert_eq!(
        lines.last().unwrap(),
        &format!("total,USD,13.3,{rate},0,5,,16,0,,")
    );

    let page = dir.join("converted.html");
    succeed(panoptic(
        &report_args(
            &env,
            &["--currency", "USD", "--html", page.to_str().unwrap()],
        ),
        &uri,
        &spool,
        Some(&rates),
    ));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("<strong>13.3 USD</strong>"), "{html}");
    assert!(
        html.contains(&format!(
            "<p class=\"rates\">Converted at {rate}: the rates in effect on 2026-12-07, \
             the range's last day.</p>"
        )),
        "{html}"
    );
    assert_eq!(html.matches("<svg id=\"cost-per-day-").count(), 1, "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_currency_without_a_rate_is_one_line_naming_the_pair_and_no_total() {
    let env = stored_events().await;
    let uri = common::mongodb_uri();
    let dir = common::temp_dir("currency-norate");
    let spool = dir.join("spool");

    let output = panoptic(
        &report_args(&env, &["--currency", "USD"]),
        &uri,
        &spool,
        None,
    );
    assert!(!output.status.success());
    assert_eq!(text(&output.stdout), "", "no partial report");
    let stderr = text(&output.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("exchange rate"))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].starts_with("panoptic: no exchange rate from EUR to USD"),
        "{stderr}"
    );

    // A rate file without that pair is named in the error.
    let gbp = dir.join("gbp.toml");
    std::fs::write(
        &gbp,
        "[[rate]]\nfrom = \"GBP\"\nto = \"USD\"\nrate = \"1.27\"\ndate = \"2026-12-01\"\n",
    )
    .unwrap();
    let output = panoptic(
        &report_args(
            &env,
            &["--currency", "USD", "--rates", gbp.to_str().unwrap()],
        ),
        &uri,
        &spool,
        None,
    );
    assert!(!output.status.success());
    assert_eq!(text(&output.stdout), "");
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("from EUR to USD") && stderr.contains(gbp.to_str().unwrap()),
        "{stderr}"
    );
}

/// `--forecast` projects each currency apart: both rows' spend fell on
/// complete days of the period, so each projection is its spend times the
/// same factor, and EUR's is 4 × USD's (10 / 2.5), never their sum's share.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forecasts_are_per_currency() {
    let env = stored_events().await;
    let uri = common::mongodb_uri();
    let dir = common::temp_dir("currency-forecast");
    let output = panoptic(
        &report_args(&env, &["--forecast", "--format", "json"]),
        &uri,
        &dir.join("spool"),
        None,
    );
    let stderr = text(&output.stderr);
    let json: Value = serde_json::from_str(&succeed(output)).unwrap();
    let figure = |value: &Value| -> f64 { value.as_str().unwrap().parse().unwrap() };
    let rows = &json["rows"];
    assert_eq!(
        (&rows[0]["currency"], &rows[1]["currency"]),
        (&"EUR".into(), &"USD".into())
    );
    let (eur, usd) = (figure(&rows[0]["forecast"]), figure(&rows[1]["forecast"]));
    assert!(usd > 2.5 && (eur / usd - 4.0).abs() < 1e-5, "{json}");
    assert_eq!(rows[2]["forecast"], Value::Null, "all unpriced: no figure");
    assert_eq!(figure(&json["totals"][0]["forecast"]), eur, "{json}");
    assert_eq!(figure(&json["totals"][1]["forecast"]), usd, "{json}");
    let said = stderr.lines().find(|l| l.contains("forecast for")).unwrap();
    assert!(
        said.contains(" EUR (so far: all 10 calls priced), ")
            && said.contains(" USD (so far: 5 calls unpriced, not counted);"),
        "{said}"
    );
}

/// Recorded through the library with no MongoDB: the spool gives the same
/// split by currency, in the library and in the command.
#[test]
fn the_spool_splits_by_currency_too() {
    let env = common::unique_env("currency-spool");
    let dir = common::temp_dir("currency-spool");
    let spool = dir.join("spool");
    let dead = format!("mongodb://127.0.0.1:{}/", common::free_port());
    let handle = Panoptic::builder()
        .username("spool user")
        .env(&env)
        .mongodb_uri(&dead)
        .spool_dir(&spool)
        .server_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let pricing = handle.logger(Provider::UserDefined, "PricingService");
    for _ in 0..10 {
        panoptic::invoice!(pricing, "quote"; "amount" => "1", "currency" => "EUR");
    }
    panoptic::invoice!(pricing, "quote"; "amount" => "2.50", "currency" => "USD");
    panoptic::invoice!(pricing, "quote"; "currency" => "USD");
    assert!(handle.flush());
    assert_eq!(handle.stats().spooled, 12);

    let rows = CostQuery::new()
        .env(&env)
        .group_by([GroupBy::Service])
        .run_on_spool(&handle.spool())
        .unwrap();
    let shown: Vec<_> = rows
        .iter()
        .map(|r| (r.currency.as_str(), r.amount.to_string(), r.unpriced))
        .collect();
    assert_eq!(
        shown,
        [("EUR", "10".to_owned(), 0), ("USD", "2.5".to_owned(), 1)]
    );
    drop(handle);

    let json: Value = serde_json::from_str(&succeed(panoptic(
        &["report", "--spool", "--env", &env, "--format", "json"],
        &dead,
        &spool,
        None,
    )))
    .unwrap();
    let currencies: Vec<(&Value, &Value)> = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (&r["currency"], &r["amount"]))
        .collect();
    assert_eq!(
        currencies,
        [
            (&Value::from("EUR"), &Value::from("10")),
            (&Value::from("USD"), &Value::from("2.5"))
        ]
    );
    assert_eq!(json["totals"][1]["unpriced"], 1);

    // Recorded today, whatever day that is: a rate dated long before.
    let rates = dir.join("rates.toml");
    std::fs::write(
        &rates,
        "[[rate]]\nfrom = \"EUR\"\nto = \"USD\"\nrate = \"1.08\"\ndate = \"2000-01-01\"\n",
    )
    .unwrap();
    let table = succeed(panoptic(
        &["report", "--spool", "--env", &env, "--currency", "USD"],
        &dead,
        &spool,
        Some(&rates),
    ));
    assert!(
        table.contains(
            "total  13.3 USD (converted at 1 EUR = 1.08 USD (2000-01-01))  \
             (1 call unpriced, not counted)"
        ),
        "{table}"
    );
}
