//! The writer's half of the ledger's rollups (`panoptic_ledger::rollup`):
//! before a batch goes in, the hour windows it touches are marked, so a
//! rollup never stands for events it has not seen.
//!
//! Rollups live in the database [`DATABASE`] (`panoptic_rollups`: no
//! reader lists it as events, since it does not start with `panoptic-`),
//! in one collection, [`WINDOWS`], one document per window:
//!
//! | level | `_id` | what it sums |
//! |---|---|---|
//! | [`Level::Collection`] | `0\|{db}\|{collection}\|{hour}` | one collection's events in one hour |
//! | [`Level::Hour`] | `1\|{db}\|{hour}` | every collection of `db` in one hour |
//! | [`Level::Day`] | `2\|{db}\|{day}` | every collection of `db` in one UTC day |
//!
//! A mark adds one to `marks` and sets `dirty` on all three. A rollup is
//! written with the `marks` it was computed at, and only if `marks` has
//! not moved meanwhile; so a batch that lands while its window is being
//! recomputed leaves the window dirty, and a dirty window is read from
//! events. Each batch is marked before its insert (the collection's window
//! then exists whenever its events do), and marked again after the insert
//! when its hour may already be rolled up ([`may_be_rolled_up`]).

use std::collections::BTreeSet;
use std::time::Duration;

use bson::{Document, RawDocumentBuf, doc};
use chrono::{DateTime, Utc};

/// The database rollups live in.
pub const DATABASE: &str = "panoptic_rollups";
/// The collection of windows (and their marks).
pub const WINDOWS: &str = "windows";
/// One hour, in milliseconds: the smallest window.
pub const HOUR_MS: i64 = 3_600_000;
/// One day, in milliseconds.
pub const DAY_MS: i64 = 24 * HOUR_MS;
/// How long after its end an hour is rolled up: the writer's batching and
/// retries finish within it, and it absorbs clock skew between hosts of up
/// to [`SKEW`].
pub const GRACE: Duration = Duration::from_secs(5 * 60);
/// The clock skew between hosts the protocol tolerates.
pub const SKEW: Duration = Duration::from_secs(4 * 60);

/// A window's level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// One collection, one hour: computed from events.
    Collection = 0,
    /// Every collection of a database, one hour: from level 0.
    Hour = 1,
    /// Every collection of a database, one UTC day: from level 1.
    Day = 2,
}

impl Level {
    /// The value of the document's `l` field.
    pub const fn number(self) -> i32 {
        self as i32
    }
}

/// The start of the hour holding `ms` (milliseconds since the epoch).
pub const fn hour_of(ms: i64) -> i64 {
    ms.div_euclid(HOUR_MS) * HOUR_MS
}

/// The start of the UTC day holding `ms`.
pub const fn day_of(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS) * DAY_MS
}

/// A window document's `_id`.
pub fn window_id(level: Level, database: &str, collection: Option<&str>, start_ms: i64) -> String {
    match collection {
        Some(collection) => format!("{}|{database}|{collection}|{start_ms}", level.number()),
        None => format!("{}|{database}|{start_ms}", level.number()),
    }
}

/// Every level: what a batch marks.
pub const ALL_LEVELS: [Level; 3] = [Level::Collection, Level::Hour, Level::Day];

/// The `update` statements that mark `hours` (their starts) of
/// `collection` in `database`, and the hour and day windows above them.
pub fn mark_statements(database: &str, collection: &str, hours: &BTreeSet<i64>) -> Vec<Document> {
    level_statements(database, Some(collection), hours, &ALL_LEVELS)
}

/// The statements that mark the windows of `levels` holding `hours`; the
/// collection level only with a collection.
pub fn level_statements(
    database: &str,
    collection: Option<&str>,
    hours: &BTreeSet<i64>,
    levels: &[Level],
) -> Vec<Document> {
    let mut windows: BTreeSet<(Level, Option<&str>, i64)> = BTreeSet::new();
    for &hour in hours {
        for &level in levels {
            match (level, collection) {
                (Level::Collection, Some(_)) => windows.insert((level, collection, hour)),
                (Level::Collection, None) => false,
                (Level::Hour, _) => windows.insert((level, None, hour)),
                (Level::Day, _) => windows.insert((level, None, day_of(hour))),
            };
        }
    }
    windows
        .into_iter()
        .map(|(level, collection, start)| {
            let mut on_insert = doc! {
                "l": level.number(),
                "db": database,
                "t": bson::DateTime::from_millis(start),
            };
            if let Some(collection) = collection {
                on_insert.insert("c", collection);
            }
            doc! {
                "q": { "_id": window_id(level, database, collection, start) },
                "u": {
                    "$inc": { "marks": 1_i64 },
                    "$set": { "dirty": true },
                    "$setOnInsert": on_insert,
                },
                "upsert": true,
            }
        })
        .collect()
}

/// The whole `update` command for [`mark_statements`], run against
/// [`DATABASE`].
pub fn mark_command(database: &str, collection: &str, hours: &BTreeSet<i64>) -> Document {
    doc! {
        "update": WINDOWS,
        "updates": mark_statements(database, collection, hours),
        "ordered": false,
    }
}

/// The hours the documents' `ts` fall in (documents without one are
/// skipped: the server refuses nothing for it, and no window needs them).
pub fn hours_of(documents: &[RawDocumentBuf]) -> BTreeSet<i64> {
    documents
        .iter()
        .filter_map(|d| d.get_datetime("ts").ok())
        .map(|ts| hour_of(ts.timestamp_millis()))
        .collect()
}

/// True when a rollup worker, whose clock may be [`SKEW`] ahead, may
/// already have rolled up the hour starting at `hour`: a batch inserted
/// into it marks it again after its insert.
pub fn may_be_rolled_up(hour: i64, now: DateTime<Utc>) -> bool {
    let closes = hour + HOUR_MS + GRACE.as_millis() as i64 - SKEW.as_millis() as i64;
    now.timestamp_millis() >= closes
}

/// True when the hour starting at `hour` is closed for a worker whose
/// clock reads `now`: every batch for it has been inserted or marks it
/// again.
pub fn is_closed(hour: i64, now: DateTime<Utc>) -> bool {
    now.timestamp_millis() >= hour + HOUR_MS + GRACE.as_millis() as i64
}

/// Marks `hours` of `collection` in `database`: one round trip.
pub async fn mark(
    client: &mongodb::Client,
    database: &str,
    collection: &str,
    hours: &BTreeSet<i64>,
) -> Result<(), mongodb::error::Error> {
    mark_levels(client, database, Some(collection), hours, &ALL_LEVELS).await
}

/// Marks the windows of `levels` holding `hours` (a rebuild marks each
/// collection's hours, then each hour and day once).
pub async fn mark_levels(
    client: &mongodb::Client,
    database: &str,
    collection: Option<&str>,
    hours: &BTreeSet<i64>,
    levels: &[Level],
) -> Result<(), mongodb::error::Error> {
    if hours.is_empty() {
        return Ok(());
    }
    let command = doc! {
        "update": WINDOWS,
        "updates": level_statements(database, collection, hours, levels),
        "ordered": false,
    };
    let rollups = client.database(DATABASE);
    let run = || rollups.run_command(command.clone());
    // Sent again once after a dropped connection, as the driver does for
    // an insert (a retryable write); marking twice only marks.
    let answer = match run().await {
        Err(error)
            if matches!(
                error.kind.as_ref(),
                mongodb::error::ErrorKind::Io(_)
                    | mongodb::error::ErrorKind::ConnectionPoolCleared { .. }
            ) =>
        {
            run().await?
        }
        answered => answered?,
    };
    match answer.get_array("writeErrors") {
        Ok(errors) if !errors.is_empty() => Err(mongodb::error::Error::custom(format!(
            "marking rollup windows: {errors:?}"
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_and_days_floor_before_the_epoch_too() {
        assert_eq!(hour_of(HOUR_MS + 1), HOUR_MS);
        assert_eq!(hour_of(-1), -HOUR_MS);
        assert_eq!(day_of(DAY_MS - 1), 0);
        assert_eq!(day_of(-1), -DAY_MS);
    }

    #[test]
    fn a_batch_marks_its_collection_hours_and_the_hour_and_day_above() {
        let hours = BTreeSet::from([0, HOUR_MS, DAY_MS]);
        let statements = mark_statements("panoptic-prod", "openai_alice", &hours);
        let ids: BTreeSet<String> = statements
            .iter()
            .map(|s| {
                s.get_document("q")
                    .unwrap()
                    .get_str("_id")
                    .unwrap()
                    .to_owned()
            })
            .collect();
        // Three collection hours, three hours, two days.
        assert_eq!(statements.len(), 8, "{ids:?}");
        assert!(ids.contains(&format!("0|panoptic-prod|openai_alice|{HOUR_MS}")));
        assert!(ids.contains(&format!("2|panoptic-prod|{DAY_MS}")));
    }

    #[test]
    fn an_hour_may_be_rolled_up_only_near_its_grace_minus_skew() {
        let hour = 0;
        let at = |ms: i64| DateTime::<Utc>::from_timestamp_millis(ms).unwrap();
        assert!(!may_be_rolled_up(hour, at(HOUR_MS)));
        assert!(may_be_rolled_up(hour, at(HOUR_MS + 60_000)));
        assert!(!is_closed(hour, at(HOUR_MS + 60_000)));
        assert!(is_closed(hour, at(HOUR_MS + 5 * 60_000)));
    }
}
