//! MongoDB Atlas clusters: a fixed hourly cost, priced over a time span so
//! that it can be spread over the calls made in it.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::book::PriceBook;
use crate::priced::{Priced, Unpriced};
use crate::usage::Usage;

/// The provider name of the Atlas table.
pub const PROVIDER: &str = "mongodb_atlas";

/// What cluster `tier` (`M10`, `Flex`, …) costs from `from` to `to` at its
/// list price on `from`'s day, in the book's default region (AWS
/// us-east-1).
///
/// Atlas bills dedicated clusters by the hour for the time they are active;
/// this pro-rates to the second instead, because it spreads a fixed cost
/// over callers rather than reproducing the invoice. A span with `to`
/// before `from` is empty.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use panoptic_prices::{atlas, PriceBook};
/// use rust_decimal::Decimal;
///
/// let from = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
/// let to = Utc.with_ymd_and_hms(2026, 1, 1, 1, 30, 0).unwrap();
/// let cost = atlas::cluster_cost(PriceBook::shipped(), "M30", from, to).unwrap();
/// assert_eq!(cost.amount, Decimal::new(81, 2)); // 1.5 h × $0.54
/// ```
pub fn cluster_cost(
    book: &PriceBook,
    tier: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Priced, Unpriced> {
    book.price(
        PROVIDER,
        "Atlas",
        &cluster_usage(tier, from, to),
        from.date_naive(),
    )
}

/// The usage behind [`cluster_cost`]: `cluster_hours` for the span, to the
/// second (to the microsecond when the span has sub-second parts).
pub fn cluster_usage(tier: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Usage {
    let span = (to - from).max(chrono::TimeDelta::zero());
    let micros = span.num_microseconds().unwrap_or(i64::MAX);
    // µs / 3.6e9: exact for whole seconds up to ~28 significant digits.
    let hours = Decimal::from(micros) / Decimal::from(3_600_000_000_i64);
    Usage::new(tier)
        .with("cluster_hours", hours)
        .total(hours, "hours")
}
