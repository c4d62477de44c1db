//! Counters of what happened to the events a handle was given.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of a handle's counters, from [`Panoptic::stats`](crate::Panoptic::stats).
///
/// Every event accepted ends up counted once in `written`, `duplicates`,
/// `failed` or `dropped`; until then it is pending (in memory, or on disk
/// in the spool, counted in `spooled`).
///
/// ```no_run
/// # let panoptic = panoptic_core::Panoptic::builder().username("ann").build().unwrap();
/// panoptic.flush();
/// let stats = panoptic.stats();
/// if stats.spooled > stats.replayed {
///     eprintln!("{} events wait on disk: {:?}", stats.spooled - stats.replayed, stats.last_error);
/// }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Events accepted from the application (counted when the writer takes
    /// them, so the caller never touches a shared counter: `flush` first for
    /// an exact figure).
    pub emitted: u64,
    /// Events acknowledged by MongoDB (directly or replayed from the spool).
    pub written: u64,
    /// Events appended to the disk spool because MongoDB could not take
    /// them (or the queue was full).
    pub spooled: u64,
    /// Events delivered from the spool (a subset of `written` plus
    /// `duplicates`; may include events spooled by an earlier process).
    pub replayed: u64,
    /// Events MongoDB already had (same `_id`): delivered, not counted twice.
    pub duplicates: u64,
    /// Events MongoDB refused as invalid, or that neither MongoDB nor the
    /// spool could take.
    pub failed: u64,
    /// Events dropped by `Overflow::Drop`, or when even the spool refused them.
    pub dropped: u64,
    /// Events kept in a dead-letter file because MongoDB (or the spool)
    /// can never take them: too large, refused as invalid, or bound for a
    /// place panoptic does not write to. A subset of `failed`.
    pub dead_lettered: u64,
    /// Spool segments set aside (intact, with the reason beside them) for a
    /// reason a retry will not fix: unreadable bytes, a collection MongoDB
    /// refuses. `panoptic replay --retry-set-aside` tries them again.
    pub set_aside: u64,
    /// Unreadable regions skipped while replaying the spool (a torn write,
    /// a flipped bit); the records around them were delivered.
    pub corrupt_regions: u64,
    /// Panics inside the writer, caught: it went on.
    pub writer_panics: u64,
    /// Events the writer holds in memory right now, not yet in MongoDB or
    /// the spool.
    pub held: u64,
    /// The last error reported, with any password removed.
    pub last_error: Option<String>,
}

impl Stats {
    /// Events of this process accepted but not yet in MongoDB, failed or
    /// dropped (in memory or in the spool).
    ///
    /// ```
    /// let stats = panoptic_core::Stats { emitted: 10, written: 7, failed: 1, ..Default::default() };
    /// assert_eq!(stats.pending(), 2);
    /// ```
    pub fn pending(&self) -> u64 {
        // Replays of an earlier process's spool are not this process's events.
        let settled = self.written + self.duplicates + self.failed + self.dropped;
        self.emitted
            .saturating_sub(settled.saturating_sub(self.replayed.saturating_sub(self.spooled)))
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub emitted: AtomicU64,
    pub written: AtomicU64,
    pub spooled: AtomicU64,
    pub replayed: AtomicU64,
    pub duplicates: AtomicU64,
    pub failed: AtomicU64,
    pub dropped: AtomicU64,
    pub dead_lettered: AtomicU64,
    pub set_aside: AtomicU64,
    pub corrupt_regions: AtomicU64,
    pub writer_panics: AtomicU64,
    pub held: AtomicU64,
    pub last_error: Mutex<Option<String>>,
}

impl Counters {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn set(counter: &AtomicU64, n: u64) {
        counter.store(n, Ordering::Relaxed);
    }

    /// Keeps `message` (already redacted) as the last error.
    pub fn set_last_error(&self, message: String) {
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(message);
        }
    }

    pub fn snapshot(&self) -> Stats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Stats {
            // Read the outcomes before `emitted`, so pending() never goes
            // negative from a race with the writer.
            written: get(&self.written),
            spooled: get(&self.spooled),
            replayed: get(&self.replayed),
            duplicates: get(&self.duplicates),
            failed: get(&self.failed),
            dropped: get(&self.dropped),
            dead_lettered: get(&self.dead_lettered),
            set_aside: get(&self.set_aside),
            corrupt_regions: get(&self.corrupt_regions),
            writer_panics: get(&self.writer_panics),
            held: get(&self.held),
            emitted: get(&self.emitted),
            last_error: self
                .last_error
                .lock()
                .map(|e| e.clone())
                .unwrap_or_default(),
        }
    }
}
