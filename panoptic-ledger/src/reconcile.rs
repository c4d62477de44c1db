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
mod fixed;
mod reason;
mod write;

use std::collections::BTreeMap;

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use crate::fields::{add_fields, text_setters};
use crate::query::{CostQuery, CostRow, GroupBy, QueryError, panoptic_databases};
pub use panoptic_core::naming::label_form;
use panoptic_core::{BillingEvent, Outcome};

pub use allocate::{Fallback, adjustment_id};
pub use fixed::{FixedCost, Share};
pub use reason::Reason;
pub use write::ApplySummary;

/// A key value standing for "every value": the bill cannot tell this
/// dimension apart, so both sides are summed over it.
pub const ANY: &str = "*";
/// A key value for bill lines that do not name a dimension the others name
/// (a job with no panoptic label).
pub const NONE: &str = "(none)";

/// One line of a provider's bill: a day's cost of one service (and
/// resource, user, SKU when the bill can tell).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillLine {
    /// Provider (`gcp`, `aws`, `openai`).
    pub provider: String,
    /// The usage day, in the bill's time zone.
    pub day: NaiveDate,
    /// The service as panoptic names it (`BigQuery`, `S3`), when the bill
    /// says.
    pub service: Option<String>,
    /// The panoptic resource, from a label or cost-allocation tag.
    pub resource: Option<String>,
    /// The panoptic username, from a label.
    pub user: Option<String>,
    /// SKU or line item (`gpt-4o-mini-2024-07-18, input`): shown as detail.
    pub detail: Option<String>,
    /// Cost at list price, before credits.
    pub list: Decimal,
    /// Credits (zero or negative).
    pub credits: Decimal,
    /// Credits per type (`FREE_TIER`, `PROMOTION`, …).
    pub credits_by_type: Vec<(String, Decimal)>,
    /// What is paid: list plus credits (and any discount the bill applies).
    pub net: Decimal,
    /// Currency (`USD`).
    pub currency: String,
}

impl BillLine {
    /// A line of `list` and `net` (credits are their difference) in USD.
    pub fn new(provider: impl Into<String>, day: NaiveDate, list: Decimal, net: Decimal) -> Self {
        BillLine {
            provider: provider.into(),
            day,
            service: None,
            resource: None,
            user: None,
            detail: None,
            list,
            credits: net - list,
            credits_by_type: Vec::new(),
            net,
            currency: "USD".into(),
        }
    }

    text_setters! {
        /// The same line for this service.
        service;
        /// The same line for this resource.
        resource;
        /// The same line for this user.
        user;
        /// The same line with a SKU or line item.
        detail;
    }
}

/// Which billed amount the estimate is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Basis {
    /// The list price: what panoptic's per-call amounts are (credits are
    /// reported, not counted as a difference).
    #[default]
    List,
    /// What is paid, after credits: the amount `apply` allocates then.
    Net,
}

impl Basis {
    /// `list` or `net`.
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::List => "list",
            Basis::Net => "net",
        }
    }
}

/// One day and group: the estimate beside the bill.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconRow {
    /// The group's value per dimension of [`Report::by`] ([`ANY`] where
    /// the bill cannot tell the dimension apart).
    pub key: Vec<String>,
    /// panoptic's estimate (priced calls, adjustments excluded).
    pub estimate: Decimal,
    /// Adjustments already written for this group.
    pub adjusted: Decimal,
    /// Calls panoptic recorded.
    pub calls: u64,
    /// Calls with no amount.
    pub unpriced: u64,
    /// Calls cancelled.
    pub cancelled: u64,
    /// Billed at list price.
    pub list: Decimal,
    /// Billed credits (zero or negative).
    pub credits: Decimal,
    /// Billed net.
    pub net: Decimal,
    /// Billed amount per SKU or line item (at list price).
    pub details: BTreeMap<String, Decimal>,
    /// The basis amount minus the estimate.
    pub difference: Decimal,
    /// The basis amount over the estimate (`None` with no estimate).
    pub ratio: Option<Decimal>,
    /// Past the tolerance.
    pub flagged: bool,
    /// Why, as far as the data tells.
    pub reasons: Vec<Reason>,
}

impl ReconRow {
    fn empty(key: Vec<String>) -> ReconRow {
        ReconRow {
            key,
            estimate: Decimal::ZERO,
            adjusted: Decimal::ZERO,
            calls: 0,
            unpriced: 0,
            cancelled: 0,
            list: Decimal::ZERO,
            credits: Decimal::ZERO,
            net: Decimal::ZERO,
            details: BTreeMap::new(),
            difference: Decimal::ZERO,
            ratio: None,
            flagged: false,
            reasons: Vec::new(),
        }
    }

    /// `|difference| / |estimate|`; `None` when there is no estimate.
    pub fn relative(&self) -> Option<Decimal> {
        (!self.estimate.is_zero()).then(|| (self.difference / self.estimate).abs())
    }

    /// Whether the bill of this row's day may still change.
    pub fn is_late(&self) -> bool {
        self.reasons
            .iter()
            .any(|r| matches!(r, Reason::LateData { .. }))
    }

    fn add(&mut self, other: &ReconRow) {
        add_fields!(self, other; estimate, adjusted, calls, unpriced, cancelled, list, credits, net, difference);
    }
}

/// The rows of a reconciliation and their total.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Provider reconciled.
    pub provider: String,
    /// Dimensions of each row's key, `Day` first.
    pub by: Vec<GroupBy>,
    /// The amount compared with the estimate.
    pub basis: Basis,
    /// One row per day and group, by day then key.
    pub rows: Vec<ReconRow>,
    /// Sums over every row (key `total`).
    pub total: ReconRow,
}

impl Report {
    /// Rows past the tolerance.
    pub fn flagged(&self) -> impl Iterator<Item = &ReconRow> {
        self.rows.iter().filter(|r| r.flagged)
    }

    /// Rows whose relative difference is over `limit` (`0.05` for 5 %),
    /// leaving out days whose bill is still arriving: what a CI gate
    /// fails on.
    pub fn over(&self, limit: Decimal, min_difference: Decimal) -> Vec<&ReconRow> {
        self.rows
            .iter()
            .filter(|r| !r.is_late() && r.difference.abs() > min_difference)
            .filter(|r| r.relative().is_none_or(|rel| rel > limit))
            .collect()
    }
}

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
    today: Option<NaiveDate>,
    share: Share,
    env: Option<String>,
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
            today: None,
            share: Share::Estimate,
            env: None,
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
        let mut rows: BTreeMap<Vec<String>, ReconRow> = BTreeMap::new();
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
            let row = entry(&mut rows, &self.by, key);
            row.estimate += estimate.amount;
            row.adjusted += estimate.adjusted;
            row.calls += estimate.count;
            row.unpriced += estimate.unpriced;
        }
        for estimate in cancelled {
            entry(&mut rows, &self.by, from_estimate(estimate)).cancelled += estimate.count;
        }
        let mut credit_types: BTreeMap<Vec<String>, BTreeMap<String, Decimal>> = BTreeMap::new();
        for line in bill.iter().filter(|l| l.provider == self.provider) {
            if line.day < self.start || line.day >= self.end {
                continue;
            }
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
            let row = entry(&mut rows, &self.by, key);
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
        let today = self
            .today
            .unwrap_or_else(|| Utc::now().with_timezone(&self.zone).date_naive());
        let late_from = today
            .checked_sub_days(Days::new(u64::from(self.late_days)))
            .unwrap_or(today);
        let mut total = ReconRow::empty(vec!["total".to_owned()]);
        let mut out = Vec::with_capacity(rows.len());
        for (normalized, mut row) in rows {
            let billed = match self.basis {
                Basis::List => row.list,
                Basis::Net => row.net,
            };
            row.difference = billed - row.estimate;
            row.ratio = (!row.estimate.is_zero()).then(|| (billed / row.estimate).round_dp(4));
            let day: Option<NaiveDate> = row.key[0].parse().ok();
            let late = day.is_some_and(|d| d >= late_from);
            row.reasons = self.reasons(&row, late, credit_types.remove(&normalized));
            row.flagged = row.difference.abs() > self.min_difference
                && row.relative().is_none_or(|r| r > self.tolerance);
            total.add(&row);
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
            rows: out,
            total,
        }
    }

    fn reasons(
        &self,
        row: &ReconRow,
        late: bool,
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
        // Billed less than estimated on a recent day: the rest may come.
        if late && row.difference < Decimal::ZERO {
            reasons.push(Reason::LateData {
                days: self.late_days,
            });
        } else if row.list.is_zero() && row.net.is_zero() && !row.estimate.is_zero() {
            reasons.push(Reason::NotBilled);
        }
        reasons
    }
}

/// `metadata.error_reason` values that say a provider's job was stopped
/// before it finished: BigQuery's `stopped` (a cancelled job), and the
/// `timeout` / `cancelled` other clients use.
const STOPPED_REASONS: [&str; 3] = ["stopped", "timeout", "cancelled"];

/// Whether `event` tells of a call cancelled or timed out: the provider
/// may bill work panoptic did not see finish. That is an `outcome:
/// "cancelled"` (a call dropped before it ended: the caller's own timeout
/// or cancel), or an error whose `metadata.error_reason` is a stop
/// reason (panoptic-gcp records a query job that outlived its deadline
/// with `error_reason: "timeout"` and what the job's statistics said so
/// far).
///
/// ```
/// use panoptic_core::{BillingEvent, Category, Kind, Metadata, Outcome};
/// use panoptic_ledger::reconcile::is_cancelled;
/// let mut event = BillingEvent {
///     id: bson::oid::ObjectId::new(), ts: chrono::Utc::now(), project_id: None,
///     env: "prod".into(), username: "ann".into(), category: Category::Infra,
///     provider: "gcp".into(), service: "BigQuery".into(), resource: "r".into(),
///     kind: Kind::Invoice, outcome: Outcome::Error, quantity: 0.0, unit: "bytes".into(),
///     amount: None, currency: "USD".into(), metadata: Metadata::default(),
/// };
/// assert!(!is_cancelled(&event));
/// event.metadata.error = Some("query job j1 not complete after 600s".into());
/// assert!(!is_cancelled(&event));
/// event.metadata.extra.insert("error_reason", "timeout");
/// assert!(is_cancelled(&event));
/// event.metadata.extra.clear();
/// event.outcome = Outcome::Cancelled;
/// assert!(is_cancelled(&event));
/// ```
pub fn is_cancelled(event: &BillingEvent) -> bool {
    if event.kind == panoptic_core::Kind::Adjustment {
        return false;
    }
    match event.outcome {
        Outcome::Cancelled => true,
        Outcome::Error => {
            let reason = event.metadata.extra.get_str("error_reason").unwrap_or("");
            STOPPED_REASONS.contains(&reason)
        }
        _ => false,
    }
}

/// Cancelled calls per group of `query`. A timed-out job is often
/// recorded twice with the same error text (the client's event for the
/// job, and the `#[billable]` function's own event for the error it
/// returned): those count once.
fn cancelled_rows<'a>(
    query: &CostQuery,
    events: impl IntoIterator<Item = &'a BillingEvent>,
) -> Vec<CostRow> {
    let mut seen = std::collections::BTreeSet::new();
    let unique: Vec<&BillingEvent> = events
        .into_iter()
        .filter(|e| query.matches(e) && is_cancelled(e))
        .filter(|e| {
            let group = query.run_on_events([*e]).pop().map(|r| r.key);
            let what = e.metadata.error.clone().unwrap_or_else(|| e.id.to_hex());
            seen.insert((group, e.env.clone(), what))
        })
        .collect();
    query.run_on_events(unique)
}

/// The events of `query` that may be cancelled calls (outcome `cancelled`
/// or `error`: few), read whole so that [`is_cancelled`] decides the same
/// on MongoDB as in memory.
async fn stopped_events(
    client: &mongodb::Client,
    query: &CostQuery,
) -> Result<Vec<BillingEvent>, QueryError> {
    use futures_util::TryStreamExt;
    let error = |e: mongodb::error::Error| QueryError::new(e.to_string());
    let mut filter = query.filter();
    filter.insert(
        "outcome",
        bson::doc! { "$in": [Outcome::Cancelled.as_str(), Outcome::Error.as_str()] },
    );
    let mut events = Vec::new();
    for database_name in panoptic_databases(client).await? {
        let database = client.database(&database_name);
        for collection in database.list_collection_names().await.map_err(error)? {
            let mut cursor = database
                .collection::<bson::Document>(&collection)
                .find(filter.clone())
                .await
                .map_err(error)?;
            while let Some(document) = cursor.try_next().await.map_err(error)? {
                // Not an event (another program's document): not counted.
                if let Ok(event) = BillingEvent::from_document(&document) {
                    events.push(event);
                }
            }
        }
    }
    Ok(events)
}

/// A bill line's value of a dimension, if it names one.
fn bill_value(line: &BillLine, dimension: GroupBy) -> Option<&str> {
    match dimension {
        GroupBy::Day => None,
        GroupBy::Service => line.service.as_deref(),
        GroupBy::Resource => line.resource.as_deref(),
        GroupBy::User => line.user.as_deref(),
        _ => None,
    }
}

/// The row of `key`, matched on the normalized key so that a label
/// (`john_doe`) meets the name it was made from (`John Doe`).
fn entry<'a>(
    rows: &'a mut BTreeMap<Vec<String>, ReconRow>,
    by: &[GroupBy],
    key: Vec<String>,
) -> &'a mut ReconRow {
    rows.entry(normalize(by, &key))
        .or_insert_with(|| ReconRow::empty(key))
}

fn normalize(by: &[GroupBy], key: &[String]) -> Vec<String> {
    by.iter()
        .zip(key)
        .map(|(d, v)| normalize_value(*d, v))
        .collect()
}

/// Services compare on letters and digits (`Cloud Run` is `CloudRun`);
/// resources and users as a label value (lowercase, `[a-z0-9_-]`, 63
/// characters), the form labels and tags can hold.
pub(crate) fn normalize_value(dimension: GroupBy, value: &str) -> String {
    if value == ANY || value == NONE {
        return value.to_owned();
    }
    match dimension {
        GroupBy::Service => value
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .flat_map(char::to_lowercase)
            .collect(),
        GroupBy::Resource | GroupBy::User => label_form(value),
        _ => value.to_owned(),
    }
}
