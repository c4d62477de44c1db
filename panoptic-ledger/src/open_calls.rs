//! Calls that started and never ended: a start record (`metadata.start`)
//! whose `call_id` no final event carries — the process died mid-call.
//! Reports list them with their estimates, beside the spend.

use bson::{Bson, Document, doc};
use chrono::{DateTime, Utc};
use futures_util::{StreamExt, TryStreamExt};
use rust_decimal::Decimal;

use crate::query::{CostQuery, QueryError};
use panoptic_core::BillingEvent;
use panoptic_core::keys::{self, metadata as meta};
use panoptic_core::money::from_decimal128;

/// A call that started and has no final event.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenCall {
    /// When it started.
    pub started: DateTime<Utc>,
    /// `provider`, `service`, `resource` of the call.
    pub provider: String,
    /// Service.
    pub service: String,
    /// Resource.
    pub resource: String,
    /// The id its final event would carry.
    pub call_id: String,
    /// What it was expected to cost (a budget reservation's estimate).
    pub estimate: Option<Decimal>,
    /// The estimate's currency (the call site's).
    pub currency: String,
}

fn open_call(start: &BillingEvent) -> Option<OpenCall> {
    let call_id = start.metadata.extra.get_str(meta::CALL_ID).ok()?.to_owned();
    let estimate = match start.metadata.extra.get(meta::ESTIMATE) {
        Some(Bson::Decimal128(d)) => from_decimal128(*d).ok(),
        _ => None,
    };
    Some(OpenCall {
        started: start.ts,
        provider: start.provider.clone(),
        service: start.service.clone(),
        resource: start.resource.clone(),
        call_id,
        estimate,
        currency: start.currency.clone(),
    })
}

fn is_start(event: &BillingEvent) -> bool {
    event.metadata.extra.get_bool(meta::START).unwrap_or(false)
}

/// The open calls among `events` that pass `query`'s filters.
pub fn open_calls_in(query: &CostQuery, events: &[BillingEvent]) -> Vec<OpenCall> {
    let ended: std::collections::HashSet<&str> = events
        .iter()
        .filter(|e| !is_start(e))
        .filter_map(|e| e.metadata.extra.get_str(meta::CALL_ID).ok())
        .collect();
    let mut open: Vec<OpenCall> = events
        .iter()
        .filter(|e| is_start(e))
        .filter_map(|e| open_call_matching(query, e))
        .filter(|c| !ended.contains(c.call_id.as_str()))
        .collect();
    open.sort_by_key(|c| c.started);
    open
}

/// The call a start record opened, if it passes `query`'s filters (as
/// for any event, but on a start record).
pub(crate) fn open_call_matching(query: &CostQuery, start: &BillingEvent) -> Option<OpenCall> {
    let mut as_final = start.clone();
    as_final.metadata.extra.remove(meta::START);
    query.matches(&as_final).then(|| open_call(start)).flatten()
}

/// The call ids among `ids` that a final event carries: asked in chunks
/// of ids (`$in`), never once per start record, which made a report
/// quadratic in the start records.
pub(crate) async fn ended_among<I: AsRef<str>>(
    collection: &mongodb::Collection<Document>,
    ids: &[I],
) -> Result<std::collections::HashSet<String>, QueryError> {
    const IDS_PER_QUERY: usize = 1_000;
    let call_id = format!("{}.{}", keys::METADATA, meta::CALL_ID);
    let mut ended = std::collections::HashSet::new();
    for chunk in ids.chunks(IDS_PER_QUERY) {
        let ids: Vec<&str> = chunk.iter().map(AsRef::as_ref).collect();
        let mut finals = collection
            .find(doc! {
                &call_id: { "$in": ids },
                format!("{}.{}", keys::METADATA, meta::START): { "$ne": true },
            })
            .projection(doc! { &call_id: 1 })
            .await
            .map_err(QueryError::from)?;
        while let Some(found) = finals.try_next().await.map_err(QueryError::from)? {
            if let Ok(id) = found
                .get_document(keys::METADATA)
                .and_then(|m| m.get_str(meta::CALL_ID))
            {
                ended.insert(id.to_owned());
            }
        }
    }
    Ok(ended)
}

/// The open calls in MongoDB that pass `query`'s filters (start records
/// in its range; a final event may come later than the range), in the
/// collections `query` reads (see [`CostQuery::run`]). Each collection's
/// start records are found by the index on them, and their final events by
/// the index on `metadata.call_id` (see [`panoptic_core::index_keys`]),
/// several collections at once.
pub async fn open_calls(
    client: &mongodb::Client,
    query: &CostQuery,
) -> Result<Vec<OpenCall>, QueryError> {
    let mut open = Vec::new();
    let mut uncovered = Vec::new();
    for database in query.databases(client).await? {
        match crate::rollup::is_covered(client, &database).await {
            // Listed by the rollups: events read only where they cannot say.
            Ok(true) => {
                open.extend(crate::rollup::open::open_calls_in(client, query, &database).await?)
            }
            _ => uncovered.push(database),
        }
    }
    if !uncovered.is_empty() {
        open.extend(open_calls_scanned(client, query, &uncovered).await?);
    }
    open.sort_by_key(|c| c.started);
    Ok(open)
}

/// The open calls of `query`, read collection by collection, never from
/// the rollups' lists: what [`open_calls`] must equal.
pub async fn open_calls_scan(
    client: &mongodb::Client,
    query: &CostQuery,
) -> Result<Vec<OpenCall>, QueryError> {
    let databases = query.databases(client).await?;
    let mut open = open_calls_scanned(client, query, &databases).await?;
    open.sort_by_key(|c| c.started);
    Ok(open)
}

/// The open calls of `query` in `databases`, read collection by collection.
async fn open_calls_scanned(
    client: &mongodb::Client,
    query: &CostQuery,
    databases: &[String],
) -> Result<Vec<OpenCall>, QueryError> {
    let filter = starts_filter(query);
    let mut collections = Vec::new();
    for name in databases {
        let database = client.database(name);
        for collection in query.collections_in(&database).await? {
            collections.push(database.collection::<Document>(&collection));
        }
    }
    // Each read owns what it reads (a future borrowing from the closure
    // that made it is not `Send` for every lifetime, as axum needs).
    let reads: Vec<_> = collections
        .into_iter()
        .map(|collection| open_in(collection, filter.clone()))
        .collect();
    let found: Vec<Vec<OpenCall>> = futures_util::stream::iter(reads)
        .buffered(CostQuery::COLLECTIONS_IN_FLIGHT)
        .try_collect()
        .await?;
    Ok(found.concat())
}

/// `query`'s filter on start records, `metadata.start` first: a server
/// that plans by the first field it can index (the test database) then
/// reads the start records alone, not every event of the range.
fn starts_filter(query: &CostQuery) -> Document {
    let start = format!("{}.{}", keys::METADATA, meta::START);
    let mut filter = doc! { &start: true };
    for (key, value) in query.filter() {
        if key != start {
            filter.insert(key, value);
        }
    }
    filter
}

/// The open calls of one collection among the start records `filter`
/// finds.
pub(crate) async fn open_in(
    collection: mongodb::Collection<Document>,
    filter: Document,
) -> Result<Vec<OpenCall>, QueryError> {
    let error = QueryError::from;
    let starts: Vec<OpenCall> = collection
        .find(filter)
        .await
        .map_err(error)?
        .try_collect::<Vec<Document>>()
        .await
        .map_err(error)?
        .iter()
        .filter_map(|start| BillingEvent::from_document(start).ok())
        .filter_map(|event| open_call(&event))
        .collect();
    if starts.is_empty() {
        return Ok(starts);
    }
    let ids: Vec<&str> = starts.iter().map(|c| c.call_id.as_str()).collect();
    let ended = ended_among(&collection, &ids).await?;
    Ok(starts
        .into_iter()
        .filter(|call| !ended.contains(&call.call_id))
        .collect())
}
