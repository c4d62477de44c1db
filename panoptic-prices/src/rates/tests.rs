use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{Amounts, Rates, RatesError};

fn day(text: &str) -> NaiveDate {
    NaiveDate::from_str(text).unwrap()
}

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

const TABLE: &str = r#"
[[rate]]
from = "EUR"
to = "USD"
rate = "1.05"
date = "2026-11-01"

[[rate]]
from = "eur"
to = "usd"
rate = "1.08"
date = 2026-12-01
source = "ECB"

[[rate]]
from = "USD"
to = "GBP"
rate = "0.8"
date = "2026-12-01"
"#;

#[test]
fn the_latest_rate_on_or_before_the_day_applies() {
    let rates = Rates::parse(TABLE, "rates.toml").unwrap();
    assert_eq!(
        rates.rate("EUR", "USD", day("2026-11-30")).unwrap().rate,
        dec("1.05")
    );
    let december = rates.rate("EUR", "USD", day("2026-12-07")).unwrap();
    assert_eq!(december.rate, dec("1.08"));
    assert_eq!(december.source.as_deref(), Some("ECB"));
    assert!(rates.rate("EUR", "USD", day("2026-10-31")).is_none());
}

#[test]
fn a_rate_converts_back_as_its_inverse_and_says_so() {
    let rates = Rates::parse(TABLE, "rates.toml").unwrap();
    let back = rates.rate("GBP", "USD", day("2026-12-02")).unwrap();
    assert_eq!(back.rate, dec("1.25"));
    assert!(back.inverted);
    assert_eq!(
        back.to_string(),
        "1 GBP = 1.25 USD (2026-12-01, inverse of the USD→GBP rate)"
    );
}

#[test]
fn converting_names_the_missing_rate_and_the_file() {
    let rates = Rates::parse(TABLE, "rates.toml").unwrap();
    let error = rates
        .convert(dec("1"), "JPY", "USD", day("2026-12-02"))
        .unwrap_err();
    assert!(matches!(error, RatesError::NoRate { .. }));
    let text = error.to_string();
    assert!(
        text.contains("JPY to USD") && text.contains("rates.toml"),
        "{text}"
    );
}

#[test]
fn amounts_stay_apart_until_converted_with_every_rate_shown() {
    let rates = Rates::parse(TABLE, "rates.toml").unwrap();
    let mut total = Amounts::default();
    total.add("USD", dec("2.50"));
    total.add("EUR", dec("10"));
    assert_eq!(total.to_string(), "10 EUR + 2.50 USD");
    let converted = total.convert(&rates, "USD", day("2026-12-07")).unwrap();
    // 10 × 1.08 + 2.50
    assert_eq!(converted.total, dec("13.30"));
    assert_eq!(converted.applied.len(), 1);
    assert_eq!(
        converted.to_string(),
        "13.30 USD (converted at 1 EUR = 1.08 USD (2026-12-01))"
    );
    let mut yen = total.clone();
    yen.add("JPY", dec("100"));
    assert!(yen.convert(&rates, "USD", day("2026-12-07")).is_err());
}

#[test]
fn bad_tables_are_refused_with_the_entry_named() {
    let cases = [
        (
            "[[rate]]\nfrom = \"EUR\"\nto = \"USD\"\nrate = 1.08\ndate = \"2026-12-01\"",
            "as text",
        ),
        (
            "[[rate]]\nfrom = \"EURO\"\nto = \"USD\"\nrate = \"1\"\ndate = \"2026-12-01\"",
            "not a currency code",
        ),
        (
            "[[rate]]\nfrom = \"USD\"\nto = \"USD\"\nrate = \"1\"\ndate = \"2026-12-01\"",
            "to itself",
        ),
        (
            "[[rate]]\nfrom = \"EUR\"\nto = \"USD\"\nrate = \"-1\"\ndate = \"2026-12-01\"",
            "not above zero",
        ),
        (
            "[[rate]]\nfrom = \"EUR\"\nto = \"USD\"\nrate = \"1\"\ndate = \"December\"",
            "date must be a day",
        ),
        (
            "[[rate]]\nfrom = \"EUR\"\nto = \"USD\"\nrate = \"1\"\ndate = \"2026-12-01\"\n[[rate]]\nfrom = \"EUR\"\nto = \"USD\"\nrate = \"2\"\ndate = \"2026-12-01\"",
            "rate #2: a second EUR→USD rate",
        ),
        (
            "[[rate]]\nfrom = \"EUR\"\nto = \"USD\"\nrate = \"1\"\ndate = \"2026-12-01\"\nrat = 3",
            "unknown field",
        ),
    ];
    for (text, expected) in cases {
        let error = Rates::parse(text, "bad.toml").unwrap_err().to_string();
        assert!(
            error.contains(expected) && error.contains("bad.toml"),
            "{expected}: {error}"
        );
        assert_eq!(error.lines().count(), 1, "{error}");
    }
}
