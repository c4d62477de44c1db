//! Estimates and bills in different currencies: never compared as one
//! number, converted only through a rate the user gives.

use std::str::FromStr;

use chrono::NaiveDate;
use panoptic_core::prices::rates::Rates;
use rust_decimal::Decimal;

use super::{BillLine, Fallback, Reason, Reconciliation};
use crate::query::{CostRow, GroupBy};

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 2).unwrap()
}

fn estimate(currency: &str, amount: &str) -> CostRow {
    CostRow {
        key: vec![day().to_string()],
        currency: currency.to_owned(),
        amount: dec(amount),
        adjusted: Decimal::ZERO,
        unpriced: 0,
        quantity: 0.0,
        count: 2,
        errors: 0,
        ..CostRow::default()
    }
}

fn recon() -> Reconciliation {
    Reconciliation::new("openai", day(), day().succ_opt().unwrap())
        .by([GroupBy::Day])
        .unwrap()
        .today(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap())
}

fn bill() -> Vec<BillLine> {
    vec![BillLine::new("openai", day(), dec("12.00"), dec("12.00"))]
}

#[test]
fn an_estimate_in_another_currency_stands_apart_without_a_rate() {
    let estimates = [estimate("USD", "1.00"), estimate("EUR", "10")];
    let report = recon().compare(&estimates, &[], &bill());
    assert_eq!(report.currency, "USD");
    assert_eq!(report.rows.len(), 2, "{report:#?}");
    let eur = report.rows.iter().find(|r| r.currency == "EUR").unwrap();
    assert_eq!(eur.estimate, dec("10"));
    assert!(eur.reasons.iter().any(|r| matches!(
        r,
        Reason::OtherCurrency { estimate, bill } if estimate == "EUR" && bill == "USD"
    )));
    // The total is the bill's currency alone: 12 billed against 1 estimated.
    assert_eq!(report.total.estimate, dec("1.00"));
    assert_eq!(report.total.difference, dec("11.00"));
    // No adjustment moves money across currencies.
    let events = recon().adjustments(&report, &[], &Fallback::default());
    assert!(events.iter().all(|e| e.currency == "USD"), "{events:#?}");
    assert_eq!(events.len(), 1);
}

#[test]
fn a_rate_converts_the_estimate_and_the_row_says_at_what() {
    let rates = Rates::parse(
        "[[rate]]\nfrom = \"EUR\"\nto = \"USD\"\nrate = \"1.08\"\ndate = \"2026-11-01\"\n",
        "rates.toml",
    )
    .unwrap();
    let estimates = [estimate("USD", "1.00"), estimate("EUR", "10")];
    let report = recon().rates(rates).compare(&estimates, &[], &bill());
    assert_eq!(report.rows.len(), 1, "{report:#?}");
    let row = &report.rows[0];
    // 1.00 USD + 10 EUR × 1.08
    assert_eq!(row.estimate, dec("11.80"));
    assert_eq!(row.difference, dec("0.20"));
    let converted = row
        .reasons
        .iter()
        .find(|r| r.code() == "converted")
        .expect("the conversion is shown");
    assert_eq!(
        converted.to_string(),
        "estimate converted at 1 EUR = 1.08 USD (2026-11-01)"
    );
}

/// A reconciliation whose `day()` is yesterday: its bill may still change.
fn recent() -> Reconciliation {
    Reconciliation::new("openai", day(), day().succ_opt().unwrap())
        .by([GroupBy::Day])
        .unwrap()
        .today(day().succ_opt().unwrap())
}

#[test]
fn a_late_day_is_flagged_late_whichever_way_it_differs() {
    for (estimated, late) in [("11.00", true), ("13.00", true), ("12.00", false)] {
        let report = recent().compare(&[estimate("USD", estimated)], &[], &bill());
        let row = &report.rows[0];
        assert_eq!(row.is_late(), late, "{estimated}: {row:#?}");
        assert_eq!(
            row.reasons.iter().any(|r| r.code() == "late_data"),
            late,
            "{estimated}: {row:#?}"
        );
    }
    // An old day is not late, however it differs.
    let report = recon().compare(&[estimate("USD", "11.00")], &[], &bill());
    assert!(!report.rows[0].is_late(), "{report:#?}");
}

#[test]
fn adjustments_leave_late_days_alone_unless_asked() {
    let estimates = [estimate("USD", "11.00")];
    let report = recent().compare(&estimates, &[], &bill());
    let fallback = Fallback::default();
    assert!(recent().adjustments(&report, &[], &fallback).is_empty());
    let booked = recent()
        .include_late(true)
        .adjustments(&report, &[], &fallback);
    assert_eq!(booked.len(), 1, "{booked:#?}");
    assert_eq!(booked[0].amount, Some(dec("1.00")));
    // An old day is booked without asking.
    let report = recon().compare(&estimates, &[], &bill());
    assert_eq!(recon().adjustments(&report, &[], &fallback).len(), 1);
}

#[test]
fn on_the_net_basis_the_bills_credit_is_booked_apart_in_focus() {
    use crate::focus::{self, Col, Value};
    // Billed 12 at list, 10 after a credit of 2; estimated 11.
    let bill = vec![BillLine::new("openai", day(), dec("12"), dec("10"))];
    let net = recon().basis(super::Basis::Net);
    let report = net.compare(&[estimate("USD", "11")], &[], &bill);
    let booked = net.adjustments(&report, &[], &Fallback::default());
    assert_eq!(booked.len(), 1, "{booked:#?}");
    assert_eq!(booked[0].amount, Some(dec("-1")));
    let rows = focus::rows(&booked[0]);
    let cost = |category: &str| {
        rows.iter()
            .find(|r| *r.get(Col::ChargeCategory) == Value::Text(category.to_owned()))
            .map(|r| r.get(Col::BilledCost).clone())
    };
    // The credit apart; the rest is what the list price was off by.
    assert_eq!(cost("Credit"), Some(Value::Decimal(dec("-2"))));
    assert_eq!(cost("Adjustment"), Some(Value::Decimal(dec("1"))));
    // On the list basis no credit is booked.
    let list = recon();
    let report = list.compare(&[estimate("USD", "11")], &[], &bill);
    let booked = list.adjustments(&report, &[], &Fallback::default());
    let rows = focus::rows(&booked[0]);
    assert_eq!(rows.len(), 1);
    assert_eq!(*rows[0].get(Col::BilledCost), Value::Decimal(dec("1")));
}
