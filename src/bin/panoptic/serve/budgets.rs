//! The budgets page: every budget's state in its current period, read
//! without writing (`BudgetStore::status_read_only`: expired reservations
//! are left out of `reserved`, not released).

use chrono::{DateTime, Utc};
use panoptic::Decimal;
use panoptic::budget::{Budget, BudgetStore, Mode, Period};

/// A budget in the period that holds now.
pub use panoptic::budget::BudgetStatus as Row;

/// Every budget, by name, with its state at `now`, read without writing.
pub async fn rows(client: &mongodb::Client, now: DateTime<Utc>) -> Result<Vec<Row>, String> {
    let store = BudgetStore::new(client);
    let mut rows = Vec::new();
    for budget in store.list().await? {
        rows.push(store.status_read_only(&budget, now).await?);
    }
    Ok(rows)
}

pub fn mode(mode: Mode) -> &'static str {
    match mode {
        Mode::Observe => "observe",
        Mode::Warn => "warn",
        Mode::Enforce => "enforce",
    }
}

pub fn period(period: Period) -> &'static str {
    match period {
        Period::Day => "day",
        Period::Week => "week",
        Period::Month => "month",
    }
}

/// `provider=gcp service=BigQuery tag=nightly`, or `everything`.
pub fn scope(budget: &Budget) -> String {
    if budget.scope.is_everything() {
        "everything".to_owned()
    } else {
        budget.scope.to_string()
    }
}

/// Cents once there are any; small amounts keep their digits.
pub fn rounded(amount: Decimal) -> Decimal {
    amount
        .round_dp(if amount.abs() >= Decimal::ONE { 2 } else { 6 })
        .normalize()
}
