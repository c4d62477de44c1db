//! Open calls beside the sums: each collection hour lists its start
//! records whose call had no final event when the worker looked, and each
//! database hour and day lists those of the windows below it.
//!
//! A listed call may have ended since; it has not if no event landed in
//! its collection after the worker looked. The collection's stamp
//! ([`panoptic_core::rollup_marks::stamp_id`]) says so: a writer stamps it
//! when it marks, and lands nothing more than a settle period after its
//! last stamp without stamping again. So a report asks a collection about
//! its listed calls only when it was written since, and reads start
//! records only for windows that are dirty or list nothing; on a quiet
//! ledger it reads no event at all, whatever the number of collections.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bson::{Bson, Document, doc};
use futures_util::{FutureExt, StreamExt, TryStreamExt};

use panoptic_core::BillingEvent;
use panoptic_core::keys::{self, metadata as meta};
use panoptic_core::rollup_marks::{DAY_MS, HOUR_MS, Level, STAMP_LEVEL, day_of, hour_of};

use super::{in_range, ts_ranges_filter, windows};
use crate::query::{CostQuery, QueryError};
use crate::start_records::{OpenCall, ended_among, open_call_matching, open_in};

/// Most open calls one window lists; above it, it says `open_unknown`
/// and readers look below (a document may not exceed 16 MB).
const MOST_LISTED: usize = 2_000;

/// The field listing a window's open calls: `{c, at, d}` each — the
/// collection, when the worker looked (server time), the start record.
const LISTED: &str = "open";
/// Set instead of [`LISTED`] when a window cannot list them.
const UNKNOWN: &str = "open_unknown";

/// The start records of `collection` in `ranges` whose call had no final
/// event at `computed`, by hour, as listed entries.
pub(crate) async fn starts_by_hour(
    events: &mongodb::Collection<Document>,
    collection: &str,
    computed: i64,
    ranges: &[(i64, i64)],
) -> Result<BTreeMap<i64, Vec<Document>>, QueryError> {
    let start_field = format!("{}.{}", keys::METADATA, meta::START);
    let mut filter = doc! { &start_field: true };
    filter.extend(ts_ranges_filter(ranges));
    let starts: Vec<Document> = events
        .find(filter)
        .await
        .map_err(QueryError::from)?
        .try_collect()
        .await
        .map_err(QueryError::from)?;
    let call_id = |d: &Document| {
        d.get_document(keys::METADATA)
            .and_then(|m| m.get_str(meta::CALL_ID))
            .ok()
            .map(str::to_owned)
    };
    let ids: Vec<String> = starts.iter().filter_map(call_id).collect();
    let ended = ended_among(events, &ids).await?;
    let mut by_hour: BTreeMap<i64, Vec<Document>> = BTreeMap::new();
    for start in starts {
        let (Some(id), Ok(ts)) = (call_id(&start), start.get_datetime(keys::TS)) else {
            continue;
        };
        if ended.contains(&id) {
            continue;
        }
        by_hour
            .entry(hour_of(ts.timestamp_millis()))
            .or_default()
            .push(doc! {
                "c": collection,
                "at": bson::DateTime::from_millis(computed),
                "d": start,
            });
    }
    Ok(by_hour)
}

/// Lists `entries` on a collection hour's `window`.
pub(crate) fn store(window: &mut Document, entries: Vec<Document>) {
    match entries.len() > MOST_LISTED {
        true => store_unknown(window),
        false => {
            window.insert(LISTED, entries);
        }
    }
}

/// Says a window cannot list its open calls.
pub(crate) fn store_unknown(window: &mut Document) {
    window.insert(UNKNOWN, true);
}

/// The lists of the windows below a database hour or day, gathered.
#[derive(Default)]
pub(crate) struct Gathered {
    entries: Vec<Document>,
    unknown: bool,
}

impl Gathered {
    pub(crate) fn add(&mut self, below: &Document) {
        match below.get_array(LISTED) {
            Ok(listed) if !below.get_bool(UNKNOWN).unwrap_or(false) => {
                self.entries
                    .extend(listed.iter().filter_map(|e| e.as_document().cloned()));
            }
            _ => self.unknown = true,
        }
    }

    pub(crate) fn store(self, window: &mut Document) {
        match self.unknown {
            true => store_unknown(window),
            false => store(window, self.entries),
        }
    }
}

/// What the windows of one database say about `query`'s open calls.
#[derive(Default)]
struct Found {
    /// Listed calls that pass the query: (collection, when looked, call).
    listed: Vec<(String, i64, OpenCall)>,
    /// Collection hours whose start records must be read.
    to_read: BTreeMap<String, Vec<(i64, i64)>>,
}

/// The open calls of `query` in `database` (covered by rollups), reading
/// events only where the windows cannot say.
pub(crate) async fn open_calls_in(
    client: &mongodb::Client,
    query: &CostQuery,
    database: &str,
) -> Result<Vec<OpenCall>, QueryError> {
    let found = from_windows(client, query, database).await?;
    let stamps = stamps(client, database).await?;
    // Listed calls hold unless their collection was written since.
    let mut open = Vec::new();
    let mut to_ask: BTreeMap<String, Vec<OpenCall>> = BTreeMap::new();
    for (collection, at, call) in found.listed {
        let written_since = stamps
            .get(&collection)
            .is_some_and(|&(touched, settle)| touched.saturating_add(settle) > at);
        match written_since {
            true => to_ask.entry(collection).or_default().push(call),
            false => open.push(call),
        }
    }
    let events = client.database(database);
    let asks = to_ask.into_iter().map(|(collection, calls)| {
        let collection = events.collection::<Document>(&collection);
        async move {
            let ids: Vec<String> = calls.iter().map(|c| c.call_id.clone()).collect();
            let ended = ended_among(&collection, &ids).await?;
            Ok::<_, QueryError>(
                calls
                    .into_iter()
                    .filter(|c| !ended.contains(&c.call_id))
                    .collect::<Vec<_>>(),
            )
        }
        .boxed()
    });
    let filter = query.filter();
    let reads = found.to_read.into_iter().map(|(collection, ranges)| {
        // Start records first: the test database plans by the first field.
        let start_field = format!("{}.{}", keys::METADATA, meta::START);
        let mut starts = doc! { &start_field: true };
        for (key, value) in &filter {
            if key != &start_field && key != keys::TS {
                starts.insert(key, value.clone());
            }
        }
        starts.extend(clamped(query, &ranges));
        open_in(events.collection::<Document>(&collection), starts).boxed()
    });
    let answers: Vec<Vec<OpenCall>> = futures_util::stream::iter(asks.chain(reads))
        .buffered(CostQuery::COLLECTIONS_IN_FLIGHT)
        .try_collect()
        .await?;
    open.extend(answers.into_iter().flatten());
    Ok(open)
}

/// `ranges` within the query's own time range, as a `ts` filter.
fn clamped(query: &CostQuery, ranges: &[(i64, i64)]) -> Document {
    let since = query.since.map(|t| t.timestamp_millis());
    let until = query.until.map(|t| t.timestamp_millis());
    let ranges: Vec<(i64, i64)> = ranges
        .iter()
        .map(|&(from, to)| {
            (
                since.map_or(from, |s| from.max(s)),
                until.map_or(to, |u| to.min(u)),
            )
        })
        .filter(|(from, to)| from < to)
        .collect();
    match ranges.is_empty() {
        // Nothing of these hours is in the range: match nothing.
        true => doc! { "ts": { "$lt": bson::DateTime::from_millis(i64::MIN / 2) } },
        false => ts_ranges_filter(&ranges),
    }
}

/// Each collection's stamp: (touched, settle) in milliseconds.
async fn stamps(
    client: &mongodb::Client,
    database: &str,
) -> Result<HashMap<String, (i64, i64)>, QueryError> {
    let mut cursor = windows(client)
        .find(doc! { "l": STAMP_LEVEL, "db": database })
        .projection(doc! { "c": 1, "touched": 1, "settle_ms": 1 })
        .await
        .map_err(QueryError::from)?;
    let mut stamps = HashMap::new();
    while let Some(stamp) = cursor.try_next().await.map_err(QueryError::from)? {
        let (Ok(collection), Ok(touched)) = (stamp.get_str("c"), stamp.get_datetime("touched"))
        else {
            continue;
        };
        let settle = match stamp.get("settle_ms") {
            Some(Bson::Int64(n)) => *n,
            Some(Bson::Int32(n)) => i64::from(*n),
            _ => panoptic_core::rollup_marks::SETTLE.as_millis() as i64,
        };
        stamps.insert(collection.to_owned(), (touched.timestamp_millis(), settle));
    }
    Ok(stamps)
}

/// Walks the windows overlapping the query's range, coarsest first: a
/// clean window that lists its open calls answers for its span; below one
/// that does not, the next level; below a collection hour that does not,
/// its start records.
async fn from_windows(
    client: &mongodb::Client,
    query: &CostQuery,
    database: &str,
) -> Result<Found, QueryError> {
    let since = query.since.map(|t| t.timestamp_millis());
    let until = query.until.map(|t| t.timestamp_millis());
    let error = QueryError::from;
    let mut found = Found::default();
    let mut take = |window: &Document| {
        for entry in window.get_array(LISTED).into_iter().flatten() {
            let Some(entry) = entry.as_document() else {
                continue;
            };
            let (Ok(collection), Ok(at), Ok(start)) = (
                entry.get_str("c"),
                entry.get_datetime("at"),
                entry.get_document("d"),
            ) else {
                continue;
            };
            let Ok(start) = BillingEvent::from_document(start) else {
                continue;
            };
            if let Some(call) = open_call_matching(query, &start) {
                found
                    .listed
                    .push((collection.to_owned(), at.timestamp_millis(), call));
            }
        }
    };
    let lists = |window: &Document| {
        !window.get_bool("dirty").unwrap_or(true)
            && !window.get_bool(UNKNOWN).unwrap_or(false)
            && window.get_array(LISTED).is_ok()
    };
    let start_of = |window: &Document| {
        window
            .get_datetime("t")
            .map(|t| t.timestamp_millis())
            .unwrap_or_default()
    };
    let projection = doc! { "c": 1, "t": 1, "dirty": 1, LISTED: 1, UNKNOWN: 1 };

    let mut days_used = BTreeSet::new();
    let mut cursor = windows(client)
        .find(in_range(Level::Day, database, since.map(day_of), until))
        .projection(projection.clone())
        .await
        .map_err(error)?;
    while let Some(day) = cursor.try_next().await.map_err(error)? {
        if lists(&day) {
            take(&day);
            days_used.insert(start_of(&day));
        }
    }
    let mut hours_below = Vec::new();
    let mut cursor = windows(client)
        .find(in_range(Level::Hour, database, since.map(hour_of), until))
        .projection(projection.clone())
        .await
        .map_err(error)?;
    while let Some(hour) = cursor.try_next().await.map_err(error)? {
        let start = start_of(&hour);
        if days_used.contains(&day_of(start)) {
            continue;
        }
        match lists(&hour) {
            true => take(&hour),
            false => hours_below.push(start),
        }
    }
    for chunk in hours_below.chunks(DAY_MS as usize / HOUR_MS as usize * 7) {
        let starts: Vec<Bson> = chunk
            .iter()
            .map(|&s| Bson::DateTime(bson::DateTime::from_millis(s)))
            .collect();
        let mut cursor = windows(client)
            .find(doc! { "l": Level::Collection.number(), "db": database, "t": { "$in": starts } })
            .projection(projection.clone())
            .await
            .map_err(error)?;
        while let Some(window) = cursor.try_next().await.map_err(error)? {
            match lists(&window) {
                true => take(&window),
                false => {
                    let start = start_of(&window);
                    found
                        .to_read
                        .entry(window.get_str("c").unwrap_or_default().to_owned())
                        .or_default()
                        .push((start, start + HOUR_MS));
                }
            }
        }
    }
    Ok(found)
}
