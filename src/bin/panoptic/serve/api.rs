//! The routes: the pages (one embedded shell), its files, and the JSON and
//! CSV API the page itself reads. Every route is a GET and reads only.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State as Extract};
use axum::routing::get;
use chrono::{SecondsFormat, Utc};
use panoptic::query::{CostRow, GroupBy, totals};
use panoptic::{BillingEvent, Decimal};
use serde_json::{Value, json};

use super::assets;
use super::budgets;
use super::filters::{Filters, Stack, page};
use super::overview::{self, FORECAST_DAYS, Sums};
use super::respond::{
    Answer, Failure, bad_request, csv_answer, json_answer, ms, not_found, number, unavailable,
};
use super::source::Source;
use crate::render::{csv, number};

/// Shared by every request.
pub struct State {
    pub source: Source,
    pub refresh_seconds: u64,
}

type Shared = Extract<Arc<State>>;
type Pairs = Query<Vec<(String, String)>>;

/// Events per page of the drill-down.
const PAGE_SIZE: u64 = 50;
/// Most events one CSV download holds.
const CSV_EVENTS: u64 = 100_000;

/// What the reconciliation page says when the ledger holds no adjustment.
const RECONCILE_HINT: &str = "panoptic reconcile --provider PROVIDER --since 30d --apply";

pub fn router(state: Arc<State>) -> Router {
    let mut router = Router::new();
    for path in [
        "/",
        "/overview",
        "/resources",
        "/users",
        "/events",
        "/budgets",
        "/reconciliation",
    ] {
        router = router.route(path, get(assets::page));
    }
    router
        .route("/assets/app.js", get(assets::script))
        .route("/assets/style.css", get(assets::style))
        .route("/assets/icon.svg", get(assets::icon))
        .route("/api/meta", get(meta))
        .route("/api/options", get(options))
        .route("/api/overview", get(overview))
        .route("/api/overview.csv", get(overview_csv))
        .route("/api/resources", get(resources))
        .route("/api/resources.csv", get(resources_csv))
        .route("/api/users", get(users))
        .route("/api/users.csv", get(users_csv))
        .route("/api/events", get(events))
        .route("/api/events.csv", get(events_csv))
        .route("/api/budgets", get(budgets))
        .route("/api/budgets.csv", get(budgets_csv))
        .route("/api/reconciliation", get(reconciliation))
        .fallback(not_found)
        .with_state(state)
}

fn source_json(state: &State) -> Value {
    let (kind, description, reason) = state.source.kind();
    json!({ "kind": kind, "description": description, "reason": reason })
}

async fn rows(state: &State, filters: &Filters, by: &[GroupBy]) -> Result<Vec<CostRow>, Failure> {
    let query = filters.query();
    state
        .source
        .rows(&query.group_by(by.iter().copied()))
        .await
        .map_err(unavailable)
}

async fn meta(Extract(state): Shared) -> Answer {
    json_answer(json!({
        "source": source_json(&state),
        "refresh_seconds": state.refresh_seconds,
        "page_size": PAGE_SIZE,
    }))
}

/// The values each filter can take in the period, whatever the others.
async fn options(Extract(state): Shared, Query(pairs): Pairs) -> Answer {
    let parsed = Filters::parse(&pairs).map_err(bad_request)?;
    let period = Filters::period(parsed.since, parsed.until);
    let rows = rows(
        &state,
        &period,
        &[
            GroupBy::Env,
            GroupBy::Provider,
            GroupBy::Service,
            GroupBy::User,
        ],
    )
    .await?;
    let mut sets: [std::collections::BTreeSet<&str>; 4] = Default::default();
    for row in &rows {
        for (set, value) in sets.iter_mut().zip(&row.key) {
            set.insert(value);
        }
    }
    let [env, provider, service, user] = sets;
    json_answer(json!({ "env": env, "provider": provider, "service": service, "user": user }))
}

/// Every amount with its currency, and beside it the unpriced calls it
/// leaves out: one total per currency, never their sum.
async fn overview(Extract(state): Shared, Query(pairs): Pairs) -> Answer {
    let o = overview::compute(&state.source, &pairs).await?;
    let days = o.period_days;
    let period_days = days.round_dp(1).normalize();
    json_answer(json!({
        "source": source_json(&state),
        "stack": stack_name(o.stack),
        "calls": o.all.calls,
        "errors": o.all.errors,
        "unpriced": o.all.unpriced,
        "period_days": period_days.to_string(),
        "forecast": {
            "days": FORECAST_DAYS,
            "method": format!(
                "daily average over the period (total ÷ {period_days} days) × {FORECAST_DAYS} days"
            ),
        },
        "totals": o.totals.iter().map(|(currency, total)| with_sums(json!({
            "currency": currency,
            "adjusted": total.adjusted.normalize().to_string(),
            "daily_average": budgets::rounded(total.daily_average(days)).to_string(),
            "forecast": total.forecast(days).to_string(),
        }), total)).collect::<Vec<_>>(),
        "days": o.days,
        "cells": o.cells.iter().map(|((day, group, currency), cell)| with_sums(json!({
            "day": day, "group": group, "currency": currency,
        }), cell)).collect::<Vec<_>>(),
        "groups": o.groups.iter().map(|((name, currency), group)| with_sums(json!({
            "name": name, "currency": currency,
        }), group)).collect::<Vec<_>>(),
    }))
}

/// `fields` and, beside them, a slice's amount and the calls it counts
/// and leaves out.
fn with_sums(mut fields: Value, sums: &Sums) -> Value {
    fields["amount"] = json!(sums.amount.normalize().to_string());
    fields["calls"] = json!(sums.calls);
    fields["errors"] = json!(sums.errors);
    fields["unpriced"] = json!(sums.unpriced);
    fields
}

fn stack_name(stack: Stack) -> &'static str {
    match stack {
        Stack::Service => "service",
        Stack::Provider => "provider",
    }
}

async fn overview_csv(Extract(state): Shared, Query(pairs): Pairs) -> Answer {
    let o = overview::compute(&state.source, &pairs).await?;
    let stack = stack_name(o.stack);
    let mut lines = vec![format!("day,{stack},amount,currency,unpriced,calls")];
    for ((day, group, currency), cell) in &o.cells {
        lines.push(csv::line(&[
            day.clone(),
            String::from(group),
            cell.amount.normalize().to_string(),
            String::from(currency),
            cell.unpriced.to_string(),
            cell.calls.to_string(),
        ]));
    }
    csv_answer("overview", lines)
}

const RESOURCE_BY: [GroupBy; 3] = [GroupBy::Resource, GroupBy::Service, GroupBy::Provider];

async fn resources(Extract(state): Shared, Query(pairs): Pairs) -> Answer {
    let filters = Filters::parse(&pairs).map_err(bad_request)?;
    let rows = rows(&state, &filters, &RESOURCE_BY).await?;
    json_answer(json!({
        "source": source_json(&state),
        "rows": rows.iter().map(|row| json!({
            "resource": row.key[0],
            "service": row.key[1],
            "provider": row.key[2],
            "amount": row.amount.normalize().to_string(),
            "currency": row.currency,
            "calls": row.count,
            "errors": row.errors,
            "unpriced": row.unpriced,
            "p50_ms": ms(row.p50_ms),
            "p95_ms": ms(row.p95_ms),
        })).collect::<Vec<_>>(),
    }))
}

async fn resources_csv(Extract(state): Shared, Query(pairs): Pairs) -> Answer {
    let filters = Filters::parse(&pairs).map_err(bad_request)?;
    let rows = rows(&state, &filters, &RESOURCE_BY).await?;
    let mut lines = vec![
        "resource,service,provider,amount,currency,calls,errors,unpriced,p50_ms,p95_ms".to_owned(),
    ];
    for row in &rows {
        lines.push(csv::line(&[
            String::from(&row.key[0]),
            String::from(&row.key[1]),
            String::from(&row.key[2]),
            row.amount.normalize().to_string(),
            String::from(&row.currency),
            row.count.to_string(),
            row.errors.to_string(),
            row.unpriced.to_string(),
            number(row.p50_ms),
            number(row.p95_ms),
        ]));
    }
    csv_answer("resources", lines)
}

async fn users(Extract(state): Shared, Query(pairs): Pairs) -> Answer {
    let filters = Filters::parse(&pairs).map_err(bad_request)?;
    let rows = rows(&state, &filters, &[GroupBy::User]).await?;
    json_answer(json!({
        "source": source_json(&state),
        "rows": rows.iter().map(|row| json!({
            "user": row.key[0],
            "amount": row.amount.normalize().to_string(),
            "currency": row.currency,
            "calls": row.count,
            "errors": row.errors,
            "unpriced": row.unpriced,
            "p95_ms": ms(row.p95_ms),
        })).collect::<Vec<_>>(),
    }))
}

async fn users_csv(Extract(state): Shared, Query(pairs): Pairs) -> Answer {
    let filters = Filters::parse(&pairs).map_err(bad_request)?;
    let rows = rows(&state, &filters, &[GroupBy::User]).await?;
    let mut lines = vec!["user,amount,currency,calls,errors,unpriced".to_owned()];
    for row in &rows {
        lines.push(csv::line(&[
            String::from(&row.key[0]),
            row.amount.normalize().to_string(),
            String::from(&row.currency),
            row.count.to_string(),
            row.errors.to_string(),
            row.unpriced.to_string(),
        ]));
    }
    csv_answer("users", lines)
}

fn event_json(event: &BillingEvent) -> Value {
    json!({
        "id": event.id.to_hex(),
        "ts": event.ts.to_rfc3339_opts(SecondsFormat::Millis, true),
        "env": event.env,
        "user": event.username,
        "provider": event.provider,
        "service": event.service,
        "resource": event.resource,
        "kind": event.kind.to_string(),
        "outcome": event.outcome.to_string(),
        "quantity": event.quantity,
        "unit": event.unit,
        "amount": event.amount.map(|a| a.normalize().to_string()),
        "currency": event.currency,
        "unpriced": event.metadata.unpriced(),
        "duration_ms": ms(event.metadata.duration_ms),
        "error": event.metadata.error,
    })
}

async fn events(Extract(state): Shared, Query(pairs): Pairs) -> Answer {
    let filters = Filters::parse(&pairs).map_err(bad_request)?;
    let page = page(&pairs).map_err(bad_request)?;
    let query = filters.query();
    let (events, more) = state
        .source
        .events(&query, page, PAGE_SIZE)
        .await
        .map_err(unavailable)?;
    json_answer(json!({
        "source": source_json(&state),
        "page": page,
        "page_size": PAGE_SIZE,
        "more": more,
        "events": events.iter().map(event_json).collect::<Vec<_>>(),
    }))
}

async fn events_csv(Extract(state): Shared, Query(pairs): Pairs) -> Answer {
    let filters = Filters::parse(&pairs).map_err(bad_request)?;
    let query = filters.query();
    let (events, _) = state
        .source
        .events(&query, 1, CSV_EVENTS)
        .await
        .map_err(unavailable)?;
    let mut lines = vec![
        "id,ts,env,user,provider,service,resource,kind,outcome,quantity,unit,amount,currency,unpriced,duration_ms,error"
            .to_owned(),
    ];
    for e in &events {
        lines.push(csv::line(&[
            e.id.to_hex(),
            e.ts.to_rfc3339_opts(SecondsFormat::Millis, true),
            String::from(&e.env),
            String::from(&e.username),
            String::from(&e.provider),
            String::from(&e.service),
            String::from(&e.resource),
            e.kind.to_string(),
            e.outcome.to_string(),
            e.quantity.to_string(),
            String::from(&e.unit),
            e.amount
                .map(|a| a.normalize().to_string())
                .unwrap_or_default(),
            String::from(&e.currency),
            String::from(e.metadata.unpriced().unwrap_or_default()),
            number::optional_millis(e.metadata.duration_ms),
            String::from(e.metadata.error.as_deref().unwrap_or_default()),
        ]));
    }
    csv_answer("events", lines)
}

/// The budgets' rows, or `None` on the spool (budgets live in MongoDB).
async fn budget_rows(state: &State) -> Result<Option<Vec<budgets::Row>>, Failure> {
    let Some(client) = state.source.client() else {
        return Ok(None);
    };
    budgets::rows(client, Utc::now())
        .await
        .map(Some)
        .map_err(unavailable)
}

async fn budgets(Extract(state): Shared) -> Answer {
    let Some(rows) = budget_rows(&state).await? else {
        return json_answer(json!({
            "source": source_json(&state),
            "available": false,
            "text": "Budgets live in MongoDB, and this dashboard is reading the spool: start MongoDB and restart `panoptic serve` to see them.",
            "budgets": [],
        }));
    };
    json_answer(json!({
        "source": source_json(&state),
        "available": true,
        "run": "panoptic budgets set NAME --limit 25 --period day",
        "budgets": rows.iter().map(|budgets::Row { status: row, unpriced }| {
            let b = &row.budget;
            json!({
                "name": b.name,
                "mode": budgets::mode(b.mode),
                "period": budgets::period(b.period),
                "period_name": row.period.name,
                "time_zone": b.time_zone,
                "spent": row.spent.normalize().to_string(),
                "unpriced": unpriced,
                "reserved": row.reserved.normalize().to_string(),
                "limit": b.limit.normalize().to_string(),
                "currency": b.currency,
                "forecast": budgets::rounded(row.forecast.end_of_period).to_string(),
                "daily_rate": budgets::rounded(row.forecast.daily_rate).to_string(),
                "runs_out": row.forecast.runs_out.map(|d| d.to_string()),
                "scope": budgets::scope(b),
                // What `spent` leaves out or converted (another currency).
                "notes": row.notes(),
            })
        }).collect::<Vec<_>>(),
    }))
}

async fn budgets_csv(Extract(state): Shared) -> Answer {
    let Some(rows) = budget_rows(&state).await? else {
        return Err(unavailable(
            "budgets live in MongoDB, and this dashboard is reading the spool".to_owned(),
        ));
    };
    let mut lines = vec![
        "name,mode,period,period_name,time_zone,spent,reserved,limit,currency,unpriced,forecast,runs_out,scope"
            .to_owned(),
    ];
    for budgets::Row {
        status: row,
        unpriced,
    } in &rows
    {
        let b = &row.budget;
        lines.push(csv::line(&[
            String::from(&b.name),
            budgets::mode(b.mode).to_owned(),
            budgets::period(b.period).to_owned(),
            String::from(&row.period.name),
            String::from(&b.time_zone),
            row.spent.normalize().to_string(),
            row.reserved.normalize().to_string(),
            b.limit.normalize().to_string(),
            String::from(&b.currency),
            unpriced.to_string(),
            budgets::rounded(row.forecast.end_of_period).to_string(),
            row.forecast
                .runs_out
                .map(|d| d.to_string())
                .unwrap_or_default(),
            budgets::scope(b),
        ]));
    }
    csv_answer("budgets", lines)
}

/// The ledger's estimates beside the adjustments `panoptic reconcile
/// --apply` wrote: their sum is what the bill said. Totals are per
/// currency, each with the unpriced calls its estimate leaves out.
async fn reconciliation(Extract(state): Shared, Query(pairs): Pairs) -> Answer {
    let filters = Filters::parse(&pairs).map_err(bad_request)?;
    let mut rows = rows(&state, &filters, &[GroupBy::Day, GroupBy::Service]).await?;
    rows.sort_by(|a, b| a.key.cmp(&b.key).then_with(|| a.currency.cmp(&b.currency)));
    let reconciled = rows.iter().any(|r| !r.adjusted.is_zero());
    let ratio = |estimate: Decimal, billed: Decimal| {
        (!estimate.is_zero()).then(|| (billed / estimate).round_dp(4).normalize().to_string())
    };
    // The ratio is over the reconciled cells only: elsewhere there is no
    // bill to compare with.
    let reconciled_rows: Vec<CostRow> = rows
        .iter()
        .filter(|r| !r.adjusted.is_zero())
        .cloned()
        .collect();
    let reconciled_totals = totals(&reconciled_rows);
    let totals: Vec<Value> = totals(&rows)
        .iter()
        .map(|total| {
            let done = reconciled_totals
                .iter()
                .find(|done| done.currency == total.currency);
            let done_estimate = done.map(|d| d.amount).unwrap_or_default();
            let done_billed = done.map(|d| d.amount + d.adjusted).unwrap_or_default();
            json!({
                "currency": total.currency,
                "estimate": total.amount.to_string(),
                "unpriced": total.unpriced,
                "adjusted": total.adjusted.to_string(),
                "billed": (total.amount + total.adjusted).normalize().to_string(),
                "reconciled": done.is_some(),
                "reconciled_estimate": done_estimate.normalize().to_string(),
                "reconciled_billed": done_billed.normalize().to_string(),
                "ratio": ratio(done_estimate, done_billed),
            })
        })
        .collect();
    json_answer(json!({
        "source": source_json(&state),
        "reconciled": reconciled,
        "run": RECONCILE_HINT,
        "totals": totals,
        "rows": rows.iter().map(|row| {
            let billed = row.amount + row.adjusted;
            let done = !row.adjusted.is_zero();
            json!({
                "day": row.key[0],
                "service": row.key[1],
                "currency": row.currency,
                "estimate": row.amount.normalize().to_string(),
                "calls": row.count,
                "unpriced": row.unpriced,
                "adjusted": row.adjusted.normalize().to_string(),
                "reconciled": done,
                "billed": done.then(|| billed.normalize().to_string()),
                "ratio": if done { ratio(row.amount, billed) } else { None },
            })
        }).collect::<Vec<_>>(),
    }))
}
