//! The overview's numbers: totals, cost per day stacked by service or
//! provider, and the forecast, from one grouped cost query. Every sum is
//! kept per currency (two currencies are never one number) and counts the
//! unpriced calls it leaves out, so that no total reads as a silent zero.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use panoptic::Decimal;
use panoptic::query::{CostRow, GroupBy};

use super::filters::{Filters, Stack};
use super::respond::{Failure, bad_request, unavailable};
use super::source::Source;

/// The forecast's horizon.
pub const FORECAST_DAYS: i64 = 30;

/// Totals, cost per day stacked by service or provider, and the forecast.
pub struct Overview {
    pub stack: Stack,
    /// Currency → its sums over the period.
    pub totals: BTreeMap<String, Sums>,
    /// Calls, errors and unpriced calls in every currency (counts add up;
    /// amounts do not).
    pub all: Sums,
    pub period_days: Decimal,
    pub days: Vec<String>,
    /// `(day, group, currency)` → its sums.
    pub cells: BTreeMap<(String, String, String), Sums>,
    /// One row per group and currency: by currency, then largest first.
    pub groups: Vec<((String, String), Sums)>,
}

/// What one slice of the period adds up to, in one currency.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Sums {
    pub amount: Decimal,
    /// Adjustments allocated from the provider's bill (kept out of `amount`).
    pub adjusted: Decimal,
    pub calls: u64,
    pub errors: u64,
    /// Calls with no amount: not in `amount`, and said beside it.
    pub unpriced: u64,
}

impl Sums {
    fn add(&mut self, row: &CostRow) {
        self.amount += row.amount;
        self.adjusted += row.adjusted;
        self.calls += row.count;
        self.errors += row.errors;
        self.unpriced += row.unpriced;
    }

    /// Cost per day over `period_days` (never zero: the period is at
    /// least a second).
    pub fn daily_average(&self, period_days: Decimal) -> Decimal {
        self.amount / period_days
    }

    /// The next [`FORECAST_DAYS`] at the period's daily average, to the cent.
    pub fn forecast(&self, period_days: Decimal) -> Decimal {
        (self.daily_average(period_days) * Decimal::from(FORECAST_DAYS)).round_dp(2)
    }
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
    let end = filters.end();
    let seconds = (end - filters.since).num_seconds().max(1);
    let mut overview = Overview::from_rows(stack, &by_day);
    overview.period_days = Decimal::from(seconds) / Decimal::from(86_400);
    overview.days =
        days_between(filters.since.date_naive(), end.date_naive()).unwrap_or_else(|| {
            let mut seen: Vec<String> = overview.cells.keys().map(|k| k.0.clone()).collect();
            seen.dedup();
            seen
        });
    Ok(overview)
}

impl Overview {
    /// Sums rows keyed `[day, group]`, each in its own currency.
    fn from_rows(stack: Stack, rows: &[CostRow]) -> Overview {
        let mut totals: BTreeMap<String, Sums> = BTreeMap::new();
        let mut all = Sums::default();
        let mut cells: BTreeMap<(String, String, String), Sums> = BTreeMap::new();
        let mut groups: BTreeMap<(String, String), Sums> = BTreeMap::new();
        for row in rows {
            let (day, group) = (&row.key[0], &row.key[1]);
            totals.entry(row.currency.clone()).or_default().add(row);
            all.add(row);
            cells
                .entry((day.clone(), group.clone(), row.currency.clone()))
                .or_default()
                .add(row);
            groups
                .entry((group.clone(), row.currency.clone()))
                .or_default()
                .add(row);
        }
        let mut groups: Vec<((String, String), Sums)> = groups.into_iter().collect();
        // Amounts compare only within a currency.
        groups.sort_by(|(a_key, a), (b_key, b)| {
            a_key
                .1
                .cmp(&b_key.1)
                .then_with(|| b.amount.cmp(&a.amount))
                .then_with(|| a_key.0.cmp(&b_key.0))
        });
        Overview {
            stack,
            totals,
            all,
            period_days: Decimal::ONE,
            days: Vec::new(),
            cells,
            groups,
        }
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

    fn row(
        day: &str,
        group: &str,
        currency: &str,
        cents: i64,
        count: u64,
        unpriced: u64,
    ) -> CostRow {
        CostRow {
            key: vec![day.to_owned(), group.to_owned()],
            currency: currency.to_owned(),
            amount: Decimal::new(cents, 2),
            adjusted: Decimal::ZERO,
            unpriced,
            quantity: count as f64,
            count,
            errors: 0,
            ..CostRow::default()
        }
    }

    #[test]
    fn forecast_is_the_daily_average_times_thirty() {
        let week = Sums {
            amount: Decimal::new(700, 2),
            calls: 7,
            ..Sums::default()
        };
        assert_eq!(week.daily_average(Decimal::from(7)), Decimal::ONE);
        assert_eq!(week.forecast(Decimal::from(7)), Decimal::from(30));
    }

    #[test]
    fn currencies_are_never_summed_together() {
        let overview = Overview::from_rows(
            Stack::Service,
            &[
                row("2026-12-01", "chat", "USD", 150, 2, 0),
                row("2026-12-01", "chat", "EUR", 200, 3, 1),
                row("2026-12-02", "chat", "USD", 50, 1, 0),
                row("2026-12-02", "vision", "EUR", 0, 4, 4),
            ],
        );
        let currencies: Vec<&str> = overview.totals.keys().map(String::as_str).collect();
        assert_eq!(currencies, ["EUR", "USD"]);
        assert_eq!(overview.totals["USD"].amount, Decimal::new(200, 2));
        assert_eq!(overview.totals["EUR"].amount, Decimal::new(200, 2));
        assert_eq!(overview.totals["EUR"].unpriced, 5);
        assert_eq!(overview.totals["USD"].unpriced, 0);
        assert_eq!(overview.all.calls, 10);
        // A day of unpriced calls only keeps its count beside its zero.
        let vision = &overview.cells[&(
            "2026-12-02".to_owned(),
            "vision".to_owned(),
            "EUR".to_owned(),
        )];
        assert_eq!((vision.amount, vision.unpriced), (Decimal::ZERO, 4));
        let groups: Vec<(&str, &str)> = overview
            .groups
            .iter()
            .map(|((name, currency), _)| (name.as_str(), currency.as_str()))
            .collect();
        assert_eq!(
            groups,
            [("chat", "EUR"), ("vision", "EUR"), ("chat", "USD")]
        );
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
