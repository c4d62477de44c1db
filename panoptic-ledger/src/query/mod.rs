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

use bson::{Bson, Document, doc};
use chrono::{DateTime, Utc};
pub use chrono_tz::Tz;
use futures_util::TryStreamExt;
use rust_decimal::Decimal;

use panoptic_core::Spool;
use panoptic_core::money::from_decimal128;
use panoptic_core::naming::{DATABASE_PREFIX, canonical_env, collection_name, database_name};
use panoptic_core::{BillingEvent, Kind, Outcome};

use crate::fields::{add_fields, text_setters};

/// The duration bucket's name inside the group key.
const BUCKET_FIELD: &str = "_duration_bucket";

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
        if let Some(format) = self.date_format(zone.is_some()) {
            return match zone {
                Some(zone) => event.ts.with_timezone(&zone).format(format).to_string(),
                None => event.ts.format(format).to_string(),
            };
        }
        match self {
            GroupBy::Provider => event.provider.clone(),
            GroupBy::Service => event.service.clone(),
            GroupBy::Resource => event.resource.clone(),
            GroupBy::User => event.username.clone(),
            GroupBy::Env => event.env.clone(),
            GroupBy::Day | GroupBy::Hour | GroupBy::Month => unreachable!("formatted above"),
        }
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
    env: Option<String>,
    provider: Option<String>,
    username: Option<String>,
    service: Option<String>,
    resource: Option<String>,
    kind: Option<Kind>,
    outcome: Option<Outcome>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    tag: Option<String>,
    metadata_user: Option<String>,
    time_zone: Option<Tz>,
    group_by: Vec<GroupBy>,
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
#[derive(Debug, Clone, PartialEq)]
pub struct CostRow {
    /// The group's value for each `group_by` dimension, in order.
    pub key: Vec<String>,
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

/// Sums, counts and the duration histogram of one group.
#[derive(Debug, Default, Clone)]
struct Partial {
    amount: Decimal,
    adjusted: Decimal,
    unpriced: u64,
    quantity: f64,
    count: u64,
    errors: u64,
    /// Events per duration bucket (see [`duration_bucket`]).
    durations: BTreeMap<i64, u64>,
}

/// Buckets per factor e of duration: each is e^(1/50) ≈ 2 % wide, so a
/// bucket's midpoint is within 1 % of any duration in it.
const BUCKETS_PER_E: f64 = 50.0;
/// Durations below this (in ms) share the lowest bucket.
const SMALLEST_MS: f64 = 0.001;

/// The bucket of a duration: the same formula as the server's
/// `$floor(ln(max(d, 0.001)) * 50)`, so both paths agree exactly.
fn duration_bucket(duration_ms: f64) -> i64 {
    (duration_ms.max(SMALLEST_MS).ln() * BUCKETS_PER_E).floor() as i64
}

/// The value a bucket stands for: its geometric midpoint.
fn bucket_value(bucket: i64) -> f64 {
    ((bucket as f64 + 0.5) / BUCKETS_PER_E).exp()
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

    /// The dimensions rows are grouped by.
    pub fn dimensions(&self) -> &[GroupBy] {
        &self.group_by
    }

    /// Groups rows by these dimensions, in this order.
    pub fn group_by(mut self, dimensions: impl IntoIterator<Item = GroupBy>) -> Self {
        self.group_by = dimensions.into_iter().collect();
        self
    }

    /// The `$match` stage: time range first, as the `{ts: -1, service: 1}`
    /// index wants.
    pub fn filter(&self) -> Document {
        let mut filter = Document::new();
        let mut ts = Document::new();
        if let Some(since) = self.since {
            ts.insert("$gte", bson::DateTime::from_chrono(since));
        }
        if let Some(until) = self.until {
            ts.insert("$lt", bson::DateTime::from_chrono(until));
        }
        if !ts.is_empty() {
            filter.insert("ts", ts);
        }
        let mut put = |key: &str, value: &Option<String>| {
            if let Some(v) = value {
                filter.insert(key, v.as_str());
            }
        };
        put("service", &self.service);
        put("env", &self.env);
        put("provider", &self.provider);
        put("username", &self.username);
        put("resource", &self.resource);
        // An array field matches when any element equals the value.
        put("metadata.tags", &self.tag);
        put("metadata.user", &self.metadata_user);
        if let Some(kind) = self.kind {
            filter.insert("kind", kind.as_str());
        }
        if let Some(outcome) = self.outcome {
            filter.insert("outcome", outcome.as_str());
        }
        // Start records say a call began; its final event is what counts.
        filter.insert("metadata.start", doc! { "$ne": true });
        // Budget alerts are records about spend, not calls.
        filter.insert("metadata.alert", doc! { "$ne": true });
        filter
    }

    /// The aggregation pipeline run on each collection.
    pub fn pipeline(&self) -> Vec<Document> {
        let mut id = Document::new();
        for dimension in &self.group_by {
            id.insert(dimension.as_str(), dimension.expression(self.time_zone));
        }
        // The duration bucket is part of the group key: one row per group
        // and bucket, however many events.
        id.insert(
            BUCKET_FIELD,
            doc! { "$cond": [
                { "$isNumber": "$metadata.duration_ms" },
                { "$floor": { "$multiply": [
                    { "$ln": { "$max": ["$metadata.duration_ms", SMALLEST_MS] } },
                    BUCKETS_PER_E,
                ] } },
                Bson::Null,
            ] },
        );
        let adjustment = doc! { "$eq": ["$kind", Kind::Adjustment.as_str()] };
        vec![
            doc! { "$match": self.filter() },
            doc! { "$group": {
                "_id": id,
                // Adjustments are summed apart: an allocated bill is never
                // added to the estimate it corrects.
                "amount": { "$sum": { "$cond": [adjustment.clone(), 0, "$amount"] } },
                "adjusted": { "$sum": { "$cond": [adjustment.clone(), "$amount", 0] } },
                "quantity": { "$sum": "$quantity" },
                "count": { "$sum": { "$cond": [adjustment, 0, 1] } },
                "errors": { "$sum": { "$cond": [{ "$eq": ["$outcome", "ok"] }, 0, 1] } },
                // A missing amount compares below null; any number above.
                "unpriced": { "$sum": { "$cond": [{ "$gt": ["$amount", Bson::Null] }, 0, 1] } },
            } },
        ]
    }

    /// Runs the report on MongoDB: the env's database (else every
    /// `panoptic-*` database), the provider+user collection when both are
    /// given (else every collection).
    pub async fn run(&self, client: &mongodb::Client) -> Result<Vec<CostRow>, QueryError> {
        let error = |e: mongodb::error::Error| QueryError(e.to_string());
        let databases = match &self.env {
            Some(env) => vec![database_name(env)],
            None => panoptic_databases(client).await?,
        };
        let mut groups: BTreeMap<Vec<String>, Partial> = BTreeMap::new();
        for database_name in databases {
            let database = client.database(&database_name);
            let collections = match (&self.provider, &self.username) {
                (Some(provider), Some(username)) => vec![collection_name(provider, username)],
                _ => database.list_collection_names().await.map_err(error)?,
            };
            for collection in collections {
                let mut cursor = database
                    .collection::<Document>(&collection)
                    .aggregate(self.pipeline())
                    .await
                    .map_err(error)?;
                while let Some(row) = cursor.try_next().await.map_err(error)? {
                    let (key, partial) = self.partial_from_row(&row)?;
                    merge(groups.entry(key).or_default(), partial);
                }
            }
        }
        Ok(finish(groups))
    }

    /// Runs the same report over events in memory.
    pub fn run_on_events<'a>(
        &self,
        events: impl IntoIterator<Item = &'a BillingEvent>,
    ) -> Vec<CostRow> {
        let mut groups: BTreeMap<Vec<String>, Partial> = BTreeMap::new();
        for event in events.into_iter().filter(|e| self.matches(e)) {
            let key = self
                .group_by
                .iter()
                .map(|g| g.value_of(event, self.time_zone))
                .collect();
            let group = groups.entry(key).or_default();
            if event.kind == Kind::Adjustment {
                group.adjusted += event.amount.unwrap_or_default();
                group.quantity += event.quantity;
                continue;
            }
            match event.amount {
                Some(amount) => group.amount += amount,
                None => group.unpriced += 1,
            }
            group.quantity += event.quantity;
            group.count += 1;
            group.errors += u64::from(event.outcome != Outcome::Ok);
            if let Some(duration) = event.metadata.duration_ms {
                *group
                    .durations
                    .entry(duration_bucket(duration))
                    .or_default() += 1;
            }
        }
        finish(groups)
    }

    /// Runs the same report over the events waiting in a spool.
    pub fn run_on_spool(&self, spool: &Spool) -> std::io::Result<Vec<CostRow>> {
        let events: Vec<BillingEvent> = spool
            .events()?
            .iter()
            .filter_map(|e| BillingEvent::try_from(e).ok())
            .collect();
        Ok(self.run_on_events(&events))
    }

    /// Whether `e` passes the filters (as the `$match` stage would).
    pub fn matches(&self, e: &BillingEvent) -> bool {
        let same = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        same(&self.env, &e.env)
            && same(&self.provider, &e.provider)
            && same(&self.username, &e.username)
            && same(&self.service, &e.service)
            && same(&self.resource, &e.resource)
            && self.kind.is_none_or(|k| k == e.kind)
            && self.outcome.is_none_or(|o| o == e.outcome)
            && !e.metadata.extra.get_bool(panoptic_core::keys::metadata::START).unwrap_or(false)
            && !e.metadata.extra.get_bool(panoptic_core::keys::metadata::ALERT).unwrap_or(false)
            && same(&self.metadata_user, e.metadata.user.as_deref().unwrap_or_default())
            && self.tag.as_ref().is_none_or(|t| e.metadata.tags.contains(t))
            // BSON dates keep milliseconds; compare as MongoDB does.
            && self.since.is_none_or(|s| e.ts.timestamp_millis() >= s.timestamp_millis())
            && self.until.is_none_or(|u| e.ts.timestamp_millis() < u.timestamp_millis())
    }

    fn partial_from_row(&self, row: &Document) -> Result<(Vec<String>, Partial), QueryError> {
        let id = row
            .get_document("_id")
            .map_err(|e| QueryError(e.to_string()))?;
        let key = self
            .group_by
            .iter()
            .map(|g| match id.get(g.as_str()) {
                Some(Bson::String(s)) => s.clone(),
                Some(Bson::Null) | None => String::new(),
                Some(other) => other.to_string(),
            })
            .collect();
        let money = |key: &str| match row.get(key) {
            Some(Bson::Decimal128(d)) => from_decimal128(*d).map_err(|e| QueryError(e.to_string())),
            Some(Bson::Int32(0) | Bson::Int64(0)) | None => Ok(Decimal::ZERO),
            Some(other) => Err(QueryError(format!("{key} summed to {other}"))),
        };
        let amount = money("amount")?;
        let adjusted = money("adjusted")?;
        let number = |key: &str| match row.get(key) {
            Some(Bson::Double(v)) => *v,
            Some(Bson::Int32(v)) => f64::from(*v),
            Some(Bson::Int64(v)) => *v as f64,
            _ => 0.0,
        };
        let count = number("count") as u64;
        let mut durations = BTreeMap::new();
        match id.get(BUCKET_FIELD) {
            Some(Bson::Double(b)) => {
                durations.insert(*b as i64, count);
            }
            Some(Bson::Int32(b)) => {
                durations.insert(i64::from(*b), count);
            }
            Some(Bson::Int64(b)) => {
                durations.insert(*b, count);
            }
            _ => {}
        }
        Ok((
            key,
            Partial {
                amount,
                adjusted,
                quantity: number("quantity"),
                count,
                errors: number("errors") as u64,
                unpriced: number("unpriced") as u64,
                durations,
            },
        ))
    }
}

/// Every `panoptic-*` database on the server.
pub(crate) async fn panoptic_databases(
    client: &mongodb::Client,
) -> Result<Vec<String>, QueryError> {
    let names = client
        .list_database_names()
        .await
        .map_err(|e| QueryError(e.to_string()))?;
    Ok(names
        .into_iter()
        .filter(|name| name.starts_with(DATABASE_PREFIX))
        .collect())
}

fn merge(into: &mut Partial, from: Partial) {
    add_fields!(into, from; amount, adjusted, quantity, count, errors, unpriced);
    for (bucket, events) in from.durations {
        *into.durations.entry(bucket).or_default() += events;
    }
}

/// Rows sorted by amount, largest first (then by key, for stable output).
fn finish(groups: BTreeMap<Vec<String>, Partial>) -> Vec<CostRow> {
    let mut rows: Vec<CostRow> = groups
        .into_iter()
        .map(|(key, partial)| CostRow {
            key,
            amount: partial.amount.normalize(),
            adjusted: partial.adjusted.normalize(),
            unpriced: partial.unpriced,
            quantity: partial.quantity,
            count: partial.count,
            errors: partial.errors,
            p50_ms: percentile(&partial.durations, 0.50),
            p95_ms: percentile(&partial.durations, 0.95),
        })
        .collect();
    rows.sort_by(|a, b| b.amount.cmp(&a.amount).then_with(|| a.key.cmp(&b.key)));
    rows
}

/// Nearest-rank percentile over a duration histogram: the midpoint of the
/// bucket holding the event of that rank.
fn percentile(histogram: &BTreeMap<i64, u64>, p: f64) -> Option<f64> {
    let total: u64 = histogram.values().sum();
    if total == 0 {
        return None;
    }
    let rank = ((p * total as f64).ceil() as u64).clamp(1, total);
    let mut seen = 0;
    for (bucket, events) in histogram {
        seen += events;
        if seen >= rank {
            return Some(bucket_value(*bucket));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_within_one_percent() {
        let mut histogram = BTreeMap::new();
        for d in 1..=100 {
            *histogram.entry(duration_bucket(f64::from(d))).or_default() += 1;
        }
        let p50 = percentile(&histogram, 0.5).unwrap();
        let p95 = percentile(&histogram, 0.95).unwrap();
        assert!((p50 / 50.0 - 1.0).abs() < 0.01, "{p50}");
        assert!((p95 / 95.0 - 1.0).abs() < 0.01, "{p95}");
        assert_eq!(percentile(&BTreeMap::new(), 0.5), None);
        assert_eq!(
            duration_bucket(0.0),
            duration_bucket(0.0005),
            "tiny durations share a bucket"
        );
    }
}
