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

//!
//! The engine plugs into `panoptic-core` through its budget hook: the
//! `panoptic` facade's builder (`.budget(…)`, `.budgets_from_database()`,
//! `PANOPTIC_BUDGETS`) collects a [`BudgetSetup`] and hands core the
//! function that starts a [`Broker`].

mod alerts;
mod broker;
mod define;
mod forecast;
mod period;
mod serve;
mod settings;
mod setup;
mod store;
#[cfg(feature = "webhooks")]
mod webhook;

pub use broker::{AlertCallback, Broker, BrokerSettings, Clock};
pub use define::{Budget, BudgetError, FailurePolicy, Mode, Period, Scope};
pub use forecast::{Forecast, forecast};
pub use panoptic_core::budget_hook::{BudgetExceeded, Refusable, Reservation, Reserved};
pub use period::PeriodKey;
pub use setup::{BudgetSetup, statuses};
pub use store::{BudgetStatus, BudgetStore};

use std::fmt;

use rust_decimal::Decimal;

/// The database that holds budget state.
pub const BUDGET_DATABASE: &str = "panoptic_budgets";

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
