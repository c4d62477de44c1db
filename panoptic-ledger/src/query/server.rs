//! The query on the server: one `$match` + `$group` pipeline per
//! collection, its rows merged across databases and collections.

use std::collections::BTreeMap;

use bson::{Bson, Document, doc};
use futures_util::{StreamExt, TryStreamExt};
use rust_decimal::Decimal;

use panoptic_core::Kind;
use panoptic_core::money::from_decimal128;
use panoptic_core::naming::{DATABASE_PREFIX, collection_name, database_name};

use super::histogram::{BUCKETS_PER_E, GroupKey, Partial, SMALLEST_MS, finish, merge};
use super::{BUCKET_FIELD, CURRENCY_FIELD, CostQuery, CostRow, QueryError};

impl CostQuery {
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
        vec![
            doc! { "$match": self.filter() },
            doc! { "$group": self.group_stage() },
        ]
    }

    /// The `$group` stage: this query's key, the currency and the duration
    /// bucket, then the sums.
    pub(crate) fn group_stage(&self) -> Document {
        let mut id = Document::new();
        for dimension in &self.group_by {
            id.insert(dimension.as_str(), dimension.expression(self.time_zone));
        }
        group_with(id)
    }

    /// Runs the report over every event, whatever rollups exist: the
    /// reference the rollups are checked against. [`CostQuery::run`] gives
    /// the same rows, from rollups where they cover the data.
    pub async fn run_scan(&self, client: &mongodb::Client) -> Result<Vec<CostRow>, QueryError> {
        let mut groups: BTreeMap<GroupKey, Partial> = BTreeMap::new();
        for database_name in self.databases(client).await? {
            let database = client.database(&database_name);
            let collections = self.collections_in(&database).await?;
            let whole = collections.into_iter().map(|c| (c, None)).collect();
            self.scan(&database, whole, &mut groups).await?;
        }
        Ok(finish(groups))
    }

    /// The databases this query reads: the env's, else every `panoptic-*`.
    pub(crate) async fn databases(
        &self,
        client: &mongodb::Client,
    ) -> Result<Vec<String>, QueryError> {
        match &self.env {
            Some(env) => Ok(vec![database_name(env)]),
            None => panoptic_databases(client).await,
        }
    }

    /// The collections of `database` this query reads: the provider+user
    /// collection when both are given, else every one.
    pub(crate) async fn collections_in(
        &self,
        database: &mongodb::Database,
    ) -> Result<Vec<String>, QueryError> {
        match (&self.provider, &self.username) {
            (Some(provider), Some(username)) => Ok(vec![collection_name(provider, username)]),
            _ => database
                .list_collection_names()
                .await
                .map_err(QueryError::from),
        }
    }

    /// Groups the events of each collection (within its time ranges, when
    /// given) into `groups`: one aggregation per collection, eight in
    /// flight, so round trips overlap. Not `$unionWith`, which would make
    /// one round trip of many: the test server runs a `$unionWith`
    /// sub-pipeline without its indexes (a scan of the whole collection per
    /// hour asked), where a collection's own aggregation uses them.
    pub(crate) async fn scan(
        &self,
        database: &mongodb::Database,
        collections: Vec<(String, Option<TimeRanges>)>,
        groups: &mut BTreeMap<GroupKey, Partial>,
    ) -> Result<(), QueryError> {
        const IN_FLIGHT: usize = 8;
        let error = QueryError::from;
        let filter_for = |ranges: &Option<TimeRanges>| {
            let mut filter = self.filter();
            if let Some(ranges) = ranges {
                let ranges: Vec<Document> = merged(ranges)
                    .into_iter()
                    .map(|(from, to)| {
                        doc! { "ts": {
                            "$gte": bson::DateTime::from_millis(from),
                            "$lt": bson::DateTime::from_millis(to),
                        } }
                    })
                    .collect();
                filter.insert("$or", ranges);
            }
            filter
        };
        let group = self.group_stage();
        let mut answers = futures_util::stream::iter(collections)
            .map(|(collection, ranges)| {
                let pipeline = [
                    doc! { "$match": filter_for(&ranges) },
                    doc! { "$group": group.clone() },
                ];
                let events = database.collection::<Document>(&collection);
                async move {
                    let cursor = events.aggregate(pipeline).await?;
                    cursor.try_collect::<Vec<Document>>().await
                }
            })
            .buffer_unordered(IN_FLIGHT);
        while let Some(rows) = answers.next().await {
            for row in rows.map_err(error)? {
                let (key, partial) = self.partial_from_row(&row)?;
                merge(groups.entry(key).or_default(), &partial);
            }
        }
        Ok(())
    }

    fn partial_from_row(&self, row: &Document) -> Result<(GroupKey, Partial), QueryError> {
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
        Ok(((key, currency_of(id)), sums_of_row(row)?))
    }
}

/// Time ranges `[from, to)` in milliseconds since the epoch.
pub(crate) type TimeRanges = Vec<(i64, i64)>;

/// Time ranges sorted, overlapping and adjacent ones joined.
fn merged(ranges: &[(i64, i64)]) -> Vec<(i64, i64)> {
    let mut sorted = ranges.to_vec();
    sorted.sort_unstable();
    let mut joined: Vec<(i64, i64)> = Vec::new();
    for (from, to) in sorted {
        match joined.last_mut() {
            Some(last) if from <= last.1 => last.1 = last.1.max(to),
            _ => joined.push((from, to)),
        }
    }
    joined
}

/// The currency in a grouped row's `_id`.
pub(crate) fn currency_of(id: &Document) -> String {
    match id.get(CURRENCY_FIELD) {
        Some(Bson::String(currency)) => currency.clone(),
        _ => String::new(),
    }
}

/// The sums and the duration bucket of a row [`group_with`] made.
pub(crate) fn sums_of_row(row: &Document) -> Result<Partial, QueryError> {
    let id = row
        .get_document("_id")
        .map_err(|e| QueryError(e.to_string()))?;
    let money = |key: &str| match row.get(key) {
        Some(Bson::Decimal128(d)) => from_decimal128(*d).map_err(|e| QueryError(e.to_string())),
        Some(Bson::Int32(0) | Bson::Int64(0)) | None => Ok(Decimal::ZERO),
        Some(other) => Err(QueryError(format!("{key} summed to {other}"))),
    };
    let number = |key: &str| match row.get(key) {
        Some(Bson::Double(v)) => *v,
        Some(Bson::Int32(v)) => f64::from(*v),
        Some(Bson::Int64(v)) => *v as f64,
        _ => 0.0,
    };
    let count = number("count") as u64;
    let mut durations = BTreeMap::new();
    let bucket = match id.get(BUCKET_FIELD) {
        Some(Bson::Double(b)) => Some(*b as i64),
        Some(Bson::Int32(b)) => Some(i64::from(*b)),
        Some(Bson::Int64(b)) => Some(*b),
        _ => None,
    };
    if let Some(bucket) = bucket {
        durations.insert(bucket, count);
    }
    Ok(Partial {
        amount: money("amount")?,
        adjusted: money("adjusted")?,
        quantity: number("quantity"),
        count,
        errors: number("errors") as u64,
        unpriced: number("unpriced") as u64,
        durations,
    })
}

/// A `$group` stage over events: `id` (the dimensions), the currency and
/// the duration bucket as key; the sums of [`Partial`] as fields. The same
/// definitions as the in-memory path: an adjustment adds to `adjusted` and
/// `quantity` only.
pub(crate) fn group_with(mut id: Document) -> Document {
    // Amounts in different currencies are never summed together.
    id.insert(CURRENCY_FIELD, "$currency");
    let adjustment = doc! { "$eq": ["$kind", Kind::Adjustment.as_str()] };
    // The duration bucket is part of the group key: one row per group
    // and bucket, however many events.
    id.insert(
        BUCKET_FIELD,
        doc! { "$cond": [
            { "$and": [{ "$isNumber": "$metadata.duration_ms" }, { "$not": [adjustment.clone()] }] },
            { "$floor": { "$multiply": [
                { "$ln": { "$max": ["$metadata.duration_ms", SMALLEST_MS] } },
                BUCKETS_PER_E,
            ] } },
            Bson::Null,
        ] },
    );
    let unless_adjustment = |then: Bson| doc! { "$cond": [adjustment.clone(), 0, then] };
    doc! {
        "_id": id,
        // Adjustments are summed apart: an allocated bill is never
        // added to the estimate it corrects.
        "amount": { "$sum": unless_adjustment("$amount".into()) },
        "adjusted": { "$sum": { "$cond": [adjustment.clone(), "$amount", 0] } },
        "quantity": { "$sum": "$quantity" },
        "count": { "$sum": unless_adjustment(1.into()) },
        "errors": { "$sum": unless_adjustment(
            doc! { "$cond": [{ "$eq": ["$outcome", "ok"] }, 0, 1] }.into()
        ) },
        // A missing amount compares below null; any number above.
        "unpriced": { "$sum": unless_adjustment(
            doc! { "$cond": [{ "$gt": ["$amount", Bson::Null] }, 0, 1] }.into()
        ) },
    }
}

/// Every `panoptic-*` database on the server.
pub(crate) async fn panoptic_databases(
    client: &mongodb::Client,
) -> Result<Vec<String>, QueryError> {
    let names = client
        .list_database_names()
        .await
        .map_err(QueryError::from)?;
    Ok(names
        .into_iter()
        .filter(|name| name.starts_with(DATABASE_PREFIX))
        .collect())
}
