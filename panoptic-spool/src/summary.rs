//! The summary file beside a sealed segment: an opaque BSON document (what
//! it holds is the reader's business, see `panoptic_ledger`'s spool
//! summaries) bound to the exact segment it was computed from.
//!
//! ```text
//! {dir}/{segment stem}.sum
//! [magic PANSUM01][crc32 u32 LE of the rest][BSON {segment: {name, length, modified, edges}, content}]
//! ```
//!
//! A summary is a cache, never the record: it is used only while its own
//! checksum holds and its segment still has the identity it was computed
//! from ([`SegmentIdentity`]); anything else (missing, torn, corrupt,
//! another segment's, a segment that grew or was replaced) reads as no
//! summary, and the segment is read as events.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use bson::{RawDocumentBuf, rawdoc};

use super::format::MAGIC_LEN;
use super::private_file;

/// First bytes of a summary file.
const MAGIC: &[u8; 8] = b"PANSUM01";
/// Extension of summary files (never `seg`: they are not segments).
pub(crate) const SUMMARY_EXTENSION: &str = "sum";
/// Bytes of a segment's head and tail covered by [`SegmentIdentity::edges`].
const EDGE: u64 = 4096;
/// A summary larger than this is not read (a summary is a fraction of its
/// segment, and a segment is a few MiB).
const MAX_SUMMARY: u64 = 256 * 1024 * 1024;

/// What a summary stands for: a cheap identity of its segment.
///
/// Name, length and modification time change with any append, truncation
/// or replacement by the usual means; the checksum of the first and last
/// 4 KiB catches a file put in place with the same length and time (a copy
/// that kept times). Two small reads, where checksumming the whole segment
/// would cost as much as reading its events, which is what a summary saves.
/// A sealed segment is never written again, so its identity never changes
/// while it is the same file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentIdentity {
    /// The segment's file name.
    pub name: String,
    /// Its length in bytes.
    pub length: u64,
    /// Its modification time, nanoseconds since the epoch (0 if unknown).
    pub modified: i64,
    /// CRC32 of its first and last 4 KiB.
    pub edges: u32,
}

impl SegmentIdentity {
    /// The identity of the segment open as `file`, named `path`.
    pub fn of(path: &Path, file: &File) -> io::Result<SegmentIdentity> {
        let metadata = file.metadata()?;
        let length = metadata.len();
        let modified = metadata
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        let mut hasher = crc32fast::Hasher::new();
        let mut buffer = vec![0; EDGE.min(length) as usize];
        read_at(file, &mut buffer, 0)?;
        hasher.update(&buffer);
        let tail = length.saturating_sub(EDGE).max(EDGE);
        if tail < length {
            let mut buffer = vec![0; (length - tail) as usize];
            read_at(file, &mut buffer, tail)?;
            hasher.update(&buffer);
        }
        Ok(SegmentIdentity {
            name: file_name(path),
            length,
            modified,
            edges: hasher.finalize(),
        })
    }

    /// The identity of the segment at `path` now.
    pub fn at(path: &Path) -> io::Result<SegmentIdentity> {
        SegmentIdentity::of(path, &File::open(path)?)
    }

    fn to_raw(&self) -> RawDocumentBuf {
        rawdoc! {
            "name": self.name.as_str(),
            "length": self.length as i64,
            "modified": self.modified,
            "edges": i64::from(self.edges),
        }
    }

    fn matches(&self, stored: &bson::RawDocument) -> bool {
        stored.get_str("name").ok() == Some(self.name.as_str())
            && stored.get_i64("length").ok() == Some(self.length as i64)
            && stored.get_i64("modified").ok() == Some(self.modified)
            && stored.get_i64("edges").ok() == Some(i64::from(self.edges))
    }
}

/// Where the summary of `segment` lives: beside it, `{stem}.sum`.
pub fn summary_path(segment: &Path) -> PathBuf {
    segment.with_extension(SUMMARY_EXTENSION)
}

/// The content of `segment`'s summary, if there is one, intact, computed
/// from the segment as it is now (`identity`). Every other case is `None`:
/// the caller reads the segment's events instead.
pub fn read_summary(segment: &Path, identity: &SegmentIdentity) -> Option<RawDocumentBuf> {
    let mut file = File::open(summary_path(segment)).ok()?;
    let length = file.metadata().ok()?.len();
    if !(MAGIC_LEN as u64 + 4..=MAX_SUMMARY).contains(&length) {
        return None;
    }
    let mut bytes = Vec::with_capacity(length as usize);
    file.read_to_end(&mut bytes).ok()?;
    let (magic, rest) = bytes.split_at_checked(MAGIC_LEN)?;
    let (crc, body) = rest.split_at_checked(4)?;
    if magic != MAGIC || crc32fast::hash(body).to_le_bytes() != crc {
        return None;
    }
    bytes.drain(..MAGIC_LEN + 4);
    let document = RawDocumentBuf::from_bytes(bytes).ok()?;
    if !identity.matches(document.get_document("segment").ok()?) {
        return None;
    }
    let content = document.get_document("content").ok()?;
    Some(content.to_raw_document_buf())
}

/// Writes `content` as the summary of `segment` (whose identity, taken
/// before its events were read, is `identity`), atomically: a temporary
/// file, `fsync`, then a rename over any older summary, so a reader sees a
/// whole summary or none. If the segment is gone afterwards (replayed
/// meanwhile), the summary is removed again: with [`remove_segment`]
/// deleting the segment before its summary, no summary outlives its
/// segment whichever finishes first.
pub fn write_summary(
    segment: &Path,
    identity: &SegmentIdentity,
    content: &bson::RawDocument,
) -> io::Result<()> {
    let mut document = RawDocumentBuf::new();
    document.append("segment", identity.to_raw());
    document.append("content", content.to_raw_document_buf());
    let body = document.as_bytes();
    let mut bytes = Vec::with_capacity(MAGIC_LEN + 4 + body.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    bytes.extend_from_slice(body);

    let target = summary_path(segment);
    let temporary = target.with_extension(format!("sum-{}.tmp", std::process::id()));
    let written = private_file()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&temporary)
        .and_then(|mut file| {
            file.write_all(&bytes)?;
            file.sync_all()
        })
        .and_then(|()| fs::rename(&temporary, &target));
    if let Err(error) = written {
        let _ = fs::remove_file(&temporary);
        return Err(error);
    }
    if !segment.exists() {
        remove_summary(segment)?;
    }
    Ok(())
}

/// Deletes a segment, then its summary (see [`write_summary`] for why in
/// this order). A segment already gone is not an error.
pub fn remove_segment(segment: &Path) -> io::Result<()> {
    match fs::remove_file(segment) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    remove_summary(segment)
}

/// Deletes `segment`'s summary, if it has one.
pub fn remove_summary(segment: &Path) -> io::Result<()> {
    match fs::remove_file(summary_path(segment)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// A shared lock on a segment no writer is appending to (sealed, or left
/// by a process that died): held while its summary is computed, so that
/// no writer can take it meanwhile. `None` while a writer (or a replay)
/// holds it, and for a file still shorter than its magic — a writer locks
/// a new segment before writing the magic, so a reader never takes the lock
/// of a segment being created.
pub fn lock_sealed(segment: &Path) -> io::Result<Option<File>> {
    let file = match File::open(segment) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if file.metadata()?.len() < MAGIC_LEN as u64 {
        return Ok(None);
    }
    Ok(file.try_lock_shared().is_ok().then_some(file))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Fills `buffer` from `file` at `offset` without moving any cursor.
fn read_at(file: &File, buffer: &mut [u8], offset: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        file.read_exact_at(buffer, offset)
    }
    #[cfg(not(unix))]
    {
        use std::io::{Seek, SeekFrom};
        let mut file = file.try_clone()?;
        file.seek(SeekFrom::Start(offset))?;
        file.read_exact(buffer)
    }
}

#[cfg(test)]
mod tests;
