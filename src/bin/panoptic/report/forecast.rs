//! `report --forecast`: each row's spend projected to the end of the
//! period, by the budgets' forecast method, in the row's own currency
//! (converted first when `--currency` is asked).

use std::collections::BTreeMap;

use chrono::Utc;
use panoptic::Decimal;
use panoptic::budget::PeriodKey;
use panoptic::query::{ConvertedRow, CostRow, GroupBy, totals};

use super::conversion::{self, Conversion};
use super::figures;
use super::{ForecastPeriod, ReportArgs, Store};

/// The projections of one report.
pub(super) struct Forecasts {
    /// Each row's, in order.
    pub per_row: Vec<Decimal>,
    /// Each currency's, over every group.
    per_currency: BTreeMap<String, Decimal>,
}

impl Forecasts {
    /// The projection of everything in `currency`.
    pub(super) fn total(&self, currency: &str) -> Decimal {
        self.per_currency.get(currency).copied().unwrap_or_default()
    }
}

/// The projection of each of `rows`, in order, and per currency; the
/// totals go to stderr with the method.
pub(super) async fn per_row(
    store: &Store<'_>,
    args: &ReportArgs,
    period: ForecastPeriod,
    conversion: Option<&Conversion>,
    rows: &[ConvertedRow],
) -> Result<Forecasts, String> {
    let at = args.filters.until.unwrap_or_else(Utc::now);
    let key = PeriodKey::utc(period.into(), at);
    // The period's days so far, per row: the time dimensions of the
    // report are left out (a row's forecast is its group's).
    let dims: Vec<(usize, GroupBy)> = args
        .by
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, g)| !matches!(g, GroupBy::Day | GroupBy::Hour))
        .collect();
    let series = store
        .rows(
            args.filters
                .query()
                .since(key.start)
                .until(at)
                .group_by(dims.iter().map(|(_, g)| *g).chain([GroupBy::Day])),
        )
        .await?;
    let series: Vec<CostRow> = conversion::rows(conversion, series)?
        .into_iter()
        .map(|r| r.row)
        .collect();
    let per_row = rows
        .iter()
        .map(|converted| {
            let row = &converted.row;
            let wanted: Vec<&String> = dims.iter().map(|(i, _)| &row.key[*i]).collect();
            project(&key, &series, &row.currency, &wanted)
        })
        .collect();
    let mut per_currency = BTreeMap::new();
    let mut said = Vec::new();
    for total in totals(&series) {
        let projected = project(&key, &series, &total.currency, &[]);
        said.push(format!(
            "{} {} (so far: {})",
            projected.round_dp(6).normalize(),
            total.currency,
            figures::unpriced_note(total.unpriced, total.count)
        ));
        per_currency.insert(total.currency, projected);
    }
    if said.is_empty() {
        said.push("nothing spent".to_owned());
    }
    eprintln!(
        "panoptic: forecast for {} (UTC) as of {}: {}; method: spend so far \
         plus the mean daily spend of the period's complete days for each day left, \
         per currency",
        key.name,
        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        said.join(", ")
    );
    Ok(Forecasts {
        per_row,
        per_currency,
    })
}

/// The end-of-period projection, in `currency`, of the groups whose key
/// starts with `wanted` (every group for none): `series` is grouped by
/// the wanted dimensions, then day.
fn project(key: &PeriodKey, series: &[CostRow], currency: &str, wanted: &[&String]) -> Decimal {
    let days = key.days_elapsed() as usize;
    let mut daily = vec![Decimal::ZERO; days];
    for row in series.iter().filter(|r| r.currency == currency) {
        let (group, day) = row.key.split_at(row.key.len() - 1);
        if group.iter().zip(wanted).any(|(have, want)| have != *want) {
            continue;
        }
        let Ok(day) = chrono::NaiveDate::parse_from_str(&day[0], "%Y-%m-%d") else {
            continue;
        };
        let index = (day - key.first_day).num_days();
        if let Some(slot) = usize::try_from(index).ok().and_then(|i| daily.get_mut(i)) {
            *slot += row.amount;
        }
    }
    // No limit here: only the projection is shown.
    panoptic::budget::forecast(key.first_day, &daily, key.days(), Decimal::MAX).end_of_period
}
