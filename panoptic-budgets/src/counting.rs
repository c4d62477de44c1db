//! How one amount adds to one budget: as it is when it is in the budget's
//! currency, converted through a rate the user gave, or not at all (no
//! rate) and noted as left out. A budget never adds two currencies into
//! one number on its own, and never counts a missing amount as zero.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use panoptic_core::prices::rates::{Rate, Rates};

use crate::define::Budget;

/// What one call adds to one budget's period.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Counting {
    /// Added to `spent`, in the budget's currency.
    pub counted: Decimal,
    /// The amount as given and the rate that converted it, when it was in
    /// another currency.
    pub converted: Option<(String, Decimal, String)>,
    /// The amount as given, when no rate could count it.
    pub uncounted: Option<(String, Decimal)>,
    /// A call with no amount and no reservation: nothing to count.
    pub unpriced: bool,
    /// A reserved call with no amount, counted at its estimate.
    pub at_estimate: bool,
}

impl Counting {
    /// `amount` in `currency`, counted in `budget` on the day `on`.
    pub fn amount(
        budget: &Budget,
        rates: &Rates,
        amount: Decimal,
        currency: &str,
        on: NaiveDate,
    ) -> Counting {
        match in_budget_currency(budget, rates, amount, currency, on) {
            Some((counted, rate)) => Counting {
                counted,
                converted: rate.map(|rate| (currency.to_owned(), amount, rate.to_string())),
                ..Counting::default()
            },
            None => Counting {
                uncounted: Some((currency.to_owned(), amount)),
                ..Counting::default()
            },
        }
    }

    /// A call that reported no amount and held no reservation.
    pub fn unpriced() -> Counting {
        Counting {
            unpriced: true,
            ..Counting::default()
        }
    }

    /// A reserved call that reported no amount: its estimate, counted as
    /// an amount would be.
    pub fn at_estimate(self) -> Counting {
        Counting {
            at_estimate: true,
            ..self
        }
    }
}

/// `amount` in `currency` as `budget` counts it on `on`, with the rate
/// applied (none in its own currency); `None` when no rate converts it.
pub(crate) fn in_budget_currency(
    budget: &Budget,
    rates: &Rates,
    amount: Decimal,
    currency: &str,
    on: NaiveDate,
) -> Option<(Decimal, Option<Rate>)> {
    // An event written before currencies were kept says nothing: it is
    // in the budget's, as it was counted then.
    let currency = if currency.is_empty() {
        budget.currency.as_str()
    } else {
        currency
    };
    if amount.is_zero() {
        // Nothing in any currency (a refused call): no rate needed.
        return Some((Decimal::ZERO, None));
    }
    rates.convert(amount, currency, &budget.currency, on).ok()
}

/// Why a reservation in `currency` cannot be held in `budget` on `on`.
pub(crate) fn no_rate(budget: &Budget, currency: &str, on: NaiveDate) -> String {
    format!(
        "the call's estimate is in {currency} and no {currency}→{} rate dated on or before {on} \
         is given (PANOPTIC_RATES or `.budget_rates(…)`)",
        budget.currency
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::define::Period;

    fn day() -> NaiveDate {
        "2026-12-05".parse().unwrap()
    }

    fn usd_budget() -> Budget {
        Budget::new("b", Period::Day, Decimal::from(10))
    }

    #[test]
    fn another_currency_counts_only_through_a_rate() {
        let budget = usd_budget();
        let none = Counting::amount(&budget, &Rates::none(), Decimal::new(1250, 2), "EUR", day());
        assert_eq!(none.counted, Decimal::ZERO);
        assert_eq!(
            none.uncounted,
            Some(("EUR".to_owned(), Decimal::new(1250, 2)))
        );
        let rates = Rates::parse(
            "[[rate]]\nfrom = \"EUR\"\nto = \"USD\"\nrate = \"1.08\"\ndate = \"2026-12-01\"\n",
            "inline",
        )
        .unwrap();
        let counted = Counting::amount(&budget, &rates, Decimal::from(10), "EUR", day());
        assert_eq!(counted.counted, Decimal::new(1080, 2));
        assert_eq!(
            counted.converted,
            Some((
                "EUR".to_owned(),
                Decimal::from(10),
                "1 EUR = 1.08 USD (2026-12-01)".to_owned()
            ))
        );
        assert_eq!(counted.uncounted, None);
        let same = Counting::amount(&budget, &Rates::none(), Decimal::ONE, "USD", day());
        assert_eq!((same.counted, same.converted), (Decimal::ONE, None));
    }
}
