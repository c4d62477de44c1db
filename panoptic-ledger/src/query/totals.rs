//! What a report's rows add up to: one total per currency, each with the
//! calls it leaves out for want of a price, so that neither two currencies
//! nor an unknown amount ever hide inside one number.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::CostRow;

/// The rows of one currency, added up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CurrencyTotal {
    /// ISO 4217 code.
    pub currency: String,
    /// Sum of the rows' `amount` (priced calls only).
    pub amount: Decimal,
    /// Sum of the rows' `adjusted`, apart as in the rows.
    pub adjusted: Decimal,
    /// Calls with no amount, not in `amount`.
    pub unpriced: u64,
    /// Calls.
    pub count: u64,
    /// Calls whose outcome is not `ok`.
    pub errors: u64,
}

impl CurrencyTotal {
    /// True when there were calls and none had a price: its `amount` of
    /// zero means unknown, not free.
    pub fn all_unpriced(&self) -> bool {
        self.count > 0 && self.unpriced == self.count && self.amount.is_zero()
    }
}

/// One total per currency in `rows`, by code.
///
/// ```
/// use panoptic_ledger::query::{CostQuery, totals};
/// assert!(totals(&CostQuery::new().run_on_events([])).is_empty());
/// ```
pub fn totals(rows: &[CostRow]) -> Vec<CurrencyTotal> {
    let mut by_currency: BTreeMap<&str, CurrencyTotal> = BTreeMap::new();
    for row in rows {
        let total = by_currency
            .entry(&row.currency)
            .or_insert_with(|| CurrencyTotal {
                currency: row.currency.clone(),
                ..CurrencyTotal::default()
            });
        total.amount += row.amount;
        total.adjusted += row.adjusted;
        total.unpriced += row.unpriced;
        total.count += row.count;
        total.errors += row.errors;
    }
    by_currency
        .into_values()
        .map(|mut total| {
            total.amount = total.amount.normalize();
            total.adjusted = total.adjusted.normalize();
            total
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::testing::{by_service, event};

    #[test]
    fn one_total_per_currency_with_its_unpriced_calls() {
        let events = [
            event("A", Some("1.5"), "USD", 1.0),
            event("B", Some("2"), "EUR", 1.0),
            event("B", Some("0.5"), "USD", 1.0),
            event("C", None, "USD", 1.0),
            event("D", None, "GBP", 1.0),
        ];
        let totals = totals(&by_service(&events));
        let shown: Vec<_> = totals
            .iter()
            .map(|t| {
                (
                    t.currency.as_str(),
                    t.amount.to_string(),
                    t.unpriced,
                    t.count,
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                ("EUR", "2".to_owned(), 0, 1),
                ("GBP", "0".to_owned(), 1, 1),
                ("USD", "2".to_owned(), 1, 3),
            ]
        );
        assert!(totals[1].all_unpriced() && !totals[2].all_unpriced());
    }
}
