//! Sums kept per currency: what every total in panoptic adds into, so
//! that two currencies are never one number.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{Rate, Rates, RatesError};

/// Amounts by currency (ISO 4217), each summed apart.
///
/// ```
/// use panoptic_prices::rates::Amounts;
/// use rust_decimal::Decimal;
/// let mut total = Amounts::default();
/// total.add("USD", Decimal::new(150, 2));
/// total.add("EUR", Decimal::new(2, 0));
/// total.add("USD", Decimal::new(50, 2));
/// assert_eq!(total.to_string(), "2 EUR + 2.00 USD");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Amounts(BTreeMap<String, Decimal>);

impl Amounts {
    /// Adds `amount` in `currency`.
    pub fn add(&mut self, currency: &str, amount: Decimal) {
        *self.0.entry(currency.to_owned()).or_default() += amount;
    }

    /// The sum in `currency` (zero when none).
    pub fn get(&self, currency: &str) -> Decimal {
        self.0.get(currency).copied().unwrap_or_default()
    }

    /// Each currency and its sum, by code.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Decimal)> {
        self.0.iter().map(|(c, a)| (c.as_str(), *a))
    }

    /// The currencies present.
    pub fn currencies(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Everything in `to`, through `rates` on `on`: the total and each
    /// rate applied (to be shown beside it). Refuses when a currency has
    /// no rate: a partial total would look whole.
    pub fn convert(&self, rates: &Rates, to: &str, on: NaiveDate) -> Result<Converted, RatesError> {
        let mut converted = Converted {
            total: Decimal::ZERO,
            currency: to.to_owned(),
            applied: Vec::new(),
        };
        for (currency, amount) in self.iter() {
            let (value, rate) = rates.convert(amount, currency, to, on)?;
            converted.total += value;
            converted.applied.extend(rate);
        }
        Ok(converted)
    }
}

impl fmt::Display for Amounts {
    /// `12.5 EUR + 3.10 USD`; `0` when empty.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("0");
        }
        for (i, (currency, amount)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" + ")?;
            }
            write!(f, "{amount} {currency}")?;
        }
        Ok(())
    }
}

/// A total converted into one currency, with the rates that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    /// The sum in `currency`.
    pub total: Decimal,
    /// What it is in.
    pub currency: String,
    /// One rate per other currency converted.
    pub applied: Vec<Rate>,
}

impl fmt::Display for Converted {
    /// `14.21 USD (1 EUR = 1.0842 USD (2026-12-01))`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.total.round_dp(2), self.currency)?;
        if !self.applied.is_empty() {
            let rates: Vec<String> = self.applied.iter().map(Rate::to_string).collect();
            write!(f, " (converted at {})", rates.join("; "))?;
        }
        Ok(())
    }
}
