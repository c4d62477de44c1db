//! `report --forecast`: each row's spend projected to the end of the
//! period, by the budgets' forecast method.

use chrono::Utc;
use panoptic::Decimal;
use panoptic::budget::PeriodKey;
use panoptic::query::{CostRow, GroupBy};

use super::{ForecastPeriod, ReportArgs, Store};

/// The projection of each of `rows`, in order; the total goes to stderr
/// with the method.
pub(super) async fn per_row(
    store: &Store<'_>,
    args: &ReportArgs,
    period: ForecastPeriod,
    rows: &[CostRow],
) -> Result<Vec<Decimal>, String> {
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
    let projected = rows
        .iter()
        .map(|row| {
            let wanted: Vec<&String> = dims.iter().map(|(i, _)| &row.key[*i]).collect();
            project(&key, &series, &wanted)
        })
        .collect();
    let total = project(&key, &series, &[]);
    eprintln!(
        "panoptic: forecast for {} (UTC) as of {}: {} in all; method: spend so far \
         plus the mean daily spend of the period's complete days for each day left",
        key.name,
        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        total.round_dp(6).normalize()
    );
    Ok(projected)
}

/// The end-of-period projection of the groups whose key starts with
/// `wanted` (all of `series` for none): `series` is grouped by the wanted
/// dimensions, then day.
fn project(key: &PeriodKey, series: &[CostRow], wanted: &[&String]) -> Decimal {
    let days = key.days_elapsed() as usize;
    let mut daily = vec![Decimal::ZERO; days];
    for row in series {
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
