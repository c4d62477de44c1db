//! One currency out of several, only when the user asks for it: each
//! row's amounts converted through the user's dated rates, and rows that
//! then share a key merged (with exact percentiles), each keeping the
//! rates that made its figure so that they can be shown beside it.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use panoptic_prices::rates::{Rate, Rates, RatesError};

use super::CostRow;
use super::histogram::{GroupKey, Partial, finish, merge};

/// A row in the currency asked for, with the rates applied to it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvertedRow {
    /// The merged row; `currency` is the one asked for.
    pub row: CostRow,
    /// One rate per other currency that went into `row`, by code; empty
    /// when every amount was in that currency already.
    pub rates: Vec<Rate>,
}

/// `rows` with their amounts in `to`, at the rate in effect on `on`
/// (the latest dated on or before it), sorted as reports are (largest
/// first). Rows of one key in several currencies become one row.
///
/// Refuses when a currency with an amount has no rate: a total that
/// silently left it out would look whole. A row with nothing to convert
/// (all its calls unpriced, or zero) needs no rate.
///
/// ```
/// use panoptic_ledger::query::{CostQuery, GroupBy, convert_rows};
/// use panoptic_prices::rates::Rates;
/// let rates = Rates::parse(
///     "[[rate]]\nfrom = \"EUR\"\nto = \"USD\"\nrate = \"1.08\"\ndate = \"2026-12-01\"\n",
///     "inline",
/// ).unwrap();
/// let rows = CostQuery::new().group_by([GroupBy::Service]).run_on_events([]);
/// let on = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
/// assert!(convert_rows(&rows, &rates, "USD", on).unwrap().is_empty());
/// ```
pub fn convert_rows(
    rows: &[CostRow],
    rates: &Rates,
    to: &str,
    on: NaiveDate,
) -> Result<Vec<ConvertedRow>, RatesError> {
    let mut groups: BTreeMap<GroupKey, Partial> = BTreeMap::new();
    let mut applied: BTreeMap<Vec<String>, BTreeMap<String, Rate>> = BTreeMap::new();
    for row in rows {
        let mut partial = Partial {
            amount: row.amount,
            adjusted: row.adjusted,
            unpriced: row.unpriced,
            quantity: row.quantity,
            count: row.count,
            errors: row.errors,
            durations: row.durations.clone(),
        };
        if !(row.amount.is_zero() && row.adjusted.is_zero()) {
            let (amount, rate) = rates.convert(row.amount, &row.currency, to, on)?;
            partial.amount = amount;
            partial.adjusted = match &rate {
                Some(rate) => row.adjusted * rate.rate,
                None => row.adjusted,
            };
            if let Some(rate) = rate {
                applied
                    .entry(row.key.clone())
                    .or_default()
                    .insert(rate.from.clone(), rate);
            }
        }
        merge(
            groups.entry((row.key.clone(), to.to_owned())).or_default(),
            &partial,
        );
    }
    Ok(finish(groups)
        .into_iter()
        .map(|row| ConvertedRow {
            rates: applied
                .remove(&row.key)
                .map(|by_currency| by_currency.into_values().collect())
                .unwrap_or_default(),
            row,
        })
        .collect())
}

#[cfg(test)]
mod tests;
