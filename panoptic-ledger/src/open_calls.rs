//! Calls that started and never ended: a start record (`metadata.start`)
//! whose `call_id` no final event carries — the process died mid-call.
//! Reports list them with their estimates, beside the spend.

use bson::{Document, doc};
use futures_util::{StreamExt, TryStreamExt};

use crate::query::{CostQuery, QueryError};
pub use crate::start_records::OpenCall;
use crate::start_records::{open_call_matching, open_in};
use panoptic_core::BillingEvent;
use panoptic_core::keys::{self, metadata as meta};

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
