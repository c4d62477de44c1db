//! Why an estimate and a bill differ, as far as the data can tell.

use std::fmt;

use rust_decimal::Decimal;

/// One explanation of a row's difference, read off the events and the bill.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// Calls whose amount panoptic could not price (`metadata.unpriced`):
    /// they count in the bill, not in the estimate.
    Unpriced {
        /// How many.
        calls: u64,
    },
    /// Billed, and panoptic saw no call at all: calls made outside
    /// panoptic (another program, the console, a scheduled job).
    NotEstimated,
    /// Estimated, and nothing on the bill for it.
    NotBilled,
    /// Credits (free tier, promotions, discounts) lower the net amount.
    Credits {
        /// Sum of the credits (zero or negative).
        total: Decimal,
        /// Per credit type (`FREE_TIER`, `PROMOTION`, …).
        by_type: Vec<(String, Decimal)>,
    },
    /// The bill for recent days is not complete yet: providers export
    /// usage hours or days late.
    LateData {
        /// How many days back the bill may still change.
        days: u32,
        /// The bill itself marks the day estimated (Cost Explorer's
        /// `Estimated`), whatever its age.
        estimated: bool,
    },
    /// Calls that were cancelled: the provider bills the work done before
    /// the cancel, which panoptic may not know.
    Cancelled {
        /// How many.
        calls: u64,
    },
    /// Estimated in another currency than the bill's, and no rate given
    /// to convert it: the row stands apart, out of the total.
    OtherCurrency {
        /// The estimate's currency.
        estimate: String,
        /// The bill's.
        bill: String,
    },
    /// Estimates in another currency, converted into the bill's at the
    /// rates the user gave.
    Converted {
        /// Each rate applied (`1 EUR = 1.08 USD (2026-12-01)`).
        rates: Vec<String>,
    },
}

impl Reason {
    /// A short stable name (`unpriced`, `not_estimated`, …) for scripts.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::Unpriced { .. } => "unpriced",
            Reason::NotEstimated => "not_estimated",
            Reason::NotBilled => "not_billed",
            Reason::Credits { .. } => "credits",
            Reason::LateData { .. } => "late_data",
            Reason::Cancelled { .. } => "cancelled",
            Reason::OtherCurrency { .. } => "other_currency",
            Reason::Converted { .. } => "converted",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Unpriced { calls } => write!(f, "{calls} unpriced call(s) not in the estimate"),
            Reason::NotEstimated => {
                f.write_str("billed but never estimated: calls made outside panoptic")
            }
            Reason::NotBilled => f.write_str("estimated but not on the bill"),
            Reason::Credits { total, by_type } => {
                write!(f, "credits {total}")?;
                if !by_type.is_empty() {
                    let parts: Vec<String> =
                        by_type.iter().map(|(k, v)| format!("{k} {v}")).collect();
                    write!(f, " ({})", parts.join(", "))?;
                }
                Ok(())
            }
            Reason::LateData {
                estimated: true, ..
            } => write!(
                f,
                "late data: the bill marks this day estimated; it may still change"
            ),
            Reason::LateData { days, .. } => write!(
                f,
                "late data: the bill of the last {days} day(s) is not complete"
            ),
            Reason::Cancelled { calls } => write!(
                f,
                "{calls} cancelled call(s): the provider bills work done before the cancel"
            ),
            Reason::OtherCurrency { estimate, bill } => write!(
                f,
                "estimated in {estimate}, billed in {bill}: not compared \
                 (give a {estimate}→{bill} rate: PANOPTIC_RATES or --rates)"
            ),
            Reason::Converted { rates } => {
                write!(f, "estimate converted at {}", rates.join("; "))
            }
        }
    }
}
