//! The newest events of a query, found through the rollups: each group of
//! a collection hour keeps its newest event's time (`t`), so the events
//! page reads the collections that may hold the newest matches, newest
//! first, and stops as soon as no unread one can hold a newer event than
//! the ones found — tens of reads where every collection would be two
//! thousand.

use std::collections::BTreeMap;

use bson::{Bson, Document, doc};
use futures_util::{StreamExt, TryStreamExt};

use panoptic_core::rollup_marks::{HOUR_MS, Level};

use super::{in_range, windows};
use crate::groups::{self as group, Dims};
use panoptic_core::BillingEvent;

use crate::query::listing::{all, newest_of, read};
use crate::query::{CostQuery, QueryError};

impl CostQuery {
    /// The events this query matches, with `and` added to its filter, from
    /// the collections it reads (see [`CostQuery::run`]); when `newest` is
    /// given, a set of them holding the newest `newest` overall (unsorted).
    /// Without `and`, a database covered by rollups is read only in the
    /// collection hours that may hold them ([`crate::rollup`]). A document
    /// that is not an event (another program's) is skipped. Errors are one
    /// line.
    pub async fn events(
        &self,
        client: &mongodb::Client,
        and: Document,
        newest: Option<u64>,
    ) -> Result<Vec<BillingEvent>, QueryError> {
        let plain = and.is_empty();
        let mut filter = self.filter();
        filter.extend(and);
        let documents = match newest {
            // Where the rollups cover a database, they say which
            // collections may hold the newest (for the query's own filters).
            Some(newest) if plain => {
                let mut documents = Vec::new();
                let mut uncovered = Vec::new();
                for database in self.databases(client).await? {
                    match super::is_covered(client, &database).await {
                        Ok(true) => documents
                            .push(newest_in(client, self, &database, &filter, newest).await?),
                        _ => uncovered.push(database),
                    }
                }
                if !uncovered.is_empty() {
                    let collections = self.collections_of(client, uncovered).await?;
                    documents.extend(newest_of(&collections, &filter, newest).await?);
                }
                documents
            }
            Some(newest) => {
                let collections = self.event_collections(client).await?;
                newest_of(&collections, &filter, newest).await?
            }
            None => {
                let collections = self.event_collections(client).await?;
                let reads = collections
                    .iter()
                    .map(|c| read(c.clone(), filter.clone(), None));
                all(reads.collect()).await?
            }
        };
        Ok(documents
            .iter()
            .flatten()
            .filter_map(|document| BillingEvent::from_document(document).ok())
            .collect())
    }
}

/// The field of a stored group holding its newest event's time.
const NEWEST: &str = "t";

/// Adds each group's newest event time (from `lasts`, by hour and facts)
/// to the groups of a collection hour's `window`.
pub(crate) fn store(window: &mut Document, hour: i64, lasts: &BTreeMap<(i64, Dims), i64>) {
    let Ok(groups) = window.get_array_mut(group::Combo::All.field()) else {
        return;
    };
    for stored in groups.iter_mut() {
        let Bson::Document(stored) = stored else {
            continue;
        };
        let Ok((dims, _)) = group::from_bson(stored) else {
            continue;
        };
        if let Some(&last) = lasts.get(&(hour, dims)) {
            stored.insert(NEWEST, bson::DateTime::from_millis(last));
        }
    }
}

/// A collection hour that may hold matches: the newest one can be.
struct Candidate {
    collection: String,
    hour: i64,
    newest: i64,
}

/// Among the events of `database` matching `query` (its `filter`), a set
/// holding the newest `newest` of them, read collection hour by collection
/// hour, most promising first.
pub(crate) async fn newest_in(
    client: &mongodb::Client,
    query: &CostQuery,
    database: &str,
    filter: &Document,
    newest: u64,
) -> Result<Vec<Document>, QueryError> {
    let error = QueryError::from;
    let since = query.since.map(|t| t.timestamp_millis());
    let until = query.until.map(|t| t.timestamp_millis());
    let wanted = usize::try_from(newest).unwrap_or(usize::MAX);
    // The hours holding events, newest first: a database hour per hour.
    let hours_filter = in_range(
        Level::Hour,
        database,
        since.map(panoptic_core::rollup_marks::hour_of),
        until,
    );
    let mut hours = windows(client)
        .find(hours_filter)
        .sort(doc! { "t": -1 })
        .projection(doc! { "t": 1 })
        .await
        .map_err(error)?;
    let events = client.database(database);
    let mut found: Vec<Document> = Vec::new();
    // The time the newest `wanted`-th found event has: nothing older
    // can be among the newest.
    let kth = |found: &mut Vec<Document>| -> Option<i64> {
        if found.len() < wanted {
            return None;
        }
        let mut times: Vec<i64> = found.iter().map(ts_of).collect();
        times.select_nth_unstable_by(wanted - 1, |a, b| b.cmp(a));
        Some(times[wanted - 1])
    };
    while let Some(hour) = hours.try_next().await.map_err(error)? {
        let Ok(start) = hour.get_datetime("t").map(|t| t.timestamp_millis()) else {
            continue;
        };
        if kth(&mut found).is_some_and(|kth| kth >= start + HOUR_MS) {
            break;
        }
        let mut candidates = candidates_in(client, query, database, start).await?;
        candidates.sort_by_key(|c| std::cmp::Reverse(c.newest));
        let mut next = candidates.into_iter().peekable();
        while next.peek().is_some() {
            if let (Some(kth), Some(c)) = (kth(&mut found), next.peek())
                && kth > c.newest
            {
                break;
            }
            let batch: Vec<Candidate> = next
                .by_ref()
                .take(CostQuery::COLLECTIONS_IN_FLIGHT)
                .collect();
            let reads = batch.into_iter().map(|c| {
                let mut within = filter.clone();
                let from = since.map_or(c.hour, |s| c.hour.max(s));
                let to = until.map_or(c.hour + HOUR_MS, |u| (c.hour + HOUR_MS).min(u));
                within.insert(
                    "ts",
                    doc! {
                        "$gte": bson::DateTime::from_millis(from),
                        "$lt": bson::DateTime::from_millis(to),
                    },
                );
                let collection = events.collection::<Document>(&c.collection);
                async move {
                    collection
                        .find(within)
                        .sort(doc! { "ts": -1 })
                        .limit(i64::try_from(newest).unwrap_or(i64::MAX))
                        .await?
                        .try_collect::<Vec<Document>>()
                        .await
                }
            });
            let answers: Vec<Vec<Document>> = futures_util::stream::iter(reads)
                .buffered(CostQuery::COLLECTIONS_IN_FLIGHT)
                .try_collect()
                .await
                .map_err(error)?;
            found.extend(answers.into_iter().flatten());
        }
        if let Some(kth) = kth(&mut found) {
            found.retain(|d| ts_of(d) >= kth);
        }
    }
    Ok(found)
}

/// The collection hours of `database` at `hour` that may hold an event
/// `query` matches, each with the newest time such an event can have.
async fn candidates_in(
    client: &mongodb::Client,
    query: &CostQuery,
    database: &str,
    hour: i64,
) -> Result<Vec<Candidate>, QueryError> {
    let error = QueryError::from;
    let mut filter = doc! {
        "l": Level::Collection.number(),
        "db": database,
        "t": bson::DateTime::from_millis(hour),
    };
    if let (Some(provider), Some(username)) = (&query.provider, &query.username) {
        filter.insert(
            "c",
            panoptic_core::naming::collection_name(provider, username),
        );
    }
    let mut cursor = windows(client)
        .find(filter)
        .projection(doc! { "c": 1, "dirty": 1, "groups": 1, "groups_overflow": 1 })
        .await
        .map_err(error)?;
    let whole_hour = hour + HOUR_MS - 1;
    let mut candidates = Vec::new();
    while let Some(window) = cursor.try_next().await.map_err(error)? {
        let collection = window.get_str("c").unwrap_or_default().to_owned();
        let clean = !window.get_bool("dirty").unwrap_or(true)
            && !window.get_bool("groups_overflow").unwrap_or(false)
            && window.get_array("groups").is_ok();
        let newest = match clean {
            // What it holds is not known: any time of the hour.
            false => Some(whole_hour),
            true => {
                let mut newest = None;
                for stored in window.get_array("groups").into_iter().flatten() {
                    let Some(stored) = stored.as_document() else {
                        continue;
                    };
                    let Ok((dims, _)) = group::from_bson(stored) else {
                        newest = Some(whole_hour);
                        continue;
                    };
                    if !query.matches_facts(&dims) {
                        continue;
                    }
                    let time = stored
                        .get_datetime(NEWEST)
                        .map_or(whole_hour, |t| t.timestamp_millis());
                    newest = newest.max(Some(time));
                }
                newest
            }
        };
        if let Some(newest) = newest {
            candidates.push(Candidate {
                collection,
                hour,
                newest,
            });
        }
    }
    Ok(candidates)
}

fn ts_of(document: &Document) -> i64 {
    document
        .get_datetime("ts")
        .map(|t| t.timestamp_millis())
        .unwrap_or(i64::MIN)
}
