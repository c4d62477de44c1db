//! `report --currency CODE [--rates FILE]`: every amount in one currency,
//! through the user's dated rates, or an error naming the currency with
//! no rate (never a partial total).

use chrono::{NaiveDate, TimeDelta, Utc};
use panoptic::prices::rates::{Rate, Rates};
use panoptic::query::{ConvertedRow, CostRow, convert_rows};

use super::ReportArgs;

/// The currency asked for, the day whose rates apply, and the table.
pub(super) struct Conversion {
    /// ISO 4217 code every amount is converted into.
    pub to: String,
    /// The range's last day (UTC): the day before `--until` (exclusive),
    /// else today. One day for the whole report, so that every row and
    /// total uses the same rate, the latest the range has seen.
    pub on: NaiveDate,
    rates: Rates,
}

impl Conversion {
    /// The conversion `args` ask for, its rate file read now (a bad file
    /// fails before anything is queried); `None` without `--currency`.
    pub(super) fn of(args: &ReportArgs) -> Result<Option<Conversion>, String> {
        let Some(to) = &args.currency else {
            return Ok(None);
        };
        let rates = match &args.rates {
            Some(path) => Rates::load(path).map_err(|e| e.to_string())?,
            None => Rates::none(),
        };
        let on = match args.filters.until {
            Some(until) => (until - TimeDelta::milliseconds(1)).date_naive(),
            None => Utc::now().date_naive(),
        };
        Ok(Some(Conversion {
            to: to.clone(),
            on,
            rates,
        }))
    }

    /// `rows` in the asked currency, merged by key.
    pub(super) fn apply(&self, rows: &[CostRow]) -> Result<Vec<ConvertedRow>, String> {
        convert_rows(rows, &self.rates, &self.to, self.on).map_err(|e| e.to_string())
    }
}

/// `rows` converted when asked, else as they are (no rate on any).
pub(super) fn rows(
    conversion: Option<&Conversion>,
    rows: Vec<CostRow>,
) -> Result<Vec<ConvertedRow>, String> {
    match conversion {
        Some(conversion) => conversion.apply(&rows),
        None => Ok(rows
            .into_iter()
            .map(|row| ConvertedRow {
                row,
                rates: Vec::new(),
            })
            .collect()),
    }
}

/// Every distinct rate applied to `rows` (one per currency converted
/// from), for the one converted total.
pub(super) fn applied(rows: &[ConvertedRow]) -> Vec<Rate> {
    let mut rates: Vec<Rate> = Vec::new();
    for rate in rows.iter().flat_map(|r| &r.rates) {
        if !rates.iter().any(|seen| seen.from == rate.from) {
            rates.push(rate.clone());
        }
    }
    rates.sort_by(|a, b| a.from.cmp(&b.from));
    rates
}
