//! A budget counts its own currency, and another only through a rate the
//! user gives; what it cannot count, and calls with no amount, it states
//! beside `spent` (status, period document, alerts, webhook). Against the
//! real test database; every amount below is worked out by hand.

mod common;
#[cfg(feature = "cli")]
#[path = "serve/http.rs"]
#[allow(dead_code)]
mod http;
#[cfg(feature = "cli")]
#[path = "serve/server.rs"]
#[allow(dead_code)]
mod serve_bin;

use std::str::FromStr;
use std::sync::{Arc, Mutex};

use bson::doc;
use chrono::{DateTime, Utc};
use panoptic::budget::{Alert, Budget, FailurePolicy, Mode, Period, Rates};
use panoptic::{Decimal, Provider, billable};

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

type StepError = common::call_error::CallError<&'static str>;

/// 1 EUR bought 1.08 USD on 2026-12-01.
const RATE_FILE: &str = r#"
[[rate]]
from = "EUR"
to = "USD"
rate = "1.08"
date = "2026-12-01"
source = "test"
"#;

/// The budgets' clock: after the rate's date.
fn december_5th() -> DateTime<Utc> {
    "2026-12-05T12:00:00Z".parse().unwrap()
}

#[billable(
    provider = "user_defined",
    service = "Euro",
    currency = "EUR",
    budget = "eur-calls",
    estimate = 5,
    amount = 10
)]
fn euro_call() -> Result<(), StepError> {
    Ok(())
}

#[billable(
    provider = "user_defined",
    service = "Euro",
    currency = "EUR",
    budget = "eur-calls",
    estimate = 9,
    amount = 9
)]
fn big_euro_call() -> Result<(), StepError> {
    Ok(())
}

#[billable(
    provider = "user_defined",
    service = "Euro",
    currency = "EUR",
    amount = 12.50
)]
fn euro_step() {}

/// No amount: unpriced, counted at its estimate (in USD).
#[billable(
    provider = "user_defined",
    service = "Mixed",
    budget = "mixed",
    estimate = 0.50
)]
fn estimated_call() -> Result<(), StepError> {
    Ok(())
}

/// A USD budget over the `service` calls of `user_defined`.
fn usd_budget(name: &str, service: &str, limit: &str) -> Budget {
    Budget::new(name, Period::Day, dec(limit))
        .provider("user_defined")
        .service(service)
}

fn collect_alerts() -> (
    Arc<Mutex<Vec<Alert>>>,
    impl Fn(&Alert) + Send + Sync + 'static,
) {
    let alerts = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&alerts);
    (alerts, move |alert: &Alert| {
        seen.lock().unwrap().push(alert.clone())
    })
}

/// (a) EUR spend in a USD budget with no rate: not counted, and said so
/// in the status, in the period document every process reads, in the
/// alert of its own, and in the threshold alert that comes after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spend_in_another_currency_without_a_rate_is_left_out_and_said() {
    let server = common::TestServer::start();
    let hook = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(204))
        .mount(&hook)
        .await;
    let (alerts, on_alert) = collect_alerts();
    let panoptic = common::builder(&common::unique_env("budget-no-rate"))
        .mongodb_uri(server.uri())
        .budget(
            usd_budget("usd", "Euro", "10")
                .alerts([50])
                .webhook(format!("{}/alerts", hook.uri())),
        )
        .budget_rates(Rates::none())
        .on_budget_alert(on_alert)
        .build()
        .unwrap();
    let log = panoptic.logger(Provider::UserDefined, "Euro");
    panoptic::invoice!(log, "eur"; "amount" => "12.50", "currency" => "EUR");
    assert!(panoptic.flush());
    let status = panoptic.budgets().unwrap().remove(0);
    assert_eq!(status.spent, Decimal::ZERO, "EUR is not added as USD");
    assert_eq!(status.coverage.uncounted.get("EUR"), dec("12.50"));
    assert!(!status.coverage.is_complete());
    assert_eq!(
        status.notes(),
        ["12.50 EUR not counted: no EUR→USD rate (give one in PANOPTIC_RATES)"]
    );
    {
        let alerts = alerts.lock().unwrap();
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!(alerts[0].cannot_count.as_deref(), Some("EUR"));
        let text = alerts[0].to_string();
        assert!(
            text.ends_with(
                "cannot count spend in EUR; 12.50 EUR not counted: no EUR→USD rate \
                 (give one in PANOPTIC_RATES)"
            ),
            "{text}"
        );
    }

    // USD spend counts; the 50 % alert carries what the figure leaves out.
    panoptic::invoice!(log, "usd"; "amount" => "6.00");
    assert!(panoptic.flush());
    let status = panoptic.budgets().unwrap().remove(0);
    assert_eq!(status.spent, dec("6.00"));
    assert_eq!(status.coverage.uncounted.get("EUR"), dec("12.50"));
    let crossed = alerts.lock().unwrap()[1].clone();
    assert_eq!(crossed.percent, Some(50));
    assert!(
        crossed.to_string().ends_with(
            "6 of 10 USD spent; 12.50 EUR not counted: no EUR→USD rate (give one in PANOPTIC_RATES)"
        ),
        "{crossed}"
    );

    // Every process reads it from the period document.
    let period = common::client_for(&server.uri())
        .await
        .database(panoptic::budget::BUDGET_DATABASE)
        .collection::<bson::Document>("periods")
        .find_one(doc! { "budget": "usd" })
        .await
        .unwrap()
        .unwrap();
    let uncounted = period.get_document("uncounted").unwrap();
    assert_eq!(
        panoptic::money::from_decimal128(*uncounted.get_decimal128("EUR").unwrap()).unwrap(),
        dec("12.50")
    );

    // The dashboard's budgets page says it beside the budget.
    #[cfg(feature = "cli")]
    {
        let serve = serve_bin::Serve::start(
            &["--bind", "127.0.0.1:0"],
            &server.uri(),
            &common::temp_dir("budget-no-rate-serve"),
        );
        let budgets = http::get(&serve.addr, "/api/budgets", &[]).json();
        let usd = budgets["budgets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["name"] == "usd")
            .unwrap_or_else(|| panic!("{budgets}"))
            .clone();
        assert_eq!(
            usd["notes"],
            serde_json::json!([
                "12.50 EUR not counted: no EUR→USD rate (give one in PANOPTIC_RATES)"
            ]),
            "{usd}"
        );
    }

    // The webhook says it too, as fields and as text.
    if !cfg!(feature = "webhooks") {
        return;
    }
    let posts = hook.received_requests().await.unwrap();
    assert_eq!(posts.len(), 2);
    let first: serde_json::Value = serde_json::from_slice(&posts[0].body).unwrap();
    assert_eq!(first["threshold"], "uncounted-EUR");
    assert_eq!(first["uncounted"]["EUR"], "12.50");
    let second: serde_json::Value = serde_json::from_slice(&posts[1].body).unwrap();
    assert_eq!(second["threshold"], 50);
    assert_eq!(second["uncounted"]["EUR"], "12.50");
    assert_eq!(
        second["notes"][0],
        "12.50 EUR not counted: no EUR→USD rate (give one in PANOPTIC_RATES)"
    );
}

/// (c) Priced and unpriced calls: `spent` holds the priced ones, and the
/// status says how many had no amount.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpriced_calls_are_counted_beside_spent() {
    let server = common::TestServer::start();
    let panoptic = common::builder(&common::unique_env("budget-unpriced"))
        .mongodb_uri(server.uri())
        .budget(usd_budget("work", "Work", "100").mode(Mode::Observe))
        .build()
        .unwrap();
    let log = panoptic.logger(Provider::UserDefined, "Work");
    for _ in 0..2 {
        panoptic::invoice!(log, "priced"; "amount" => "1.25");
    }
    for _ in 0..3 {
        panoptic::invoice!(log, "unpriced");
    }
    assert!(panoptic.flush());
    let status = panoptic.budgets().unwrap().remove(0);
    assert_eq!(status.spent, dec("2.50"));
    assert_eq!(status.coverage.unpriced_calls, 3);
    assert_eq!(
        status.notes(),
        ["3 unpriced calls not counted (no amount, no estimate)"]
    );
}

/// Everything that installs a global instance, one after the other:
/// reservations in EUR against USD budgets, with a rate (b) and without
/// one (d), and an unpriced budgeted call counted at its estimate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reservations_in_another_currency_follow_the_rates() {
    // (b) With a rate file: the estimate is held converted, the amount
    // settled converted, spend from the writer converted; the status
    // shows the rate and its date.
    let rates_file = common::temp_dir("rates").join("rates.toml");
    std::fs::write(&rates_file, RATE_FILE).unwrap();
    let server = common::TestServer::start();
    {
        let guard = common::builder(&common::unique_env("budget-rate"))
            .mongodb_uri(server.uri())
            .budget(usd_budget("eur-calls", "Euro", "20").mode(Mode::Enforce))
            .budget_rates(Rates::load(&rates_file).unwrap())
            .budget_clock(december_5th)
            .install()
            .unwrap();
        // Holds 5 EUR = 5.40 USD, settles 10 EUR = 10.80 USD.
        euro_call().unwrap();
        // 12.50 EUR = 13.50 USD, from the writer (no reservation).
        euro_step();
        let status = guard.budgets().unwrap().remove(0);
        assert_eq!(status.spent, dec("24.30"));
        assert_eq!(status.reserved, Decimal::ZERO);
        assert_eq!(status.coverage.converted.get("EUR"), dec("22.50"));
        assert_eq!(
            status.coverage.rates_applied,
            ["1 EUR = 1.08 USD (2026-12-01)"]
        );
        assert!(status.coverage.uncounted.is_empty());
        assert_eq!(
            status.notes(),
            ["counted 22.50 EUR at 1 EUR = 1.08 USD (2026-12-01)"]
        );
    }
    // The estimate is converted before it is held: 9 EUR = 9.72 USD does
    // not fit in the 9.20 USD left, where 9 USD would.
    let server = common::TestServer::start();
    {
        let _guard = common::builder(&common::unique_env("budget-rate-hold"))
            .mongodb_uri(server.uri())
            .budget(usd_budget("eur-calls", "Euro", "20").mode(Mode::Enforce))
            .budget_rates(Rates::load(&rates_file).unwrap())
            .budget_clock(december_5th)
            .install()
            .unwrap();
        euro_call().unwrap();
        match big_euro_call() {
            Err(StepError::OverBudget(refused)) => {
                assert_eq!(refused.estimate, dec("9.72"));
                assert_eq!(refused.committed, dec("10.80"));
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    // (d) No rate, failing open (the default): the call runs, holds
    // nothing, and its 10 EUR shows as not counted.
    let server = common::TestServer::start();
    {
        let guard = common::builder(&common::unique_env("budget-eur-open"))
            .mongodb_uri(server.uri())
            .budget(usd_budget("eur-calls", "Euro", "20").mode(Mode::Enforce))
            .budget_rates(Rates::none())
            .install()
            .unwrap();
        euro_call().unwrap();
        let status = guard.budgets().unwrap().remove(0);
        assert_eq!(status.spent, Decimal::ZERO);
        assert_eq!(status.reserved, Decimal::ZERO);
        assert_eq!(status.open_reservations, 0);
        assert_eq!(status.coverage.uncounted.get("EUR"), dec("10"));
        assert_eq!(
            status.notes(),
            ["10.00 EUR not counted: no EUR→USD rate (give one in PANOPTIC_RATES)"]
        );
    }
    // No rate, failing closed: refused, naming the missing rate.
    let server = common::TestServer::start();
    {
        let guard = common::builder(&common::unique_env("budget-eur-closed"))
            .mongodb_uri(server.uri())
            .budget(
                usd_budget("eur-calls", "Euro", "20")
                    .mode(Mode::Enforce)
                    .on_unavailable(FailurePolicy::FailClosed),
            )
            .budget_rates(Rates::none())
            .install()
            .unwrap();
        match euro_call() {
            Err(StepError::OverBudget(refused)) => {
                let why = refused.unavailable.clone().unwrap();
                assert!(
                    why.starts_with("the call's estimate is in EUR and no EUR→USD rate"),
                    "{why}"
                );
                assert!(refused.to_string().contains("fails closed"), "{refused}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        let status = guard.budgets().unwrap().remove(0);
        assert_eq!(status.spent, Decimal::ZERO);
        assert!(status.coverage.is_complete(), "{:?}", status.coverage);
    }

    // (c) A budgeted call with no amount is counted at its estimate, and
    // its start record (which has no amount either) is not an unpriced
    // call.
    let server = common::TestServer::start();
    {
        let guard = common::builder(&common::unique_env("budget-estimated"))
            .mongodb_uri(server.uri())
            .budget(usd_budget("mixed", "Mixed", "10"))
            .install()
            .unwrap();
        estimated_call().unwrap();
        estimated_call().unwrap();
        let status = guard.budgets().unwrap().remove(0);
        assert_eq!(status.spent, dec("1.00"));
        assert_eq!(status.coverage.unpriced_calls, 0);
        assert_eq!(status.coverage.calls_at_estimate, 2);
        assert_eq!(
            status.notes(),
            ["2 unpriced calls counted at their estimate"]
        );
    }
}
