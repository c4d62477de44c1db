//! Spend written down before it is counted, so that nothing is held only
//! in memory: every spend the writer tells the budgets, and every
//! settlement a call asks as it ends, is appended (one BSON document
//! each, no fsync: a SIGKILL keeps what the kernel has) to a batch file
//! beside the spool (`budget-backlog/{batch}.bson`, 0600) before it is
//! counted. Two streams write there: the writer's spend, counted by the
//! spend loop, and the calls' settlements, counted by the reservation
//! thread; each is counted live, in order, by its one counter.
//!
//! Counting is exactly once whoever does it and however often it is
//! interrupted: each period document remembers, per batch, how far it
//! counted (`batches.{batch}`: the index of the next entry), and an entry
//! is added only together with that mark, in one write. Every counter
//! goes through a batch in order and never past an entry it could not
//! count, so a mark never covers an entry nobody counted. A counter that
//! fails hands its batch over (closes it) and stops counting live; the
//! spend loop counts closed batches from disk (this process's, or those a
//! dead process left), then brings the streams back live. A batch whose
//! every entry is counted is removed: the key is bounded (one per batch
//! and period, not one per event).

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use bson::{Bson, Document, doc};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use panoptic_core::budget_hook::{Reserved, Spend};
use panoptic_core::money::{from_decimal128, to_decimal128};

use crate::store::Mark;

/// One spend not yet counted, with the instant it counts at (its period
/// is the one that holds that instant).
#[derive(Clone)]
pub(crate) struct Entry {
    pub(crate) spend: Spend,
    pub(crate) at: DateTime<Utc>,
}

impl Entry {
    /// A call's settlement: its own `amount` (in its reservation's
    /// currency) against the budget it reserved in, only that one.
    pub(crate) fn settlement(reserved: Reserved, amount: Decimal, at: DateTime<Utc>) -> Entry {
        Entry {
            spend: Spend {
                provider: String::new(),
                service: String::new(),
                resource: String::new(),
                username: String::new(),
                user: None,
                env: String::new(),
                tags: Vec::new(),
                amount: Some(amount),
                currency: reserved.currency.clone(),
                only: Some(reserved.budget.clone()),
                // Counted as the settlement, wherever it is counted.
                reserved: Some(Reserved {
                    settled: false,
                    ..reserved
                }),
            },
            at,
        }
    }
}

/// A batch takes no more entries once it holds this many: its counter
/// finishes it and removes it, and a new one begins.
const ROTATE_AFTER: i64 = 1024;

/// The folder the batches are in.
pub(crate) fn folder(spool_dir: &Path) -> PathBuf {
    spool_dir.join("budget-backlog")
}

/// A batch its counter counts live.
struct Live {
    batch: String,
    /// The index the next entry gets (entries it holds).
    next: i64,
    /// Entries counted, from the first.
    counted: i64,
}

struct StreamState {
    /// The batch entries are appended to, and its file.
    open: Option<(Live, File)>,
    /// Batches full or ended, their counter still counting them.
    draining: Vec<Live>,
    /// Whether its counter counts what is appended now; false after a
    /// failure, until the spend loop counted what was left.
    live: bool,
    warned: bool,
}

/// One stream of entries and its batch files.
pub(crate) struct Stream {
    dir: PathBuf,
    state: Mutex<StreamState>,
}

impl Stream {
    pub(crate) fn new(spool_dir: &Path) -> Stream {
        Stream {
            dir: folder(spool_dir),
            state: Mutex::new(StreamState {
                open: None,
                draining: Vec::new(),
                live: true,
                warned: false,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, StreamState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn path(&self, batch: &str) -> PathBuf {
        self.dir.join(format!("{batch}.bson"))
    }

    /// Appends `entry` to the open batch (opening one) and hands its mark
    /// to `send` before another entry can be appended: the counter gets
    /// the entries in the order of their marks, which it must count them
    /// in. The mark is `None` when the disk refused the entry (said once
    /// on stderr: it is then counted live only, and lost if that fails).
    pub(crate) fn append_then(&self, entry: Entry, send: impl FnOnce(Entry, Option<Mark>)) {
        let mut state = self.lock();
        let mark = self.append_or_warn(&mut state, &entry);
        send(entry, mark);
    }

    /// Appends `entry`; its mark (tests).
    #[cfg(test)]
    pub(crate) fn append(&self, entry: &Entry) -> Option<Mark> {
        let mut state = self.lock();
        self.append_or_warn(&mut state, entry)
    }

    fn append_or_warn(&self, state: &mut StreamState, entry: &Entry) -> Option<Mark> {
        match self.append_locked(state, entry) {
            Ok(mark) => Some(mark),
            Err(e) => {
                if !state.warned {
                    state.warned = true;
                    panoptic_core::report::write_line(&format!(
                        "panoptic: budget spend cannot be written down beside the spool \
                         ({}): {e}",
                        self.dir.display()
                    ));
                }
                None
            }
        }
    }

    fn append_locked(&self, state: &mut StreamState, entry: &Entry) -> std::io::Result<Mark> {
        if state.open.is_none() {
            std::fs::create_dir_all(&self.dir)?;
            let batch = format!(
                // No `.`: the id is a field name in period documents.
                "{}-{}",
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
            let file = options.open(self.path(&batch))?;
            let live = Live {
                batch,
                next: 0,
                counted: 0,
            };
            state.open = Some((live, file));
        }
        let Some((open, file)) = state.open.as_mut() else {
            return Err(std::io::Error::other("no batch open"));
        };
        let mut bytes = Vec::new();
        encode(entry)
            .to_writer(&mut bytes)
            .map_err(std::io::Error::other)?;
        if let Err(e) = file.write_all(&bytes) {
            // A torn entry ends the batch: what follows goes to a new one.
            Self::end_open(state);
            return Err(e);
        }
        let mark = Mark {
            batch: open.batch.clone(),
            index: open.next,
        };
        open.next += 1;
        if open.next >= ROTATE_AFTER {
            Self::end_open(state);
        }
        Ok(mark)
    }

    /// The open batch takes no more entries; its counter finishes it.
    fn end_open(state: &mut StreamState) {
        if let Some((open, _file)) = state.open.take() {
            state.draining.push(open);
        }
    }

    /// Whether the counter counts `mark` live: the stream is live and the
    /// entry is in a batch it counts (any other is the spend loop's).
    pub(crate) fn counts_live(&self, mark: Option<&Mark>) -> bool {
        let state = self.lock();
        if !state.live {
            return false;
        }
        let Some(mark) = mark else { return true };
        state
            .open
            .iter()
            .map(|(live, _)| live)
            .any(|l| l.batch == mark.batch)
            || state.draining.iter().any(|l| l.batch == mark.batch)
    }

    /// The counter counted `mark`: an ended batch all counted is removed.
    pub(crate) fn counted(&self, mark: &Mark) {
        let mut state = self.lock();
        if let Some((open, _)) = state.open.as_mut()
            && open.batch == mark.batch
        {
            open.counted = mark.index + 1;
            return;
        }
        let Some(at) = state.draining.iter().position(|l| l.batch == mark.batch) else {
            return;
        };
        let live = &mut state.draining[at];
        live.counted = mark.index + 1;
        if live.counted >= live.next {
            let done = state.draining.remove(at);
            let _ = std::fs::remove_file(self.path(&done.batch));
        }
    }

    /// Removes the open batch when its counter counted all of it (a
    /// flush, the end of the process): the next process has nothing to
    /// look through again.
    pub(crate) fn tidy(&self) {
        let mut state = self.lock();
        if state
            .open
            .as_ref()
            .is_some_and(|(open, _)| open.counted >= open.next)
            && let Some((open, _)) = state.open.take()
        {
            let _ = std::fs::remove_file(self.path(&open.batch));
        }
    }

    /// The counter could not count: its batches are left on disk for the
    /// spend loop, and the stream stops counting live.
    pub(crate) fn failed(&self) {
        let mut state = self.lock();
        state.live = false;
        state.open = None;
        state.draining.clear();
    }

    /// The batches the spend loop must leave alone: the open one (still
    /// appended to) and those its counter is finishing.
    pub(crate) fn busy(&self) -> Vec<String> {
        let state = self.lock();
        state
            .open
            .iter()
            .map(|(live, _)| live)
            .chain(&state.draining)
            .map(|l| l.batch.clone())
            .collect()
    }

    /// Brings a stream that failed back live once the spend loop counted
    /// what it left: what was appended meanwhile is closed (the spend
    /// loop counts it next). True when it closed a batch.
    pub(crate) fn resume(&self) -> bool {
        let mut state = self.lock();
        if state.live {
            return false;
        }
        state.live = true;
        state.open.take().is_some()
    }
}

/// The batches beside the spool other than `busy` ones, oldest first: ids and files.
pub(crate) fn closed(spool_dir: &Path, busy: &[String]) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(folder(spool_dir)) else {
        return Vec::new();
    };
    let mut batches: Vec<(String, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "bson"))
        .filter_map(|p| Some((p.file_stem()?.to_str()?.to_owned(), p)))
        .filter(|(batch, _)| !busy.contains(batch))
        .collect();
    batches.sort();
    batches
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(amount: i64) -> Entry {
        Entry::settlement(
            Reserved {
                budget: "b".to_owned(),
                call_id: "c".to_owned(),
                estimate: Decimal::ONE,
                currency: "USD".to_owned(),
                held: true,
                settled: true,
                unanswered: false,
            },
            Decimal::new(amount, 2),
            Utc::now(),
        )
    }

    fn files(spool: &Path) -> usize {
        std::fs::read_dir(folder(spool))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    #[test]
    fn a_live_batch_counted_to_its_end_is_removed_and_the_next_begins() {
        let spool = tempfile::tempdir().unwrap();
        let stream = Stream::new(spool.path());
        let marks: Vec<Mark> = (0..ROTATE_AFTER + 2)
            .map(|i| stream.append(&entry(i)).unwrap())
            .collect();
        // Two batches: the full one (its counter still on it) and the next.
        assert_eq!(marks[0].batch, marks[ROTATE_AFTER as usize - 1].batch);
        assert_ne!(marks[0].batch, marks[ROTATE_AFTER as usize].batch);
        assert_eq!(marks[ROTATE_AFTER as usize].index, 0);
        assert_eq!(files(spool.path()), 2);
        assert!(closed(spool.path(), &stream.busy()).is_empty());
        for mark in &marks[..ROTATE_AFTER as usize] {
            assert!(stream.counts_live(Some(mark)));
            stream.counted(mark);
        }
        assert_eq!(
            files(spool.path()),
            1,
            "the full batch, all counted, is gone"
        );
        // The open one is removed by a tidy only once all of it is counted.
        stream.tidy();
        assert_eq!(files(spool.path()), 1);
        for mark in &marks[ROTATE_AFTER as usize..] {
            stream.counted(mark);
        }
        stream.tidy();
        assert_eq!(files(spool.path()), 0);
    }

    #[test]
    fn after_a_failure_the_batches_are_the_spend_loops_until_it_resumes_the_stream() {
        let spool = tempfile::tempdir().unwrap();
        let stream = Stream::new(spool.path());
        let first = stream.append(&entry(1)).unwrap();
        stream.counted(&first);
        let failed = stream.append(&entry(2)).unwrap();
        stream.failed();
        // The failed batch is closed: the spend loop's, never the counter's.
        assert!(!stream.counts_live(Some(&failed)));
        let closed_now = closed(spool.path(), &stream.busy());
        assert_eq!(closed_now.len(), 1);
        assert_eq!(closed_now[0].0, failed.batch);
        let entries = read(&closed_now[0].1).unwrap();
        assert_eq!(
            entries.len(),
            2,
            "both entries, counted or not, are on disk"
        );
        assert_eq!(entries[1].spend.amount, Some(Decimal::new(2, 2)));
        // Written while stopped: on disk, in a batch the spend loop leaves
        // alone until it resumes the stream.
        let meanwhile = stream.append(&entry(3)).unwrap();
        assert_ne!(meanwhile.batch, failed.batch);
        assert!(!stream.counts_live(Some(&meanwhile)));
        assert_eq!(closed(spool.path(), &stream.busy()).len(), 1);
        assert!(stream.resume(), "the batch written meanwhile is closed");
        assert_eq!(closed(spool.path(), &stream.busy()).len(), 2);
        assert!(!stream.counts_live(Some(&meanwhile)));
        let live = stream.append(&entry(4)).unwrap();
        assert!(stream.counts_live(Some(&live)));
        assert!(!stream.resume(), "live already");
    }

    #[test]
    fn a_torn_last_entry_is_left_out() {
        let spool = tempfile::tempdir().unwrap();
        let stream = Stream::new(spool.path());
        let mark = stream.append(&entry(1)).unwrap();
        stream.append(&entry(2)).unwrap();
        let path = folder(spool.path()).join(format!("{}.bson", mark.batch));
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 7]).unwrap();
        let entries = read(&path).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].spend.amount, Some(Decimal::new(1, 2)));
    }
}
