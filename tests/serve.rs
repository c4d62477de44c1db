//! `panoptic serve`: the real binary against the test database, its pages
//! in a real headless Chromium (WebDriver through Debian's chromedriver),
//! its API and its access rules over plain HTTP.
//!
//! Expected numbers come from a plain `find` over the test database, never
//! from `CostQuery`, so the dashboard's aggregation is checked, not echoed.

#[path = "serve/browser.rs"]
mod browser;
mod common;
#[path = "serve/currencies.rs"]
mod currencies;
#[path = "serve/http.rs"]
mod http;
#[path = "serve/server.rs"]
mod server;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bson::oid::ObjectId;
use bson::{Bson, Document, doc};
use chrono::Utc;
use futures_util::TryStreamExt;
use panoptic::{BillingEvent, Category, Decimal, Kind, Metadata, Outcome, Panoptic, Provider};

use browser::Browser;
use server::Serve;

/// A service name that is also a script, and a resource that is an image
/// with a handler: both must show as text.
const HOSTILE_SERVICE: &str = "<script>window.__pwned = 1</script>";
const HOSTILE_RESOURCE: &str = "<img src=x onerror=\"window.__pwned = 2\">";
/// Seconds between refreshes asked of the server.
const REFRESH: u64 = 1;

/// What the test database holds, summed by the test itself.
#[derive(Debug, Default)]
struct Expected {
    total: Decimal,
    calls: u64,
    unpriced: u64,
    by_service: BTreeMap<String, Decimal>,
    /// (resource, service) → (amount, calls).
    by_resource: BTreeMap<(String, String), (Decimal, u64)>,
    /// (UTC day, service) of priced events: the chart's bar segments.
    segments: BTreeSet<(String, String)>,
    /// Amount of the events tagged `nightly`.
    nightly: Decimal,
    /// (UTC day, service) → (estimate, adjustments): what the
    /// reconciliation page shows. Adjustments are not calls, nor in
    /// `total`.
    reconciled: BTreeMap<(String, String), (Decimal, Decimal)>,
}

/// Every event of `panoptic-{env}`, summed with a plain `find`.
async fn expected(env: &str) -> Expected {
    let database = common::client()
        .await
        .database(&panoptic::naming::database_name(env));
    let mut sums = Expected::default();
    for collection in database.list_collection_names().await.unwrap() {
        let documents: Vec<Document> = database
            .collection::<Document>(&collection)
            .find(doc! {})
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        for document in documents {
            let amount = match document.get("amount") {
                Some(Bson::Decimal128(d)) => Some(d.to_string().parse::<Decimal>().unwrap()),
                None => None,
                Some(other) => panic!("amount is {other:?}"),
            };
            let service = document.get_str("service").unwrap().to_owned();
            let day = document
                .get_datetime("ts")
                .unwrap()
                .to_chrono()
                .format("%Y-%m-%d")
                .to_string();
            let tagged = document
                .get_document("metadata")
                .ok()
                .and_then(|m| m.get_array("tags").ok())
                .is_some_and(|tags| tags.contains(&Bson::from("nightly")));
            let resource = document.get_str("resource").unwrap().to_owned();
            let cell = sums
                .reconciled
                .entry((day.clone(), service.clone()))
                .or_default();
            if document.get_str("kind").unwrap() == "adjustment" {
                cell.1 += amount.expect("an adjustment has an amount");
                continue;
            }
            cell.0 += amount.unwrap_or_default();
            sums.calls += 1;
            let entry = sums
                .by_resource
                .entry((resource, service.clone()))
                .or_default();
            entry.1 += 1;
            match amount {
                Some(amount) => {
                    sums.total += amount;
                    sums.segments.insert((day, service.clone()));
                    if tagged {
                        sums.nightly += amount;
                    }
                    *sums.by_service.entry(service).or_default() += amount;
                    entry.0 += amount;
                }
                None => {
                    sums.by_service.entry(service).or_default();
                    sums.unpriced += 1;
                }
            }
        }
    }
    sums
}

/// Events through the public API: two GCP services, a hostile
/// user-defined one, unpriced calls, failures, and 55 small ones so that
/// the drill-down has a second page.
fn seed(panoptic: &Panoptic) {
    let bq = panoptic.logger(Provider::Gcp, "BigQuery");
    let run = panoptic.logger(Provider::Gcp, "CloudRun");
    let hostile = panoptic.logger(Provider::UserDefined, HOSTILE_SERVICE);
    let functions = panoptic.logger(Provider::Gcp, "CloudFunctions");
    for i in 0..6 {
        panoptic::invoice!(bq, "daily_report"; "amount" => "1.25", "duration_ms" => 10.0 * f64::from(i + 1));
    }
    for i in 0..2 {
        panoptic::invoice!(bq, "adhoc_export"; "duration_ms" => f64::from(i));
    }
    for i in 0..4 {
        panoptic::invoice!(run, "render"; "amount" => "0.40", "duration_ms" => 5.0,
            "outcome" => if i == 0 { "error" } else { "ok" });
    }
    for _ in 0..2 {
        panoptic::invoice!(hostile, "hostile"; "resource" => HOSTILE_RESOURCE, "amount" => "0.5");
    }
    for _ in 0..55 {
        panoptic::invoice!(functions, "tick"; "amount" => "0.001", "duration_ms" => 1.0);
    }
    assert!(panoptic.flush(), "flush timed out");
}

/// The six days before today, as stored events (a handle stamps the time
/// of the call, so history is written as documents): a chart with a shape,
/// and the `nightly` tag on the BigQuery ones.
async fn seed_history(env: &str) {
    let mut by_collection: BTreeMap<String, Vec<Document>> = BTreeMap::new();
    for day in 1..=6_i64 {
        let mut add = |provider: &str, service: &str, resource: &str, cents: i64, tags: &[&str]| {
            let event = BillingEvent {
                env: panoptic::naming::canonical_env(env),
                username: "serve user".into(),
                metadata: Metadata {
                    duration_ms: Some(20.0 + day as f64),
                    tags: tags.iter().map(|t| (*t).to_owned()).collect(),
                    ..Metadata::default()
                },
                ..common::stored_invoice(
                    (provider, service, resource),
                    Decimal::new(cents, 2),
                    Utc::now() - chrono::Duration::days(day),
                )
            };
            by_collection
                .entry(panoptic::naming::collection_name(provider, "serve user"))
                .or_default()
                .push(event.to_document());
        };
        add(
            "gcp",
            "BigQuery",
            "daily_report",
            300 + 45 * day,
            &["nightly"],
        );
        add("gcp", "CloudRun", "render", 120 + 10 * (day % 3), &[]);
        if day % 2 == 0 {
            add("openai", "chat", "summarize", 210, &[]);
        }
    }
    // What `panoptic reconcile --apply` writes: the bill said more for
    // CloudRun two days ago, less for BigQuery three days ago.
    for (day, service, resource, cents) in [
        (2_i64, "CloudRun", "render", 37_i64),
        (3, "BigQuery", "daily_report", -80),
    ] {
        let event = BillingEvent {
            id: ObjectId::new(),
            ts: Utc::now() - chrono::Duration::days(day),
            project_id: None,
            env: panoptic::naming::canonical_env(env),
            username: "serve user".into(),
            category: Category::Infra,
            provider: "gcp".into(),
            service: service.into(),
            resource: resource.into(),
            kind: Kind::Adjustment,
            outcome: Outcome::Ok,
            quantity: 1.0,
            unit: "adjustment".into(),
            amount: Some(Decimal::new(cents, 2)),
            currency: "USD".into(),
            metadata: Metadata::default(),
        };
        by_collection
            .entry(panoptic::naming::collection_name("gcp", "serve user"))
            .or_default()
            .push(event.to_document());
    }
    let database = common::client()
        .await
        .database(&panoptic::naming::database_name(env));
    for (collection, documents) in by_collection {
        database
            .collection::<Document>(&collection)
            .insert_many(documents)
            .await
            .unwrap();
    }
}

fn handle(env: &str) -> Panoptic {
    Panoptic::builder()
        .username("serve user")
        .env(env)
        .mongodb_uri(common::mongodb_uri())
        .spool_dir(common::temp_dir("serve-spool"))
        .build()
        .unwrap()
}

fn amount_of(value: &serde_json::Value) -> Decimal {
    value
        .as_str()
        .unwrap_or_else(|| panic!("an amount string: {value}"))
        .parse()
        .unwrap()
}

/// The overview's total in `currency` and the unpriced calls beside it.
fn total_in(overview: &serde_json::Value, currency: &str) -> (Decimal, u64) {
    let totals = overview["totals"].as_array().expect("totals");
    let total = totals
        .iter()
        .find(|t| t["currency"] == currency)
        .unwrap_or_else(|| panic!("no {currency} total in {totals:?}"));
    (
        amount_of(&total["amount"]),
        total["unpriced"].as_u64().expect("unpriced"),
    )
}

async fn page_amount(browser: &Browser, id: &str) -> Decimal {
    let value = browser
        .eval(&format!(
            "return document.getElementById('{id}').dataset.amount"
        ))
        .await;
    amount_of(&value)
}

async fn assert_no_console_errors(browser: &Browser, page: &str) {
    let errors = browser.console_errors();
    assert!(errors.is_empty(), "console errors on {page}: {errors:#?}");
}

async fn assert_fits_1366(browser: &Browser, page: &str) {
    let fits = browser
        .eval("return document.documentElement.scrollWidth <= window.innerWidth")
        .await;
    assert_eq!(fits, true, "{page} scrolls horizontally at 1366×768");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_in_a_real_browser() {
    let env = common::unique_env("serve");
    let panoptic = handle(&env);
    seed(&panoptic);
    seed_history(&env).await;
    let want = expected(&env).await;
    assert_eq!(want.calls, 69 + 15);
    assert_eq!(want.unpriced, 2);
    let budget = seed_budget(&env).await;

    let spool = common::temp_dir("serve-cli-spool");
    let serve = Serve::start(
        &["--bind", "127.0.0.1:0", "--refresh", &REFRESH.to_string()],
        &common::mongodb_uri(),
        &spool,
    );
    let meta = http::get(&serve.addr, "/api/meta", &[]).json();
    assert_eq!(meta["refresh_seconds"], REFRESH, "the stated interval");
    assert_eq!(meta["source"]["kind"], "mongodb");

    let browser = Browser::start().await;
    let filtered = format!("env={env}");

    // Overview: totals equal the test's own sums, no console error.
    browser
        .open(&serve.url(&format!("/overview?{filtered}")))
        .await;
    assert_eq!(page_amount(&browser, "total-USD").await, want.total);
    let text = |id: &str| format!("return document.getElementById('{id}').textContent");
    assert_eq!(
        browser.eval(&text("calls")).await,
        want.calls.to_string(),
        "calls"
    );
    assert_eq!(browser.eval(&text("unpriced")).await, "2", "unpriced calls");
    assert!(
        browser
            .eval(&text("forecast-note"))
            .await
            .as_str()
            .unwrap()
            .contains("daily average"),
        "the forecast states its method"
    );
    let shown: Vec<String> = browser.texts("#groups tbody tr td:first-child").await;
    let services: Vec<String> = want.by_service.keys().cloned().collect();
    let mut sorted_shown = shown.clone();
    sorted_shown.sort();
    assert_eq!(sorted_shown, services, "one row per service");
    for (service, amount) in &want.by_service {
        let script = format!(
            "return [...document.querySelectorAll('#groups tbody tr')]
                .find(r => r.dataset.name === {name}).children[1].dataset.amount",
            name = serde_json::to_string(service).unwrap()
        );
        assert_eq!(
            amount_of(&browser.eval(&script).await),
            *amount,
            "{service}"
        );
    }
    let bars = browser
        .eval("return document.querySelectorAll('svg.chart rect.bar').length")
        .await;
    assert_eq!(
        bars,
        want.segments.len(),
        "one bar segment per day and priced service"
    );
    assert_eq!(
        browser
            .eval("return document.querySelectorAll('svg.chart line.forecast').length")
            .await,
        1
    );
    assert!(
        browser
            .eval(&text("total-USD"))
            .await
            .as_str()
            .unwrap()
            .starts_with('$'),
        "amounts carry the currency"
    );

    // The hostile name is text in the DOM, and no script of its ran.
    let hostile_cell = format!(
        "return [...document.querySelectorAll('#groups tbody tr')]
            .some(r => r.dataset.name === {name} && r.children[0].textContent === {name})",
        name = serde_json::to_string(HOSTILE_SERVICE).unwrap()
    );
    assert_eq!(browser.eval(&hostile_cell).await, true);
    assert_eq!(
        browser
            .eval("return [window.__pwned === undefined, document.scripts.length, document.images.length]")
            .await,
        serde_json::json!([true, 1, 0]),
        "no injected script or image"
    );
    assert_fits_1366(&browser, "overview").await;
    assert_no_console_errors(&browser, "overview").await;
    // Tall enough for the whole page (docs/dashboard.png is this one).
    browser.client.set_window_size(1366, 1150).await.unwrap();
    browser.screenshot("overview").await;
    browser.client.set_window_size(1366, 768).await.unwrap();

    // A filter changes the URL and the numbers.
    let select = browser
        .client
        .find(fantoccini::Locator::Css("select[name=service]"))
        .await
        .unwrap();
    select.select_by_value("BigQuery").await.unwrap();
    browser
        .until(
            Duration::from_secs(10),
            "return location.search.includes('service=BigQuery')",
        )
        .await;
    browser
        .until(
            Duration::from_secs(10),
            &format!(
                "return document.getElementById('total-USD').dataset.amount === '{}'",
                want.by_service["BigQuery"].normalize()
            ),
        )
        .await;
    assert_ne!(want.by_service["BigQuery"], want.total);

    // Live: an event written while the page is open shows within the
    // stated interval (plus one query and one render).
    let bq = panoptic.logger(Provider::Gcp, "BigQuery");
    panoptic::invoice!(bq, "daily_report"; "amount" => "2.5");
    assert!(panoptic.flush());
    let live_total = want.by_service["BigQuery"] + Decimal::new(25, 1);
    let took = browser
        .until(
            // One interval, plus a query and a render.
            Duration::from_secs(REFRESH) + Duration::from_millis(2500),
            &format!(
                "return document.getElementById('total-USD').dataset.amount === '{}'",
                live_total.normalize()
            ),
        )
        .await;
    println!("new event shown after {took:?} (refresh every {REFRESH} s)");
    assert!(
        browser
            .eval(&text("updated"))
            .await
            .as_str()
            .unwrap()
            .contains(&format!("refreshes every {REFRESH} s")),
        "the page says when it updated and how often"
    );
    assert_no_console_errors(&browser, "overview after filtering").await;
    let want = expected(&env).await;

    // Resources: every function, sortable by any column.
    browser
        .open(&serve.url(&format!("/resources?{filtered}")))
        .await;
    let rows = browser.texts("#resources tbody tr").await;
    assert_eq!(rows.len(), want.by_resource.len(), "{rows:#?}");
    let calls_column = "return [...document.querySelectorAll('#resources tbody tr')].map(r => Number(r.children[5].textContent.replace(/,/g, '')))";
    for (dir, label) in [("desc", "descending"), ("asc", "ascending")] {
        browser
            .click(fantoccini::Locator::Css("button[data-sort=calls]"))
            .await;
        browser
            .until(
                Duration::from_secs(5),
                &format!("return location.search.includes('sort=calls&dir={dir}')"),
            )
            .await;
        let calls: Vec<u64> = serde_json::from_value(browser.eval(calls_column).await).unwrap();
        let mut sorted = calls.clone();
        sorted.sort_unstable();
        if dir == "desc" {
            sorted.reverse();
        }
        assert_eq!(calls, sorted, "calls {label}");
        assert_eq!(calls.len(), want.by_resource.len());
    }
    assert_eq!(
        browser
            .eval("return [window.__pwned === undefined, document.images.length]")
            .await,
        serde_json::json!([true, 0]),
        "the hostile resource is text"
    );
    assert!(
        browser
            .texts("#resources tbody td:first-child")
            .await
            .contains(&HOSTILE_RESOURCE.to_owned())
    );
    assert_fits_1366(&browser, "resources").await;
    assert_no_console_errors(&browser, "resources").await;
    browser.screenshot("resources").await;

    // Drill down from a row to its events, paged.
    browser.click(fantoccini::Locator::LinkText("tick")).await;
    browser
        .until(
            Duration::from_secs(10),
            "return location.pathname === '/events' && document.body.dataset.state === 'ready' && !!document.getElementById('events')",
        )
        .await;
    assert_eq!(browser.texts("#events tbody tr").await.len(), 50);
    assert!(
        browser
            .eval("return location.search.includes('resource=tick')")
            .await
            == true
    );
    browser.click(fantoccini::Locator::Id("next")).await;
    browser
        .until(
            Duration::from_secs(10),
            "return location.search.includes('page=2') && document.body.dataset.state === 'ready' && document.querySelectorAll('#events tbody tr').length === 5",
        )
        .await;
    assert_fits_1366(&browser, "events").await;
    assert_no_console_errors(&browser, "events").await;
    browser.screenshot("events").await;

    // Users, budgets, reconciliation.
    browser
        .open(&serve.url(&format!("/users?{filtered}")))
        .await;
    assert_eq!(
        browser.texts("#users tbody td:first-child").await,
        vec!["serve user".to_owned()]
    );
    assert_eq!(
        amount_of(
            &browser
                .eval(
                    "return document.querySelector('#users tbody td[data-amount]').dataset.amount"
                )
                .await
        ),
        want.total
    );
    assert_fits_1366(&browser, "users").await;
    browser.screenshot("users").await;
    assert_no_console_errors(&browser, "users").await;

    // Budgets: the seeded one, its spent and limit as the period
    // document holds them.
    browser.open(&serve.url("/budgets")).await;
    assert_eq!(
        browser
            .eval("return getComputedStyle(document.getElementById('filters')).display")
            .await,
        "none",
        "budgets are not filtered: no filter bar"
    );
    let row = format!(
        "[...document.querySelectorAll('#budgets tbody tr')].find(r => r.dataset.name === {name})",
        name = serde_json::to_string(&budget.name).unwrap()
    );
    let cells: Vec<String> = serde_json::from_value(
        browser
            .eval(&format!(
                "return [...{row}.children].map(c => c.dataset.amount || c.textContent)"
            ))
            .await,
    )
    .unwrap();
    assert_eq!(cells[0], budget.name);
    assert_eq!(cells[1], "warn", "mode");
    assert_eq!(cells[2], format!("month {}", budget.period), "period");
    assert_eq!(cells[3], "UTC", "time zone");
    assert_eq!(cells[4].parse::<Decimal>().unwrap(), budget.spent, "spent");
    // This test's two unpriced calls fall in the scope (everything) and
    // this month; other tests' may too.
    assert!(cells[5].parse::<u64>().unwrap() >= 2, "unpriced: {cells:?}");
    assert_eq!(
        cells[6].parse::<Decimal>().unwrap(),
        budget.reserved,
        "reserved"
    );
    assert_eq!(cells[7].parse::<Decimal>().unwrap(), budget.limit, "limit");
    assert_eq!(cells[10], "everything", "scope");
    let texts: Vec<String> = serde_json::from_value(
        browser
            .eval(&format!(
                "return [...{row}.children].map(c => c.textContent)"
            ))
            .await,
    )
    .unwrap();
    assert_eq!(texts[7], "$10.00", "the limit with its currency");
    assert_eq!(texts[4], "$0.75");
    assert_fits_1366(&browser, "budgets").await;
    assert_no_console_errors(&browser, "budgets").await;
    browser.screenshot("budgets").await;

    // Reconciliation: per day and service, the estimate, the adjustment
    // and their sum, as a plain find sums them.
    browser
        .open(&serve.url(&format!("/reconciliation?{filtered}")))
        .await;
    let shown: Vec<(String, String, String, String, String)> = serde_json::from_value(
        browser
            .eval(
                "return [...document.querySelectorAll('#reconciliation tbody tr')].map(r =>
                    [r.dataset.day, r.dataset.service, r.children[2].dataset.amount,
                     r.children[4].dataset.amount, r.children[5].dataset.amount])",
            )
            .await,
    )
    .unwrap();
    let shown: BTreeMap<(String, String), (Decimal, Decimal, Option<Decimal>)> = shown
        .into_iter()
        .map(|(day, service, estimate, adjusted, billed)| {
            (
                (day, service),
                (
                    estimate.parse().unwrap(),
                    adjusted.parse().unwrap(),
                    billed.parse().ok(),
                ),
            )
        })
        .collect();
    let computed: BTreeMap<_, _> = want
        .reconciled
        .iter()
        .map(|(key, (estimate, adjusted))| {
            let billed = (!adjusted.is_zero()).then(|| estimate + adjusted);
            (key.clone(), (*estimate, *adjusted, billed))
        })
        .collect();
    assert_eq!(
        shown, computed,
        "estimate, adjusted and billed per day and service"
    );
    assert_eq!(
        computed
            .values()
            .filter(|(_, _, billed)| billed.is_some())
            .count(),
        2,
        "two reconciled cells"
    );
    let adjusted: Decimal = want.reconciled.values().map(|(_, a)| *a).sum();
    assert_eq!(adjusted, Decimal::new(37 - 80, 2));
    assert_eq!(page_amount(&browser, "estimate-USD").await, want.total);
    assert_eq!(page_amount(&browser, "adjusted-USD").await, adjusted);
    assert_eq!(
        page_amount(&browser, "billed-USD").await,
        want.total + adjusted
    );
    let days: Vec<String> = browser.texts("#reconciliation tbody td:first-child").await;
    assert!(days.is_sorted(), "by day: {days:?}");
    assert!(
        browser.texts("#empty").await.is_empty(),
        "reconciled: no hint"
    );
    assert_fits_1366(&browser, "reconciliation").await;
    assert_no_console_errors(&browser, "reconciliation").await;
    browser.screenshot("reconciliation").await;
    // A period with no adjustment says how to get one.
    browser
        .open(&serve.url(&format!(
            "/reconciliation?{filtered}&service=CloudFunctions"
        )))
        .await;
    let hint = browser.texts("#empty").await.join(" ");
    assert!(hint.contains("panoptic reconcile --provider"), "{hint}");
    assert!(hint.contains("--apply"), "{hint}");

    // An empty view says what to do.
    browser
        .open(&serve.url(&format!("/overview?{filtered}&provider=aws")))
        .await;
    assert!(
        browser.texts("#empty").await[0].contains("Widen the period"),
        "empty state"
    );
    assert_no_console_errors(&browser, "empty overview").await;
    browser.close().await;

    // The CSV of the resources view matches the database.
    let csv = http::get(&serve.addr, &format!("/api/resources.csv?{filtered}"), &[]);
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    let mut lines = csv.body.lines();
    assert_eq!(
        lines.next().unwrap(),
        "resource,service,provider,amount,currency,calls,errors,unpriced,p50_ms,p95_ms"
    );
    let mut from_csv = BTreeMap::new();
    for line in lines {
        let cells = split_csv(line);
        from_csv.insert(
            (cells[0].clone(), cells[1].clone()),
            (
                cells[3].parse::<Decimal>().unwrap(),
                cells[5].parse::<u64>().unwrap(),
            ),
        );
    }
    let normalized: BTreeMap<_, _> = want
        .by_resource
        .iter()
        .map(|(k, (amount, calls))| (k.clone(), (amount.normalize(), *calls)))
        .collect();
    assert_eq!(from_csv, normalized, "CSV rows equal the database's sums");

    // The tag filter, through the same API the page reads.
    let tagged = http::get(
        &serve.addr,
        &format!("/api/overview?{filtered}&tag=nightly"),
        &[],
    )
    .json();
    assert_eq!(total_in(&tagged, "USD").0, want.nightly);
    assert!(want.nightly > Decimal::ZERO && want.nightly < want.total);

    // The budgets CSV holds the same numbers.
    let csv = http::get(&serve.addr, "/api/budgets.csv", &[]);
    assert_eq!(csv.status, 200);
    let line = csv
        .body
        .lines()
        .map(split_csv)
        .find(|cells| cells[0] == budget.name)
        .unwrap_or_else(|| panic!("{}", csv.body));
    assert_eq!(line[5].parse::<Decimal>().unwrap(), budget.spent);
    assert_eq!(line[7].parse::<Decimal>().unwrap(), budget.limit);
    assert_eq!(line[8], "USD");
    assert!(line[9].parse::<u64>().unwrap() >= 2, "unpriced: {line:?}");
    panoptic::budget::BudgetStore::new(&common::client().await)
        .remove(&budget.name)
        .await
        .unwrap();
    drop(panoptic);
}

/// A seeded budget, as the test reads it back with a plain find.
struct SeededBudget {
    name: String,
    period: String,
    spent: Decimal,
    reserved: Decimal,
    limit: Decimal,
}

/// A month budget of 10 USD with 0.25 + 0.50 spent and 0.50 held by a
/// call in flight, through the library; then the period document, read
/// with a plain find.
async fn seed_budget(env: &str) -> SeededBudget {
    use panoptic::budget::{Budget, BudgetStore, Period, PeriodKey};
    let client = common::client().await;
    let store = BudgetStore::new(&client);
    let budget = Budget::new(format!("{env}-ops"), Period::Month, 10.into());
    store.set(&budget).await.unwrap();
    let now = Utc::now();
    for cents in [25, 50] {
        store
            .settle(&budget, None, Decimal::new(cents, 2), now)
            .await
            .unwrap();
    }
    store
        .reserve(&budget, &format!("{env}-call"), Decimal::new(50, 2), now)
        .await
        .unwrap()
        .unwrap();
    let key = PeriodKey::of(Period::Month, budget.zone().unwrap(), now);
    let period = client
        .database(panoptic::budget::BUDGET_DATABASE)
        .collection::<Document>("periods")
        .find_one(doc! { "_id": format!("{}|{}", budget.name, key.name) })
        .await
        .unwrap()
        .unwrap();
    let decimal = |key: &str| match period.get(key) {
        Some(Bson::Decimal128(d)) => d.to_string().parse::<Decimal>().unwrap(),
        other => panic!("{key} is {other:?}"),
    };
    let seeded = SeededBudget {
        name: budget.name.clone(),
        period: key.name,
        spent: decimal("spent"),
        reserved: decimal("reserved"),
        limit: decimal("limit"),
    };
    assert_eq!(seeded.spent, Decimal::new(75, 2));
    assert_eq!(seeded.reserved, Decimal::new(50, 2));
    assert_eq!(seeded.limit, Decimal::from(10));
    seeded
}

/// One CSV line (RFC 4180 quoting).
fn split_csv(line: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cells.last_mut().unwrap().push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => cells.push(String::new()),
            (c, _) => cells.last_mut().unwrap().push(c),
        }
    }
    cells
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_guards_every_request_off_loopback() {
    let env = common::unique_env("serve_token");
    let panoptic = handle(&env);
    let bq = panoptic.logger(Provider::Gcp, "BigQuery");
    panoptic::invoice!(bq, "daily_report"; "amount" => "3.5");
    assert!(panoptic.flush());
    let spool = common::temp_dir("serve-token-spool");
    let uri = common::mongodb_uri();

    // Not loopback and no token: refuses to start.
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_panoptic"))
        .args(["serve", "--bind", "0.0.0.0:0"])
        .env("MONGODB_URI", &uri)
        .env("PANOPTIC_SPOOL_DIR", &spool)
        .env_remove("PANOPTIC_SERVE_TOKEN")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("--token"), "{stderr}");

    let token = "s3cret-token-for-the-test";
    let token_file = common::temp_dir("serve-token").join("token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let serve = Serve::start(
        &[
            "--bind",
            "0.0.0.0:0",
            "--token-file",
            token_file.to_str().unwrap(),
        ],
        &uri,
        &spool,
    );
    let path = format!("/api/overview?env={env}");
    for (what, headers) in [
        ("no token", vec![]),
        (
            "a wrong token",
            vec![("Authorization", "Bearer s3cret-token-for-the-tesT")],
        ),
        ("a prefix of it", vec![("Authorization", "Bearer s3cret")]),
    ] {
        let response = http::get(&serve.addr, &path, &headers);
        assert_eq!(response.status, 401, "{what}: {}", response.body);
        assert!(response.header("www-authenticate").is_some());
    }
    for page in [
        "/",
        "/overview",
        "/assets/app.js",
        "/api/events",
        "/api/resources.csv",
    ] {
        assert_eq!(http::get(&serve.addr, page, &[]).status, 401, "{page}");
    }
    let bearer = format!("Bearer {token}");
    let ok = http::get(&serve.addr, &path, &[("Authorization", &bearer)]);
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(total_in(&ok.json(), "USD"), (Decimal::new(35, 1), 0));
    let by_query = http::get(&serve.addr, &format!("{path}&token={token}"), &[]);
    assert_eq!(by_query.status, 200);
    // The page keeps the token for its own files.
    let page = http::get(&serve.addr, &format!("/overview?token={token}"), &[]);
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains(&format!("src=\"/assets/app.js?token={token}\""))
    );
    // Strict headers on every answer, refusals included.
    for response in [&ok, &page, &http::get(&serve.addr, &path, &[])] {
        let csp = response.header("content-security-policy").unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
    }
    // Read-only: nothing but GET is answered.
    let post = http::request(
        "POST",
        &serve.addr,
        &path,
        &[("Authorization", &bearer)],
        "{}",
    );
    assert_eq!(post.status, 405);
    drop(serve);

    // Loopback without a token: served to local names only (no DNS
    // rebinding), and bad filters are refused, not run.
    let local = Serve::start(&["--bind", "127.0.0.1:0"], &uri, &spool);
    assert_eq!(http::get(&local.addr, &path, &[]).status, 200);
    let rebound = http::get(&local.addr, &path, &[("Host", "evil.example:8080")]);
    assert_eq!(rebound.status, 403);
    let bad = http::get(&local.addr, "/api/overview?since=soon", &[]);
    assert_eq!(bad.status, 400);
    assert!(bad.json()["error"].as_str().unwrap().contains("soon"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_the_spool_when_mongodb_does_not_answer() {
    let env = common::unique_env("serve_spool");
    let spool = common::temp_dir("serve-spooled");
    let dead = format!("mongodb://127.0.0.1:{}/", common::free_port());
    let panoptic = Panoptic::builder()
        .username("spool user")
        .env(&env)
        .mongodb_uri(&dead)
        .spool_dir(&spool)
        .server_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let bq = panoptic.logger(Provider::Gcp, "BigQuery");
    for _ in 0..4 {
        panoptic::invoice!(bq, "daily_report"; "amount" => "0.75");
    }
    assert!(panoptic.flush());
    let serve = Serve::start(&["--bind", "127.0.0.1:0", "--timeout", "1"], &dead, &spool);
    let overview = http::get(&serve.addr, &format!("/api/overview?env={env}"), &[]).json();
    assert_eq!(overview["source"]["kind"], "spool");
    let reason = overview["source"]["reason"].as_str().unwrap();
    assert!(reason.contains("did not answer"), "{reason}");
    // One line, not the driver's dump of the topology.
    assert!(
        !reason.contains("Topology") && !reason.contains('\n'),
        "{reason}"
    );
    assert_eq!(total_in(&overview, "USD"), (Decimal::from(3), 0));
    assert_eq!(overview["calls"], 4);
    // The newest events, read from the spool one at a time, newest first.
    let page = http::get(&serve.addr, &format!("/api/events?env={env}"), &[]).json();
    let times: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["ts"].as_str().unwrap())
        .collect();
    assert_eq!((times.len(), &page["more"]), (4, &serde_json::json!(false)));
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    // Budgets live in MongoDB: the page says so instead of an empty list.
    let budgets = http::get(&serve.addr, "/api/budgets", &[]).json();
    assert_eq!(budgets["available"], false);
    assert!(
        budgets["text"].as_str().unwrap().contains("MongoDB"),
        "{budgets}"
    );
}
