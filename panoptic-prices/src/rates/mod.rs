//! Exchange rates the user gives, dated, for the one place amounts in two
//! currencies may meet: a total asked for in one currency. panoptic never
//! fetches a rate nor converts on its own; without a rate, amounts in
//! different currencies stay apart.
//!
//! A rate file (named by `PANOPTIC_RATES`, or `--rates` on the command
//! line) is TOML:
//!
//! ```toml
//! # 1 EUR bought 1.0842 USD on 2026-12-01
//! [[rate]]
//! from = "EUR"
//! to = "USD"
//! rate = "1.0842"
//! date = "2026-12-01"
//! source = "ECB reference rate"   # optional
//! ```
//!
//! The rate applied to a day is the latest one dated on or before it; a
//! rate given one way also converts back (1 / rate, shown as such).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;

/// The variable naming a rate file.
pub const RATES_ENV: &str = "PANOPTIC_RATES";

/// One dated rate: 1 `from` bought `rate` `to` on `date`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rate {
    /// ISO 4217 code converted from.
    pub from: String,
    /// ISO 4217 code converted to.
    pub to: String,
    /// What one unit of `from` is worth in `to`.
    pub rate: Decimal,
    /// The day the rate was taken.
    pub date: NaiveDate,
    /// Where it was taken from, as the user wrote it.
    pub source: Option<String>,
    /// True when this is the inverse of a rate given the other way.
    pub inverted: bool,
}

impl fmt::Display for Rate {
    /// `1 EUR = 1.0842 USD (2026-12-01)`: what a converted figure shows.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "1 {} = {} {} ({}",
            self.from,
            self.rate.normalize(),
            self.to,
            self.date
        )?;
        if self.inverted {
            write!(f, ", inverse of the {}→{} rate", self.to, self.from)?;
        }
        f.write_str(")")
    }
}

/// The rates given for one pair, by date, each with its source.
type RatesByDate = BTreeMap<NaiveDate, (Decimal, Option<String>)>;

/// A table of dated rates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rates {
    /// Per (from, to) as given.
    given: BTreeMap<(String, String), RatesByDate>,
    origin: String,
}

/// A rate file that cannot be used, or a conversion with no rate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RatesError {
    /// The file could not be read.
    #[error("cannot read rates from {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// The file is not a rate table.
    #[error("rates in {origin}: {reason}")]
    Invalid {
        /// The file, or `inline`.
        origin: String,
        /// What is wrong, naming the entry.
        reason: String,
    },
    /// No rate converts `from` to `to` on `on`.
    #[error(
        "no exchange rate from {from} to {to} dated on or before {on}{where_}; \
         amounts in {from} are not converted (give one in a rate file: PANOPTIC_RATES or --rates)"
    )]
    NoRate {
        /// Converted from.
        from: String,
        /// Converted to.
        to: String,
        /// The day asked.
        on: NaiveDate,
        /// ` in <file>` when a table was given.
        where_: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RateFile {
    #[serde(default)]
    rate: Vec<RateEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RateEntry {
    from: String,
    to: String,
    rate: toml::Value,
    date: toml::Value,
    source: Option<String>,
}

impl Rates {
    /// No rates: nothing converts.
    pub fn none() -> Rates {
        Rates::default()
    }

    /// Parses a rate table; `origin` names it in errors.
    ///
    /// ```
    /// use panoptic_prices::rates::Rates;
    /// let rates = Rates::parse(
    ///     "[[rate]]\nfrom = \"EUR\"\nto = \"USD\"\nrate = \"1.08\"\ndate = \"2026-12-01\"\n",
    ///     "inline",
    /// ).unwrap();
    /// let on = chrono::NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
    /// let rate = rates.rate("EUR", "USD", on).unwrap();
    /// assert_eq!(rate.to_string(), "1 EUR = 1.08 USD (2026-12-01)");
    /// ```
    pub fn parse(text: &str, origin: &str) -> Result<Rates, RatesError> {
        let invalid = |reason: String| RatesError::Invalid {
            origin: origin.to_owned(),
            reason,
        };
        let file: RateFile = toml::from_str(text).map_err(|e| invalid(one_line(&e.to_string())))?;
        let mut rates = Rates {
            given: BTreeMap::new(),
            origin: origin.to_owned(),
        };
        for (index, entry) in file.rate.into_iter().enumerate() {
            let at = format!("rate #{}", index + 1);
            let from = currency_code(&entry.from).map_err(|e| invalid(format!("{at}: {e}")))?;
            let to = currency_code(&entry.to).map_err(|e| invalid(format!("{at}: {e}")))?;
            if from == to {
                return Err(invalid(format!("{at} converts {from} to itself")));
            }
            let rate = match &entry.rate {
                // A TOML float is binary: money rates are written as text.
                toml::Value::String(text) => Decimal::from_str(text.trim())
                    .map_err(|_| invalid(format!("{at}: rate `{text}` is not a number")))?,
                toml::Value::Integer(whole) => Decimal::from(*whole),
                other => {
                    return Err(invalid(format!(
                        "{at}: write the rate as text (rate = \"1.0842\"), not a {}",
                        other.type_str()
                    )));
                }
            };
            if rate <= Decimal::ZERO {
                return Err(invalid(format!("{at}: rate {rate} is not above zero")));
            }
            let date = match &entry.date {
                toml::Value::String(text) => NaiveDate::from_str(text.trim()).ok(),
                toml::Value::Datetime(datetime) => datetime.date.and_then(|d| {
                    NaiveDate::from_ymd_opt(d.year.into(), d.month.into(), d.day.into())
                }),
                _ => None,
            }
            .ok_or_else(|| invalid(format!("{at}: date must be a day, 2026-12-01")))?;
            let by_date = rates.given.entry((from.clone(), to.clone())).or_default();
            if by_date.insert(date, (rate, entry.source)).is_some() {
                return Err(invalid(format!(
                    "{at}: a second {from}→{to} rate for {date}"
                )));
            }
        }
        Ok(rates)
    }

    /// Reads a rate file.
    pub fn load(path: &Path) -> Result<Rates, RatesError> {
        let text = std::fs::read_to_string(path).map_err(|e| RatesError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Rates::parse(&text, &path.display().to_string())
    }

    /// The file `PANOPTIC_RATES` names, or no rates when it is unset.
    pub fn from_env() -> Result<Rates, RatesError> {
        match std::env::var_os(RATES_ENV) {
            Some(path) if !path.is_empty() => Rates::load(Path::new(&path)),
            _ => Ok(Rates::none()),
        }
    }

    /// Whether the table holds no rate.
    pub fn is_empty(&self) -> bool {
        self.given.is_empty()
    }

    /// The rate from `from` to `to` in effect on `on`: the latest dated on
    /// or before it, given that way or (inverted) the other way; when both
    /// are given, the later date wins, and the rate given that way on a tie.
    pub fn rate(&self, from: &str, to: &str, on: NaiveDate) -> Option<Rate> {
        let latest = |a: &str, b: &str| {
            self.given
                .get(&(a.to_owned(), b.to_owned()))
                .and_then(|by_date| by_date.range(..=on).next_back())
                .map(|(date, (rate, source))| (*date, *rate, source.clone()))
        };
        let direct = latest(from, to);
        let inverse = latest(to, from);
        let (date, rate, source, inverted) = match (direct, inverse) {
            (Some(d), Some(i)) if i.0 > d.0 => (i.0, Decimal::ONE / i.1, i.2, true),
            (Some(d), _) => (d.0, d.1, d.2, false),
            (None, Some(i)) => (i.0, Decimal::ONE / i.1, i.2, true),
            (None, None) => return None,
        };
        Some(Rate {
            from: from.to_owned(),
            to: to.to_owned(),
            rate,
            date,
            source,
            inverted,
        })
    }

    /// `amount` of `from` in `to`, with the rate applied (none when the
    /// currencies are the same).
    pub fn convert(
        &self,
        amount: Decimal,
        from: &str,
        to: &str,
        on: NaiveDate,
    ) -> Result<(Decimal, Option<Rate>), RatesError> {
        if from == to {
            return Ok((amount, None));
        }
        let rate = self.rate(from, to, on).ok_or_else(|| RatesError::NoRate {
            from: from.to_owned(),
            to: to.to_owned(),
            on,
            where_: if self.origin.is_empty() {
                String::new()
            } else {
                format!(" in {}", self.origin)
            },
        })?;
        Ok((amount * rate.rate, Some(rate)))
    }
}

/// A currency code as ISO 4217 writes it: three letters, upper case.
pub fn currency_code(code: &str) -> Result<String, String> {
    let code = code.trim();
    if code.len() == 3 && code.chars().all(|c| c.is_ascii_alphabetic()) {
        Ok(code.to_ascii_uppercase())
    } else {
        Err(format!(
            "`{code}` is not a currency code (three letters, as USD)"
        ))
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

mod amounts;
pub use amounts::{Amounts, Converted};

#[cfg(test)]
mod tests;
