//! Reconciliation: panoptic's estimates beside what the provider billed.
//!
//! A [`Reconciliation`] reads the estimates with the same [`CostQuery`] the
//! reports use (days in the bill's time zone), joins them with
//! [`BillLine`]s from a bill source (`panoptic-bills`, or lines made by
//! hand), and gives one [`ReconRow`] per day and group: estimate, billed
//! list, credits and net, the difference and the ratio, a flag when the
//! difference is past the tolerance, and the [`Reason`]s the data shows.
//! [`Reconciliation::adjustments`] turns the differences into
//! `kind: "adjustment"` events spread over the day's callers, which
//! [`Reconciliation::apply`] writes with deterministic ids.
//!
//! ```
//! use panoptic_ledger::query::{CostQuery, CostRow, GroupBy};
//! use panoptic_ledger::reconcile::{BillLine, Reconciliation};
//!
//! let day = "2026-11-02".parse().unwrap();
//! let recon = Reconciliation::new("openai", day, day.succ_opt().unwrap());
//! let bill = [BillLine::new("openai", day, "1.00".parse().unwrap(), "1.00".parse().unwrap())];
//! // Estimates as `CostQuery::run` returns them, grouped by `recon.estimate_dims(&bill)`.
//! assert_eq!(recon.estimate_dims(&bill), [GroupBy::Day]);
//! let report = recon.compare(&[], &[], &bill);
//! assert_eq!(report.rows[0].difference.to_string(), "1.00");
//! assert_eq!(report.rows[0].reasons[0].code(), "not_estimated");
//! ```

mod allocate;
mod cancelled;
mod fixed;
mod keys;
mod lines;
mod reason;
mod write;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use crate::query::{CostQuery, CostRow, GroupBy, QueryError};
use panoptic_core::BillingEvent;
pub use panoptic_core::naming::label_form;
use panoptic_core::prices::rates::Rates;

pub use allocate::{Fallback, adjustment_id};
pub use cancelled::is_cancelled;
use cancelled::{cancelled_rows, stopped_events};
pub use fixed::{FixedCost, Share};
pub(crate) use keys::normalize_value;
use keys::{bill_value, entry, normalize};
pub use lines::{Basis, BillLine, ReconRow, Report};
pub use reason::Reason;
pub use write::ApplySummary;

/// A key value standing for "every value": the bill cannot tell this
/// dimension apart, so both sides are summed over it.
pub const ANY: &str = "*";
/// A key value for bill lines that do not name a dimension the others name
/// (a job with no panoptic label).
pub const NONE: &str = "(none)";

/// A reconciliation of one provider over whole days.
#[derive(Debug, Clone, PartialEq)]
pub struct Reconciliation {
    provider: String,
    zone: Tz,
    start: NaiveDate,
    end: NaiveDate,
    by: Vec<GroupBy>,
    tolerance: Decimal,
    min_difference: Decimal,
    basis: Basis,
    late_days: u32,
    include_late: bool,
    today: Option<NaiveDate>,
    /// The first day a bill line is marked estimated on.
    estimated_from: Option<NaiveDate>,
    share: Share,
    env: Option<String>,
    rates: Rates,
}

impl Reconciliation {
    /// `provider`'s days from `start` up to, not including, `end`: by day
    /// and service, UTC days, 1 % tolerance, list basis, 3 late days.
    pub fn new(provider: impl Into<String>, start: NaiveDate, end: NaiveDate) -> Self {
        Reconciliation {
            provider: provider.into(),
            zone: Tz::UTC,
            start,
            end,
            by: vec![GroupBy::Day, GroupBy::Service],
            tolerance: Decimal::new(1, 2),
            min_difference: Decimal::ZERO,
            basis: Basis::List,
            late_days: 3,
            include_late: false,
            today: None,
            estimated_from: None,
            share: Share::Estimate,
            env: None,
            rates: Rates::none(),
        }
    }

    /// The bill's time zone: days are cut there on both sides (Google:
    /// America/Los_Angeles).
    pub fn time_zone(mut self, zone: Tz) -> Self {
        self.zone = zone;
        self
    }

    /// Groups by day and these of `service`, `resource`, `user`.
    ///
    /// # Errors
    /// Any other dimension.
    pub fn by(mut self, dimensions: impl IntoIterator<Item = GroupBy>) -> Result<Self, String> {
        let mut by = vec![GroupBy::Day];
        for dimension in dimensions {
            match dimension {
                GroupBy::Day => {}
                GroupBy::Service | GroupBy::Resource | GroupBy::User => {
                    if !by.contains(&dimension) {
                        by.push(dimension);
                    }
                }
                other => {
                    return Err(format!(
                        "cannot reconcile by {}: use day, service, resource, user",
                        other.as_str()
                    ));
                }
            }
        }
        self.by = by;
        Ok(self)
    }

    /// A relative difference past this (`0.01`: 1 %) flags a row.
    pub fn tolerance(mut self, tolerance: Decimal) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Differences up to this amount are never flagged (rounding, cents).
    pub fn min_difference(mut self, amount: Decimal) -> Self {
        self.min_difference = amount;
        self
    }

    /// Compare with the list or the net amount.
    pub fn basis(mut self, basis: Basis) -> Self {
        self.basis = basis;
        self
    }

    /// Days before today whose bill may still change (default 3).
    pub fn late_days(mut self, days: u32) -> Self {
        self.late_days = days;
        self
    }

    /// Whether [`adjustments`](Self::adjustments) and
    /// [`apply`](Self::apply) book the late days too (default: no). A
    /// late day's bill is still arriving, so an adjustment booked from it
    /// makes estimate + adjustment read the partial bill; left alone, its
    /// rows are flagged late and its earlier adjustments kept.
    pub fn include_late(mut self, include: bool) -> Self {
        self.include_late = include;
        self
    }

    /// The first day whose bill may still change: `late_days` before
    /// today, or the first day a line of the bill was marked estimated
    /// ([`estimated_in`](Self::estimated_in)), whichever comes first.
    pub fn late_from(&self) -> NaiveDate {
        let by_age = self.late_by_age();
        self.estimated_from.map_or(by_age, |day| day.min(by_age))
    }

    /// The first day late by its age alone (`late_days` before today).
    fn late_by_age(&self) -> NaiveDate {
        let today = self
            .today
            .unwrap_or_else(|| Utc::now().with_timezone(&self.zone).date_naive());
        today
            .checked_sub_days(Days::new(u64::from(self.late_days)))
            .unwrap_or(today)
    }

    /// Takes the days `bill` marks estimated as late (Cost Explorer marks
    /// the days of a month not yet closed): from the first of them on,
    /// rows are flagged late and left alone by [`apply`](Self::apply)
    /// unless late days are included.
    pub fn estimated_in(mut self, bill: &[BillLine]) -> Self {
        self.estimated_from = bill.iter().filter(|l| l.estimated).map(|l| l.day).min();
        self
    }

    /// Today, in the bill's zone (default: now).
    pub fn today(mut self, today: NaiveDate) -> Self {
        self.today = Some(today);
        self
    }

    /// What [`adjustments`](Self::adjustments) shares a difference by
    /// (default [`Share::Estimate`]; a fixed cost such as a cluster:
    /// [`Share::Calls`]).
    pub fn share_by(mut self, share: Share) -> Self {
        self.share = share;
        self
    }

    /// Only `env`'s estimates were compared: [`apply`](Self::apply) then
    /// writes and removes adjustments in `panoptic-{env}` alone, leaving
    /// other environments' adjustments of the same days as they are.
    pub fn env(mut self, env: impl Into<String>) -> Self {
        self.env = Some(env.into());
        self
    }

    /// Exchange rates for estimates in another currency than the bill's:
    /// each is converted at the rate in effect on its day and the row says
    /// so. Without a rate such an estimate stays in a row of its own.
    pub fn rates(mut self, rates: Rates) -> Self {
        self.rates = rates;
        self
    }

    /// Provider reconciled.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The first day.
    pub fn start(&self) -> NaiveDate {
        self.start
    }

    /// The day after the last.
    pub fn end(&self) -> NaiveDate {
        self.end
    }

    /// The zone's midnight starting `day`, in UTC.
    pub fn day_start(&self, day: NaiveDate) -> DateTime<Utc> {
        let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
        self.zone
            .from_local_datetime(&midnight)
            .earliest()
            .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc))
    }

    /// `base` (env, user, tag filters) for this provider, these days and
    /// this zone, not grouped.
    pub fn query(&self, base: &CostQuery) -> CostQuery {
        base.clone()
            .provider(self.provider.clone())
            .since(self.day_start(self.start))
            .until(self.day_start(self.end))
            .time_zone(self.zone)
    }

    /// The dimensions the estimates are grouped by for `bill`: the
    /// reconciliation's, less those no bill line names (summed over).
    pub fn estimate_dims(&self, bill: &[BillLine]) -> Vec<GroupBy> {
        self.by
            .iter()
            .copied()
            .filter(|d| *d == GroupBy::Day || bill.iter().any(|l| bill_value(l, *d).is_some()))
            .collect()
    }

    /// Reads the estimates from MongoDB and compares them with `bill`.
    pub async fn run(
        &self,
        client: &mongodb::Client,
        base: &CostQuery,
        bill: &[BillLine],
    ) -> Result<Report, QueryError> {
        let query = self.query(base).group_by(self.estimate_dims(bill));
        let estimates = query.run(client).await?;
        let stopped = stopped_events(client, &query).await?;
        let cancelled = cancelled_rows(&query, &stopped);
        Ok(self.compare(&estimates, &cancelled, bill))
    }

    /// The same over events in memory (the spool).
    pub fn run_on_events(
        &self,
        events: &[BillingEvent],
        base: &CostQuery,
        bill: &[BillLine],
    ) -> Report {
        let query = self.query(base).group_by(self.estimate_dims(bill));
        let estimates = query.run_on_events(events);
        let cancelled = cancelled_rows(&query, events);
        self.compare(&estimates, &cancelled, bill)
    }

    /// Joins `estimates` and `cancelled` (rows of [`CostQuery`] grouped by
    /// [`estimate_dims`](Self::estimate_dims)) with `bill`.
    pub fn compare(
        &self,
        estimates: &[CostRow],
        cancelled: &[CostRow],
        bill: &[BillLine],
    ) -> Report {
        let dims = self.estimate_dims(bill);
        let bill = || {
            bill.iter()
                .filter(|l| l.provider == self.provider && l.day >= self.start && l.day < self.end)
        };
        let currency = self.currency(bill().map(|l| l.currency.as_str()), estimates);
        let mut rows: BTreeMap<(Vec<String>, String), ReconRow> = BTreeMap::new();
        // Per row (as keyed in `rows`), each rate its estimates took.
        let mut conversions: BTreeMap<(Vec<String>, String), BTreeSet<String>> = BTreeMap::new();
        let from_estimate = |row: &CostRow| -> Vec<String> {
            self.by
                .iter()
                .map(|d| match dims.iter().position(|e| e == d) {
                    Some(i) => row.key[i].clone(),
                    None => ANY.to_owned(),
                })
                .collect()
        };
        for estimate in estimates {
            let key = from_estimate(estimate);
            let (amount, adjusted, converted) = self.in_currency(estimate, &key, &currency);
            let row_currency = converted.as_ref().map_or(&estimate.currency, |_| &currency);
            if let Some(rate) = converted {
                conversions
                    .entry((normalize(&self.by, &key), row_currency.clone()))
                    .or_default()
                    .insert(rate);
            }
            let row = entry(&mut rows, &self.by, key, row_currency);
            row.estimate += amount;
            row.adjusted += adjusted;
            row.calls += estimate.count;
            row.unpriced += estimate.unpriced;
        }
        for estimate in cancelled {
            let row = entry(&mut rows, &self.by, from_estimate(estimate), &currency);
            row.cancelled += estimate.count;
        }
        let mut credit_types: BTreeMap<Vec<String>, BTreeMap<String, Decimal>> = BTreeMap::new();
        for line in bill() {
            let key: Vec<String> = self
                .by
                .iter()
                .map(|d| {
                    if !dims.contains(d) {
                        ANY.to_owned()
                    } else if *d == GroupBy::Day {
                        line.day.to_string()
                    } else {
                        bill_value(line, *d).unwrap_or(NONE).to_owned()
                    }
                })
                .collect();
            let normalized = normalize(&self.by, &key);
            let row = entry(&mut rows, &self.by, key, &line.currency);
            row.list += line.list;
            row.credits += line.credits;
            row.net += line.net;
            if let Some(detail) = &line.detail {
                *row.details.entry(detail.clone()).or_default() += line.list;
            }
            let types = credit_types.entry(normalized).or_default();
            for (kind, amount) in &line.credits_by_type {
                *types.entry(kind.clone()).or_default() += *amount;
            }
        }
        let late_from = self.late_from();
        let by_age = self.late_by_age();
        let mut total = ReconRow::empty(vec!["total".to_owned()], &currency);
        let mut out = Vec::with_capacity(rows.len());
        for (row_key, mut row) in rows {
            let converted = conversions.remove(&row_key);
            let normalized = row_key.0;
            let billed = match self.basis {
                Basis::List => row.list,
                Basis::Net => row.net,
            };
            row.difference = billed - row.estimate;
            row.ratio = (!row.estimate.is_zero()).then(|| (billed / row.estimate).round_dp(4));
            let day: Option<NaiveDate> = row.key[0].parse().ok();
            let late = day.filter(|d| *d >= late_from).map(|d| Late {
                estimated: d < by_age,
            });
            row.reasons = self.reasons(&row, late, credit_types.remove(&normalized));
            if row.currency != currency {
                row.reasons.push(Reason::OtherCurrency {
                    estimate: row.currency.clone(),
                    bill: currency.clone(),
                });
            }
            if let Some(rates) = converted {
                row.reasons.push(Reason::Converted {
                    rates: rates.into_iter().collect(),
                });
            }
            row.flagged = row.difference.abs() > self.min_difference
                && row.relative().is_none_or(|r| r > self.tolerance);
            if row.currency == currency {
                total.add(&row);
            }
            out.push(row);
        }
        let billed_total = match self.basis {
            Basis::List => total.list,
            Basis::Net => total.net,
        };
        total.ratio =
            (!total.estimate.is_zero()).then(|| (billed_total / total.estimate).round_dp(4));
        total.flagged = out.iter().any(|r| r.flagged);
        Report {
            provider: self.provider.clone(),
            by: self.by.clone(),
            basis: self.basis,
            currency,
            rows: out,
            total,
        }
    }

    /// The report's currency: the bill's (its first line's), else the
    /// estimates' when they have one, else USD.
    fn currency<'a>(
        &self,
        mut bill: impl Iterator<Item = &'a str>,
        estimates: &[CostRow],
    ) -> String {
        if let Some(currency) = bill.next() {
            return currency.to_owned();
        }
        let mut currencies = estimates.iter().map(|e| e.currency.as_str());
        match currencies.next() {
            Some(first) if currencies.all(|c| c == first) => first.to_owned(),
            _ => "USD".to_owned(),
        }
    }

    /// An estimate's amounts in `currency` through the rates, with the
    /// rate applied; as they are, in their own currency, when no rate
    /// converts them.
    fn in_currency(
        &self,
        estimate: &CostRow,
        key: &[String],
        currency: &str,
    ) -> (Decimal, Decimal, Option<String>) {
        if estimate.currency == currency {
            return (estimate.amount, estimate.adjusted, None);
        }
        // The rate of the row's day; the last day when rows span days.
        let day = key
            .first()
            .and_then(|d| d.parse::<NaiveDate>().ok())
            .unwrap_or_else(|| self.end.pred_opt().unwrap_or(self.end));
        let Some(rate) = self.rates.rate(&estimate.currency, currency, day) else {
            return (estimate.amount, estimate.adjusted, None);
        };
        (
            estimate.amount * rate.rate,
            estimate.adjusted * rate.rate,
            Some(rate.to_string()),
        )
    }

    fn reasons(
        &self,
        row: &ReconRow,
        late: Option<Late>,
        credit_types: Option<BTreeMap<String, Decimal>>,
    ) -> Vec<Reason> {
        let mut reasons = Vec::new();
        if row.unpriced > 0 {
            reasons.push(Reason::Unpriced {
                calls: row.unpriced,
            });
        }
        if row.calls == 0 && !row.list.is_zero() {
            reasons.push(Reason::NotEstimated);
        }
        if row.cancelled > 0 && row.difference > Decimal::ZERO {
            reasons.push(Reason::Cancelled {
                calls: row.cancelled,
            });
        }
        if !row.credits.is_zero() {
            reasons.push(Reason::Credits {
                total: row.credits,
                by_type: credit_types.unwrap_or_default().into_iter().collect(),
            });
        }
        // A recent day's bill may still change, whichever way it differs
        // (usage exported late, credits applied later).
        if let Some(late) = late.filter(|_| !row.difference.is_zero()) {
            reasons.push(Reason::LateData {
                days: self.late_days,
                estimated: late.estimated,
            });
        } else if row.list.is_zero() && row.net.is_zero() && !row.estimate.is_zero() {
            reasons.push(Reason::NotBilled);
        }
        reasons
    }
}

/// Why a row's day is late.
#[derive(Clone, Copy)]
struct Late {
    /// Only because the bill marks it estimated (not by its age).
    estimated: bool,
}

#[cfg(test)]
mod tests;
