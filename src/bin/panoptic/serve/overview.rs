//! The overview's numbers: totals, cost per day stacked by service or
//! provider, and the forecast, from one grouped cost query.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use panoptic::Decimal;
use panoptic::query::GroupBy;

use super::filters::{Filters, Stack};
use super::respond::{Failure, bad_request, unavailable};
use super::source::Source;

/// The forecast's horizon.
pub const FORECAST_DAYS: i64 = 30;

/// Totals, cost per day stacked by service or provider, and the forecast.
pub struct Overview {
    pub stack: Stack,
    pub total: Decimal,
    /// Adjustments allocated from the provider's bill (kept out of `total`).
    pub adjusted: Decimal,
    pub calls: u64,
    pub errors: u64,
    pub unpriced: u64,
    pub period_days: Decimal,
    pub days: Vec<String>,
    /// `(day, group)` → amount.
    pub cells: BTreeMap<(String, String), Decimal>,
    /// One row per group, largest first.
    pub groups: Vec<(String, Group)>,
}

/// One service's (or provider's) sums over the period.
#[derive(Default)]
pub struct Group {
    pub amount: Decimal,
    pub calls: u64,
    pub errors: u64,
    pub unpriced: u64,
}

pub async fn compute(source: &Source, pairs: &[(String, String)]) -> Result<Overview, Failure> {
    let filters = Filters::parse(pairs).map_err(bad_request)?;
    let stack = Stack::parse(pairs).map_err(bad_request)?;
    let dimension = match stack {
        Stack::Service => GroupBy::Service,
        Stack::Provider => GroupBy::Provider,
    };
    let by_day = source
        .rows(&filters.query().group_by([GroupBy::Day, dimension]))
        .await
        .map_err(unavailable)?;
    let mut overview = Overview {
        stack,
        total: Decimal::ZERO,
        adjusted: Decimal::ZERO,
        calls: 0,
        errors: 0,
        unpriced: 0,
        period_days: Decimal::ZERO,
        days: Vec::new(),
        cells: BTreeMap::new(),
        groups: Vec::new(),
    };
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    for row in by_day {
        overview.total += row.amount;
        overview.adjusted += row.adjusted;
        overview.calls += row.count;
        overview.errors += row.errors;
        overview.unpriced += row.unpriced;
        *overview
            .cells
            .entry((row.key[0].clone(), row.key[1].clone()))
            .or_default() += row.amount;
        let group = groups.entry(row.key[1].clone()).or_default();
        group.amount += row.amount;
        group.unpriced += row.unpriced;
        group.calls += row.count;
        group.errors += row.errors;
    }
    let mut groups: Vec<(String, Group)> = groups.into_iter().collect();
    groups.sort_by(|a, b| b.1.amount.cmp(&a.1.amount).then_with(|| a.0.cmp(&b.0)));
    overview.groups = groups;
    let end = filters.end();
    let seconds = (end - filters.since).num_seconds().max(1);
    overview.period_days = Decimal::from(seconds) / Decimal::from(86_400);
    overview.days =
        days_between(filters.since.date_naive(), end.date_naive()).unwrap_or_else(|| {
            let mut seen: Vec<String> = overview.cells.keys().map(|(d, _)| d.clone()).collect();
            seen.dedup();
            seen
        });
    Ok(overview)
}

impl Overview {
    /// Cost per day over the period (never divided by zero: the period is
    /// at least a second).
    pub fn daily_average(&self) -> Decimal {
        self.total / self.period_days
    }

    /// The next [`FORECAST_DAYS`] at the period's daily average, to the cent.
    pub fn forecast(&self) -> Decimal {
        (self.daily_average() * Decimal::from(FORECAST_DAYS)).round_dp(2)
    }
}

/// Every UTC day from `first` to `last`, or `None` when that is too many
/// bars to draw (then only days with events are shown).
fn days_between(first: NaiveDate, last: NaiveDate) -> Option<Vec<String>> {
    let count = (last - first).num_days();
    if !(0..=400).contains(&count) {
        return None;
    }
    Some(
        (0..=count)
            .map(|i| (first + Duration::days(i)).format("%Y-%m-%d").to_string())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forecast_is_the_daily_average_times_thirty() {
        let overview = Overview {
            stack: Stack::Service,
            total: Decimal::new(700, 2),
            adjusted: Decimal::ZERO,
            calls: 7,
            errors: 0,
            unpriced: 0,
            period_days: Decimal::from(7),
            days: Vec::new(),
            cells: BTreeMap::new(),
            groups: Vec::new(),
        };
        assert_eq!(overview.daily_average(), Decimal::ONE);
        assert_eq!(overview.forecast(), Decimal::from(30));
    }

    #[test]
    fn every_day_of_the_period_has_a_slot() {
        let first = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        let last = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        assert_eq!(
            days_between(first, last).unwrap(),
            [
                "2026-11-28",
                "2026-11-29",
                "2026-11-30",
                "2026-12-01",
                "2026-12-02"
            ]
        );
        assert_eq!(days_between(last, first), None);
    }
}
