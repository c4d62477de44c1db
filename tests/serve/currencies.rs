//! Issue 27 on the dashboard: every amount in its own currency (USD and
//! EUR are never one sum), and every total says how many unpriced calls it
//! leaves out. Expected figures are written out by hand.

use std::collections::BTreeSet;

use bson::{Document, doc};
use chrono::{DateTime, Utc};
use panoptic::{BillingEvent, Decimal, Metadata};

use super::browser::Browser;
use super::server::Serve;
use super::{common, http, split_csv, total_in};

/// What USD + EUR would add up to: no answer may show it.
const SUMMED: &str = "6.48";

fn day(days_ago: i64) -> DateTime<Utc> {
    Utc::now() - chrono::Duration::days(days_ago)
}

fn utc_day(days_ago: i64) -> String {
    day(days_ago).format("%Y-%m-%d").to_string()
}

/// One stored call of openai `service`/`resource`, `days_ago`, in
/// `currency`; `cents: None` is an unpriced call.
fn event(
    env: &str,
    (service, resource): (&str, &str),
    cents: Option<i64>,
    currency: &str,
    days_ago: i64,
) -> Document {
    let mut event = BillingEvent {
        env: panoptic::naming::canonical_env(env),
        username: "currency user".into(),
        currency: currency.into(),
        ..common::stored_invoice(
            ("openai", service, resource),
            Decimal::new(cents.unwrap_or_default(), 2),
            day(days_ago),
        )
    };
    if cents.is_none() {
        event.amount = None;
        event.metadata = Metadata {
            extra: doc! { "unpriced": "no price for openai/vision describe" },
            ..Metadata::default()
        };
    }
    event.to_document()
}

/// USD: 1.25 × 2 and 0.37 (2.87), one unpriced call. EUR: 3.10 and 0.51
/// (3.61), and three days ago three unpriced calls alone.
async fn seed(env: &str) {
    let mut documents = vec![
        event(env, ("chat", "summarize"), Some(125), "USD", 2),
        event(env, ("chat", "summarize"), Some(125), "USD", 2),
        event(env, ("chat", "summarize"), None, "USD", 2),
        event(env, ("chat", "summarize"), Some(37), "USD", 1),
        event(env, ("chat", "summarize"), Some(310), "EUR", 2),
        event(env, ("chat", "embed"), Some(51), "EUR", 1),
    ];
    for _ in 0..3 {
        documents.push(event(env, ("vision", "describe"), None, "EUR", 3));
    }
    common::client()
        .await
        .database(&panoptic::naming::database_name(env))
        .collection::<Document>(&panoptic::naming::collection_name(
            "openai",
            "currency user",
        ))
        .insert_many(documents)
        .await
        .unwrap();
}

fn start_serve() -> Serve {
    Serve::start(
        &["--bind", "127.0.0.1:0"],
        &common::mongodb_uri(),
        &common::temp_dir("serve-currency-spool"),
    )
}

fn lines(csv: &http::Response, header: &str) -> BTreeSet<Vec<String>> {
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert!(
        !csv.body.contains(SUMMED),
        "a sum of two currencies: {}",
        csv.body
    );
    let mut lines = csv.body.lines();
    assert_eq!(lines.next().unwrap(), header);
    lines.map(split_csv).collect()
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| (*c).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_amount_keeps_its_currency_and_states_its_unpriced_calls() {
    let env = common::unique_env("serve_currency");
    seed(&env).await;
    let serve = start_serve();
    let get = |path: &str| http::get(&serve.addr, &format!("{path}?env={env}"), &[]);

    let overview = get("/api/overview");
    assert!(!overview.body.contains(SUMMED), "{}", overview.body);
    let overview = overview.json();
    let currencies: Vec<&str> = overview["totals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["currency"].as_str().unwrap())
        .collect();
    assert_eq!(currencies, ["EUR", "USD"], "one total per currency");
    assert_eq!(total_in(&overview, "USD"), (Decimal::new(287, 2), 1));
    assert_eq!(total_in(&overview, "EUR"), (Decimal::new(361, 2), 3));
    assert!(
        overview.get("total").is_none(),
        "no total across currencies"
    );
    assert_eq!(overview["calls"], 9);
    assert_eq!(overview["unpriced"], 4);
    let cells: BTreeSet<(String, String, String, Decimal, u64, u64)> = overview["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["day"].as_str().unwrap().to_owned(),
                c["group"].as_str().unwrap().to_owned(),
                c["currency"].as_str().unwrap().to_owned(),
                c["amount"].as_str().unwrap().parse().unwrap(),
                c["calls"].as_u64().unwrap(),
                c["unpriced"].as_u64().unwrap(),
            )
        })
        .collect();
    let cell = |days_ago, group: &str, currency: &str, cents, calls, unpriced| {
        (
            utc_day(days_ago),
            group.to_owned(),
            currency.to_owned(),
            Decimal::new(cents, 2),
            calls,
            unpriced,
        )
    };
    assert_eq!(
        cells,
        BTreeSet::from([
            cell(3, "vision", "EUR", 0, 3, 3),
            cell(2, "chat", "USD", 250, 3, 1),
            cell(2, "chat", "EUR", 310, 1, 0),
            cell(1, "chat", "USD", 37, 1, 0),
            cell(1, "chat", "EUR", 51, 1, 0),
        ]),
        "the chart's cells, each in its currency with its unpriced calls"
    );

    let daily = lines(
        &get("/api/overview.csv"),
        "day,service,amount,currency,unpriced,calls",
    );
    assert_eq!(
        daily,
        BTreeSet::from([
            row(&[&utc_day(3), "vision", "0", "EUR", "3", "3"]),
            row(&[&utc_day(2), "chat", "2.5", "USD", "1", "3"]),
            row(&[&utc_day(2), "chat", "3.1", "EUR", "0", "1"]),
            row(&[&utc_day(1), "chat", "0.37", "USD", "0", "1"]),
            row(&[&utc_day(1), "chat", "0.51", "EUR", "0", "1"]),
        ])
    );

    let resources: BTreeSet<Vec<String>> = lines(
        &get("/api/resources.csv"),
        "resource,service,provider,amount,currency,calls,errors,unpriced,p50_ms,p95_ms",
    )
    .into_iter()
    .map(|cells| cells[..8].to_vec())
    .collect();
    assert_eq!(
        resources,
        BTreeSet::from([
            row(&["summarize", "chat", "openai", "2.87", "USD", "4", "0", "1"]),
            row(&["summarize", "chat", "openai", "3.1", "EUR", "1", "0", "0"]),
            row(&["embed", "chat", "openai", "0.51", "EUR", "1", "0", "0"]),
            row(&["describe", "vision", "openai", "0", "EUR", "3", "0", "3"]),
        ])
    );
    let resources = get("/api/resources").json();
    let eur_rows = resources["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["currency"] == "EUR")
        .count();
    assert_eq!(eur_rows, 3, "{resources}");

    let users = lines(
        &get("/api/users.csv"),
        "user,amount,currency,calls,errors,unpriced",
    );
    assert_eq!(
        users,
        BTreeSet::from([
            row(&["currency user", "2.87", "USD", "4", "0", "1"]),
            row(&["currency user", "3.61", "EUR", "5", "0", "3"]),
        ])
    );
    let users = get("/api/users");
    assert!(!users.body.contains(SUMMED), "{}", users.body);

    let reconciliation = get("/api/reconciliation");
    assert!(
        !reconciliation.body.contains(SUMMED),
        "{}",
        reconciliation.body
    );
    let totals = reconciliation.json()["totals"].clone();
    let estimates: Vec<(&str, &str, u64)> = totals
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["currency"].as_str().unwrap(),
                t["estimate"].as_str().unwrap(),
                t["unpriced"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(estimates, [("EUR", "3.61", 3), ("USD", "2.87", 1)]);
}

/// The budgets page and CSV count the unpriced calls in a budget's scope
/// and period, which its spend leaves out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budgets_state_the_unpriced_calls_they_leave_out() {
    use panoptic::budget::{Budget, BudgetStore, Period, PeriodKey};
    let env = common::unique_env("serve_currency_budget");
    seed(&env).await;
    let mut budget = Budget::new(format!("{env}-eur"), Period::Month, 10.into());
    budget.scope.env = Some(panoptic::naming::canonical_env(&env));
    budget.currency = "EUR".into();
    let store = BudgetStore::new(&common::client().await);
    store.set(&budget).await.unwrap();
    // The seeded unpriced calls (1 two days ago, 3 three days ago) that
    // fall in this month.
    let start = PeriodKey::of(Period::Month, budget.zone().unwrap(), Utc::now()).start;
    let expected = u64::from(day(2) >= start) + 3 * u64::from(day(3) >= start);
    let serve = start_serve();
    let budgets = http::get(&serve.addr, "/api/budgets", &[]).json();
    let row = budgets["budgets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == budget.name.as_str())
        .unwrap_or_else(|| panic!("{budgets}"))
        .clone();
    assert_eq!(row["unpriced"], expected, "{row}");
    assert_eq!(row["currency"], "EUR");
    let csv = http::get(&serve.addr, "/api/budgets.csv", &[]);
    let mut lines = csv.body.lines();
    assert_eq!(
        lines.next().unwrap(),
        "name,mode,period,period_name,time_zone,spent,reserved,limit,currency,unpriced,forecast,runs_out,scope"
    );
    let line = lines
        .map(split_csv)
        .find(|cells| cells[0] == budget.name)
        .unwrap_or_else(|| panic!("{}", csv.body));
    assert_eq!(
        (line[8].as_str(), line[9].parse::<u64>().unwrap()),
        ("EUR", expected)
    );
    store.remove(&budget.name).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overview_page_shows_each_currency_and_the_unpriced_calls() {
    let env = common::unique_env("serve_currency_page");
    seed(&env).await;
    let serve = start_serve();
    let browser = Browser::start().await;
    browser
        .open(&serve.url(&format!("/overview?env={env}")))
        .await;
    let text = |id: &str| format!("return document.getElementById('{id}').textContent");
    assert_eq!(browser.eval(&text("total-EUR")).await, "3.61 EUR");
    assert_eq!(
        browser.eval(&text("total-EUR-unpriced")).await,
        "3 unpriced calls not counted"
    );
    assert_eq!(browser.eval(&text("total-USD")).await, "$2.87");
    assert_eq!(
        browser.eval(&text("total-USD-unpriced")).await,
        "1 unpriced call not counted"
    );
    // Nothing in EUR is shown as dollars, and no chart stacks both.
    let dollars_in_eur = browser
        .eval(
            "return [...document.querySelectorAll('[data-currency=EUR]')]
                .filter(e => e.textContent.includes('$')).length",
        )
        .await;
    assert_eq!(dollars_in_eur, 0);
    let charts: Vec<String> = serde_json::from_value(
        browser
            .eval("return [...document.querySelectorAll('svg.chart')].map(c => c.dataset.currency)")
            .await,
    )
    .unwrap();
    assert_eq!(charts, ["EUR", "USD"]);
    // The day of unpriced calls alone says so, not a bare zero.
    let mark = browser
        .eval(&format!(
            "return document.querySelector('#chart-EUR text.unpriced[data-day=\"{}\"]').firstChild.textContent",
            utc_day(3)
        ))
        .await;
    assert_eq!(mark, "+3 unpriced");
    let vision = browser
        .eval(
            "return [...document.querySelectorAll('#groups tbody tr')]
                .find(r => r.dataset.name === 'vision').children[1].textContent",
        )
        .await;
    assert_eq!(vision, "unpriced");
    let errors = browser.console_errors();
    assert!(errors.is_empty(), "{errors:#?}");
    browser.client.set_window_size(1366, 1300).await.unwrap();
    browser.screenshot("overview-currencies").await;
    browser.close().await;
}
