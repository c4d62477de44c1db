//! The worker: recomputes dirty closed windows, level by level, each from
//! the level below (collection hours from events), and replaces each whole
//! on condition that its marks did not move meanwhile.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};

use bson::{Bson, Document, doc};
use chrono::{DateTime, NaiveDateTime, Utc};
use futures_util::{StreamExt, TryStreamExt, stream};

use panoptic_core::rollup_marks::{self as marks, DAY_MS, GRACE, HOUR_MS, Level, window_id};

use super::lease::{HeldBy, Lease};
use super::listing as newest;
use super::open;
use super::{COVERED, DATABASE, MOST_GROUP_BYTES, WINDOWS, ensure_indexes, is_covered, windows};
use crate::groups::{self as group, Combo, Dims, Groups};
use crate::query::QueryError;
use crate::query::server::{currency_of, group_with, sums_of_row};

/// How far a pass has come, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// `collections`, `collection hours`, `hours`, `days`.
    pub stage: &'static str,
    /// Done so far in this stage.
    pub done: u64,
    /// In this stage.
    pub total: u64,
}

/// What one pass over a database did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollupReport {
    /// The database.
    pub database: String,
    /// Collection hours recomputed from events.
    pub collection_hours: u64,
    /// Database hours recomputed.
    pub hours: u64,
    /// Days recomputed.
    pub days: u64,
    /// Windows left dirty: a batch landed while they were computed (or a
    /// window below them is still dirty). The next pass takes them.
    pub left_dirty: u64,
    /// Another worker holds the database's lease: nothing was done.
    pub held_by: Option<HeldBy>,
}

/// A rollup pass that failed; what it wrote stays correct.
#[derive(Debug, thiserror::Error)]
#[error("rollup failed: {0}")]
pub struct RollupError(String);

impl From<mongodb::error::Error> for RollupError {
    fn from(error: mongodb::error::Error) -> RollupError {
        RollupError(panoptic_core::connect::describe(&error))
    }
}

impl From<QueryError> for RollupError {
    fn from(error: QueryError) -> RollupError {
        RollupError(error.to_string())
    }
}

/// A window's marks moved while it was computed (its upsert collided).
const DUPLICATE_KEY: i32 = 11000;

/// Collections (or hours, or days) computed at once: the server works on
/// one while the worker decodes and encodes another.
const CONCURRENT_READS: usize = 4;

/// Hours whose events one aggregation reads at once.
const HOURS_PER_READ: usize = 24 * 7;
/// Replacements per `update` command.
const REPLACES_PER_COMMAND: usize = 200;

/// One pass over `database` (`panoptic-{env}`) as of `now`, under its
/// lease: closed dirty windows recomputed, collection hours, then hours,
/// then days. The first pass over a database (or `rebuild`) first
/// computes every closed hour of every collection that holds events
/// straight from them, so data written before rollups (or by a binary
/// that did not mark) is rolled up too; four collections at a time, so
/// the server reads one while the worker encodes another.
pub async fn roll_up(
    client: &mongodb::Client,
    database: &str,
    now: DateTime<Utc>,
    rebuild: bool,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<RollupReport, RollupError> {
    let mut report = RollupReport {
        database: database.to_owned(),
        ..RollupReport::default()
    };
    let lease = match Lease::acquire(client, database, &super::lease::holder_name()).await? {
        Ok(lease) => lease,
        Err(held) => {
            report.held_by = Some(held);
            return Ok(report);
        }
    };
    let outcome = pass(
        client,
        database,
        now,
        rebuild,
        progress,
        &lease,
        &mut report,
    )
    .await;
    lease.release().await?;
    outcome.map(|()| report)
}

async fn pass(
    client: &mongodb::Client,
    database: &str,
    now: DateTime<Utc>,
    rebuild: bool,
    progress: &(dyn Fn(Progress) + Sync),
    lease: &Lease,
    report: &mut RollupReport,
) -> Result<(), RollupError> {
    ensure_indexes(client).await?;
    // The latest window start that is closed at each level.
    let last_closed_hour = now.timestamp_millis() - GRACE.as_millis() as i64 - HOUR_MS;
    // Windows still open are taken once settled, by the server's clock
    // (the writers' marks are stamped with it); without it, none.
    let server_now = server_time(client).await;
    if rebuild || !is_covered(client, database).await? {
        let rebuilt = rebuild_collections(
            client,
            database,
            last_closed_hour,
            server_now,
            progress,
            lease,
        )
        .await?;
        report.collection_hours += rebuilt.0;
        report.left_dirty += rebuilt.1;
        client
            .database(DATABASE)
            .collection::<Document>(COVERED)
            .update_one(
                doc! { "_id": database },
                doc! { "$set": { "at": bson::DateTime::from_chrono(now) } },
            )
            .upsert(true)
            .await?;
    }
    let dirty = dirty_windows(client, database, Level::Collection)
        .await?
        .into_iter()
        .filter(|(window, stamps)| {
            window.start <= last_closed_hour
                || server_now.is_some_and(|now| marks::is_settled(stamps, now))
        });
    let mut by_collection: BTreeMap<String, BTreeMap<i64, Document>> = BTreeMap::new();
    for (window, stamps) in dirty {
        by_collection
            .entry(window.collection)
            .or_default()
            .insert(window.start, stamps);
    }
    let total = by_collection.values().map(|h| h.len() as u64).sum();
    let done = AtomicU64::new(0);
    let mut built = stream::iter(by_collection)
        .map(|(collection, hours)| {
            let done = &done;
            async move {
                let outcome =
                    build_collection(client, database, &collection, &hours, server_now).await?;
                let done =
                    done.fetch_add(hours.len() as u64, Ordering::Relaxed) + hours.len() as u64;
                progress(Progress {
                    stage: "collection hours",
                    done,
                    total,
                });
                renew(lease).await?;
                Ok::<_, RollupError>(outcome)
            }
        })
        .buffer_unordered(CONCURRENT_READS);
    while let Some((written, dirty)) = built.try_next().await? {
        report.collection_hours += written;
        report.left_dirty += dirty;
    }

    // An hour or a day is built once no window below it is dirty, open or
    // closed: a writer marks all three levels before it inserts.
    for (level, stage) in [(Level::Hour, "hours"), (Level::Day, "days")] {
        let dirty = dirty_windows(client, database, level).await?;
        let total = dirty.len() as u64;
        let done = AtomicU64::new(0);
        let mut built = stream::iter(dirty)
            .map(|(window, stamps)| {
                let done = &done;
                async move {
                    let written =
                        build_above(client, database, level, window.start, &stamps).await?;
                    let done = done.fetch_add(1, Ordering::Relaxed) + 1;
                    progress(Progress { stage, done, total });
                    if done.is_multiple_of(50) {
                        renew(lease).await?;
                    }
                    Ok::<_, RollupError>(written)
                }
            })
            .buffer_unordered(CONCURRENT_READS);
        while let Some(written) = built.try_next().await? {
            match (written, level) {
                (true, Level::Day) => report.days += 1,
                (true, _) => report.hours += 1,
                (false, _) => report.left_dirty += 1,
            }
        }
    }
    Ok(())
}

async fn renew(lease: &Lease) -> Result<(), RollupError> {
    if lease.renew().await? {
        Ok(())
    } else {
        Err(RollupError(
            "lost the rollup lease (paused longer than its term?); another worker goes on"
                .to_owned(),
        ))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Window {
    collection: String,
    start: i64,
}

/// The server's clock, in milliseconds since the epoch (`hello`'s
/// `localTime`), or `None` if it does not say.
async fn server_time(client: &mongodb::Client) -> Option<i64> {
    let hello = client
        .database("admin")
        .run_command(doc! { "hello": 1 })
        .await
        .ok()?;
    hello
        .get_datetime("localTime")
        .ok()
        .map(|t| t.timestamp_millis())
}

/// Dirty windows of `level`, with the stamps each was seen at (`marks`,
/// and the settle rule's `timed`, `touched`, `settle_ms`).
async fn dirty_windows(
    client: &mongodb::Client,
    database: &str,
    level: Level,
) -> Result<Vec<(Window, Document)>, RollupError> {
    let mut cursor = windows(client)
        .find(doc! {
            "dirty": true,
            "l": level.number(),
            "db": database,
        })
        .projection(doc! { "c": 1, "t": 1, "marks": 1, "timed": 1, "touched": 1, "settle_ms": 1 })
        .await?;
    let mut found = Vec::new();
    while let Some(window) = cursor.try_next().await? {
        found.push((
            Window {
                collection: window.get_str("c").unwrap_or_default().to_owned(),
                start: window
                    .get_datetime("t")
                    .map(|t| t.timestamp_millis())
                    .unwrap_or_default(),
            },
            window,
        ));
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(found)
}

fn marks_of(window: &Document) -> i64 {
    match window.get("marks") {
        Some(Bson::Int64(m)) => *m,
        Some(Bson::Int32(m)) => i64::from(*m),
        _ => 0,
    }
}

/// Rebuilds every closed hour of every collection of `database` that
/// holds events or a window, straight from the events: no mark first, as
/// each replacement is conditional on the marks its window had when
/// listed (or on there being none). Open hours are marked for the pass to
/// take once settled; every hour and day above, once. Returns (windows
/// written, windows left dirty).
async fn rebuild_collections(
    client: &mongodb::Client,
    database: &str,
    last_closed_hour: i64,
    server_now: Option<i64>,
    progress: &(dyn Fn(Progress) + Sync),
    lease: &Lease,
) -> Result<(u64, u64), RollupError> {
    let collections = client.database(database).list_collection_names().await?;
    let total = collections.len() as u64;
    let done = AtomicU64::new(0);
    let mut rebuilt = stream::iter(collections)
        .map(|collection| {
            let done = &done;
            async move {
                let outcome =
                    rebuild_collection(client, database, &collection, last_closed_hour, server_now)
                        .await?;
                let done = done.fetch_add(1, Ordering::Relaxed) + 1;
                progress(Progress {
                    stage: "collections",
                    done,
                    total,
                });
                renew(lease).await?;
                Ok::<_, RollupError>(outcome)
            }
        })
        .buffer_unordered(CONCURRENT_READS);
    let (mut written, mut dirty) = (0, 0);
    let mut every_hour = BTreeSet::new();
    while let Some((hours, outcome)) = rebuilt.try_next().await? {
        every_hour.extend(hours);
        written += outcome.0;
        dirty += outcome.1;
    }
    // Each hour and day once, not once per collection.
    let every_hour: Vec<i64> = every_hour.into_iter().collect();
    for chunk in every_hour.chunks(1_000) {
        let chunk = chunk.iter().copied().collect();
        marks::mark_levels(
            client,
            database,
            None,
            &chunk,
            &[Level::Hour, Level::Day],
            marks::Marker::Worker,
        )
        .await?;
    }
    Ok((written, dirty))
}

/// One collection of [`rebuild_collections`]: returns its hours (with
/// events or a window) and (windows written, windows left dirty).
async fn rebuild_collection(
    client: &mongodb::Client,
    database: &str,
    collection: &str,
    last_closed_hour: i64,
    server_now: Option<i64>,
) -> Result<(BTreeSet<i64>, (u64, u64)), RollupError> {
    // The windows there are, with the stamps each replacement is
    // conditional on; an hour without one is written only if still none.
    let mut stamps: BTreeMap<i64, Document> = BTreeMap::new();
    let mut existing = windows(client)
        .find(doc! { "l": Level::Collection.number(), "db": database, "c": collection })
        .projection(doc! { "t": 1, "marks": 1, "timed": 1, "touched": 1, "settle_ms": 1 })
        .await?;
    while let Some(window) = existing.try_next().await? {
        if let Ok(t) = window.get_datetime("t") {
            stamps.insert(t.timestamp_millis(), window);
        }
    }
    let mut cursor = client
        .database(database)
        .collection::<Document>(collection)
        .aggregate([doc! { "$group": { "_id": hour_expression() } }])
        .await?;
    while let Some(row) = cursor.try_next().await? {
        if let Some(hour) = row.get_str("_id").ok().and_then(parse_hour) {
            stamps.entry(hour).or_default();
        }
    }
    let hours: BTreeSet<i64> = stamps.keys().copied().collect();
    let open = stamps.split_off(&(last_closed_hour + 1));
    let outcome = build_collection(client, database, collection, &stamps, server_now).await?;
    let open: BTreeSet<i64> = open.into_keys().collect();
    if !open.is_empty() {
        marks::mark_levels(
            client,
            database,
            Some(collection),
            &open,
            &[Level::Collection],
            marks::Marker::Worker,
        )
        .await?;
    }
    Ok((hours, outcome))
}

/// The hour of an event, as `2026-12-07T11`.
fn hour_expression() -> Bson {
    doc! { "$dateToString": { "format": "%Y-%m-%dT%H", "date": "$ts" } }.into()
}

fn parse_hour(text: &str) -> Option<i64> {
    NaiveDateTime::parse_from_str(&format!("{text}:00"), "%Y-%m-%dT%H:%M")
        .ok()
        .map(|t| t.and_utc().timestamp_millis())
}

/// Recomputes `hours` (start → stamps) of one collection from its events,
/// and their open calls as of `computed` (server time, taken before
/// anything is read; without it, none are listed); returns (windows
/// written, windows left dirty).
async fn build_collection(
    client: &mongodb::Client,
    database: &str,
    collection: &str,
    hours: &BTreeMap<i64, Document>,
    computed: Option<i64>,
) -> Result<(u64, u64), RollupError> {
    let events = client.database(database).collection::<Document>(collection);
    let starts: Vec<i64> = hours.keys().copied().collect();
    let (mut written, mut dirty) = (0, 0);
    for chunk in starts.chunks(HOURS_PER_READ) {
        let mut by_hour: BTreeMap<i64, Groups> =
            chunk.iter().map(|&h| (h, Groups::new())).collect();
        let id = doc! {
            "h": hour_expression(),
            "e": "$env", "p": "$provider", "n": "$username", "s": "$service",
            "r": "$resource", "k": "$kind", "o": "$outcome",
            "u": "$metadata.user", "g": "$metadata.tags",
        };
        let mut group = group_with(id);
        // Each group's newest event: where the events page looks first.
        group.insert("last", doc! { "$max": "$ts" });
        let pipeline = [
            doc! { "$match": event_filter(&hour_ranges(chunk)) },
            doc! { "$group": group },
        ];
        let mut lasts: BTreeMap<(i64, Dims), i64> = BTreeMap::new();
        let mut cursor = events.aggregate(pipeline).await?;
        while let Some(row) = cursor.try_next().await? {
            let id = row
                .get_document("_id")
                .map_err(|e| RollupError(e.to_string()))?;
            let Some(hour) = id.get_str("h").ok().and_then(parse_hour) else {
                continue;
            };
            let Some(groups) = by_hour.get_mut(&hour) else {
                continue;
            };
            let dims = group::dims_from(id, currency_of(id));
            if let Ok(last) = row.get_datetime("last") {
                let newest = lasts.entry((hour, dims.clone())).or_insert(i64::MIN);
                *newest = (*newest).max(last.timestamp_millis());
            }
            group::add(groups, dims, sums_of_row(&row)?);
        }
        let mut open = match computed {
            Some(at) => open::starts_by_hour(&events, collection, at, &hour_ranges(chunk)).await?,
            None => BTreeMap::new(),
        };
        let replaces: Vec<Document> = by_hour
            .into_iter()
            .map(|(hour, groups)| {
                let id = window_id(Level::Collection, database, Some(collection), hour);
                let mut window = window_document(
                    &id,
                    Level::Collection,
                    database,
                    hour,
                    &hours[&hour],
                    &[(Combo::All, &groups)],
                );
                window.insert("c", collection);
                newest::store(&mut window, hour, &lasts);
                match computed {
                    Some(_) => open::store(&mut window, open.remove(&hour).unwrap_or_default()),
                    None => open::store_unknown(&mut window),
                }
                replace(id, marks_of(&hours[&hour]), window)
            })
            .collect();
        let done = run_replaces(client, replaces).await?;
        written += done.0;
        dirty += done.1;
    }
    Ok((written, dirty))
}

/// Hour windows `[h, h + 1 h)` as `ts` ranges, joined across gaps of a
/// few hours: reading a few hours more is cheaper than a long `$or` (the
/// rows of hours not asked for are dropped).
fn hour_ranges(hours: &[i64]) -> Vec<(i64, i64)> {
    const JOINED_GAP: i64 = 6 * HOUR_MS;
    let mut ranges: Vec<(i64, i64)> = Vec::new();
    for &hour in hours {
        match ranges.last_mut() {
            Some(last) if hour - last.1 <= JOINED_GAP => last.1 = hour + HOUR_MS,
            _ => ranges.push((hour, hour + HOUR_MS)),
        }
    }
    ranges
}

/// Events (not start records, not alerts) within `ranges`.
pub(crate) fn event_filter(ranges: &[(i64, i64)]) -> Document {
    let mut filter = super::ts_ranges_filter(ranges);
    filter.insert("metadata.start", doc! { "$ne": true });
    filter.insert("metadata.alert", doc! { "$ne": true });
    filter
}

/// A window as stored: its key fields, the stamps it was computed at
/// (the replacement is conditional on `marks`, so they are still the
/// window's), and each combination's groups (or `{field}_overflow` when
/// too many to store).
fn window_document(
    id: &str,
    level: Level,
    database: &str,
    start: i64,
    stamps: &Document,
    combos: &[(Combo, &Groups)],
) -> Document {
    let mut window = doc! {
        "_id": id,
        "l": level.number(),
        "db": database,
        "t": bson::DateTime::from_millis(start),
        "marks": marks_of(stamps),
        "dirty": false,
    };
    for stamp in ["timed", "touched", "settle_ms"] {
        if let Some(value) = stamps.get(stamp) {
            window.insert(stamp, value.clone());
        }
    }
    let mut bytes = 0;
    for (combo, groups) in combos {
        let stored: Vec<Document> = groups
            .iter()
            .map(|(dims, sums)| group::to_bson(dims, sums))
            .collect();
        let size: usize = stored
            .iter()
            .map(|g| bson::to_vec(g).map(|v| v.len()).unwrap_or(MOST_GROUP_BYTES))
            .sum();
        bytes += size;
        if bytes > MOST_GROUP_BYTES {
            window.insert(format!("{}_overflow", combo.field()), true);
        } else {
            window.insert(combo.field(), stored);
        }
    }
    window
}

/// Replaces window `id` with `window` if its marks are still `marks`, or
/// inserts it if there is none (a window never marked has marks 0): a
/// window marked meanwhile makes the insert a duplicate key, not a second
/// window.
fn replace(id: String, marks: i64, window: Document) -> Document {
    doc! { "q": { "_id": id, "marks": marks }, "u": window, "upsert": true }
}

/// Runs replacements; returns (replaced, not replaced: their marks moved).
async fn run_replaces(
    client: &mongodb::Client,
    replaces: Vec<Document>,
) -> Result<(u64, u64), RollupError> {
    let (mut replaced, mut moved) = (0, 0);
    for chunk in replaces.chunks(REPLACES_PER_COMMAND) {
        let answer = client
            .database(DATABASE)
            .run_command(doc! { "update": WINDOWS, "updates": chunk.to_vec(), "ordered": false })
            .await?;
        if let Ok(errors) = answer.get_array("writeErrors") {
            let other = errors.iter().find(|error| {
                let code = error.as_document().and_then(|e| e.get("code"));
                !matches!(code, Some(Bson::Int32(DUPLICATE_KEY)))
            });
            if let Some(error) = other {
                return Err(RollupError(format!("replacing rollup windows: {error:?}")));
            }
        }
        let matched = match answer.get("n") {
            Some(Bson::Int32(n)) => *n as u64,
            Some(Bson::Int64(n)) => *n as u64,
            _ => 0,
        };
        replaced += matched;
        moved += chunk.len() as u64 - matched.min(chunk.len() as u64);
    }
    Ok((replaced, moved))
}

/// Recomputes a database hour (from its collection hours) or day (from
/// its hours), if none below is dirty; true when written.
async fn build_above(
    client: &mongodb::Client,
    database: &str,
    level: Level,
    start: i64,
    stamps: &Document,
) -> Result<bool, RollupError> {
    let (below, span) = match level {
        Level::Hour => (Level::Collection, HOUR_MS),
        Level::Day => (Level::Hour, DAY_MS),
        Level::Collection => unreachable!("built from events"),
    };
    // A collection hour keeps every fact; an hour, each combination apart.
    let source = |combo: Combo| match below {
        Level::Collection => Combo::All.field(),
        _ => combo.field(),
    };
    let range = doc! {
        "l": below.number(),
        "db": database,
        "t": {
            "$gte": bson::DateTime::from_millis(start),
            "$lt": bson::DateTime::from_millis(start + span),
        },
    };
    let mut still_dirty = range.clone();
    still_dirty.insert("dirty", true);
    if windows(client).find_one(still_dirty).await?.is_some() {
        return Ok(false);
    }
    let mut totals = Groups::new();
    let mut users = Groups::new();
    let (mut totals_overflow, mut users_overflow) = (false, false);
    let mut cursor = windows(client).find(range).await?;
    let mut open_calls = open::Gathered::default();
    while let Some(window) = cursor.try_next().await? {
        open_calls.add(&window);
        for (combo, into, overflow) in [
            (Combo::Totals, &mut totals, &mut totals_overflow),
            (Combo::Users, &mut users, &mut users_overflow),
        ] {
            let field = source(combo);
            if window
                .get_bool(format!("{field}_overflow"))
                .unwrap_or(false)
            {
                *overflow = true;
                continue;
            }
            for stored in group::stored(&window, field) {
                let (dims, sums) = stored.map_err(RollupError)?;
                group::add(into, combo.project(&dims), sums);
            }
        }
    }
    let id = window_id(level, database, None, start);
    let mut window = window_document(
        &id,
        level,
        database,
        start,
        stamps,
        &[(Combo::Totals, &totals), (Combo::Users, &users)],
    );
    open_calls.store(&mut window);
    for (combo, overflow) in [
        (Combo::Totals, totals_overflow),
        (Combo::Users, users_overflow),
    ] {
        if overflow {
            window.remove(combo.field());
            window.insert(format!("{}_overflow", combo.field()), true);
        }
    }
    let (replaced, _) = run_replaces(client, vec![replace(id, marks_of(stamps), window)]).await?;
    Ok(replaced == 1)
}
