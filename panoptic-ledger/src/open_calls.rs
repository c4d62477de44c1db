//! Calls that started and never ended: a start record (`metadata.start`)
//! whose `call_id` no final event carries — the process died mid-call.
//! Reports list them with their estimates, beside the spend.

use bson::{Bson, Document, doc};
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use rust_decimal::Decimal;

use crate::query::{CostQuery, QueryError};
use panoptic_core::BillingEvent;
use panoptic_core::keys::{self, metadata as meta};
use panoptic_core::money::from_decimal128;
use panoptic_core::naming::DATABASE_PREFIX;

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
        .filter(|e| {
            // The filters, as for any event, but on a start record.
            let mut as_final = (*e).clone();
            as_final.metadata.extra.remove(meta::START);
            query.matches(&as_final)
        })
        .filter_map(open_call)
        .filter(|c| !ended.contains(c.call_id.as_str()))
        .collect();
    open.sort_by_key(|c| c.started);
    open
}

/// The call ids among `starts` that a final event carries: asked in
/// chunks of ids (`$in`), never once per start record, which made a
/// report quadratic in the start records.
async fn ended_among(
    collection: &mongodb::Collection<Document>,
    starts: &[OpenCall],
) -> Result<std::collections::HashSet<String>, QueryError> {
    const IDS_PER_QUERY: usize = 1_000;
    let call_id = format!("{}.{}", keys::METADATA, meta::CALL_ID);
    let mut ended = std::collections::HashSet::new();
    for chunk in starts.chunks(IDS_PER_QUERY) {
        let ids: Vec<&str> = chunk.iter().map(|c| c.call_id.as_str()).collect();
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
/// in its range; a final event may come later than the range).
pub async fn open_calls(
    client: &mongodb::Client,
    query: &CostQuery,
) -> Result<Vec<OpenCall>, QueryError> {
    let error = QueryError::from;
    let mut filter = query.filter();
    filter.insert(format!("{}.{}", keys::METADATA, meta::START), true);
    let mut open = Vec::new();
    let databases: Vec<String> = client
        .list_database_names()
        .await
        .map_err(error)?
        .into_iter()
        .filter(|name| name.starts_with(DATABASE_PREFIX))
        .collect();
    for database_name in databases {
        let database = client.database(&database_name);
        for collection_name in database.list_collection_names().await.map_err(error)? {
            let collection = database.collection::<Document>(&collection_name);
            let starts: Vec<OpenCall> = collection
                .find(filter.clone())
                .await
                .map_err(error)?
                .try_collect::<Vec<Document>>()
                .await
                .map_err(error)?
                .iter()
                .filter_map(|start| BillingEvent::from_document(start).ok())
                .filter_map(|event| open_call(&event))
                .collect();
            let ended = ended_among(&collection, &starts).await?;
            open.extend(
                starts
                    .into_iter()
                    .filter(|call| !ended.contains(&call.call_id)),
            );
        }
    }
    open.sort_by_key(|c| c.started);
    Ok(open)
}
