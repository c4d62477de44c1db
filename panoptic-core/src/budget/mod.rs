//! Budgets that hold before the call: a `#[billable(budget = "…")]` call
//! reserves its estimate in MongoDB before its body runs, shared by every
//! process that uses the same database, and is refused in `enforce` mode
//! when the budget cannot cover it. Alerts fire once per budget, period
//! and threshold across all processes.
//!
//! State lives in the database `panoptic_budgets` (no `panoptic-` prefix,
//! so reports, which sum `panoptic-*` databases, never count it):
//! `budgets` (definitions), `periods` (spent, reserved and remaining per
//! budget and period, updated atomically), `reservations` (one per call in
//! flight, with an expiry) and `alerts` (one per threshold fired).

mod broker;
mod define;
mod forecast;
mod period;
mod store;
#[cfg(feature = "webhooks")]
mod webhook;

pub use broker::{AlertCallback, Clock, Reservation, Reserved};
pub(crate) use broker::{Broker, BrokerSettings, Spend};
pub use define::{Budget, BudgetError, FailurePolicy, Mode, Period, Scope};
pub use forecast::{Forecast, forecast};
pub use period::PeriodKey;
pub use store::{BudgetStatus, BudgetStore};

use std::fmt;

use rust_decimal::Decimal;

/// The database that holds budget state.
pub const BUDGET_DATABASE: &str = "panoptic_budgets";

/// A call refused because its budget could not cover the reservation
/// (or, with [`FailurePolicy::FailClosed`], because MongoDB did not
/// answer). A function with `budget = "…"` returns it through
/// `From<BudgetExceeded>` into its own error type.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetExceeded {
    /// The budget's name.
    pub budget: String,
    /// Its period (`2026-11-27`, `2026-W48`, `2026-11`).
    pub period: String,
    /// Its limit.
    pub limit: Decimal,
    /// Spent plus reserved when the call asked.
    pub committed: Decimal,
    /// What the call asked to reserve.
    pub estimate: Decimal,
    /// Set when MongoDB did not answer and the policy is fail-closed.
    pub unavailable: Option<String>,
}

impl fmt::Display for BudgetExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.unavailable {
            Some(why) => write!(
                f,
                "budget `{}` cannot be checked ({why}) and fails closed: call refused",
                self.budget
            ),
            None => write!(
                f,
                "budget `{}` for {} cannot cover {}: {} of {} committed; call refused",
                self.budget, self.period, self.estimate, self.committed, self.limit
            ),
        }
    }
}

impl std::error::Error for BudgetExceeded {}

/// A threshold crossed, sent once per budget, period and threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// The budget's name.
    pub budget: String,
    /// The period.
    pub period: String,
    /// The threshold in percent of the limit (`80`), or `None` for
    /// "forecast to exceed".
    pub percent: Option<u32>,
    /// Spent so far.
    pub spent: Decimal,
    /// The limit.
    pub limit: Decimal,
    /// The currency.
    pub currency: String,
}

impl fmt::Display for Alert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.percent {
            Some(p) => write!(
                f,
                "budget `{}` for {} crossed {p} %: {} of {} {} spent",
                self.budget, self.period, self.spent, self.limit, self.currency
            ),
            None => write!(
                f,
                "budget `{}` for {} is forecast to exceed {} {} ({} spent)",
                self.budget, self.period, self.limit, self.currency, self.spent
            ),
        }
    }
}

/// A return type a refused call can be given back as: `Result<_, E>` with
/// `E: From<BudgetExceeded>`. Checked at compile time for `budget = "…"`.
#[diagnostic::on_unimplemented(
    message = "`#[billable(budget = …)]` needs the function to return `Result<_, E>` with `E: From<panoptic::BudgetExceeded>`; `{Self}` is not",
    label = "a refused call returns `Err(BudgetExceeded.into())` here"
)]
pub trait Refusable {
    /// The refusal as this return value.
    fn refused(refusal: BudgetExceeded) -> Self;
}

impl<T, E: From<BudgetExceeded>> Refusable for Result<T, E> {
    fn refused(refusal: BudgetExceeded) -> Self {
        Err(E::from(refusal))
    }
}
