//! The events a query matches, read by index, collection by collection
//! (the dashboard's drill-down, reconciliation's stopped calls; the entry
//! point, `CostQuery::events`, is in `rollup::listing`, which finds the
//! newest of a covered database through the rollups).
//!
//! One `find` per collection, several in flight at once: two thousand
//! users' collections cost two thousand short reads that overlap, not two
//! thousand round trips one after the other. Not `$unionWith`: the test
//! database (secantusd-rs) reads every document of a joined collection
//! before its sub-pipeline's `$match`, so a join of all collections reads
//! every event. The newest are read window by window (see `newest_of`).

use bson::{Bson, Document, doc};
use futures_util::{StreamExt, TryStreamExt};

use panoptic_core::naming::{collection_name, database_name};

use super::server::panoptic_databases;
use super::{CostQuery, QueryError};

impl CostQuery {
    /// Reads of single collections kept in flight at once by the listings
    /// and open calls: enough to hide the round trips, few enough for the
    /// driver's pool (10 connections by default).
    pub(crate) const COLLECTIONS_IN_FLIGHT: usize = 8;

    /// The event collections this query reads, as [`CostQuery::run`]
    /// chooses them: the env's database (else every `panoptic-*` one), the
    /// provider+user collection when both are given (else every one).
    pub(crate) async fn event_collections(
        &self,
        client: &mongodb::Client,
    ) -> Result<Vec<mongodb::Collection<Document>>, QueryError> {
        let databases = match &self.env {
            Some(env) => vec![database_name(env)],
            None => panoptic_databases(client).await?,
        };
        self.collections_of(client, databases).await
    }

    /// The event collections of `databases` this query reads.
    pub(crate) async fn collections_of(
        &self,
        client: &mongodb::Client,
        databases: Vec<String>,
    ) -> Result<Vec<mongodb::Collection<Document>>, QueryError> {
        let mut collections = Vec::new();
        for name in databases {
            let database = client.database(&name);
            let names = match (&self.provider, &self.username) {
                (Some(provider), Some(username)) => vec![collection_name(provider, username)],
                _ => database
                    .list_collection_names()
                    .await
                    .map_err(QueryError::from)?,
            };
            collections.extend(names.iter().map(|c| database.collection(c)));
        }
        Ok(collections)
    }
}

/// The reads, several at once, their answers in their order. (Each owns
/// what it reads: a future borrowing from the closure that made it is not
/// `Send` for every lifetime, as an axum handler needs.)
pub(crate) async fn all<F>(reads: Vec<F>) -> Result<Vec<Vec<Document>>, QueryError>
where
    F: Future<Output = Result<Vec<Document>, QueryError>>,
{
    futures_util::stream::iter(reads)
        .buffered(CostQuery::COLLECTIONS_IN_FLIGHT)
        .try_collect()
        .await
}

/// The documents of `collection` matching `filter`; its `newest`, newest
/// first, when given.
pub(crate) async fn read(
    collection: mongodb::Collection<Document>,
    filter: Document,
    newest: Option<u64>,
) -> Result<Vec<Document>, QueryError> {
    let find = collection.find(filter);
    let find = match newest {
        Some(limit) => find
            .sort(doc! { "ts": -1 })
            .limit(i64::try_from(limit).unwrap_or(i64::MAX)),
        None => find,
    };
    find.await
        .map_err(QueryError::from)?
        .try_collect()
        .await
        .map_err(QueryError::from)
}

/// The first window the newest events are looked for in; each next one,
/// older, is `WIDER` times as long.
const FIRST_WINDOW_MS: i64 = 3_600_000;
const WIDER: i64 = 8;
/// A window longer than this is the rest of time.
const LONGEST_WINDOW_MS: i64 = 10 * 366 * 86_400_000;

/// Each collection's newest `newest` matching `filter` (fewer where there
/// are fewer), read newest window first.
///
/// A server may sort every match of a range to return its first few (the
/// test database does: the events page over 7 days of a busy collection
/// sorted all of them), so the newest are looked for in the last hour
/// first, then in windows eight times as long before it, and the reading
/// stops at the first window by which `newest` were found: every event of
/// the newest `newest` overall is then within the windows read, and among
/// the newest `newest` of its own collection there. A collection that gave
/// `newest` is not asked again.
pub(crate) async fn newest_of(
    collections: &[mongodb::Collection<Document>],
    filter: &Document,
    newest: u64,
) -> Result<Vec<Vec<Document>>, QueryError> {
    let mut answers: Vec<Vec<Document>> = vec![Vec::new(); collections.len()];
    let range = match filter.get("ts") {
        None => Document::new(),
        Some(Bson::Document(range)) if range.keys().all(|k| k == "$gte" || k == "$lt") => {
            range.clone()
        }
        // A time asked some other way: read as asked, in one go.
        Some(_) => {
            let reads = collections
                .iter()
                .map(|c| read(c.clone(), filter.clone(), Some(newest)));
            return all(reads.collect()).await;
        }
    };
    let millis = |key: &str| match range.get(key) {
        Some(Bson::DateTime(t)) => Some(t.timestamp_millis()),
        _ => None,
    };
    let (since, until) = (millis("$gte"), millis("$lt"));
    let end = until.unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
    // The first window is open above: an event stamped ahead of this clock
    // is among the newest.
    let mut upper = until;
    let mut span = FIRST_WINDOW_MS;
    loop {
        let lower = end.saturating_sub(span);
        let last = span > LONGEST_WINDOW_MS || since.is_some_and(|since| lower <= since);
        let mut window = range.clone();
        if !last {
            window.insert("$gte", bson::DateTime::from_millis(lower));
        }
        if let Some(upper) = upper {
            window.insert("$lt", bson::DateTime::from_millis(upper));
        }
        let mut windowed = filter.clone();
        windowed.insert("ts", window);
        let wanted: Vec<usize> = (0..collections.len())
            .filter(|&i| (answers[i].len() as u64) < newest)
            .collect();
        let reads = wanted.iter().map(|&i| {
            let missing = newest - answers[i].len() as u64;
            read(collections[i].clone(), windowed.clone(), Some(missing))
        });
        for (i, found) in wanted.iter().zip(all(reads.collect()).await?) {
            answers[*i].extend(found);
        }
        let found: u64 = answers.iter().map(|a| a.len() as u64).sum();
        if last || found >= newest {
            return Ok(answers);
        }
        upper = Some(lower);
        span = span.saturating_mul(WIDER);
    }
}
