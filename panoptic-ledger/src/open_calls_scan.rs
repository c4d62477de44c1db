//! Open calls found in one pass over events read one at a time (the
//! spool): what is held is the start records not yet ended and the call
//! ids of final events, never the events themselves.

use std::collections::{HashMap, HashSet};

use panoptic_core::keys::metadata as meta;
use panoptic_core::{BillingEvent, Spool};

use crate::open_calls::{OpenCall, open_calls_in};
use crate::query::CostQuery;

/// The open calls of `query` among events given one at a time, by the
/// definition of [`open_calls_in`]: a start record passing the filters
/// whose call id no final event carries, wherever that final event is.
///
/// ```
/// use panoptic_ledger::open_calls_scan::OpenCallScan;
/// use panoptic_ledger::query::CostQuery;
/// let query = CostQuery::new();
/// let scan = OpenCallScan::new(&query);
/// assert!(scan.finish().is_empty());
/// ```
pub struct OpenCallScan<'q> {
    query: &'q CostQuery,
    /// Start records not ended so far, by call id, each with its place in
    /// the stream (the order [`open_calls_in`] keeps for equal times).
    waiting: HashMap<String, Vec<(u64, OpenCall)>>,
    /// Call ids of the final events seen: a start read after its final
    /// (replayed out of order) is ended too.
    ended: HashSet<String>,
    seen: u64,
}

impl<'q> OpenCallScan<'q> {
    /// An empty scan for `query`.
    pub fn new(query: &'q CostQuery) -> OpenCallScan<'q> {
        OpenCallScan {
            query,
            waiting: HashMap::new(),
            ended: HashSet::new(),
            seen: 0,
        }
    }

    /// Takes the next event.
    pub fn add(&mut self, event: &BillingEvent) {
        self.seen += 1;
        let Ok(call_id) = event.metadata.extra.get_str(meta::CALL_ID) else {
            return;
        };
        if !event.metadata.extra.get_bool(meta::START).unwrap_or(false) {
            self.waiting.remove(call_id);
            if !self.ended.contains(call_id) {
                self.ended.insert(call_id.to_owned());
            }
            return;
        }
        if self.ended.contains(call_id) {
            return;
        }
        // One start record alone: open unless filtered out.
        for call in open_calls_in(self.query, std::slice::from_ref(event)) {
            self.waiting
                .entry(call.call_id.clone())
                .or_default()
                .push((self.seen, call));
        }
    }

    /// The open calls, oldest start first.
    pub fn finish(self) -> Vec<OpenCall> {
        let mut open: Vec<(u64, OpenCall)> = self.waiting.into_values().flatten().collect();
        open.sort_by_key(|(place, call)| (call.started, *place));
        open.into_iter().map(|(_, call)| call).collect()
    }
}

/// The open calls of `query` in a spool: the events carrying a call id,
/// in the order the spool's reader yields them, from the segments'
/// summaries where they keep them, else read one at a time. A record that
/// is not a billing event is passed over.
pub fn open_calls_on_spool(query: &CostQuery, spool: &Spool) -> std::io::Result<Vec<OpenCall>> {
    let mut scan = OpenCallScan::new(query);
    crate::spool_summary::call_records(spool, |event| scan.add(event))?;
    Ok(scan.finish())
}

#[cfg(test)]
mod tests;
