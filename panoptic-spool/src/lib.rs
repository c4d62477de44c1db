//! The disk spool: where events wait while MongoDB cannot take them, and the
//! embedded store when there is no MongoDB at all. Its job is to lose
//! nothing: what cannot be replayed is kept aside, never deleted.
//!
//! # Layout
//!
//! ```text
//! {dir}/                                   0700
//!     {unix ms}-{pid}-{seq}.seg            segments, oldest name first, 0600
//!     {unix ms}-{pid}-{seq}.sum            a sealed segment's summary (optional)
//!     aside/{name}.seg, {name}.seg.why     segments set aside, with the reason
//!     dead-letter/{unix ms}-{pid}-{seq}.bson   events MongoDB will never take
//! ```
//!
//! # Segments
//!
//! A segment is an append-only file; sorting the names sorts them by age.
//! It starts with the magic `PANSPL02`, then records:
//!
//! ```text
//! [sync FF 50 53 FE][length u32 LE][crc32 u32 LE of length + payload][payload]
//! payload: BSON {d: database, c: collection, e: event}
//! ```
//!
//! A record is bad when its marker is missing, its length is impossible
//! (under 5 bytes, over 16 MiB + 64 KiB, or past the end of the file), its
//! checksum fails or its payload is not that BSON. The reader then searches
//! for the next sync marker from the byte after the bad record's start and
//! goes on from there, reporting the bytes it skipped
//! ([`SegmentItem::Corrupt`]): one flipped bit costs one record, not the
//! rest of the segment. The checksum covers the length so that a damaged
//! length is caught as well. Segments written before the marker existed
//! (`PANSPL01`, records `[length][crc32 of payload][payload]`) are still
//! read; in them a bad record ends the segment, since nothing marks where
//! the next one starts.
//!
//! Records are read one at a time through a buffer ([`SegmentReader`]), so
//! replaying a large segment needs one record's worth of memory; so does
//! reading a whole spool back ([`Spool::reader`], segment by segment). Before
//! replay each record is checked: its database must be `panoptic-{env}` and
//! both names made of what [`naming`](panoptic_catalog::naming) produces (lowercase
//! ASCII letters, digits, `_`, `-`), and the event must have an `_id`.
//! Anything else is [`SegmentItem::Invalid`]: a file dropped into the spool
//! folder must never make the application write to another database.
//!
//! # Writing
//!
//! One writer owns one growing segment, locked (`flock`) while it grows, so
//! another process replaying the same folder never takes it; the segments
//! of a process that died are unlocked and replayed by the next one.
//! Delivery is at least once from here; the event's own `_id` makes it
//! exactly once in MongoDB.
//!
//! Each append is encoded in memory and written with one write on the
//! file. If the write (or its `fsync`) fails, the file is cut back to its
//! length before the append, so a failed append never leaves torn bytes in
//! front of later records; if even that fails, the segment is left as it is
//! (for replay) and the next append starts a new one. A record larger than
//! a reader accepts is refused before anything is written
//! (`InvalidInput`, with a [`RefusedEvent`] naming it): nothing is written
//! that cannot be read back.
//!
//! # Size cap
//!
//! With [`SpoolOptions::max_bytes`], an append that would take the total
//! size of the folder's segments over the cap is refused with
//! `StorageFull`, whole, and nothing is written: the caller decides what
//! to do with those events. The total is counted when a segment is opened
//! and kept up to date by adding appended bytes; before refusing, the
//! folder is counted again, so space freed by replayed segments is used at
//! once. A real full disk surfaces as the write's own error, after the
//! rollback above. Set-aside segments and dead letters are not counted:
//! they are kept whatever their size.
//!
//! # Dead letters
//!
//! An event MongoDB will never accept (too large, refused, an invalid
//! record) is written with [`dead_letter`] to its own file in
//! `dead-letter/`, as BSON `{reason, database, collection, event}`. These
//! files have no size limit and are never replayed; [`Spool::dead_letters`]
//! lists them for a person to look at.
//!
//! # Set aside
//!
//! A segment that is not safe to replay or to delete (no magic, damaged) is
//! moved whole with [`set_aside`] to `aside/`, with the reason in
//! `{name}.why`. [`Spool::restore_set_aside`] moves such segments back for
//! another replay attempt.
//!
//! # Summaries
//!
//! Beside a sealed segment there may be a summary (`{name}.sum`, see
//! [`read_summary`]): a cache of what reports add up, written by the first
//! reader that needs it, bound to the segment's identity
//! ([`SegmentIdentity`]) and checksummed, so one that is torn, corrupt or
//! about another file is ignored and the segment read as events. Deleting
//! a segment deletes its summary ([`remove_segment`]); setting it aside
//! drops it.
//!
//! # Permissions
//!
//! Events say who spent what: on Unix the folders are created `0700` and
//! every file `0600`. Existing folders are left as they are.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod aside;
pub mod bson_bytes;
pub mod bson_check;
mod dead_letter;
mod format;
mod reader;
mod segment;
mod stream;
mod summary;
#[cfg(test)]
mod tests;

use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use bson::{Document, RawDocumentBuf};

use panoptic_catalog::naming::{DATABASE_PREFIX, is_valid_collection_name, is_valid_database_name};

pub use aside::set_aside;
pub use dead_letter::DeadLetter;
pub use dead_letter::dead_letter;
pub use reader::{SegmentFormat, SegmentItem, SegmentReader};
pub use segment::{ClaimedSegment, RefusedEvent, SpoolOptions, SpoolWriter, claim_oldest};
pub use stream::SpoolReader;
pub use summary::{
    SegmentIdentity, lock_sealed, read_summary, remove_segment, remove_summary, summary_path,
    write_summary,
};

/// Extension of segment files.
const EXTENSION: &str = "seg";

/// The default spool folder, relative to the working directory.
pub const DEFAULT_SPOOL_DIR: &str = ".panoptic/spool";

/// One spooled event and where it is going.
///
/// ```no_run
/// for waiting in panoptic_spool::Spool::open(".panoptic/spool").reader()? {
///     let waiting = waiting?;
///     let document = waiting.to_document().expect("a BSON document");
///     println!("{}.{}: {:?}", waiting.database, waiting.collection, document.get("resource"));
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SpooledEvent {
    /// Target database (`panoptic-{env}`).
    pub database: String,
    /// Target collection (`{provider}_{username}`).
    pub collection: String,
    /// The stored document, as the bytes MongoDB is sent (replay does not
    /// decode them); [`SpooledEvent::to_document`] reads it.
    pub document: RawDocumentBuf,
}

impl SpooledEvent {
    /// The document, decoded.
    pub fn to_document(&self) -> bson::raw::Result<Document> {
        self.document.to_document()
    }
}

/// Whether `event` may be replayed as it is; if not, why. Its names must
/// be ones panoptic produces, so that a record from anywhere cannot make
/// the application write elsewhere, and it must carry an `_id`, which is
/// what makes a replay idempotent.
pub fn replayable(event: &SpooledEvent) -> Result<(), String> {
    fn ours(name: &str) -> bool {
        name.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    }
    let env = event
        .database
        .strip_prefix(DATABASE_PREFIX)
        .unwrap_or_default();
    if env.is_empty() || !ours(env) || !is_valid_database_name(&event.database) {
        return Err(format!(
            "database {:?} is not one panoptic writes to ({DATABASE_PREFIX}{{env}}, \
             lowercase letters, digits, '_' and '-')",
            event.database
        ));
    }
    if !ours(&event.collection) || !is_valid_collection_name(&event.collection) {
        return Err(format!(
            "collection {:?} is not one panoptic writes to (lowercase letters, digits, '_' \
             and '-', at most 120)",
            event.collection
        ));
    }
    has_id(event)
}

/// Whether `event` carries the `_id` that makes its replay idempotent.
pub fn has_id(event: &SpooledEvent) -> Result<(), String> {
    if !matches!(event.document.get("_id"), Ok(Some(_))) {
        return Err("the event has no _id, so replaying it could store it twice".to_owned());
    }
    Ok(())
}

/// Read access to a spool folder: what is waiting, for reports and tests.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let spool = panoptic_spool::Spool::open(dir.path());
/// assert_eq!(spool.summary().unwrap().events, 0);
/// assert!(spool.events().unwrap().is_empty());
/// ```
#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
}

/// How much is waiting in a spool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpoolSummary {
    /// Segment files.
    pub segments: usize,
    /// Replayable events in them (corrupt regions and invalid records not
    /// counted).
    pub events: usize,
    /// Bytes of the segments on disk.
    pub bytes: u64,
    /// Segments set aside (`aside/`), waiting for a person or a retry.
    pub set_aside: usize,
    /// Dead letters (`dead-letter/`): events MongoDB will never take.
    pub dead_letters: usize,
}

impl Spool {
    /// A spool in `dir` (which need not exist yet).
    pub fn open(dir: impl Into<PathBuf>) -> Spool {
        Spool { dir: dir.into() }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every replayable spooled event, oldest segment first, in append
    /// order, all in memory: for small spools (tests, the quickstart).
    /// Reports read [`Spool::reader`] instead, one event at a time.
    /// Corrupt regions, invalid records and files that are not segments are
    /// skipped.
    pub fn events(&self) -> io::Result<Vec<SpooledEvent>> {
        self.reader()?.collect()
    }

    /// The events of [`Spool::events`], one at a time: memory is one
    /// record's worth, however many wait. The folder is listed now; each
    /// segment is opened when reached.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let spool = panoptic_spool::Spool::open(dir.path());
    /// let mut per_database = std::collections::BTreeMap::<String, usize>::new();
    /// for event in spool.reader()? {
    ///     *per_database.entry(event?.database).or_default() += 1;
    /// }
    /// assert!(per_database.is_empty());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn reader(&self) -> io::Result<SpoolReader> {
        Ok(SpoolReader::new(segments(&self.dir)?))
    }

    /// Counts what is waiting, reading each segment record by record.
    pub fn summary(&self) -> io::Result<SpoolSummary> {
        self.summary_with(|_| {})
    }

    /// [`Spool::summary`], handing each replayable event to `each` as it
    /// is counted: what waits, and more about it, in one pass over the
    /// segments.
    pub fn summary_with(&self, mut each: impl FnMut(&SpooledEvent)) -> io::Result<SpoolSummary> {
        let mut summary = SpoolSummary::default();
        for segment in segments(&self.dir)? {
            summary.segments += 1;
            summary.bytes += fs::metadata(&segment).map_or(0, |m| m.len());
            let Some(reader) = open_if_segment(&segment)? else {
                continue;
            };
            for item in reader {
                if let SegmentItem::Record(event) = item? {
                    summary.events += 1;
                    each(&event);
                }
            }
        }
        summary.set_aside = aside::count(&self.dir)?;
        summary.dead_letters = dead_letter::count(&self.dir)?;
        Ok(summary)
    }

    /// The dead letters, oldest first. A file that cannot be read is listed
    /// with the reason it cannot, and no event, rather than hidden.
    pub fn dead_letters(&self) -> io::Result<Vec<DeadLetter>> {
        dead_letter::list(&self.dir)
    }

    /// The set-aside segments, oldest first, with why they were set aside.
    pub fn set_aside(&self) -> io::Result<Vec<(PathBuf, String)>> {
        aside::list(&self.dir)
    }

    /// Moves every set-aside segment back into the folder, for another
    /// replay attempt; returns how many.
    pub fn restore_set_aside(&self) -> io::Result<usize> {
        aside::restore(&self.dir)
    }
}

/// A reader on `path`, or `None` when it vanished meanwhile (replayed by
/// someone else) or is not a segment.
fn open_if_segment(path: &Path) -> io::Result<Option<SegmentReader>> {
    match SegmentReader::open(path) {
        Ok(reader) => Ok(Some(reader)),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::InvalidData
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The segment files of `dir`, oldest first. A missing folder has none.
pub fn segments(dir: &Path) -> io::Result<Vec<PathBuf>> {
    files_ending(dir, EXTENSION)
}

/// The files of `dir` with extension `extension`, sorted by name. A
/// missing folder has none.
fn files_ending(dir: &Path, extension: &str) -> io::Result<Vec<PathBuf>> {
    files_where(dir, |p| p.extension().is_some_and(|e| e == extension))
}

/// The files of `dir` that `keep` accepts, sorted by name. A missing
/// folder has none.
fn files_where(dir: &Path, keep: impl Fn(&Path) -> bool) -> io::Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| !t.is_dir()))
        .map(|e| e.path())
        .filter(|p| keep(p))
        .collect();
    paths.sort();
    Ok(paths)
}

/// Creates `dir` and its missing parents, private to the user on Unix.
fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Options for a file only the user may read, on Unix.
fn private_file() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Milliseconds since the epoch, for file names that sort by age.
fn unix_millis() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}
