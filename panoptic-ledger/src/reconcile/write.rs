//! Writing adjustments: replace by id what changed, leave what did not,
//! remove the adjustments of the same days that a new run no longer makes.
//! Original events are never touched.

use std::collections::BTreeMap;

use bson::{Bson, Document, doc};
use futures_util::TryStreamExt;

use super::Reconciliation;
use super::allocate::ADJUSTMENT_TAG;
use crate::query::QueryError;
use panoptic_core::naming::{DATABASE_PREFIX, collection_name, database_name};
use panoptic_core::{BillingEvent, Kind, rollup_marks};

/// What [`Reconciliation::apply`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplySummary {
    /// Adjustments written (new or changed).
    pub written: u64,
    /// Adjustments already there with the same amount.
    pub unchanged: u64,
    /// Adjustments of these days that the new run no longer makes.
    pub removed: u64,
}

impl Reconciliation {
    /// Writes `adjustments` (from [`Reconciliation::adjustments`]) into
    /// each one's `panoptic-{env}` / `{provider}_{username}`: by `_id`, so
    /// running twice never doubles them.
    pub async fn apply(
        &self,
        client: &mongodb::Client,
        adjustments: &[BillingEvent],
    ) -> Result<ApplySummary, QueryError> {
        let error = QueryError::from;
        let since = bson::DateTime::from_chrono(self.day_start(self.start));
        // Late days are left alone, what earlier runs booked for them too.
        let end = match self.include_late {
            true => self.end,
            false => self.end.min(self.late_from()).max(self.start),
        };
        let until = bson::DateTime::from_chrono(self.day_start(end));
        let filter = doc! {
            "ts": { "$gte": since, "$lt": until },
            "provider": self.provider.as_str(),
            "kind": Kind::Adjustment.as_str(),
            "metadata.tags": ADJUSTMENT_TAG,
        };
        // What earlier runs wrote for these days: (database, collection) by id.
        let mut existing: BTreeMap<bson::oid::ObjectId, Existing> = BTreeMap::new();
        let prefix = format!(
            "{}_",
            collection_name(&self.provider, "x").trim_end_matches("_x")
        );
        // One environment's run must not remove another's adjustments.
        let databases = match &self.env {
            Some(env) => vec![database_name(env)],
            None => client.list_database_names().await.map_err(error)?,
        };
        for database_name in databases.iter().filter(|d| d.starts_with(DATABASE_PREFIX)) {
            let database = client.database(database_name);
            for collection in database.list_collection_names().await.map_err(error)? {
                if !collection.starts_with(&prefix) {
                    continue;
                }
                let mut cursor = database
                    .collection::<Document>(&collection)
                    .find(filter.clone())
                    .await
                    .map_err(error)?;
                while let Some(found) = cursor.try_next().await.map_err(error)? {
                    if let Ok(id) = found.get_object_id("_id") {
                        existing.insert(
                            id,
                            Existing {
                                database: database_name.clone(),
                                collection: collection.clone(),
                                amount: found.get("amount").cloned(),
                                ts: found.get_datetime("ts").map(|t| t.timestamp_millis()).ok(),
                            },
                        );
                    }
                }
            }
        }
        let mut summary = ApplySummary::default();
        for event in adjustments {
            if self.env.as_ref().is_some_and(|env| *env != event.env) {
                return Err(QueryError::new(format!(
                    "an adjustment for env {} in a reconciliation of env {}",
                    event.env,
                    self.env.as_deref().unwrap_or_default()
                )));
            }
            let database = database_name(&event.env);
            let collection = collection_name(&event.provider, &event.username);
            let document = event.to_document();
            let same = existing.remove(&event.id).is_some_and(|e| {
                e.database == database
                    && e.collection == collection
                    && e.amount.as_ref() == document.get("amount")
            });
            if same {
                summary.unchanged += 1;
                continue;
            }
            let hour = Some(event.ts.timestamp_millis());
            mark(client, &database, &collection, hour).await?;
            client
                .database(&database)
                .collection::<Document>(&collection)
                .replace_one(doc! { "_id": event.id }, document)
                .upsert(true)
                .await
                .map_err(error)?;
            mark(client, &database, &collection, hour).await?;
            summary.written += 1;
        }
        for (id, gone) in existing {
            mark(client, &gone.database, &gone.collection, gone.ts).await?;
            client
                .database(&gone.database)
                .collection::<Document>(&gone.collection)
                .delete_one(doc! { "_id": id })
                .await
                .map_err(error)?;
            mark(client, &gone.database, &gone.collection, gone.ts).await?;
            summary.removed += 1;
        }
        Ok(summary)
    }
}

/// An adjustment an earlier run wrote.
struct Existing {
    database: String,
    collection: String,
    amount: Option<Bson>,
    ts: Option<i64>,
}

/// Marks the rollup window of `ts` before and after a change, as the
/// writer does for a batch: an adjustment written or removed for an old
/// day makes its windows dirty, and they are recomputed.
async fn mark(
    client: &mongodb::Client,
    database: &str,
    collection: &str,
    ts: Option<i64>,
) -> Result<(), QueryError> {
    let hours = ts.map(rollup_marks::hour_of).into_iter().collect();
    rollup_marks::mark(client, database, collection, &hours)
        .await
        .map_err(QueryError::from)
}
