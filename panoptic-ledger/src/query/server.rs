//! The query on the server: one `$match` + `$group` pipeline per
//! collection, its rows merged across databases and collections.

use std::collections::BTreeMap;

use bson::{Bson, Document, doc};
use futures_util::TryStreamExt;
use rust_decimal::Decimal;

use panoptic_core::money::from_decimal128;
use panoptic_core::naming::{DATABASE_PREFIX, collection_name, database_name};
use panoptic_core::{BillingEvent, Kind};

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
        let mut id = Document::new();
        for dimension in &self.group_by {
            id.insert(dimension.as_str(), dimension.expression(self.time_zone));
        }
        // Amounts in different currencies are never summed together.
        id.insert(CURRENCY_FIELD, "$currency");
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
        let error = QueryError::from;
        let databases = match &self.env {
            Some(env) => vec![database_name(env)],
            None => panoptic_databases(client).await?,
        };
        let mut groups: BTreeMap<GroupKey, Partial> = BTreeMap::new();
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
        let currency = match id.get(CURRENCY_FIELD) {
            Some(Bson::String(currency)) => currency.clone(),
            _ => String::new(),
        };
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
            (key, currency),
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
async fn panoptic_databases(client: &mongodb::Client) -> Result<Vec<String>, QueryError> {
    let names = client
        .list_database_names()
        .await
        .map_err(QueryError::from)?;
    Ok(names
        .into_iter()
        .filter(|name| name.starts_with(DATABASE_PREFIX))
        .collect())
}

impl CostQuery {
    /// The events this query matches, with `and` added to its filter, from
    /// every `panoptic-*` database and each of its collections; at most
    /// `newest` per collection, newest first, when given (so the newest
    /// `newest` overall are among them). A document that is not an event
    /// (another program's) is skipped. Errors are one line.
    pub async fn events(
        &self,
        client: &mongodb::Client,
        and: Document,
        newest: Option<u64>,
    ) -> Result<Vec<BillingEvent>, QueryError> {
        let error = QueryError::from;
        let mut filter = self.filter();
        filter.extend(and);
        let mut events = Vec::new();
        for database_name in panoptic_databases(client).await? {
            let database = client.database(&database_name);
            for collection in database.list_collection_names().await.map_err(error)? {
                let events_of = database.collection::<Document>(&collection);
                let find = events_of.find(filter.clone());
                let find = match newest {
                    Some(limit) => find
                        .sort(doc! { "ts": -1 })
                        .limit(i64::try_from(limit).unwrap_or(i64::MAX)),
                    None => find,
                };
                let mut cursor = find.await.map_err(error)?;
                while let Some(document) = cursor.try_next().await.map_err(error)? {
                    if let Ok(event) = BillingEvent::from_document(&document) {
                        events.push(event);
                    }
                }
            }
        }
        Ok(events)
    }
}
