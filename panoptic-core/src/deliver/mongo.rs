//! The writer's MongoDB side: one client, every operation bounded by a
//! timeout (a frozen server cannot hold the writer), and every error sorted
//! into what to do next: delivered, retry later, or never.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::future::IntoFuture;
use std::time::{Duration, Instant};

use bson::{Document, RawDocumentBuf, doc};
use futures_util::future::{Either, select};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::IndexOptions;
use mongodb::{Client, IndexModel};

use crate::connect::{MongoSettings, describe};
use crate::deliver::document::Route;
use crate::rollup_marks;

/// Why an operation gave no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cut {
    /// The operation's timeout passed.
    TimedOut,
    /// The writer was asked to stop.
    Interrupted,
}

/// How one insert of a batch ended, per document where it matters.
#[derive(Debug)]
pub(crate) enum InsertOutcome {
    /// The server answered for every document.
    Answered {
        /// Written now.
        written: u64,
        /// Already there (same `_id`): delivered before.
        duplicates: u64,
        /// Refused for a reason that may pass: send again later.
        retry: Vec<usize>,
        /// Refused for good, with the reason.
        rejected: Vec<(usize, String)>,
    },
    /// No answer, or an error of the connection or the server as a whole:
    /// nothing is known written. Retry later.
    Unreachable(String),
    /// The whole batch was refused for a reason that will not pass by
    /// retrying: not authorized on this database, a name the server
    /// refuses.
    Refused(String),
    /// The driver would not send the batch: a document is too large or
    /// cannot be encoded.
    NotSent(String),
    /// Stopped waiting: the writer was asked to stop.
    Interrupted,
}

/// Server error codes that say "try again": the server is stepping down,
/// shutting down, overloaded, or lost a race.
const RETRYABLE_CODES: &[i32] = &[
    6, 7, 24, 46, 50, 63, 64, 89, 91, 112, 150, 189, 234, 262, 9001, 10107, 11600, 11602, 13435,
    13436, 16500,
];

/// Codes that refuse a whole operation for good on this namespace.
const REFUSING_CODES: &[i32] = &[13, 73, 8000, 10334, 17419];

/// A duplicate-key error code.
const DUPLICATE_KEY: i32 = 11000;

/// One client, made when first needed, and the collections whose indexes
/// exist.
pub(crate) struct Mongo {
    settings: MongoSettings,
    client: Option<Client>,
    indexed: HashSet<Route>,
    /// Routes whose rollup windows this user may not mark: their events
    /// go in unmarked (a rollup must never hold an event back).
    unmarked: HashSet<Route>,
    /// What to tell the user, taken by the writer.
    warnings: Vec<String>,
    /// When this writer last sent a mark of each open hour, per route
    /// (the settle rule of [`rollup_marks`]).
    marked_open: HashMap<(Route, i64), Instant>,
}

/// Open hours remembered before the stale ones are forgotten.
const MOST_MARKED_OPEN: usize = 10_000;

impl Mongo {
    pub fn new(settings: MongoSettings) -> Mongo {
        Mongo {
            settings,
            client: None,
            indexed: HashSet::new(),
            unmarked: HashSet::new(),
            warnings: Vec::new(),
            marked_open: HashMap::new(),
        }
    }

    /// Forgets the client, so the next operation connects anew.
    pub fn disconnect(&mut self) {
        self.client = None;
    }

    /// The longest one operation may take.
    pub fn operation_timeout(&self) -> Duration {
        self.settings.operation_timeout
    }

    pub(crate) async fn client(&mut self) -> Result<Client, String> {
        if let Some(client) = &self.client {
            return Ok(client.clone());
        }
        let client = self.settings.client().await?;
        self.client = Some(client.clone());
        Ok(client)
    }

    /// Asks the server whether it answers, within `limit`, or until
    /// `interrupt` says to stop.
    pub async fn ping(
        &mut self,
        limit: Duration,
        interrupt: &(dyn Fn() -> bool + Sync),
    ) -> Result<(), String> {
        let client = self.client().await?;
        let admin = client.database("admin");
        let ping = admin.run_command(doc! { "ping": 1 });
        match bounded(ping, limit, interrupt).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(describe(&error)),
            Err(Cut::TimedOut) => Err(format!("no answer to a ping within {limit:?}")),
            Err(Cut::Interrupted) => Err("ping cut short by a shutdown request".to_owned()),
        }
    }

    /// Inserts one batch (unordered), creating the collection's indexes on
    /// its first write. Gives up after `limit`, or as soon as `interrupt`
    /// says so.
    pub async fn insert(
        &mut self,
        route: &Route,
        documents: &[RawDocumentBuf],
        limit: Duration,
        interrupt: &(dyn Fn() -> bool + Sync),
    ) -> InsertOutcome {
        let client = match self.client().await {
            Ok(client) => client,
            Err(reason) => return InsertOutcome::Unreachable(reason),
        };
        let collection = client
            .database(&route.database)
            .collection::<RawDocumentBuf>(&route.collection);
        if !self.indexed.contains(route) {
            let created =
                bounded(collection.create_indexes(index_models()), limit, interrupt).await;
            match created {
                Ok(Ok(_)) => {
                    self.indexed.insert(route.clone());
                }
                Ok(Err(error)) => {
                    let reason = format!(
                        "cannot create indexes on {}.{}: {}",
                        route.database,
                        route.collection,
                        describe(&error)
                    );
                    return match classify(&error) {
                        ErrorClass::Refusing => InsertOutcome::Refused(reason),
                        _ => InsertOutcome::Unreachable(reason),
                    };
                }
                Err(cut) => return cut_outcome(cut, limit),
            }
        }
        // The rollup windows are marked before the insert, so that a
        // window exists (dirty) whenever its events do. An open hour this
        // writer marked less than half a settle period ago needs no mark:
        // no worker computes it until a whole period after that mark.
        let now = chrono::Utc::now();
        let settle = self.settings.rollup_settle;
        let mut hours = match self.unmarked.contains(route) {
            true => BTreeSet::new(),
            false => rollup_marks::hours_of(documents),
        };
        let to_mark = self.needing_a_mark(route, &hours, now, settle);
        let sent = Instant::now();
        match mark_windows(&client, route, &to_mark, settle, limit, interrupt).await {
            None => {
                if self.marked_open.len() > MOST_MARKED_OPEN {
                    // Forget marks that no longer spare one.
                    self.marked_open
                        .retain(|_, sent| sent.elapsed() < settle / 2);
                }
                self.marked_open.extend(
                    to_mark
                        .into_iter()
                        .map(|hour| ((route.clone(), hour), sent)),
                );
            }
            Some(InsertOutcome::Refused(reason)) => {
                self.unmarked.insert(route.clone());
                self.warnings.push(format!(
                    "{reason}; events go in unmarked, and reports of {} read stale rollups \
                     until this user may write {} and `panoptic rollup --rebuild` runs",
                    route.database,
                    rollup_marks::DATABASE
                ));
                hours.clear();
            }
            Some(failed) => return failed,
        }
        let inserted = bounded(
            collection.insert_many(documents).ordered(false),
            limit,
            interrupt,
        )
        .await;
        if hours.is_empty() {
            return insert_outcome(inserted, documents.len(), limit);
        }
        // A late batch (a replay, a slow retry) may land in an hour a
        // worker rolled up meanwhile, and a slow insert may land after the
        // window settled: marked again, it is recomputed.
        let now = chrono::Utc::now();
        let late = self.needing_a_mark(route, &hours, now, settle);
        if !matches!(inserted, Ok(Ok(_))) {
            // Part of it may have landed: marked now if late already, when
            // the server answered (best effort; an unanswered insert is
            // not waited on twice), and the batch, sent again, marks
            // before and after.
            if let Ok(Err(error)) = &inserted
                && matches!(*error.kind, ErrorKind::InsertMany(_) | ErrorKind::Write(_))
            {
                let _ = mark_windows(&client, route, &late, settle, limit, interrupt).await;
            }
            for hour in hours {
                self.marked_open.remove(&(route.clone(), hour));
            }
            return insert_outcome(inserted, documents.len(), limit);
        }
        let sent = Instant::now();
        if let Some(failed) = mark_windows(&client, route, &late, settle, limit, interrupt).await {
            // Sent again, the batch's events are duplicates; its marks are
            // what the retry adds.
            return failed;
        }
        for hour in late {
            if let Some(last) = self.marked_open.get_mut(&(route.clone(), hour)) {
                *last = sent;
            }
        }
        insert_outcome(inserted, documents.len(), limit)
    }

    /// Those of `hours` a batch must mark (before its insert, or after
    /// it): hours a worker may have rolled up already, and open hours this
    /// writer has not marked for half a settle period.
    fn needing_a_mark(
        &self,
        route: &Route,
        hours: &BTreeSet<i64>,
        now: chrono::DateTime<chrono::Utc>,
        settle: Duration,
    ) -> BTreeSet<i64> {
        hours
            .iter()
            .copied()
            .filter(|&hour| {
                rollup_marks::may_be_rolled_up(hour, now)
                    || self
                        .marked_open
                        .get(&(route.clone(), hour))
                        .is_none_or(|sent| sent.elapsed() >= settle / 2)
            })
            .collect()
    }

    /// What to tell the user since last asked.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }
}

fn insert_outcome(
    inserted: Result<mongodb::error::Result<mongodb::results::InsertManyResult>, Cut>,
    count: usize,
    limit: Duration,
) -> InsertOutcome {
    match inserted {
        Ok(Ok(_)) => InsertOutcome::Answered {
            written: count as u64,
            duplicates: 0,
            retry: Vec::new(),
            rejected: Vec::new(),
        },
        Ok(Err(error)) => sort_insert_error(&error, count),
        Err(cut) => cut_outcome(cut, limit),
    }
}

/// Marks the rollup windows of `hours`; the outcome to return when that
/// failed (the batch is then sent again, or refused like an insert).
async fn mark_windows(
    client: &Client,
    route: &Route,
    hours: &BTreeSet<i64>,
    settle: Duration,
    limit: Duration,
    interrupt: &(dyn Fn() -> bool + Sync),
) -> Option<InsertOutcome> {
    if hours.is_empty() {
        return None;
    }
    let marked = bounded(
        rollup_marks::mark_levels(
            client,
            &route.database,
            Some(&route.collection),
            hours,
            &rollup_marks::ALL_LEVELS,
            rollup_marks::Marker::Writer(settle),
        ),
        limit,
        interrupt,
    )
    .await;
    match marked {
        Ok(Ok(())) => None,
        Ok(Err(error)) => {
            let reason = format!(
                "cannot mark rollup windows for {}.{}: {}",
                route.database,
                route.collection,
                describe(&error)
            );
            Some(match classify(&error) {
                ErrorClass::Refusing => InsertOutcome::Refused(reason),
                _ => InsertOutcome::Unreachable(reason),
            })
        }
        Err(cut) => Some(cut_outcome(cut, limit)),
    }
}

fn cut_outcome(cut: Cut, limit: Duration) -> InsertOutcome {
    match cut {
        Cut::TimedOut => InsertOutcome::Unreachable(format!("no answer within {limit:?}")),
        Cut::Interrupted => InsertOutcome::Interrupted,
    }
}

/// Runs `operation` for at most `limit`, stopping early when `interrupt`
/// turns true (checked every 10 ms).
pub(crate) async fn bounded<T>(
    operation: impl IntoFuture<Output = T>,
    limit: Duration,
    interrupt: &(dyn Fn() -> bool + Sync),
) -> Result<T, Cut> {
    let watch = async {
        while !interrupt() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let timed = tokio::time::timeout(limit, operation);
    futures_util::pin_mut!(timed, watch);
    match select(timed, watch).await {
        Either::Left((Ok(value), _)) => Ok(value),
        Either::Left((Err(_), _)) => Err(Cut::TimedOut),
        Either::Right(_) => Err(Cut::Interrupted),
    }
}

enum ErrorClass {
    /// Connection, selection, timeouts, retryable codes.
    Transient,
    /// Refuses the operation for good.
    Refusing,
    /// The driver did not send it.
    ClientSide,
}

fn classify(error: &mongodb::error::Error) -> ErrorClass {
    match error.kind.as_ref() {
        ErrorKind::Command(e) if REFUSING_CODES.contains(&e.code) => ErrorClass::Refusing,
        ErrorKind::InvalidArgument { .. }
        | ErrorKind::BsonSerialization(_)
        | ErrorKind::InvalidResponse { .. } => ErrorClass::ClientSide,
        _ => ErrorClass::Transient,
    }
}

/// Sorts the failure of an unordered `insert_many` by document.
fn sort_insert_error(error: &mongodb::error::Error, count: usize) -> InsertOutcome {
    let failure = match error.kind.as_ref() {
        ErrorKind::InsertMany(failure) => failure,
        ErrorKind::Write(WriteFailure::WriteError(e)) if count == 1 => {
            return sort_write_errors(count, [(0, e.code, e.message.as_str())], None);
        }
        _ => {
            let reason = describe(error);
            return match classify(error) {
                ErrorClass::Refusing => InsertOutcome::Refused(reason),
                ErrorClass::ClientSide => InsertOutcome::NotSent(reason),
                ErrorClass::Transient => InsertOutcome::Unreachable(reason),
            };
        }
    };
    let write_errors = failure.write_errors.as_deref().unwrap_or_default();
    // The server wrote what has no write error, but not as durably as
    // asked: send everything again (what is there comes back duplicate).
    let concern = failure
        .write_concern_error
        .as_ref()
        .map(|e| format!("write concern not met: {} ({})", e.message, e.code));
    sort_write_errors(
        count,
        write_errors
            .iter()
            .map(|e| (e.index, e.code, e.message.as_str())),
        concern,
    )
}

fn sort_write_errors<'a>(
    count: usize,
    errors: impl IntoIterator<Item = (usize, i32, &'a str)>,
    concern: Option<String>,
) -> InsertOutcome {
    if let Some(reason) = concern {
        return InsertOutcome::Unreachable(reason);
    }
    let mut duplicates = 0;
    let mut retry = Vec::new();
    let mut rejected = Vec::new();
    let mut failed = 0;
    for (index, code, message) in errors {
        failed += 1;
        if code == DUPLICATE_KEY && is_id_duplicate(message) {
            duplicates += 1;
        } else if RETRYABLE_CODES.contains(&code) {
            retry.push(index);
        } else {
            rejected.push((
                index,
                format!("MongoDB refused the event ({code}): {message}"),
            ));
        }
    }
    InsertOutcome::Answered {
        written: (count - failed) as u64,
        duplicates,
        retry,
        rejected,
    }
}

/// Whether a duplicate-key error is on `_id` (the event is already there),
/// not on some other unique index a user added.
fn is_id_duplicate(message: &str) -> bool {
    message.contains("index: _id_ ") || message.contains("_id_ dup key") || {
        // Servers that name the key pattern instead of the index.
        let key = message.split("dup key").nth(1).unwrap_or("");
        key.trim_start_matches([':', ' ']).starts_with("{ _id:") && !message.contains("index: ")
    }
}

/// The keys of the indexes every event collection gets on its first write
/// (and a collection written before one of them, from `panoptic indexes`):
/// `{ts: -1}`, `{service: 1}`, `{env: 1}`, `{ts: -1, service: 1}` for
/// reports and listings; for open calls, `{metadata.start: 1, ts: -1}`
/// over start records alone (partial on `metadata.start: true`) and
/// `{metadata.call_id: 1}` over the events that carry a call id (sparse),
/// so that neither is a scan of every event. Neither holds an event of a
/// call that wrote no start record: the writer pays for them only on calls
/// that did.
///
/// ```
/// let keys = panoptic_core::index_keys();
/// assert_eq!(keys.len(), 6);
/// let models = panoptic_core::index_models();
/// let options = |i: usize| models[i].options.clone().unwrap_or_default();
/// assert_eq!(options(0).partial_filter_expression, None);
/// assert_eq!(
///     options(4).partial_filter_expression,
///     Some(bson::doc! { "metadata.start": true })
/// );
/// assert_eq!(options(5).sparse, Some(true));
/// ```
pub fn index_keys() -> [Document; 6] {
    [
        doc! { "ts": -1 },
        doc! { "service": 1 },
        doc! { "env": 1 },
        doc! { "ts": -1, "service": 1 },
        doc! { START_FIELD: 1, "ts": -1 },
        doc! { CALL_ID_FIELD: 1 },
    ]
}

/// `metadata.start`: true on a start record, absent on every other event.
const START_FIELD: &str = "metadata.start";
/// `metadata.call_id`: on a start record and on its call's final event.
const CALL_ID_FIELD: &str = "metadata.call_id";

/// The index models for `create_indexes`: [`index_keys`], the open calls'
/// two holding only the events they are about.
pub fn index_models() -> Vec<IndexModel> {
    index_keys()
        .into_iter()
        .map(|keys| {
            let options = match keys.keys().next().map(String::as_str) {
                Some(START_FIELD) => Some(
                    IndexOptions::builder()
                        .partial_filter_expression(doc! { START_FIELD: true })
                        .build(),
                ),
                Some(CALL_ID_FIELD) => Some(IndexOptions::builder().sparse(true).build()),
                _ => None,
            };
            IndexModel::builder().keys(keys).options(options).build()
        })
        .collect()
}

#[cfg(test)]
mod tests;
