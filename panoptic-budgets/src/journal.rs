//! Spend MongoDB could not take (fail-open), kept on disk beside the
//! spool until it is counted: by this process when the server is back, or
//! by a later one that finds the files. Spend is appended, one BSON
//! document each, to a batch file (`budget-backlog/{batch}.bson`, 0600)
//! as it fails; a batch is closed before it is counted, and removed once
//! all of it is. Counting is exactly once whoever does it and however
//! often it is interrupted: each period document remembers, per batch,
//! how many of the batch's entries it took (`batches.{batch}`), and an
//! entry is added only together with that count, in one write. So the
//! key is bounded (one per batch and period, not one per event).

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

use bson::{Bson, Document, doc};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use panoptic_core::budget_hook::{Reserved, Spend};
use panoptic_core::money::{from_decimal128, to_decimal128};

/// One spend not yet counted, with the instant it was first counted at
/// (its period is the one that holds that instant).
pub(crate) struct Entry {
    pub(crate) spend: Spend,
    pub(crate) at: DateTime<Utc>,
}

pub(crate) struct Backlog {
    dir: PathBuf,
    /// The batch spend is appended to, until it is closed.
    open: Option<File>,
}

impl Backlog {
    /// The backlog in `spool_dir`.
    pub(crate) fn new(spool_dir: &Path) -> Backlog {
        Backlog {
            dir: spool_dir.join("budget-backlog"),
            open: None,
        }
    }

    /// Appends `entry` to the open batch (opening one), on disk before
    /// this returns.
    pub(crate) fn push(&mut self, entry: &Entry) -> std::io::Result<()> {
        if self.open.is_none() {
            std::fs::create_dir_all(&self.dir)?;
            let name = format!(
                "{}-{}.bson",
                // No `.`: the id is a field name in period documents.
                Utc::now().format("%Y%m%dT%H%M%S%6f"),
                bson::oid::ObjectId::new().to_hex()
            );
            let mut options = OpenOptions::new();
            options.append(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            self.open = Some(options.open(self.dir.join(name))?);
        }
        let Some(file) = self.open.as_mut() else {
            return Ok(());
        };
        let mut bytes = Vec::new();
        encode(entry)
            .to_writer(&mut bytes)
            .map_err(std::io::Error::other)?;
        file.write_all(&bytes)?;
        file.sync_data()
    }

    /// Closes the open batch: what is appended next starts a new one.
    pub(crate) fn close(&mut self) {
        self.open = None;
    }

    /// The closed batches, oldest first: their ids and files.
    pub(crate) fn closed(&self) -> Vec<(String, PathBuf)> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut batches: Vec<(String, PathBuf)> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "bson"))
            .filter_map(|p| Some((p.file_stem()?.to_str()?.to_owned(), p)))
            .collect();
        batches.sort();
        if self.open.is_some() {
            // The newest is the open one.
            batches.pop();
        }
        batches
    }
}

/// The entries of a batch file, in order. A torn last entry (a crash
/// mid-append) is left out: its spend was not acknowledged as kept.
pub(crate) fn read(path: &Path) -> std::io::Result<Vec<Entry>> {
    let mut reader = BufReader::new(File::open(path)?);
    let mut entries = Vec::new();
    while let Ok(document) = Document::from_reader(&mut reader) {
        if let Some(entry) = decode(&document) {
            entries.push(entry);
        }
    }
    Ok(entries)
}

fn encode(entry: &Entry) -> Document {
    let spend = &entry.spend;
    let mut document = doc! {
        "at": bson::DateTime::from_chrono(entry.at),
        "provider": &spend.provider,
        "service": &spend.service,
        "resource": &spend.resource,
        "username": &spend.username,
        "env": &spend.env,
        "tags": &spend.tags,
        "currency": &spend.currency,
    };
    if let Some(user) = &spend.user {
        document.insert("user", user);
    }
    if let Some(amount) = spend.amount {
        document.insert("amount", to_decimal128(amount));
    }
    if let Some(only) = &spend.only {
        document.insert("only", only);
    }
    if let Some(r) = &spend.reserved {
        document.insert(
            "reserved",
            doc! {
                "budget": &r.budget,
                "call_id": &r.call_id,
                "estimate": to_decimal128(r.estimate),
                "currency": &r.currency,
                "held": r.held,
                "settled": r.settled,
                "unanswered": r.unanswered,
            },
        );
    }
    document
}

fn decode(document: &Document) -> Option<Entry> {
    let text = |d: &Document, key: &str| d.get_str(key).ok().map(str::to_owned);
    let decimal = |d: &Document, key: &str| match d.get(key) {
        Some(Bson::Decimal128(v)) => from_decimal128(*v).ok(),
        _ => None,
    };
    let reserved = document.get_document("reserved").ok().map(|r| Reserved {
        budget: text(r, "budget").unwrap_or_default(),
        call_id: text(r, "call_id").unwrap_or_default(),
        estimate: decimal(r, "estimate").unwrap_or(Decimal::ZERO),
        currency: text(r, "currency").unwrap_or_default(),
        held: r.get_bool("held").unwrap_or(false),
        settled: r.get_bool("settled").unwrap_or(false),
        unanswered: r.get_bool("unanswered").unwrap_or(false),
    });
    Some(Entry {
        at: document.get_datetime("at").ok()?.to_chrono(),
        spend: Spend {
            provider: text(document, "provider")?,
            service: text(document, "service")?,
            resource: text(document, "resource")?,
            username: text(document, "username")?,
            user: text(document, "user"),
            env: text(document, "env")?,
            tags: document
                .get_array("tags")
                .map(|t| {
                    t.iter()
                        .filter_map(|t| t.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            amount: decimal(document, "amount"),
            currency: text(document, "currency")?,
            reserved,
            only: text(document, "only"),
        },
    })
}
