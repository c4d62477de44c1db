//! Appending to segments: one growing segment per writer, rotated by size,
//! rolled back on a failed append, bounded by the folder's cap.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::format::{MAGIC_LEN, MAGIC_V2, encode_v2};
use super::{EXTENSION, create_private_dir, private_file, segments, unix_millis};
use crate::bson_bytes::WriteBson;

/// Numbers the segments of this process: shared by its writers, so two of
/// them opening a segment in the same millisecond get different names.
static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// How a [`SpoolWriter`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpoolOptions {
    /// Size from which the growing segment is sealed and the next append
    /// starts a new one (a segment is replayed, and deleted, whole).
    pub segment_bytes: u64,
    /// `fsync` each append and each sealed segment, so spooled events
    /// survive a power loss, at the cost of a disk flush per batch.
    pub fsync: bool,
    /// Cap on the total size of the folder's segments; an append that would
    /// go over it is refused with `StorageFull`. `None`: the disk is the
    /// limit.
    pub max_bytes: Option<u64>,
}

impl Default for SpoolOptions {
    /// 8 MiB segments, no `fsync`, no cap.
    fn default() -> SpoolOptions {
        SpoolOptions {
            segment_bytes: 8 * 1024 * 1024,
            fsync: false,
            max_bytes: None,
        }
    }
}

/// An event an append refused before writing anything, because it can
/// never be spooled (its record would be larger than a reader accepts, or
/// it cannot be serialized). Carried inside the `InvalidInput` error, so
/// the caller can take that event out (to a dead letter) and append the
/// rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedEvent {
    /// Its index in the appended slice.
    pub index: usize,
    /// Why.
    pub reason: String,
}

impl RefusedEvent {
    /// The refused event an append error names, if it names one.
    pub fn of(error: &io::Error) -> Option<&RefusedEvent> {
        error.get_ref()?.downcast_ref()
    }
}

impl std::fmt::Display for RefusedEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "event {} cannot be spooled: {}", self.index, self.reason)
    }
}

impl std::error::Error for RefusedEvent {}

/// Appends to one segment at a time, rotating by size.
pub struct SpoolWriter {
    dir: PathBuf,
    options: SpoolOptions,
    active: Option<ActiveSegment>,
    /// Bytes of the folder's other segments, counted when the active
    /// segment was opened (only with a cap).
    others: u64,
    /// Whether a segment holding events MongoDB lacks was closed since
    /// [`take_replay_due`](Self::take_replay_due) last asked: sealed full
    /// or left behind torn, it is no longer the active one.
    closed_unacknowledged: bool,
    pub(super) faults: Faults,
}

/// The two disk operations an append depends on, with failures a test can
/// make happen (outside tests, plain calls).
#[derive(Debug, Default)]
pub(super) struct Faults {
    /// The next append writes this many bytes, then fails.
    #[cfg(test)]
    pub write_only: Option<usize>,
    /// Cutting a segment back fails.
    #[cfg(test)]
    pub set_len_fails: bool,
}

impl Faults {
    /// Writes a whole append at the end of the segment (opened in append
    /// mode).
    fn write(&mut self, file: &mut File, buffer: &[u8]) -> io::Result<()> {
        #[cfg(test)]
        if let Some(n) = self.write_only.take() {
            file.write_all(&buffer[..n])?;
            return Err(io::Error::new(
                io::ErrorKind::StorageFull,
                "no space left (test)",
            ));
        }
        file.write_all(buffer)
    }

    /// Cuts the segment back to `length`.
    fn set_len(&self, file: &File, length: u64) -> io::Result<()> {
        #[cfg(test)]
        if self.set_len_fails {
            return Err(io::Error::other("cannot truncate (test)"));
        }
        file.set_len(length)
    }
}

struct ActiveSegment {
    path: PathBuf,
    file: File,
    bytes: u64,
    /// Whether every record in it was also acknowledged by MongoDB
    /// (write-ahead mode): then it is deleted instead of replayed.
    all_acknowledged: bool,
}

impl SpoolWriter {
    /// A writer without a size cap.
    #[cfg(test)]
    pub fn new(dir: PathBuf, segment_bytes: u64, fsync: bool) -> SpoolWriter {
        SpoolWriter::with_options(
            dir,
            SpoolOptions {
                segment_bytes,
                fsync,
                max_bytes: None,
            },
        )
    }

    /// A writer appending to segments in `dir` (created on the first
    /// append).
    pub fn with_options(dir: PathBuf, options: SpoolOptions) -> SpoolWriter {
        SpoolWriter {
            dir,
            options,
            active: None,
            others: 0,
            closed_unacknowledged: false,
            faults: Faults::default(),
        }
    }

    /// The spool folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The segment being appended to, if one is open.
    pub fn active_path(&self) -> Option<&Path> {
        self.active.as_ref().map(|a| a.path.as_path())
    }

    /// Appends like [`append`](Self::append), except that a document the
    /// spool can never hold (too large) is taken out of `documents` and
    /// handed to `refused` with the reason, and the others appended again.
    /// On any other error nothing more is written and `documents` holds
    /// what was not.
    pub fn append_sparing<D: WriteBson>(
        &mut self,
        database: &str,
        collection: &str,
        documents: &mut Vec<D>,
        acknowledged: bool,
        mut refused: impl FnMut(D, &str),
    ) -> io::Result<()> {
        loop {
            let error = match self.append(database, collection, documents, acknowledged) {
                Ok(()) => return Ok(()),
                Err(error) => error,
            };
            let Some(refusal) = RefusedEvent::of(&error) else {
                return Err(error);
            };
            let document = documents.remove(refusal.index);
            refused(document, &refusal.reason);
        }
    }

    /// Appends documents bound for one collection, all or none.
    /// `acknowledged` says whether MongoDB already has them (write-ahead),
    /// so the segment can be deleted rather than replayed when sealed.
    ///
    /// Errors: `InvalidInput` with a [`RefusedEvent`] when one document can
    /// never be spooled; `StorageFull` at the cap; the write's own error
    /// otherwise, after the segment was cut back to where it was.
    pub fn append(
        &mut self,
        database: &str,
        collection: &str,
        documents: &[impl WriteBson],
        acknowledged: bool,
    ) -> io::Result<()> {
        if documents.is_empty() {
            return Ok(());
        }
        let mut buffer = Vec::with_capacity(documents.len() * 512);
        for (index, document) in documents.iter().enumerate() {
            encode_v2(database, collection, document, &mut buffer).map_err(|reason| {
                io::Error::new(io::ErrorKind::InvalidInput, RefusedEvent { index, reason })
            })?;
        }
        self.check_cap(buffer.len() as u64)?;
        self.active()?;
        let SpoolWriter {
            active: slot,
            options,
            faults,
            ..
        } = self;
        let active = slot.as_mut().expect("opened above");
        let before = active.bytes;
        let written = faults.write(&mut active.file, &buffer).and_then(|()| {
            if options.fsync {
                active.file.sync_data()
            } else {
                Ok(())
            }
        });
        if let Err(error) = written {
            if faults.set_len(&active.file, before).is_err() {
                // Torn bytes stay at this segment's end, where the reader
                // reports them; later records go to a new segment. Left
                // unlocked for replay, whatever was acknowledged.
                *slot = None;
                self.closed_unacknowledged = true;
            }
            return Err(error);
        }
        active.bytes += buffer.len() as u64;
        active.all_acknowledged &= acknowledged;
        Ok(())
    }

    /// Refuses an append of `extra` bytes that would take the folder's
    /// segments over the cap. The folder is counted when a segment is about
    /// to open, and again before refusing, so space freed since is seen.
    fn check_cap(&mut self, extra: u64) -> io::Result<()> {
        let Some(max) = self.options.max_bytes else {
            return Ok(());
        };
        if self.active.is_none() {
            self.others = self.count_others()?;
        }
        let total = |writer: &SpoolWriter| {
            let active = writer.active.as_ref().map_or(MAGIC_LEN as u64, |a| a.bytes);
            writer.others + active + extra
        };
        if total(self) <= max {
            return Ok(());
        }
        self.others = self.count_others()?;
        let total = total(self);
        if total <= max {
            return Ok(());
        }
        Err(io::Error::new(
            io::ErrorKind::StorageFull,
            format!(
                "the spool at {} is full: this append would take its segments to {total} \
                 bytes, over the cap of {max} bytes (max_bytes)",
                self.dir.display()
            ),
        ))
    }

    /// Bytes of the folder's segments other than the active one.
    fn count_others(&self) -> io::Result<u64> {
        let active = self.active_path();
        Ok(segments(&self.dir)?
            .iter()
            .filter(|p| Some(p.as_path()) != active)
            .filter_map(|p| fs::metadata(p).ok())
            .map(|m| m.len())
            .sum())
    }

    /// Seals the active segment once it reached its size. Called after the
    /// fate of the last batch is known, so a write-ahead segment is never
    /// deleted before its insert was acknowledged.
    pub fn seal_if_full(&mut self) -> io::Result<()> {
        if self
            .active
            .as_ref()
            .is_some_and(|a| a.bytes >= self.options.segment_bytes)
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

    /// Whether events MongoDB lacks are in the spool because of this
    /// writer: in the active segment, or in one it closed since the last
    /// call (which is then forgotten; a replay is about to scan the folder).
    pub fn take_replay_due(&mut self) -> bool {
        std::mem::take(&mut self.closed_unacknowledged) || self.has_unacknowledged()
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
            if self.options.fsync {
                file.sync_data()?;
            }
            drop(file);
            if all_acknowledged {
                // A reader may have summarized it once the lock was gone.
                super::remove_segment(&path)?;
            } else {
                self.closed_unacknowledged = true;
            }
        }
        Ok(())
    }

    fn active(&mut self) -> io::Result<&mut ActiveSegment> {
        if self.active.is_none() {
            self.active = Some(self.open_segment()?);
        }
        Ok(self.active.as_mut().expect("just opened"))
    }

    fn open_segment(&self) -> io::Result<ActiveSegment> {
        create_private_dir(&self.dir)?;
        let path = self.dir.join(format!(
            "{:015}-{:010}-{:06}.{EXTENSION}",
            unix_millis(),
            std::process::id(),
            SEQUENCE.fetch_add(1, Ordering::Relaxed) + 1
        ));
        let mut file = private_file().create_new(true).append(true).open(&path)?;
        // Held while the segment grows; released when it is sealed or the
        // process dies, which is when others may replay it.
        let ready = file
            .try_lock()
            .map_err(io::Error::other)
            .and_then(|()| file.write_all(MAGIC_V2));
        if let Err(error) = ready {
            drop(file);
            let _ = fs::remove_file(&path);
            return Err(error);
        }
        Ok(ActiveSegment {
            path,
            file,
            bytes: MAGIC_LEN as u64,
            all_acknowledged: true,
        })
    }
}

/// A sealed segment taken for replay: locked, so no other process replays
/// it at the same time.
pub struct ClaimedSegment {
    /// The segment file.
    pub path: PathBuf,
    _lock: File,
}

/// Claims the oldest segment of `dir` that no live writer holds, skipping
/// `exclude` (our own active segment).
pub fn claim_oldest(dir: &Path, exclude: Option<&Path>) -> io::Result<Option<ClaimedSegment>> {
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
