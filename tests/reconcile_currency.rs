//! `panoptic reconcile` when panoptic estimated in another currency than
//! the bill's: without a rate the estimate stands in a row of its own,
//! never compared with or added to the bill; with `--rates` it is
//! converted at the rate of its day and the row names the rate. The bill
//! is a MongoDB Atlas cluster's hour at its USD list price (no bill source
//! needed); the estimates are real `#[billable]` calls in EUR.

mod common;

use std::str::FromStr;

use chrono::Utc;
use panoptic::{Decimal, billable};
use serde_json::Value as Json;

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

/// Priced in euros by its caller.
#[billable(
    provider = "mongodb_atlas",
    service = "Cluster",
    amount = 1,
    currency = "EUR"
)]
fn find_orders() {}

fn money(row: &Json, key: &str) -> Decimal {
    dec(row[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {row}")))
}

fn codes(row: &Json) -> Vec<&str> {
    row["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect()
}

#[test]
fn an_estimate_in_euros_meets_a_dollar_bill_only_through_a_rate() {
    let env = common::unique_env("recon_currency");
    let guard = common::builder(&env).install().unwrap();
    for _ in 0..3 {
        find_orders();
    }
    assert!(guard.flush());
    drop(guard);

    let today = Utc::now().date_naive();
    let reconcile = |rates: Option<&std::path::Path>| {
        let mut command = common::reconcile_cli::atlas_first_hour_today(&env);
        command.env_remove("PANOPTIC_RATES");
        if let Some(rates) = rates {
            command.arg("--rates").arg(rates);
        }
        common::reconcile_cli::rows(&command.output().unwrap())
    };
    // MongoDB Atlas M10 (AWS us-east-1): $0.08 for the hour.
    let bill = dec("0.08");

    let apart = reconcile(None);
    let usd = apart.iter().find(|r| r["currency"] == "USD").unwrap();
    let eur = apart.iter().find(|r| r["currency"] == "EUR").unwrap();
    assert_eq!(
        (money(usd, "list"), money(usd, "estimate")),
        (bill, Decimal::ZERO)
    );
    assert_eq!(
        (money(eur, "estimate"), money(eur, "list")),
        (dec("3"), Decimal::ZERO)
    );
    assert!(codes(eur).contains(&"other_currency"), "{eur}");

    let dir = common::temp_dir("recon_currency");
    let rates = dir.join("rates.toml");
    std::fs::write(
        &rates,
        "[[rate]]\nfrom = \"EUR\"\nto = \"USD\"\nrate = \"1.08\"\ndate = \"2026-01-01\"\n",
    )
    .unwrap();
    let converted = reconcile(Some(&rates));
    let day = converted
        .iter()
        .find(|r| r["day"] == today.to_string())
        .unwrap_or_else(|| panic!("{converted:?}"));
    assert!(
        converted.iter().all(|r| r["currency"] == "USD"),
        "{converted:?}"
    );
    // 3 EUR × 1.08
    assert_eq!(money(day, "estimate"), dec("3.24"));
    assert_eq!(money(day, "list"), bill);
    let reason = day["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "converted")
        .unwrap_or_else(|| panic!("{day}"));
    assert_eq!(
        reason["text"],
        "estimate converted at 1 EUR = 1.08 USD (2026-01-01)"
    );
}
