//! Alerts: a threshold (or the forecast) crossed, or spend in a currency
//! the budget cannot count, is claimed once in MongoDB across every
//! process, then written to stderr, logged as a `billing` record, posted
//! to the budget's webhook and given to the handle's callback. Each
//! carries what the period's `spent` leaves out.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use panoptic_core::report::write_line;

use crate::Alert;
use crate::coverage::Coverage;
use crate::define::{Budget, Mode};
use crate::forecast::forecast;
use crate::period::PeriodKey;
use crate::serve::State;
use crate::store::{BudgetStore, spent_and_limit};

impl State {
    pub(crate) async fn alerts(
        &mut self,
        store: &BudgetStore,
        budget: &Budget,
        period: &bson::Document,
        at: DateTime<Utc>,
    ) {
        if budget.mode == Mode::Observe {
            return;
        }
        let (spent, limit) = spent_and_limit(period);
        let Ok(zone) = budget.zone() else { return };
        // The period the spend was counted in (a call settled after
        // midnight counts in the day it reserved in), never `at`'s own.
        let key = PeriodKey::holding(budget.period, zone, period, at);
        let period_id = BudgetStore::period_id(budget, &key);
        let coverage = Coverage::of(period);
        let mut crossed: Vec<(String, Option<u32>, Option<String>)> = budget
            .alerts
            .iter()
            .filter(|p| spent * Decimal::from(100) >= limit * Decimal::from(**p))
            .map(|p| (p.to_string(), Some(*p), None))
            .collect();
        // Said once per currency: the amount left out grows after it, and
        // every later alert and status shows it.
        crossed.extend(
            coverage
                .uncounted
                .currencies()
                .map(|c| (format!("uncounted-{c}"), None, Some(c.to_owned()))),
        );
        if budget.alert_on_forecast && spent < limit {
            let days = period.get_document("days").cloned().unwrap_or_default();
            let daily: Vec<Decimal> = (0..key.days_elapsed())
                .map(|i| {
                    let day = key.first_day + chrono::Days::new(u64::from(i));
                    match days.get(day.to_string()) {
                        Some(bson::Bson::Decimal128(d)) => {
                            panoptic_core::money::from_decimal128(*d).unwrap_or_default()
                        }
                        _ => Decimal::ZERO,
                    }
                })
                .collect();
            if forecast(key.first_day, &daily, key.days(), limit).end_of_period > limit {
                crossed.push(("forecast".to_owned(), None, None));
            }
        }
        for (threshold, percent, cannot_count) in crossed {
            let claimed =
                tokio::time::timeout(self.timeout, store.claim_alert(&period_id, &threshold)).await;
            if !matches!(claimed, Ok(Ok(true))) {
                continue;
            }
            let alert = Alert {
                budget: budget.name.clone(),
                period: key.name.clone(),
                percent,
                spent,
                limit,
                currency: budget.currency.clone(),
                cannot_count,
                coverage: coverage.clone(),
            };
            self.send(&alert, budget.webhook.as_deref());
        }
    }

    fn send(&mut self, alert: &Alert, webhook: Option<&str>) {
        write_line(&format!("panoptic: alert: {alert}"));
        if let Some(logger) = self.alert_logger.get() {
            panoptic_core::billing!(logger, "budget_alert";
                "resource" => format!("budget:{}", alert.budget),
                "amount" => "0",
                panoptic_core::keys::metadata::ALERT => true,
                "budget" => alert.budget.as_str(),
                "period" => alert.period.as_str(),
                "threshold" => alert.threshold(),
                "notes" => alert.notes().join("; "),
                "spent" => alert.spent.to_string(),
                "limit" => alert.limit.to_string());
        }
        if let Some(url) = webhook {
            #[cfg(feature = "webhooks")]
            {
                let (url, alert) = (url.to_owned(), alert.clone());
                // Off the broker's path: retries must not hold reservations
                // up. Flushes and shutdown wait for it.
                self.deliveries.push(tokio::spawn(async move {
                    if let Err(e) = crate::webhook::post(&url, &alert).await {
                        write_line(&format!("panoptic: budget alert not delivered: {e}"));
                    }
                }));
            }
            #[cfg(not(feature = "webhooks"))]
            write_line(&format!(
                "panoptic: budget `{}` names a webhook ({url}), but panoptic was built \
                 without the `webhooks` feature",
                alert.budget
            ));
        }
        if let Some(callback) = &self.on_alert {
            let callback = Arc::clone(callback);
            let alert = alert.clone();
            // A panicking callback must not take the broker down.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| callback(&alert)));
        }
    }
}
