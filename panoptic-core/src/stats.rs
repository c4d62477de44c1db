//! Counters of what happened to the events a handle was given.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of a handle's counters, from [`Panoptic::stats`](crate::Panoptic::stats).
///
/// Every event accepted is eventually counted once in `written`,
/// `duplicates`, `failed` or `dropped`; `pending()` is what has not been
/// decided yet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Events accepted from the application.
    pub emitted: u64,
    /// Events acknowledged by MongoDB.
    pub written: u64,
    /// Events MongoDB already had (same `_id`): delivered, not counted twice.
    pub duplicates: u64,
    /// Events that MongoDB did not take (server unreachable, rejected).
    pub failed: u64,
    /// Events refused before reaching the writer (queue full, handle shut down).
    pub dropped: u64,
    /// The last error reported, with any password removed.
    pub last_error: Option<String>,
}

impl Stats {
    /// Events accepted but not yet written, failed or dropped.
    ///
    /// ```
    /// let stats = panoptic_core::Stats { emitted: 10, written: 7, failed: 1, ..Default::default() };
    /// assert_eq!(stats.pending(), 2);
    /// ```
    pub fn pending(&self) -> u64 {
        self.emitted
            .saturating_sub(self.written + self.duplicates + self.failed + self.dropped)
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub emitted: AtomicU64,
    pub written: AtomicU64,
    pub duplicates: AtomicU64,
    pub failed: AtomicU64,
    pub dropped: AtomicU64,
    pub last_error: Mutex<Option<String>>,
}

impl Counters {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Stats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Stats {
            // Read the outcomes before `emitted`, so pending() never goes
            // negative from a race with the writer.
            written: get(&self.written),
            duplicates: get(&self.duplicates),
            failed: get(&self.failed),
            dropped: get(&self.dropped),
            emitted: get(&self.emitted),
            last_error: self
                .last_error
                .lock()
                .map(|e| e.clone())
                .unwrap_or_default(),
        }
    }
}
