use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::*;
use crate::query::testing::{by_service, event};

fn rates() -> Rates {
    Rates::parse(
        "[[rate]]\nfrom = \"EUR\"\nto = \"USD\"\nrate = \"1.08\"\ndate = \"2026-12-01\"\n\
         [[rate]]\nfrom = \"EUR\"\nto = \"USD\"\nrate = \"1.10\"\ndate = \"2026-12-10\"\n",
        "rates.toml",
    )
    .unwrap()
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
}

#[test]
fn rows_of_one_key_in_two_currencies_become_one_converted_row() {
    let mut events: Vec<_> = (0..10)
        .map(|i| event("Pricing", Some("1"), "EUR", f64::from(i + 1)))
        .collect();
    events.push(event("Pricing", Some("2.50"), "USD", 100.0));
    events.push(event("Pricing", None, "USD", 200.0));
    events.push(event("Other", Some("0.5"), "USD", 1.0));
    let rows = by_service(&events);
    assert_eq!(rows.len(), 3, "split by currency before converting");

    let converted = convert_rows(&rows, &rates(), "USD", day(7)).unwrap();
    assert_eq!(converted.len(), 2);
    let pricing = &converted[0];
    assert_eq!(pricing.row.key, ["Pricing"]);
    assert_eq!(pricing.row.currency, "USD");
    // 10 EUR × 1.08 + 2.50 USD, by hand.
    assert_eq!(pricing.row.amount, Decimal::new(1330, 2));
    assert_eq!((pricing.row.count, pricing.row.unpriced), (12, 1));
    assert_eq!(pricing.rates.len(), 1);
    assert_eq!(
        pricing.rates[0].to_string(),
        "1 EUR = 1.08 USD (2026-12-01)",
        "the rate in effect on the 7th, not the later one"
    );
    // Percentiles over all 12 calls, not one currency's: the 95th is
    // the 200 ms call (within 1 %).
    let p95 = pricing.row.p95_ms.unwrap();
    assert!((p95 / 200.0 - 1.0).abs() < 0.01, "{p95}");
    let other = &converted[1];
    assert_eq!(other.row.amount, Decimal::new(5, 1));
    assert!(other.rates.is_empty(), "already in USD: no rate");
}

#[test]
fn a_currency_without_a_rate_is_refused_whole() {
    let events = [
        event("A", Some("3"), "GBP", 1.0),
        event("B", Some("1"), "EUR", 1.0),
    ];
    let error = convert_rows(&by_service(&events), &rates(), "USD", day(7)).unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("from GBP to USD") && text.contains("rates.toml"),
        "{text}"
    );
    // Before the first rate's date, EUR has none either.
    let error = convert_rows(
        &by_service(&events[1..]),
        &rates(),
        "USD",
        day(1).pred_opt().unwrap(),
    );
    assert!(error.is_err());
}

#[test]
fn unpriced_rows_need_no_rate_and_keep_their_count() {
    let events = [event("A", None, "GBP", 1.0), event("A", None, "GBP", 2.0)];
    let converted = convert_rows(&by_service(&events), &rates(), "USD", day(7)).unwrap();
    assert_eq!(converted[0].row.currency, "USD");
    assert_eq!((converted[0].row.unpriced, converted[0].row.count), (2, 2));
    assert!(converted[0].rates.is_empty());
}
