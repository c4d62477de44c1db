//! The events a query matches, listed (the dashboard's drill-down,
//! reconciliation's stopped calls): a scan by index, never a rollup.

use bson::{Document, doc};
use futures_util::TryStreamExt;

use panoptic_core::BillingEvent;

use super::server::panoptic_databases;
use super::{CostQuery, QueryError};

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
