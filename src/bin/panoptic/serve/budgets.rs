//! The budgets page: every budget's state in its current period, read
//! without writing (`BudgetStore::status_read_only`: expired reservations
//! are left out of `reserved`, not released), and the unpriced calls its
//! spend leaves out.

use bson::{Bson, doc};
use chrono::{DateTime, Utc};
use panoptic::Decimal;
use panoptic::budget::{Budget, BudgetStatus, BudgetStore, Mode, Period};
use panoptic::query::CostQuery;

/// A budget in the period that holds now.
pub struct Row {
    pub status: BudgetStatus,
    /// Calls in its scope this period with no amount and no reservation
    /// to settle at: `spent` does not count them.
    pub unpriced: u64,
}

/// Every budget, by name, with its state at `now`, read without writing.
pub async fn rows(client: &mongodb::Client, now: DateTime<Utc>) -> Result<Vec<Row>, String> {
    let store = BudgetStore::new(client);
    let mut rows = Vec::new();
    for budget in store.list().await? {
        let status = store.status_read_only(&budget, now).await?;
        let unpriced = unpriced(client, &budget, status.period.start, now).await?;
        rows.push(Row { status, unpriced });
    }
    Ok(rows)
}

/// The events in `budget`'s scope from `start` to `now` that its spend
/// leaves out: no amount, and not settled at a reservation's estimate
/// (`metadata.budget_settled_at`).
async fn unpriced(
    client: &mongodb::Client,
    budget: &Budget,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<u64, String> {
    let scope = &budget.scope;
    let mut query = CostQuery::new().since(start).until(now);
    if let Some(env) = &scope.env {
        query = query.env(env);
    }
    for (value, set) in [
        (
            &scope.provider,
            CostQuery::provider as fn(CostQuery, String) -> CostQuery,
        ),
        (&scope.service, CostQuery::service),
        (&scope.resource, CostQuery::resource),
        (&scope.username, CostQuery::username),
        (&scope.user, CostQuery::metadata_user),
    ] {
        if let Some(value) = value {
            query = set(query, value.clone());
        }
    }
    let mut and = doc! {
        "amount": Bson::Null,
        "kind": { "$ne": "adjustment" },
        "metadata.budget_settled_at": { "$exists": false },
    };
    if !scope.tags.is_empty() {
        and.insert("metadata.tags", doc! { "$all": scope.tags.clone() });
    }
    let events = query
        .events(client, and, None)
        .await
        .map_err(|e| e.to_string())?;
    Ok(events.len() as u64)
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
