//! Start records and the calls they open: what one says, whether a final
//! event ended it. Shared by the scans of open calls and the rollups' lists.

use bson::{Bson, Document, doc};
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
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

pub(crate) fn open_call(start: &BillingEvent) -> Option<OpenCall> {
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
