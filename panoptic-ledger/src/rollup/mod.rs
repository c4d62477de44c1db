//! Rollups: what reports read instead of every event, exact to the cent.
//!
//! A report over a month of a busy service reads millions of events. A
//! rollup is the sums of one window, recomputed from its events and
//! replaced whole, so reports read a few hundred documents for the closed
//! windows of their range and events only for what is not rolled up: the
//! open hour, windows marked dirty by late events, and the edges of a
//! range that does not start or end on the hour.
//!
//! Three levels, in `panoptic_rollups.windows` (see
//! [`panoptic_core::rollup_marks`] for the documents and the marks):
//!
//! - a collection's hour: every fact (env, provider, user, service,
//!   resource, kind, outcome, currency, `metadata.user`, tags — the tag
//!   list as the event gave it), computed from events;
//! - a database's hour and a database's UTC day, from the level below, in
//!   two combinations: *totals* (no user of any kind, no tags) and *users*
//!   (user and service, no resource).
//!
//! A query uses the coarsest window whose combination keeps every fact it
//! filters or groups by, and whose span lies within one value of each of
//! its time dimensions (a UTC day is one day in UTC, not in Asia/Kolkata;
//! there an hour is, and where an hour is not — Asia/Kathmandu's hours —
//! the events are read). Hours are exact for every time zone, whose
//! offsets are whole quarter hours: a window that does not fit is read
//! from events, never apportioned.
//!
//! Exactness does not rest on the lease: a window is written only if its
//! `marks` did not move while it was computed (a conditional replace), so
//! two workers, a crash, a replay or a batch landing mid-computation can
//! leave a window dirty (read from events) but never count an event twice.
//! The lease ([`lease`]) only keeps two workers from doing the same work.

mod build;
pub mod lease;
pub(crate) mod listing;
pub(crate) mod open;
pub(crate) mod read;

use bson::{Document, doc};
use mongodb::IndexModel;
use panoptic_core::rollup_marks::Level;

pub use build::{Progress, RollupError, RollupReport, roll_up};
pub use panoptic_core::rollup_marks::{DATABASE, GRACE, WINDOWS};

/// The collection saying which databases are covered: every collection
/// hour holding events has a window (so a missing window means no
/// events). Written by the first pass over a database, or `--rebuild`.
pub const COVERED: &str = "covered";

/// Largest encoded groups a window stores; a window above it is marked
/// `overflow` and read from the level below or from events (a document
/// may not exceed 16 MB).
pub(crate) const MOST_GROUP_BYTES: usize = 8 * 1024 * 1024;

/// True when `database`'s windows cover its events.
pub async fn is_covered(client: &mongodb::Client, database: &str) -> mongodb::error::Result<bool> {
    let found = client
        .database(DATABASE)
        .collection::<Document>(COVERED)
        .find_one(doc! { "_id": database })
        .await?;
    Ok(found.is_some())
}

pub(crate) fn windows(client: &mongodb::Client) -> mongodb::Collection<Document> {
    client.database(DATABASE).collection(WINDOWS)
}

/// The indexes readers and workers find windows by.
pub(crate) async fn ensure_indexes(client: &mongodb::Client) -> mongodb::error::Result<()> {
    windows(client)
        .create_indexes([
            IndexModel::builder()
                .keys(doc! { "l": 1, "db": 1, "t": 1 })
                .build(),
            // A rebuild lists each collection's windows.
            IndexModel::builder()
                .keys(doc! { "l": 1, "db": 1, "c": 1, "t": 1 })
                .build(),
            IndexModel::builder()
                .keys(doc! { "dirty": 1, "l": 1, "db": 1, "t": 1 })
                .build(),
        ])
        .await?;
    Ok(())
}

/// Windows of `level` in `database` starting in `[from, until)`.
pub(crate) fn in_range(
    level: Level,
    database: &str,
    from: Option<i64>,
    until: Option<i64>,
) -> Document {
    let mut t = Document::new();
    if let Some(from) = from {
        t.insert("$gte", bson::DateTime::from_millis(from));
    }
    if let Some(until) = until {
        t.insert("$lt", bson::DateTime::from_millis(until));
    }
    let mut filter = doc! { "l": level.number(), "db": database };
    if !t.is_empty() {
        filter.insert("t", t);
    }
    filter
}

/// Documents whose `ts` is within one of `ranges`.
pub(crate) fn ts_ranges_filter(ranges: &[(i64, i64)]) -> Document {
    let ranges: Vec<Document> = ranges
        .iter()
        .map(|&(from, to)| {
            doc! { "ts": {
                "$gte": bson::DateTime::from_millis(from),
                "$lt": bson::DateTime::from_millis(to),
            } }
        })
        .collect();
    doc! { "$or": ranges }
}
