//! The budgets page: every budget's state in its current period, read
//! without writing. `BudgetStore::status` releases expired reservations (a
//! write), so the state is computed here from the period document instead,
//! with expired reservations left out of `reserved`.

use bson::{Bson, Document, doc};
use chrono::{DateTime, Days, Utc};
use futures_util::TryStreamExt;
use panoptic::Decimal;
use panoptic::budget::{
    BUDGET_DATABASE, Budget, BudgetStore, Forecast, Mode, Period, PeriodKey, forecast,
};
use panoptic::money::from_decimal128;

/// A budget in the period that holds now.
pub struct Row {
    pub budget: Budget,
    pub period: PeriodKey,
    pub spent: Decimal,
    pub reserved: Decimal,
    pub forecast: Forecast,
}

fn decimal(document: &Document, key: &str) -> Decimal {
    match document.get(key) {
        Some(Bson::Decimal128(d)) => from_decimal128(*d).unwrap_or_default(),
        Some(Bson::Int32(n)) => Decimal::from(*n),
        Some(Bson::Int64(n)) => Decimal::from(*n),
        _ => Decimal::ZERO,
    }
}

/// Every budget, by name, with its state at `now`.
pub async fn rows(client: &mongodb::Client, now: DateTime<Utc>) -> Result<Vec<Row>, String> {
    let budgets = BudgetStore::new(client).list().await?;
    let database = client.database(BUDGET_DATABASE);
    let periods = database.collection::<Document>("periods");
    let reservations = database.collection::<Document>("reservations");
    let error = |e: mongodb::error::Error| crate::options::connect::describe(&e);
    let mut rows = Vec::with_capacity(budgets.len());
    for budget in budgets {
        let zone = budget
            .zone()
            .map_err(|e| format!("budget `{}`: {}", budget.name, e.0))?;
        let key = PeriodKey::of(budget.period, zone, now);
        let id = BudgetStore::period_id(&budget, &key);
        let period = periods
            .find_one(doc! { "_id": &id })
            .await
            .map_err(error)?
            .unwrap_or_default();
        // Reservations of processes that died mid-call still count in the
        // document until a writer releases them: not shown as held.
        let expired: Vec<Document> = reservations
            .find(doc! { "period_id": &id, "expires": { "$lt": bson::DateTime::from_chrono(now) } })
            .await
            .map_err(error)?
            .try_collect()
            .await
            .map_err(error)?;
        let expired: Decimal = expired.iter().map(|r| decimal(r, "amount")).sum();
        let days = period.get_document("days").cloned().unwrap_or_default();
        let daily: Vec<Decimal> = (0..key.days_elapsed())
            .map(|i| {
                decimal(
                    &days,
                    &(key.first_day + Days::new(u64::from(i))).to_string(),
                )
            })
            .collect();
        let forecast = forecast(key.first_day, &daily, key.days(), budget.limit);
        rows.push(Row {
            spent: decimal(&period, "spent"),
            reserved: (decimal(&period, "reserved") - expired).max(Decimal::ZERO),
            forecast,
            period: key,
            budget,
        });
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
    let s = &budget.scope;
    let mut parts: Vec<String> = [
        ("provider", &s.provider),
        ("service", &s.service),
        ("resource", &s.resource),
        ("username", &s.username),
        ("user", &s.user),
        ("env", &s.env),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
    .collect();
    parts.extend(s.tags.iter().map(|t| format!("tag={t}")));
    if parts.is_empty() {
        "everything".to_owned()
    } else {
        parts.join(" ")
    }
}

/// Cents once there are any; small amounts keep their digits.
pub fn rounded(amount: Decimal) -> Decimal {
    amount
        .round_dp(if amount.abs() >= Decimal::ONE { 2 } else { 6 })
        .normalize()
}
