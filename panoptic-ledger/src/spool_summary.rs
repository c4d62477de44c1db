//! Reports over the spool from per-segment summaries: what each UTC hour
//! of a sealed segment adds up, per group of every fact (the rollups'
//! [`Dims`](crate::groups::Dims) and packed duration histograms, the same
//! definitions), so a report reads a few kilobytes per segment instead of
//! its events.
//!
//! # Who writes a summary
//!
//! The first report that reads a sealed segment without a valid summary
//! computes it from the events it is reading anyway and writes it beside
//! the segment (atomically, see [`panoptic_spool::write_summary`]). Not
//! the writer at seal time: the recording path (`panoptic-core`) cannot
//! know the ledger's group definitions without a dependency cycle, sealing
//! would cost the writer a second pass over 8 MiB, and segments written
//! before summaries existed (or restored from `aside/`) must get one all
//! the same. The price is that the first report over a segment reads its
//! events; every later one reads the summary. A summary that cannot be
//! written (a read-only folder) is not an error: the report is right
//! without it.
//!
//! # When one is used
//!
//! Only for a segment no writer holds (sealed, or left by a dead process:
//! neither is ever appended to again), and only while it matches that
//! segment's identity and its own checksum; otherwise the segment's events
//! are read, and a new summary is written for a sealed one. Within a
//! summary, an hour is read from it only under the rollups' rule: inside
//! the query's range and within one value of each time dimension; the
//! other hours of that segment (a range's edges, hours that straddle two
//! days of the query's zone) are read from its events. A summary counts
//! exactly what the streaming reader yields and a report sums: corrupt
//! regions, invalid records, records that are not billing events, start
//! records and alerts are left out; delivered segments are deleted with
//! their summary, so nothing delivered is counted.
//!
//! A summary also keeps the few events that carry a call id (start records
//! and the final events of their calls), so that the open calls listed
//! under a report need not read every segment either.

mod cache;
mod content;
mod segment;

pub use cache::SummaryCache;

use std::io;

use panoptic_core::{BillingEvent, Spool};

use crate::query::grouper::Grouper;
use crate::query::{CostQuery, CostRow};

impl CostQuery {
    /// Runs the report over the events waiting in a spool: sealed
    /// segments' hours from their summaries where the query allows it
    /// (writing the summaries missing), the rest from events read one at
    /// a time. The rows are [`CostQuery::run_on_spool_scan`]'s; memory
    /// grows with the groups (and one segment's summary), not the events.
    pub fn run_on_spool(&self, spool: &Spool) -> io::Result<Vec<CostRow>> {
        let mut grouper = Grouper::new(self);
        for path in panoptic_spool::segments(spool.dir())? {
            segment::add(self, &path, &mut grouper)?;
        }
        Ok(grouper.finish())
    }
}

/// Hands `each` every event of the spool that carries a call id (start
/// records and the final events of their calls), in the order the
/// streaming reader yields them: from the summaries that keep them, else
/// from the segments. What the open calls read.
pub(crate) fn call_records(spool: &Spool, mut each: impl FnMut(&BillingEvent)) -> io::Result<()> {
    for path in panoptic_spool::segments(spool.dir())? {
        segment::call_records(&path, &mut each)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
