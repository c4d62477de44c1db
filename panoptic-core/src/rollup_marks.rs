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
//!
//! The hour still being written is rolled up too, once it has *settled*
//! ([`is_settled`]): a writer's mark stamps the window with the server's
//! time (`touched`) and the writer's [`settle`] period (`settle_ms`); a
//! writer marks a window again before an insert once half that period has
//! passed since its last mark of it, and after an insert that finished
//! half a period or more after that mark was sent. So every insert lands
//! within `settle_ms` of a mark the worker sees, or marks again: a worker
//! that computes a window `settle_ms` after its last mark (server time,
//! no clock shared between hosts) has seen all its events. Windows a
//! writer without this rule marked (`timed` below `marks`) wait for their
//! hour to close, as before.

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
/// How long after a writer's last mark a window it marked may be rolled
/// up, unless `PANOPTIC_ROLLUP_SETTLE_SECONDS` says otherwise: longer
/// than an insert takes (the operation timeout is 10 s by default), short
/// enough that a dashboard reads the hour being written from rollups a
/// minute after its collection goes quiet.
pub const SETTLE: Duration = Duration::from_secs(60);

/// This process's settle period: [`SETTLE`], or
/// `PANOPTIC_ROLLUP_SETTLE_SECONDS` (whole seconds, at least 1). Each
/// mark carries it, and a window keeps the longest it was marked with, so
/// writers with different periods stay exact together.
pub fn settle() -> Duration {
    static SETTLE_PERIOD: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
    *SETTLE_PERIOD.get_or_init(|| {
        std::env::var("PANOPTIC_ROLLUP_SETTLE_SECONDS")
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .map(|s| Duration::from_secs(s.max(1)))
            .unwrap_or(SETTLE)
    })
}

/// Who marks a window, and so what the mark stamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    /// A writer about to insert (or delete): the mark stamps the server's
    /// time and the writer's settle period.
    Writer(Duration),
    /// A rollup worker marking what exists already (a rebuild): nothing
    /// will be inserted after it, so it stamps no time.
    Worker,
}

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
    level_statements(
        database,
        Some(collection),
        hours,
        &ALL_LEVELS,
        Marker::Writer(settle()),
    )
}

/// The statements that mark the windows of `levels` holding `hours`; the
/// collection level only with a collection.
pub fn level_statements(
    database: &str,
    collection: Option<&str>,
    hours: &BTreeSet<i64>,
    levels: &[Level],
    marker: Marker,
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
    let stamp = match (marker, collection) {
        (Marker::Writer(settle), Some(collection)) if !hours.is_empty() => {
            Some(stamp_statement(database, collection, settle))
        }
        _ => None,
    };
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
            let mut update = doc! {
                // `timed` counts the marks made under the settle rule.
                "$inc": { "marks": 1_i64, "timed": 1_i64 },
                "$set": { "dirty": true },
                "$setOnInsert": on_insert,
            };
            if let Marker::Writer(settle) = marker {
                update.insert("$currentDate", doc! { "touched": true });
                update.insert("$max", doc! { "settle_ms": settle.as_millis() as i64 });
            }
            doc! {
                "q": { "_id": window_id(level, database, collection, start) },
                "u": update,
                "upsert": true,
            }
        })
        .chain(stamp)
        .collect()
}

/// The `_id` of a collection's stamp: when a writer last marked any of its
/// windows (`touched`, server time) and the longest settle period it was
/// marked with. No event lands in the collection later than `touched` +
/// `settle_ms` without marking again, so what a worker found in it at a
/// time `T` (say, that a call has not ended) still holds while `touched`
/// is at most `T` − `settle_ms`.
pub fn stamp_id(database: &str, collection: &str) -> String {
    format!("s|{database}|{collection}")
}

/// The `l` of a collection's stamp: below every window level.
pub const STAMP_LEVEL: i32 = -1;

fn stamp_statement(database: &str, collection: &str, settle: Duration) -> Document {
    doc! {
        "q": { "_id": stamp_id(database, collection) },
        "u": {
            "$currentDate": { "touched": true },
            "$max": { "settle_ms": settle.as_millis() as i64 },
            "$setOnInsert": { "l": STAMP_LEVEL, "db": database, "c": collection },
        },
        "upsert": true,
    }
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

/// True when a window may be rolled up as of the server's time
/// `server_now_ms` by the settle rule: every mark it had was made under the
/// rule (`timed` equals `marks`), and its last writer's mark is
/// `settle_ms` old. A window without `touched` was marked by workers only.
pub fn is_settled(window: &Document, server_now_ms: i64) -> bool {
    let number = |field: &str| match window.get(field) {
        Some(bson::Bson::Int64(n)) => Some(*n),
        Some(bson::Bson::Int32(n)) => Some(i64::from(*n)),
        _ => None,
    };
    let touched = window
        .get_datetime("touched")
        .map(|t| t.timestamp_millis())
        .unwrap_or(i64::MIN / 2);
    let settle_ms = number("settle_ms").unwrap_or(SETTLE.as_millis() as i64);
    number("marks").is_some()
        && number("marks") == number("timed")
        && touched.saturating_add(settle_ms) <= server_now_ms
}

/// Marks `hours` of `collection` in `database` before (or after) a write:
/// one round trip.
pub async fn mark(
    client: &mongodb::Client,
    database: &str,
    collection: &str,
    hours: &BTreeSet<i64>,
) -> Result<(), mongodb::error::Error> {
    mark_levels(
        client,
        database,
        Some(collection),
        hours,
        &ALL_LEVELS,
        Marker::Writer(settle()),
    )
    .await
}

/// Marks the windows of `levels` holding `hours` (a rebuild marks each
/// collection's hours, then each hour and day once).
pub async fn mark_levels(
    client: &mongodb::Client,
    database: &str,
    collection: Option<&str>,
    hours: &BTreeSet<i64>,
    levels: &[Level],
    marker: Marker,
) -> Result<(), mongodb::error::Error> {
    if hours.is_empty() {
        return Ok(());
    }
    let command = doc! {
        "update": WINDOWS,
        "updates": level_statements(database, collection, hours, levels, marker),
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
        // Three collection hours, three hours, two days, the stamp.
        assert_eq!(statements.len(), 9, "{ids:?}");
        assert!(ids.contains("s|panoptic-prod|openai_alice"));
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

    #[test]
    fn a_window_settles_only_when_every_mark_kept_the_rule() {
        let touched = bson::DateTime::from_millis(10_000);
        let window =
            doc! { "marks": 2_i64, "timed": 2_i64, "touched": touched, "settle_ms": 5_000_i64 };
        assert!(!is_settled(&window, 14_999));
        assert!(is_settled(&window, 15_000));
        // A writer without the rule marked it once: it waits for its hour.
        let old =
            doc! { "marks": 3_i64, "timed": 2_i64, "touched": touched, "settle_ms": 5_000_i64 };
        assert!(!is_settled(&old, i64::MAX / 4));
        // Marked by a rebuild only: nothing is in flight.
        assert!(is_settled(&doc! { "marks": 1_i64, "timed": 1_i64 }, 0));
        assert!(!is_settled(&doc! { "marks": 1_i64 }, i64::MAX / 4));
    }

    #[test]
    fn a_writers_mark_stamps_time_and_period_and_a_workers_does_not() {
        let hours = BTreeSet::from([0]);
        let writer = level_statements(
            "d",
            Some("c"),
            &hours,
            &[Level::Collection],
            Marker::Writer(Duration::from_secs(7)),
        );
        let update = writer[0].get_document("u").unwrap();
        assert!(
            update
                .get_document("$currentDate")
                .unwrap()
                .get_bool("touched")
                .unwrap()
        );
        assert_eq!(
            update
                .get_document("$max")
                .unwrap()
                .get_i64("settle_ms")
                .unwrap(),
            7_000
        );
        let worker = level_statements("d", Some("c"), &hours, &[Level::Collection], Marker::Worker);
        let update = worker[0].get_document("u").unwrap();
        assert!(update.get("$currentDate").is_none());
        assert_eq!(
            update
                .get_document("$inc")
                .unwrap()
                .get_i64("timed")
                .unwrap(),
            1
        );
    }
}
