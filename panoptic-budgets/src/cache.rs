//! The database's budget definitions, cached on disk beside the spool
//! (readable by the user only), so that a process started while MongoDB
//! does not answer still knows them and applies their policy. The file
//! says when it was written; whoever uses it says how old it is.

use std::io::Write;
use std::path::{Path, PathBuf};

use bson::{Document, doc};
use chrono::{DateTime, Utc};

use crate::define::Budget;

/// The cache's file in a spool folder (not a segment: `.seg` files are).
pub(crate) fn path(spool_dir: &Path) -> PathBuf {
    spool_dir.join("budgets.cache")
}

/// The definitions cached at `path`, and when they were written; `None`
/// when there is no cache or it cannot be read.
pub(crate) fn read(path: &Path) -> Option<(Vec<Budget>, DateTime<Utc>)> {
    let bytes = std::fs::read(path).ok()?;
    let document = Document::from_reader(bytes.as_slice()).ok()?;
    let saved = document.get_datetime("saved_at").ok()?.to_chrono();
    let budgets = document
        .get_array("budgets")
        .ok()?
        .iter()
        .filter_map(|b| bson::from_bson(b.clone()).ok())
        .collect();
    Some((budgets, saved))
}

/// Writes `budgets` as read from the database at `saved`: to a new file
/// (mode 0600) renamed over the old one, so a reader never sees half.
pub(crate) fn write(path: &Path, budgets: &[Budget], saved: DateTime<Utc>) -> std::io::Result<()> {
    let budgets = budgets
        .iter()
        .map(bson::to_bson)
        .collect::<Result<Vec<_>, _>>()
        .map_err(std::io::Error::other)?;
    let document = doc! {
        "saved_at": bson::DateTime::from_chrono(saved),
        "budgets": budgets,
    };
    let mut bytes = Vec::new();
    document
        .to_writer(&mut bytes)
        .map_err(std::io::Error::other)?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // A name of its own: both sides of the broker write after a sync.
    let fresh = path.with_extension(format!("cache.{}", bson::oid::ObjectId::new().to_hex()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&fresh)?;
    file.write_all(&bytes)?;
    file.sync_all()?;
    std::fs::rename(&fresh, path)
}
