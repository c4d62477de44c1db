//! The disk spool: where events wait while MongoDB cannot take them, and the
//! embedded store when there is no MongoDB at all.
//!
//! A spool is a folder of append-only segment files, named so that sorting
//! the names sorts them by age (`{unix ms}-{pid}-{seq}.seg`). A segment
//! starts with an 8-byte magic; each record is `[length u32 LE][crc32 u32
//! LE][BSON {d: database, c: collection, e: event}]`. A record whose length
//! runs past the end of the file or whose checksum does not match is a torn
//! write (a crash mid-append): reading stops there with a warning, and every
//! record before it is kept.
//!
//! A writer holds an exclusive lock on its open segment, so another process
//! replaying the same folder never takes a segment that is still growing;
//! the segments of a process that died are unlocked and replayed by the
//! next one. Delivery is at least once from here; the event's own `_id`
//! makes it exactly once in MongoDB.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use bson::{Document, doc};

use crate::event::{BillingEvent, DocumentError};

const MAGIC: &[u8; 8] = b"PANSPL01";
const EXTENSION: &str = "seg";
/// A record longer than this is corruption, not an event.
const MAX_RECORD: usize = 16 * 1024 * 1024;

/// The default spool folder, relative to the working directory.
pub const DEFAULT_SPOOL_DIR: &str = ".panoptic/spool";

/// One spooled event and where it is going.
///
/// ```no_run
/// for waiting in panoptic_core::Spool::open(".panoptic/spool").events()? {
///     let event = waiting.event().expect("a billing event");
///     println!("{}.{}: {} {}", waiting.database, waiting.collection, event.resource, event.amount);
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SpooledEvent {
    /// Target database (`panoptic-{env}`).
    pub database: String,
    /// Target collection (`{provider}_{username}`).
    pub collection: String,
    /// The stored document.
    pub document: Document,
}

impl SpooledEvent {
    /// The event, parsed.
    pub fn event(&self) -> Result<BillingEvent, DocumentError> {
        BillingEvent::from_document(&self.document)
    }
}

/// The records of one segment, and whether its end was torn.
#[derive(Debug, Default)]
pub(crate) struct SegmentContents {
    pub events: Vec<SpooledEvent>,
    /// Byte offset of a torn or corrupt record, if one ended the segment.
    pub torn_at: Option<u64>,
}

/// Read access to a spool folder: what is waiting, for reports and tests.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let spool = panoptic_core::Spool::open(dir.path());
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
    /// Events in them (torn tails not counted).
    pub events: usize,
    /// Bytes on disk.
    pub bytes: u64,
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

    /// Every spooled event, oldest segment first, in append order. Torn
    /// tails are skipped (and reported on stderr).
    pub fn events(&self) -> io::Result<Vec<SpooledEvent>> {
        let mut all = Vec::new();
        for segment in segments(&self.dir)? {
            all.extend(read_segment(&segment)?.events);
        }
        Ok(all)
    }

    /// Counts what is waiting.
    pub fn summary(&self) -> io::Result<SpoolSummary> {
        let mut summary = SpoolSummary::default();
        for segment in segments(&self.dir)? {
            summary.segments += 1;
            summary.bytes += fs::metadata(&segment).map(|m| m.len()).unwrap_or(0);
            summary.events += read_segment(&segment)?.events.len();
        }
        Ok(summary)
    }
}

/// The segment files of `dir`, oldest first. A missing folder has none.
pub(crate) fn segments(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == EXTENSION))
        .collect();
    paths.sort();
    Ok(paths)
}

/// Reads every intact record of a segment.
pub(crate) fn read_segment(path: &Path) -> io::Result<SegmentContents> {
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(mut file) => file.read_to_end(&mut bytes)?,
        // Replayed and deleted by someone else meanwhile.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(SegmentContents::default()),
        Err(e) => return Err(e),
    };
    let mut contents = SegmentContents::default();
    if bytes.len() < MAGIC.len() {
        // Created but the magic never made it: nothing to read.
        if !bytes.is_empty() {
            contents.torn_at = Some(0);
        }
        return Ok(contents);
    }
    if &bytes[..MAGIC.len()] != MAGIC {
        eprintln!(
            "panoptic: {} is not a spool segment; skipped",
            path.display()
        );
        contents.torn_at = Some(0);
        return Ok(contents);
    }
    let mut offset = MAGIC.len();
    while offset < bytes.len() {
        match decode_record(&bytes[offset..]) {
            Some((event, used)) => {
                contents.events.push(event);
                offset += used;
            }
            None => {
                eprintln!(
                    "panoptic: spool segment {} has a torn or corrupt record at byte {offset}; \
                     the {} record(s) before it are kept",
                    path.display(),
                    contents.events.len()
                );
                contents.torn_at = Some(offset as u64);
                break;
            }
        }
    }
    Ok(contents)
}

fn decode_record(bytes: &[u8]) -> Option<(SpooledEvent, usize)> {
    let length = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let checksum = u32::from_le_bytes(bytes.get(4..8)?.try_into().ok()?);
    if length > MAX_RECORD {
        return None;
    }
    let payload = bytes.get(8..8 + length)?;
    if crc32fast::hash(payload) != checksum {
        return None;
    }
    let record = Document::from_reader(payload).ok()?;
    let event = SpooledEvent {
        database: record.get_str("d").ok()?.to_owned(),
        collection: record.get_str("c").ok()?.to_owned(),
        document: record.get_document("e").ok()?.clone(),
    };
    Some((event, 8 + length))
}

fn encode_record(
    database: &str,
    collection: &str,
    document: &Document,
    out: &mut Vec<u8>,
) -> io::Result<()> {
    let record = doc! { "d": database, "c": collection, "e": document };
    let start = out.len();
    out.extend_from_slice(&[0; 8]);
    record.to_writer(&mut *out).map_err(io::Error::other)?;
    let payload = &out[start + 8..];
    let length = u32::try_from(payload.len()).map_err(|_| io::Error::other("event too large"))?;
    let checksum = crc32fast::hash(payload);
    out[start..start + 4].copy_from_slice(&length.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&checksum.to_le_bytes());
    Ok(())
}

/// Appends to one segment at a time, rotating by size.
pub(crate) struct SpoolWriter {
    dir: PathBuf,
    segment_bytes: u64,
    fsync: bool,
    active: Option<ActiveSegment>,
    sequence: u64,
}

struct ActiveSegment {
    path: PathBuf,
    file: BufWriter<File>,
    bytes: u64,
    /// Whether every record in it was also acknowledged by MongoDB
    /// (write-ahead mode): then it is deleted instead of replayed.
    all_acknowledged: bool,
}

impl SpoolWriter {
    pub fn new(dir: PathBuf, segment_bytes: u64, fsync: bool) -> SpoolWriter {
        SpoolWriter {
            dir,
            segment_bytes,
            fsync,
            active: None,
            sequence: 0,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn active_path(&self) -> Option<&Path> {
        self.active.as_ref().map(|a| a.path.as_path())
    }

    /// Appends documents bound for one collection. `acknowledged` says
    /// whether MongoDB already has them (write-ahead), so the segment can
    /// be deleted rather than replayed when sealed.
    pub fn append(
        &mut self,
        database: &str,
        collection: &str,
        documents: &[Document],
        acknowledged: bool,
    ) -> io::Result<()> {
        let mut buffer = Vec::with_capacity(documents.len() * 512);
        for document in documents {
            encode_record(database, collection, document, &mut buffer)?;
        }
        let fsync = self.fsync;
        let active = self.active()?;
        active.file.write_all(&buffer)?;
        active.file.flush()?;
        active.bytes += buffer.len() as u64;
        active.all_acknowledged &= acknowledged;
        if fsync {
            active.file.get_ref().sync_data()?;
        }
        Ok(())
    }

    /// Seals the active segment once it reached its size. Called after the
    /// fate of the last batch is known, so a write-ahead segment is never
    /// deleted before its insert was acknowledged.
    pub fn seal_if_full(&mut self) -> io::Result<()> {
        if self
            .active
            .as_ref()
            .is_some_and(|a| a.bytes >= self.segment_bytes)
        {
            self.seal()?;
        }
        Ok(())
    }

    /// Marks the records of the active segment as not acknowledged (a
    /// write-ahead batch whose insert failed).
    pub fn mark_unacknowledged(&mut self) {
        if let Some(active) = &mut self.active {
            active.all_acknowledged = false;
        }
    }

    /// Whether the active segment holds records MongoDB does not have.
    pub fn has_unacknowledged(&self) -> bool {
        self.active.as_ref().is_some_and(|a| !a.all_acknowledged)
    }

    /// Closes the active segment: deleted if MongoDB has all of it, else
    /// left (unlocked) for replay.
    pub fn seal(&mut self) -> io::Result<()> {
        if let Some(active) = self.active.take() {
            let ActiveSegment {
                path,
                file,
                all_acknowledged,
                ..
            } = active;
            let file = file.into_inner().map_err(|e| e.into_error())?;
            if self.fsync {
                file.sync_data()?;
            }
            drop(file);
            if all_acknowledged {
                fs::remove_file(&path)?;
            }
        }
        Ok(())
    }

    fn active(&mut self) -> io::Result<&mut ActiveSegment> {
        if self.active.is_none() {
            fs::create_dir_all(&self.dir)?;
            let millis = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
            self.sequence += 1;
            let path = self.dir.join(format!(
                "{millis:015}-{:010}-{:06}.{EXTENSION}",
                std::process::id(),
                self.sequence
            ));
            let file = OpenOptions::new()
                .create_new(true)
                .append(true)
                .open(&path)?;
            // Held while the segment grows; released when it is sealed or
            // the process dies, which is when others may replay it.
            file.try_lock().map_err(io::Error::other)?;
            let mut file = BufWriter::new(file);
            file.write_all(MAGIC)?;
            self.active = Some(ActiveSegment {
                path,
                file,
                bytes: MAGIC.len() as u64,
                all_acknowledged: true,
            });
        }
        Ok(self.active.as_mut().expect("just opened"))
    }
}

/// A sealed segment taken for replay: locked, so no other process replays
/// it at the same time.
pub(crate) struct ClaimedSegment {
    pub path: PathBuf,
    _lock: File,
}

/// Claims the oldest segment of `dir` that no live writer holds, skipping
/// `exclude` (our own active segment).
pub(crate) fn claim_oldest(
    dir: &Path,
    exclude: Option<&Path>,
) -> io::Result<Option<ClaimedSegment>> {
    for path in segments(dir)? {
        if Some(path.as_path()) == exclude {
            continue;
        }
        let Ok(file) = File::open(&path) else {
            continue;
        };
        if file.try_lock().is_ok() {
            return Ok(Some(ClaimedSegment { path, _lock: file }));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(n: i32) -> Document {
        doc! { "_id": n, "resource": format!("r{n}") }
    }

    #[test]
    fn round_trip_and_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = SpoolWriter::new(dir.path().to_owned(), 300, false);
        for n in 0..10 {
            writer
                .append("panoptic-dev", "gcp_ann", &[sample(n)], false)
                .unwrap();
            writer.seal_if_full().unwrap();
        }
        writer.seal().unwrap();
        let spool = Spool::open(dir.path());
        let events = spool.events().unwrap();
        assert_eq!(events.len(), 10);
        assert_eq!(
            events[3].document.get_i32("_id").unwrap(),
            3,
            "append order kept"
        );
        assert!(spool.summary().unwrap().segments > 1, "rotated by size");
    }

    #[test]
    fn acknowledged_segments_are_deleted_on_seal() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = SpoolWriter::new(dir.path().to_owned(), 1 << 20, false);
        writer.append("db", "c", &[sample(1)], true).unwrap();
        writer.seal().unwrap();
        assert_eq!(Spool::open(dir.path()).summary().unwrap().segments, 0);
    }

    #[test]
    fn torn_tail_is_skipped_and_earlier_records_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = SpoolWriter::new(dir.path().to_owned(), 1 << 20, false);
        writer
            .append("db", "c", &[sample(1), sample(2), sample(3)], false)
            .unwrap();
        writer.seal().unwrap();
        let path = segments(dir.path()).unwrap().remove(0);
        let length = fs::metadata(&path).unwrap().len();
        // Cut the last record in half, as a crash mid-write would.
        OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(length - 10)
            .unwrap();
        let contents = read_segment(&path).unwrap();
        assert_eq!(contents.events.len(), 2);
        assert!(contents.torn_at.is_some());
        // A flipped byte inside a record fails its checksum.
        let mut bytes = fs::read(&path).unwrap();
        let first_length = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
        let inside_second = MAGIC.len() + 8 + first_length + 8 + 4;
        bytes[inside_second] ^= 0xff;
        fs::write(&path, bytes).unwrap();
        assert_eq!(read_segment(&path).unwrap().events.len(), 1);
    }

    #[test]
    fn a_locked_segment_is_not_claimed() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = SpoolWriter::new(dir.path().to_owned(), 1 << 20, false);
        writer.append("db", "c", &[sample(1)], false).unwrap();
        let active = writer.active_path().unwrap().to_owned();
        // Another handle (as another process would) cannot take it.
        assert!(claim_oldest(dir.path(), None).unwrap().is_none());
        writer.seal().unwrap();
        let claimed = claim_oldest(dir.path(), None).unwrap().unwrap();
        assert_eq!(claimed.path, active);
    }
}
