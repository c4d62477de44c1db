//! What it cost: filters and groupings over billing events, run as a
//! MongoDB aggregation on the server, or over the spool when there is no
//! MongoDB, with the same results for the same events.
//!
//! Per collection, the server filters (on indexed fields first), groups and
//! sums. Durations are grouped too, into logarithmic buckets 2 % wide, so
//! what comes back is bounded by the number of groups and buckets, never by
//! the number of events; groups and their duration histograms from several
//! collections or databases merge exactly here, and p50/p95 are read off
//! the merged histogram (within 1 % of the exact value).

use std::collections::BTreeMap;

use bson::{Bson, doc};
use chrono::{DateTime, Utc};
pub use chrono_tz::Tz;
use rust_decimal::Decimal;

use panoptic_core::naming::canonical_env;
use panoptic_core::{BillingEvent, Kind, Outcome};

use crate::fields::text_setters;

/// The duration bucket's name inside the group key.
const BUCKET_FIELD: &str = "_duration_bucket";
/// The currency's name inside the group key.
const CURRENCY_FIELD: &str = "_currency";

/// A dimension to group costs by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupBy {
    /// Provider (`gcp`, …).
    Provider,
    /// Service (`BigQuery`, …).
    Service,
    /// Resource (function identifier or label).
    Resource,
    /// Username.
    User,
    /// Environment.
    Env,
    /// UTC day, `2026-11-26`.
    Day,
    /// UTC hour, `2026-11-26T14:00Z` (with a time zone, `2026-11-26T06:00-0800`).
    Hour,
    /// Month, `2026-11` (in the query's time zone, UTC by default).
    Month,
}

impl GroupBy {
    /// Every dimension.
    pub const ALL: [GroupBy; 8] = [
        GroupBy::Provider,
        GroupBy::Service,
        GroupBy::Resource,
        GroupBy::User,
        GroupBy::Env,
        GroupBy::Day,
        GroupBy::Hour,
        GroupBy::Month,
    ];

    /// The name used on the command line and in output.
    pub const fn as_str(self) -> &'static str {
        match self {
            GroupBy::Provider => "provider",
            GroupBy::Service => "service",
            GroupBy::Resource => "resource",
            GroupBy::User => "user",
            GroupBy::Env => "env",
            GroupBy::Day => "day",
            GroupBy::Hour => "hour",
            GroupBy::Month => "month",
        }
    }

    /// Parses a name (`service`, `day`, …).
    ///
    /// ```
    /// use panoptic_ledger::query::GroupBy;
    /// assert_eq!(GroupBy::parse("day"), Some(GroupBy::Day));
    /// assert_eq!(GroupBy::parse("week"), None);
    /// ```
    pub fn parse(name: &str) -> Option<GroupBy> {
        GroupBy::ALL.into_iter().find(|g| g.as_str() == name.trim())
    }

    /// The `$dateToString` format of a time dimension (`None` otherwise);
    /// the same strftime codes mean the same in chrono and MongoDB.
    fn date_format(self, zoned: bool) -> Option<&'static str> {
        match self {
            GroupBy::Day => Some("%Y-%m-%d"),
            GroupBy::Month => Some("%Y-%m"),
            GroupBy::Hour if zoned => Some("%Y-%m-%dT%H:00%z"),
            GroupBy::Hour => Some("%Y-%m-%dT%H:00Z"),
            _ => None,
        }
    }

    fn expression(self, zone: Option<Tz>) -> Bson {
        if let Some(format) = self.date_format(zone.is_some()) {
            let mut to_string = doc! { "format": format, "date": "$ts" };
            if let Some(zone) = zone {
                to_string.insert("timezone", zone.name());
            }
            return doc! { "$dateToString": to_string }.into();
        }
        match self {
            GroupBy::Provider => "$provider".into(),
            GroupBy::Service => "$service".into(),
            GroupBy::Resource => "$resource".into(),
            GroupBy::User => "$username".into(),
            GroupBy::Env => "$env".into(),
            GroupBy::Day | GroupBy::Hour | GroupBy::Month => unreachable!("formatted above"),
        }
    }

    fn value_of(self, event: &BillingEvent, zone: Option<Tz>) -> String {
        self.value_at(event, event.ts, zone)
    }

    /// The group value of facts seen at `at` (an event's time, or the start
    /// of a rollup window that lies within one value).
    pub(crate) fn value_at(
        self,
        facts: &impl Facts,
        at: DateTime<Utc>,
        zone: Option<Tz>,
    ) -> String {
        if let Some(value) = self.time_value(at, zone) {
            return value;
        }
        match self {
            GroupBy::Provider => facts.provider().to_owned(),
            GroupBy::Service => facts.service().to_owned(),
            GroupBy::Resource => facts.resource().to_owned(),
            GroupBy::User => facts.username().to_owned(),
            GroupBy::Env => facts.env().to_owned(),
            GroupBy::Day | GroupBy::Hour | GroupBy::Month => unreachable!("formatted above"),
        }
    }

    /// The value of a time dimension at `at` (`None` for the others).
    pub(crate) fn time_value(self, at: DateTime<Utc>, zone: Option<Tz>) -> Option<String> {
        let format = self.date_format(zone.is_some())?;
        Some(match zone {
            Some(zone) => at.with_timezone(&zone).format(format).to_string(),
            None => at.format(format).to_string(),
        })
    }
}

/// The filters a query sets, of those a rollup may not keep.
pub(crate) struct FactsUsed {
    pub username: bool,
    pub resource: bool,
    pub kind: bool,
    pub outcome: bool,
    pub end_user: bool,
    pub tag: bool,
}

/// What filters and groups read of an event, or of a rollup's group.
pub(crate) trait Facts {
    fn env(&self) -> &str;
    fn provider(&self) -> &str;
    fn username(&self) -> &str;
    fn service(&self) -> &str;
    fn resource(&self) -> &str;
    fn kind(&self) -> &str;
    fn outcome(&self) -> &str;
    /// `metadata.user`, empty when absent.
    fn end_user(&self) -> &str;
    fn tags(&self) -> &[String];
}

impl Facts for BillingEvent {
    fn env(&self) -> &str {
        &self.env
    }
    fn provider(&self) -> &str {
        &self.provider
    }
    fn username(&self) -> &str {
        &self.username
    }
    fn service(&self) -> &str {
        &self.service
    }
    fn resource(&self) -> &str {
        &self.resource
    }
    fn kind(&self) -> &str {
        self.kind.as_str()
    }
    fn outcome(&self) -> &str {
        self.outcome.as_str()
    }
    fn end_user(&self) -> &str {
        self.metadata.user.as_deref().unwrap_or_default()
    }
    fn tags(&self) -> &[String] {
        &self.metadata.tags
    }
}

/// A cost report's filters and grouping.
///
/// ```
/// use panoptic_ledger::query::{CostQuery, GroupBy};
/// let query = CostQuery::new()
///     .env("prod")
///     .provider("gcp")
///     .group_by([GroupBy::Service, GroupBy::Day]);
/// let pipeline = query.pipeline();
/// assert!(pipeline[0].contains_key("$match"));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CostQuery {
    pub(crate) env: Option<String>,
    pub(crate) provider: Option<String>,
    pub(crate) username: Option<String>,
    pub(crate) service: Option<String>,
    pub(crate) resource: Option<String>,
    pub(crate) kind: Option<Kind>,
    pub(crate) outcome: Option<Outcome>,
    pub(crate) since: Option<DateTime<Utc>>,
    pub(crate) until: Option<DateTime<Utc>>,
    pub(crate) tag: Option<String>,
    pub(crate) metadata_user: Option<String>,
    pub(crate) time_zone: Option<Tz>,
    pub(crate) group_by: Vec<GroupBy>,
}

/// One row of a cost report.
///
/// ```no_run
/// use panoptic_ledger::query::{CostQuery, GroupBy};
/// # async fn run(client: mongodb::Client) -> Result<(), panoptic_ledger::query::QueryError> {
/// let rows = CostQuery::new().env("prod").group_by([GroupBy::Service]).run(&client).await?;
/// for row in rows {
///     println!("{:<20} {:>12} {} calls, p95 {:?} ms", row.key[0], row.amount, row.count, row.p95_ms);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CostRow {
    /// The group's value for each `group_by` dimension, in order.
    pub key: Vec<String>,
    /// The currency of `amount` and `adjusted` (ISO 4217). Every group
    /// is split by currency: amounts in two currencies are two rows,
    /// never one sum. Unpriced events fall in their call site's currency.
    pub currency: String,
    /// Sum of `amount` over the priced events, adjustments excluded.
    pub amount: Decimal,
    /// Sum of `amount` over `kind: "adjustment"` events (what
    /// `panoptic reconcile --apply` allocated from the bill): kept apart so
    /// that nothing is summed twice.
    pub adjusted: Decimal,
    /// Events with no amount (`metadata.unpriced` says why): never
    /// counted as zero in silence.
    pub unpriced: u64,
    /// Sum of `quantity`.
    pub quantity: f64,
    /// Events.
    pub count: u64,
    /// Events whose outcome is not `ok`.
    pub errors: u64,
    /// Median duration (within 1 %), for events that have one.
    pub p50_ms: Option<f64>,
    /// 95th percentile duration (within 1 %).
    pub p95_ms: Option<f64>,
    /// Events per logarithmic duration bucket (2 % wide), what p50 and
    /// p95 are read from: kept so that rows merged later (currencies
    /// converted into one, [`convert_rows`]) have percentiles as exact.
    pub durations: BTreeMap<i64, u64>,
}

impl CostRow {
    /// True when the group had calls and none had a price: its `amount`
    /// of zero means unknown, not free, and is never shown alone.
    pub fn all_unpriced(&self) -> bool {
        self.count > 0 && self.unpriced == self.count && self.amount.is_zero()
    }
}

/// A query that MongoDB could not run.
#[derive(Debug, thiserror::Error)]
#[error("cost query failed: {0}")]
pub struct QueryError(String);

impl QueryError {
    pub(crate) fn new(message: String) -> QueryError {
        QueryError(message)
    }
}

/// A driver error as one line: its own text can carry the whole topology.
impl From<mongodb::error::Error> for QueryError {
    fn from(error: mongodb::error::Error) -> QueryError {
        QueryError(panoptic_core::connect::describe(&error))
    }
}

impl CostQuery {
    /// Everything, one row.
    pub fn new() -> CostQuery {
        CostQuery::default()
    }

    /// Only this environment (canonicalized: `production` is `prod`).
    pub fn env(mut self, env: impl AsRef<str>) -> Self {
        self.env = Some(canonical_env(env.as_ref()));
        self
    }

    text_setters! {
        /// Only this provider.
        provider;
        /// Only this user (as given, not sanitized).
        username;
        /// Only this service.
        service;
        /// Only this resource.
        resource;
    }

    /// Only this kind.
    pub fn kind(mut self, kind: Kind) -> Self {
        self.kind = Some(kind);
        self
    }

    /// Only this outcome.
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = Some(outcome);
        self
    }

    /// Events at or after `since`.
    pub fn since(mut self, since: DateTime<Utc>) -> Self {
        self.since = Some(since);
        self
    }

    /// Events before `until`.
    pub fn until(mut self, until: DateTime<Utc>) -> Self {
        self.until = Some(until);
        self
    }

    text_setters! {
        /// Only events carrying this tag (`metadata.tags`).
        tag;
        /// Only events made for this end user (`metadata.user`, the
        /// customer a call served; not the panoptic `username`).
        metadata_user;
    }

    /// Days, hours and months in this time zone instead of UTC: a bill
    /// reconciled against Google's needs America/Los_Angeles days.
    ///
    /// ```
    /// use panoptic_ledger::query::{CostQuery, GroupBy};
    /// let query = CostQuery::new()
    ///     .time_zone(chrono_tz::America::Los_Angeles)
    ///     .group_by([GroupBy::Day]);
    /// assert!(format!("{:?}", query.pipeline()).contains("America/Los_Angeles"));
    /// ```
    pub fn time_zone(mut self, zone: Tz) -> Self {
        self.time_zone = Some(zone);
        self
    }

    /// The time zone of days, hours and months (`None`: UTC).
    pub fn zone(&self) -> Option<Tz> {
        self.time_zone
    }

    /// The range read: (`since`, `until`).
    pub fn bounds(&self) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        (self.since, self.until)
    }

    /// The dimensions rows are grouped by.
    pub fn dimensions(&self) -> &[GroupBy] {
        &self.group_by
    }

    /// Which facts beyond provider, service and env the filters read.
    pub(crate) fn facts_used(&self) -> FactsUsed {
        FactsUsed {
            username: self.username.is_some(),
            resource: self.resource.is_some(),
            kind: self.kind.is_some(),
            outcome: self.outcome.is_some(),
            end_user: self.metadata_user.is_some(),
            tag: self.tag.is_some(),
        }
    }

    /// Groups rows by these dimensions, in this order.
    pub fn group_by(mut self, dimensions: impl IntoIterator<Item = GroupBy>) -> Self {
        self.group_by = dimensions.into_iter().collect();
        self
    }
}

mod convert;
pub(crate) mod events;
pub(crate) mod grouper;
pub(crate) mod histogram;
pub(crate) mod listing;
mod newest;
pub(crate) mod server;
#[cfg(test)]
mod testing;
mod totals;
mod window;

pub use convert::{ConvertedRow, convert_rows};
pub use totals::{CurrencyTotal, totals};
