//! What a budget's `spent` covers and what it leaves out in one period:
//! spend in a currency it has no rate for, spend it converted (and at
//! which rates), calls with no amount. Kept in the period document, so
//! every process and `panoptic budgets` read the same; shown beside the
//! figure, so a total that leaves something out never looks whole.

use bson::{Bson, Document};
use rust_decimal::Decimal;

use panoptic_core::money::from_decimal128;
use panoptic_core::prices::rates::Amounts;

/// Period-document keys (documents of per-currency sums, an array of
/// rates as text, counts).
pub(crate) mod keys {
    pub const UNCOUNTED: &str = "uncounted";
    pub const CONVERTED: &str = "converted";
    pub const RATES_APPLIED: &str = "rates_applied";
    pub const UNPRICED_CALLS: &str = "unpriced_calls";
    pub const CALLS_AT_ESTIMATE: &str = "calls_at_estimate";
}

/// What a period's `spent` leaves out, and what it converted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Coverage {
    /// Spend left out, as given, by currency: no rate converts it into
    /// the budget's currency.
    pub uncounted: Amounts,
    /// Spend counted through a rate, as given, by currency.
    pub converted: Amounts,
    /// Each rate applied (`1 EUR = 1.08 USD (2026-12-01)`), once.
    pub rates_applied: Vec<String>,
    /// Calls with neither an amount nor a reservation: not counted.
    pub unpriced_calls: u64,
    /// Reserved calls with no amount, counted at their estimate.
    pub calls_at_estimate: u64,
}

impl Coverage {
    /// Read from a period document (empty when it has none of the keys).
    pub(crate) fn of(period: &Document) -> Coverage {
        let sums = |key: &str| {
            let mut amounts = Amounts::default();
            if let Ok(by_currency) = period.get_document(key) {
                for (currency, value) in by_currency {
                    if let Bson::Decimal128(d) = value {
                        amounts.add(currency, from_decimal128(*d).unwrap_or_default());
                    }
                }
            }
            amounts
        };
        let count = |key: &str| match period.get(key) {
            Some(Bson::Int32(n)) => u64::try_from(*n).unwrap_or_default(),
            Some(Bson::Int64(n)) => u64::try_from(*n).unwrap_or_default(),
            _ => 0,
        };
        Coverage {
            uncounted: sums(keys::UNCOUNTED),
            converted: sums(keys::CONVERTED),
            rates_applied: period
                .get_array(keys::RATES_APPLIED)
                .map(|rates| {
                    rates
                        .iter()
                        .filter_map(|r| r.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            unpriced_calls: count(keys::UNPRICED_CALLS),
            calls_at_estimate: count(keys::CALLS_AT_ESTIMATE),
        }
    }

    /// Whether `spent` holds every call of the period, as priced.
    pub fn is_complete(&self) -> bool {
        self.uncounted.is_empty() && self.unpriced_calls == 0
    }

    /// One line per thing to know beside a figure in `currency`:
    /// `12.50 EUR not counted: no EUR→USD rate …`, `counted 10 EUR at
    /// 1 EUR = 1.08 USD (2026-12-01)`, `3 unpriced calls not counted …`.
    pub fn notes(&self, currency: &str) -> Vec<String> {
        let mut notes: Vec<String> = self
            .uncounted
            .iter()
            .map(|(from, amount)| {
                format!(
                    "{} {from} not counted: no {from}→{currency} rate \
                     (give one in PANOPTIC_RATES)",
                    money(amount)
                )
            })
            .collect();
        for (from, amount) in self.converted.iter() {
            let prefix = format!("1 {from} = ");
            let rates: Vec<&str> = self
                .rates_applied
                .iter()
                .filter(|r| r.starts_with(&prefix))
                .map(String::as_str)
                .collect();
            notes.push(format!(
                "counted {} {from} at {}",
                money(amount),
                rates.join("; ")
            ));
        }
        if self.unpriced_calls > 0 {
            notes.push(format!(
                "{} unpriced {} not counted (no amount, no estimate)",
                self.unpriced_calls,
                calls(self.unpriced_calls)
            ));
        }
        if self.calls_at_estimate > 0 {
            notes.push(format!(
                "{} unpriced {} counted at {} estimate",
                self.calls_at_estimate,
                calls(self.calls_at_estimate),
                if self.calls_at_estimate == 1 {
                    "its"
                } else {
                    "their"
                }
            ));
        }
        notes
    }

    /// The amount left out in `currency` (zero when none).
    pub fn uncounted_in(&self, currency: &str) -> Decimal {
        self.uncounted.get(currency)
    }
}

/// Cents at least, more digits when the amount has them: `12.50`,
/// `0.00031`.
pub(crate) fn money(amount: Decimal) -> String {
    let mut amount = amount.normalize();
    if amount.scale() < 2 {
        amount.rescale(2);
    }
    amount.to_string()
}

fn calls(n: u64) -> &'static str {
    if n == 1 { "call" } else { "calls" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;
    use panoptic_core::money::to_decimal128;

    #[test]
    fn notes_name_what_is_left_out_and_each_rate() {
        let period = doc! {
            "uncounted": { "EUR": to_decimal128(Decimal::new(1250, 2)) },
            "converted": { "GBP": to_decimal128(Decimal::from(10)) },
            "rates_applied": ["1 GBP = 1.27 USD (2026-12-01)"],
            "unpriced_calls": 3_i64,
            "calls_at_estimate": 1_i32,
        };
        let coverage = Coverage::of(&period);
        assert!(!coverage.is_complete());
        assert_eq!(
            coverage.notes("USD"),
            [
                "12.50 EUR not counted: no EUR→USD rate (give one in PANOPTIC_RATES)",
                "counted 10.00 GBP at 1 GBP = 1.27 USD (2026-12-01)",
                "3 unpriced calls not counted (no amount, no estimate)",
                "1 unpriced call counted at its estimate",
            ]
        );
        assert!(Coverage::of(&doc! {}).is_complete());
    }
}
