//! The newest events a query matches in the spool (the dashboard's event
//! list): read one at a time, and only the newest kept, in a heap bounded
//! by how many were asked for.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use panoptic_core::{BillingEvent, Spool};

use super::CostQuery;

/// An event ordered by time, then id: the dashboard's order, made total.
struct ByTime(BillingEvent);

impl ByTime {
    fn key(&self) -> (chrono::DateTime<chrono::Utc>, bson::oid::ObjectId) {
        (self.0.ts, self.0.id)
    }
}

impl PartialEq for ByTime {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for ByTime {}

impl PartialOrd for ByTime {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ByTime {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl CostQuery {
    /// The `newest` events of `spool` this query matches, newest first
    /// (by time, then id). Memory is `newest` events, whatever the spool
    /// holds. A record that is not a billing event is passed over.
    pub fn newest_on_spool(
        &self,
        spool: &Spool,
        newest: usize,
    ) -> std::io::Result<Vec<BillingEvent>> {
        // A min-heap of the newest so far: its top is the first to give way.
        let mut kept: BinaryHeap<Reverse<ByTime>> = BinaryHeap::with_capacity(newest.min(4_096));
        for spooled in spool.reader()? {
            let Ok(event) = BillingEvent::try_from(&spooled?) else {
                continue;
            };
            if !self.matches(&event) {
                continue;
            }
            let candidate = ByTime(event);
            if kept.len() < newest {
                kept.push(Reverse(candidate));
            } else if let Some(mut oldest) = kept.peek_mut()
                && candidate > oldest.0
            {
                *oldest = Reverse(candidate);
            }
        }
        // Ascending `Reverse` is newest first.
        Ok(kept
            .into_sorted_vec()
            .into_iter()
            .map(|Reverse(ByTime(event))| event)
            .collect())
    }
}

#[cfg(test)]
mod tests;
