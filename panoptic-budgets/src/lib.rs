//! Budgets that hold before the call: a `#[billable(budget = "…")]` call
//! reserves its estimate in MongoDB before its body runs, shared by every
//! process that uses the same database, and is refused in `enforce` mode
//! when the budget cannot cover it. Alerts fire once per budget, period
//! and threshold across all processes.
//!
//! State lives in the database `panoptic_budgets` (no `panoptic-` prefix,
//! so reports, which sum `panoptic-*` databases, never count it):
//! `budgets` (definitions), `periods` (spent, reserved and remaining per
//! budget and period, and the reservations in flight with their expiry,
//! each held and recorded in one atomic write) and `alerts` (one per
//! threshold fired).
//!
//! A budget counts spend in its own currency. Spend in another currency
//! counts only through a dated rate the user gives (`PANOPTIC_RATES`, or
//! the builder's `.budget_rates(…)`), converted on the day it is counted;
//! without one it is left out and the period says so ([`Coverage`]: the
//! status, `panoptic budgets` and every alert show it), as it says how
//! many calls had no amount. A reservation whose estimate is in a currency
//! the budget cannot convert cannot be checked: the budget's
//! `on_unavailable` policy decides, as when MongoDB does not answer:
//! fail-closed refuses the call (naming the missing rate), fail-open holds
//! nothing and lets it run, its spend then shown as not counted.
//!
//! Beside the spool, on disk: the database's definitions, cached by each
//! successful read and used, with their policy, while MongoDB has not
//! answered (`budgets.cache`); and every spend and settlement, written
//! down before it is counted and kept in batch files until it is counted,
//! exactly once, by this process or a later one (`budget-backlog/`).
//!
//! A reservation is answered on a thread of its own, never behind spend,
//! within the operation timeout; when none comes, the caller applies the
//! budget's `on_unavailable` policy itself, sync and async alike, and the
//! event says so (`metadata.budget_unanswered`). A reservation answered
//! after its caller gave up is released at once.
#![cfg_attr(docsrs, feature(doc_cfg))]

//!
//! The engine plugs into `panoptic-core` through its budget hook: the
//! `panoptic` facade's builder (`.budget(…)`, `.budgets_from_database()`,
//! `PANOPTIC_BUDGETS`) collects a [`BudgetSetup`] and hands core the
//! function that starts a [`Broker`].

mod alerts;
mod broker;
mod cache;
mod counting;
mod coverage;
mod define;
mod faults;
mod forecast;
mod journal;
mod known;
mod pending;
mod period;
mod reserve;
mod serve;
mod settings;
mod setup;
mod store;
#[cfg(feature = "webhooks")]
mod webhook;

pub use broker::{AlertCallback, Broker, BrokerSettings, Clock};
pub use coverage::Coverage;
pub use define::{Budget, BudgetError, FailurePolicy, Mode, Period, Scope};
pub use forecast::{Forecast, forecast};
pub use panoptic_core::budget_hook::{BudgetExceeded, Refusable, Reservation, Reserved};
pub use panoptic_core::prices::rates::{Amounts, Rate, Rates};
pub use period::PeriodKey;
pub use setup::{BudgetSetup, statuses};
pub use store::{BudgetStatus, BudgetStore};

use std::fmt;

use rust_decimal::Decimal;

/// The database that holds budget state.
pub const BUDGET_DATABASE: &str = "panoptic_budgets";

/// A threshold crossed, sent once per budget, period and threshold; or
/// spend in a currency the budget has no rate for, sent once per budget,
/// period and currency.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// The budget's name.
    pub budget: String,
    /// The period.
    pub period: String,
    /// The threshold in percent of the limit (`80`), or `None` for
    /// "forecast to exceed" (or for `cannot_count`).
    pub percent: Option<u32>,
    /// Spent so far (counted: see `coverage`).
    pub spent: Decimal,
    /// The limit.
    pub limit: Decimal,
    /// The currency.
    pub currency: String,
    /// Set when the alert is that spend in this currency is not counted:
    /// no rate converts it into the budget's.
    pub cannot_count: Option<String>,
    /// What `spent` leaves out and what it converted, as the period holds
    /// it when the alert is sent.
    pub coverage: Coverage,
}

impl Alert {
    /// `80`, `forecast` or `uncounted-EUR`: the alert's claim, as records
    /// and webhooks name it.
    pub fn threshold(&self) -> String {
        match (&self.cannot_count, self.percent) {
            (Some(currency), _) => format!("uncounted-{currency}"),
            (None, Some(p)) => p.to_string(),
            (None, None) => "forecast".to_owned(),
        }
    }

    /// The alert's lines about what `spent` leaves out or converted.
    pub fn notes(&self) -> Vec<String> {
        self.coverage.notes(&self.currency)
    }
}

impl fmt::Display for Alert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.cannot_count, self.percent) {
            (Some(other), _) => write!(
                f,
                "budget `{}` for {} cannot count spend in {other}",
                self.budget, self.period
            )?,
            (None, Some(p)) => write!(
                f,
                "budget `{}` for {} crossed {p} %: {} of {} {} spent",
                self.budget,
                self.period,
                self.spent.normalize(),
                self.limit.normalize(),
                self.currency
            )?,
            (None, None) => write!(
                f,
                "budget `{}` for {} is forecast to exceed {} {} ({} spent)",
                self.budget,
                self.period,
                self.limit.normalize(),
                self.currency,
                self.spent.normalize()
            )?,
        }
        for note in self.notes() {
            write!(f, "; {note}")?;
        }
        Ok(())
    }
}
