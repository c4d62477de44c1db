//! Dead letters: events MongoDB will never take, one file each, kept for a
//! person to look at rather than dropped.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use bson::{Bson, Document};

use super::format::{begin_document, declared_length, end_document, put_document, put_str};
use super::{create_private_dir, files_ending, private_file, unix_millis};
use crate::bson_bytes::WriteBson;

/// Sub-folder of the spool holding dead letters.
const DEAD_LETTER_DIR: &str = "dead-letter";
const EXTENSION: &str = "bson";

/// Numbers this process's dead letters, so two in the same millisecond
/// get different names.
static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// An event set apart for good, as [`Spool::dead_letters`](super::Spool::dead_letters)
/// lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// The file.
    pub path: PathBuf,
    /// Why the event could not be delivered.
    pub reason: String,
    /// Where it was going.
    pub database: String,
    /// Where it was going.
    pub collection: String,
    /// The event (empty when the file could not be read; `reason` says why).
    pub document: Document,
}

/// Writes one event that will never be delivered to
/// `{dir}/dead-letter/{unix ms:015}-{pid}-{seq}.bson`, as BSON
/// `{reason, database, collection, event}`, whatever its size. The file
/// appears whole or not at all (written aside, synced, then renamed), and
/// is on disk when this returns, so the caller may then drop the event.
pub fn dead_letter(
    dir: &Path,
    database: &str,
    collection: &str,
    document: &impl WriteBson,
    reason: &str,
) -> io::Result<PathBuf> {
    let mut bytes = Vec::new();
    let start = begin_document(&mut bytes);
    put_str(&mut bytes, "reason", reason)
        .and_then(|()| put_str(&mut bytes, "database", database))
        .and_then(|()| put_str(&mut bytes, "collection", collection))
        .and_then(|()| put_document(&mut bytes, "event", document))
        .and_then(|()| end_document(&mut bytes, start))
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;

    let folder = dir.join(DEAD_LETTER_DIR);
    create_private_dir(&folder)?;
    let name = format!(
        "{:015}-{}-{}.{EXTENSION}",
        unix_millis(),
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed) + 1
    );
    let path = folder.join(&name);
    let partial = folder.join(format!(".{name}.partial"));
    let written = private_file()
        .write(true)
        .create_new(true)
        .open(&partial)
        .and_then(|mut file| {
            file.write_all(&bytes)?;
            file.sync_all()
        })
        .and_then(|()| fs::rename(&partial, &path));
    if let Err(error) = written {
        let _ = fs::remove_file(&partial);
        return Err(error);
    }
    // The caller may delete the event's only other copy next: make the
    // new name durable first.
    #[cfg(unix)]
    fs::File::open(&folder)?.sync_all()?;
    Ok(path)
}

/// How many dead letters the spool in `dir` holds.
pub(super) fn count(dir: &Path) -> io::Result<usize> {
    Ok(files_ending(&dir.join(DEAD_LETTER_DIR), EXTENSION)?.len())
}

/// The dead letters of the spool in `dir`, oldest first.
pub(super) fn list(dir: &Path) -> io::Result<Vec<DeadLetter>> {
    let mut letters = Vec::new();
    for path in files_ending(&dir.join(DEAD_LETTER_DIR), EXTENSION)? {
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        letters.push(parse(path, &bytes));
    }
    Ok(letters)
}

fn parse(path: PathBuf, bytes: &[u8]) -> DeadLetter {
    let unreadable = |path: PathBuf, why: &str| DeadLetter {
        path,
        reason: format!("unreadable dead letter: {why}"),
        database: String::new(),
        collection: String::new(),
        document: Document::new(),
    };
    if declared_length(bytes) != Some(bytes.len()) {
        return unreadable(path, "its length does not match its file");
    }
    let mut letter = match Document::from_reader(bytes) {
        Ok(letter) => letter,
        Err(e) => return unreadable(path, &e.to_string()),
    };
    let mut text = |key: &str| match letter.remove(key) {
        Some(Bson::String(text)) => Some(text),
        _ => None,
    };
    let (Some(reason), Some(database), Some(collection)) =
        (text("reason"), text("database"), text("collection"))
    else {
        return unreadable(path, "reason, database or collection missing");
    };
    let Some(Bson::Document(document)) = letter.remove("event") else {
        return unreadable(path, "no event");
    };
    DeadLetter {
        path,
        reason,
        database,
        collection,
        document,
    }
}
