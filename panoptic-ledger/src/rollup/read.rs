//! A cost query answered from rollups: the coarsest clean window that
//! keeps the query's facts and lies within its range and within one value
//! of each time dimension; events for the rest (the open hour, dirty
//! windows, the edges of a range not on the hour).

use std::collections::{BTreeMap, BTreeSet};

use bson::{Document, RawDocument, RawDocumentBuf, doc};
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;

use panoptic_core::naming::collection_name;
use panoptic_core::rollup_marks::{DAY_MS, HOUR_MS, Level, day_of, hour_of, window_id};

use super::{in_range, windows};
use crate::groups::{self as group, Combo};
use crate::query::histogram::{GroupKey, Partial, finish};
use crate::query::{CostQuery, CostRow, QueryError};

/// Each collection's time ranges to read from events.
pub(crate) type EventRanges = BTreeMap<String, Vec<(i64, i64)>>;

impl CostQuery {
    /// Runs the report on MongoDB: the env's database (else every
    /// `panoptic-*` database), the provider+user collection when both are
    /// given (else every collection). Where a database's rollups cover it
    /// ([`crate::rollup`]), closed windows are read from them and only the
    /// rest from events; the rows are the same as [`CostQuery::run_scan`]'s.
    pub async fn run(&self, client: &mongodb::Client) -> Result<Vec<CostRow>, QueryError> {
        let mut groups: BTreeMap<GroupKey, Partial> = BTreeMap::new();
        for database_name in self.databases(client).await? {
            let database = client.database(&database_name);
            let ranges = if super::is_covered(client, &database_name).await? {
                from_windows(self, client, &database_name, &mut groups)
                    .await?
                    .into_iter()
                    .map(|(collection, ranges)| (collection, Some(ranges)))
                    .collect()
            } else {
                let collections = self.collections_in(&database).await?;
                collections.into_iter().map(|c| (c, None)).collect()
            };
            self.scan(&database, ranges, &mut groups).await?;
        }
        Ok(finish(groups))
    }
}

/// Adds `query`'s groups in `database` from its windows to `groups`, and
/// returns what must be read from events.
async fn from_windows(
    query: &CostQuery,
    client: &mongodb::Client,
    database: &str,
    groups: &mut BTreeMap<GroupKey, Partial>,
) -> Result<EventRanges, QueryError> {
    let since = query.since.map(|t| t.timestamp_millis());
    let until = query.until.map(|t| t.timestamp_millis());
    let inside = |start: i64, span: i64| query.window_inside(start, span);
    let one_value = |start: i64, span: i64| query.window_one_value(start, span);
    let single = match (&query.provider, &query.username) {
        (Some(provider), Some(username)) => Some(collection_name(provider, username)),
        _ => None,
    };
    let combo = [Combo::Totals, Combo::Users]
        .into_iter()
        .find(|c| c.covers(query));
    let error = QueryError::from;
    let mut add = |window: &RawDocument, field: &str| -> Result<(), QueryError> {
        let start = at(start_of(window));
        group::for_each_raw(window, field, |g| group::add_raw(query, groups, g, start))
            .map_err(QueryError::new)
    };

    // Days.
    let mut days_used = BTreeSet::new();
    if let Some(combo) = combo {
        let field = combo.field();
        let mut cursor = raw_windows(client)
            .find(in_range(Level::Day, database, since.map(day_of), until))
            .projection(doc! { "t": 1, "dirty": 1, field: 1 })
            .await
            .map_err(error)?;
        while let Some(day) = cursor.try_next().await.map_err(error)? {
            let start = start_of(&day);
            let clean = !flag(&day, "dirty", true) && day.get(field).ok().flatten().is_some();
            if clean && inside(start, DAY_MS) && one_value(start, DAY_MS) {
                add(&day, field)?;
                days_used.insert(start);
            }
        }
    }

    // Hours: from the database's hour, else its collections' hours.
    let mut collection_hours = Vec::new();
    let mut edges = Vec::new();
    let mut hours_to_read = Vec::new();
    // Only hours outside the days read, as time ranges the index bounds:
    // a database hour is large (a group per user), and the server reads a
    // document whole, whatever the projection.
    let hours_filter = outside_days(
        in_range(Level::Hour, database, since.map(hour_of), until),
        &days_used,
    );
    let mut cursor = raw_windows(client)
        .find(hours_filter)
        .projection(doc! { "t": 1, "dirty": 1, "totals_overflow": 1, "users_overflow": 1 })
        .await
        .map_err(error)?;
    while let Some(hour) = cursor.try_next().await.map_err(error)? {
        let start = start_of(&hour);
        if days_used.contains(&day_of(start)) {
            continue;
        }
        if !inside(start, HOUR_MS) {
            edges.push(start);
            continue;
        }
        let usable = combo.is_some_and(|combo| {
            !flag(&hour, "dirty", true)
                && !flag(&hour, &format!("{}_overflow", combo.field()), false)
        });
        if usable && one_value(start, HOUR_MS) {
            hours_to_read.push(window_id(Level::Hour, database, None, start));
        } else {
            collection_hours.push(start);
        }
    }
    if let Some(combo) = combo
        && !hours_to_read.is_empty()
    {
        let field = combo.field();
        let mut cursor = raw_windows(client)
            .find(doc! { "_id": { "$in": hours_to_read } })
            .projection(doc! { "t": 1, field: 1 })
            .await
            .map_err(error)?;
        while let Some(hour) = cursor.try_next().await.map_err(error)? {
            add(&hour, field)?;
        }
    }

    // Collection hours; what is dirty, too fine or at an edge: events.
    let mut ranges = EventRanges::new();
    let mut read_events = |collection: &str, start: i64| {
        ranges
            .entry(collection.to_owned())
            .or_default()
            .push((start, start + HOUR_MS));
    };
    for (starts, with_groups) in [(collection_hours, true), (edges, false)] {
        if starts.is_empty() {
            continue;
        }
        let mut filter = doc! {
            "l": Level::Collection.number(),
            "db": database,
            "t": { "$in": starts.iter().map(|&s| bson::DateTime::from_millis(s)).collect::<Vec<_>>() },
        };
        if let Some(single) = &single {
            filter.insert("c", single.as_str());
        }
        let mut projection = doc! { "c": 1, "t": 1, "dirty": 1, "groups_overflow": 1 };
        if with_groups {
            projection.insert("groups", 1);
        }
        let mut cursor = raw_windows(client)
            .find(filter)
            .projection(projection)
            .await
            .map_err(error)?;
        while let Some(window) = cursor.try_next().await.map_err(error)? {
            let start = start_of(&window);
            let collection = window.get_str("c").unwrap_or_default();
            let clean = !flag(&window, "dirty", true) && !flag(&window, "groups_overflow", false);
            if with_groups && clean && one_value(start, HOUR_MS) {
                add(&window, Combo::All.field())?;
            } else {
                read_events(collection, start);
            }
        }
    }
    Ok(ranges)
}

/// `filter` (on windows, by `t`) without the windows in `days`, as
/// `$or` ranges between them.
fn outside_days(mut filter: Document, days: &BTreeSet<i64>) -> Document {
    if days.is_empty() {
        return filter;
    }
    let mut gaps = Vec::new();
    let mut from: Option<i64> = None;
    for &day in days {
        let mut t = Document::new();
        if let Some(from) = from {
            t.insert("$gte", bson::DateTime::from_millis(from));
        }
        t.insert("$lt", bson::DateTime::from_millis(day));
        gaps.push(doc! { "t": t });
        from = Some(day + DAY_MS);
    }
    if let Some(from) = from {
        gaps.push(doc! { "t": { "$gte": bson::DateTime::from_millis(from) } });
    }
    filter.insert("$or", gaps);
    filter
}

fn start_of(window: &RawDocument) -> i64 {
    window
        .get_datetime("t")
        .map(|t| t.timestamp_millis())
        .unwrap_or_default()
}

/// A window's flag (`dirty`, `…_overflow`); absent reads as `absent`.
fn flag(window: &RawDocument, name: &str, absent: bool) -> bool {
    window.get_bool(name).unwrap_or(absent)
}

/// Windows as bytes: read in place, never copied field by field.
fn raw_windows(client: &mongodb::Client) -> mongodb::Collection<RawDocumentBuf> {
    windows(client).clone_with_type()
}

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
