//! Atlas cluster cost over a span; amounts worked by hand.

use std::str::FromStr;

use chrono::{TimeZone, Utc};
use panoptic_prices::{PriceBook, Unpriced, atlas};
use rust_decimal::Decimal;

#[test]
fn m10_for_a_day() {
    // 24 h × 0.08 = 1.92
    let from = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    let to = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
    let p = atlas::cluster_cost(PriceBook::shipped(), "M10", from, to).unwrap();
    assert_eq!(p.amount, Decimal::from_str("1.92").unwrap());
    assert_eq!(p.entry, "mongodb_atlas/M10");
    assert_eq!(p.components[0].quantity, Decimal::from(24));
}

#[test]
fn pro_rated_to_the_second_and_unknown_tier() {
    // 90 s = 0.025 h × 0.54 = 0.0135
    let from = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    let to = Utc.with_ymd_and_hms(2026, 3, 1, 0, 1, 30).unwrap();
    let p = atlas::cluster_cost(PriceBook::shipped(), "M30", from, to).unwrap();
    assert_eq!(p.amount, Decimal::from_str("0.0135").unwrap());
    let e = atlas::cluster_cost(PriceBook::shipped(), "M99", from, to).unwrap_err();
    assert!(matches!(e, Unpriced::UnknownItem { .. }));
    // A reversed span costs nothing.
    let p = atlas::cluster_cost(PriceBook::shipped(), "M10", to, from).unwrap();
    assert_eq!(p.amount, Decimal::ZERO);
}
