//! Open calls found in one pass over events read one at a time (the
//! spool): what is held is the start records not yet ended and the call
//! ids of final events, never the events themselves.

use std::collections::{HashMap, HashSet};

use bson::RawDocument;
use panoptic_core::keys::{self, metadata as meta};
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

/// The open calls of `query` in a spool, read one event at a time. A record
/// that is not a billing event is passed over.
pub fn open_calls_on_spool(query: &CostQuery, spool: &Spool) -> std::io::Result<Vec<OpenCall>> {
    let mut scan = OpenCallScan::new(query);
    for spooled in spool.reader()? {
        let spooled = spooled?;
        // Most events are of no call with a start record: the scan would
        // pass them over, so they are not decoded at all.
        if !carries_call_id(&spooled.document) {
            continue;
        }
        if let Ok(event) = BillingEvent::try_from(&spooled) {
            scan.add(&event);
        }
    }
    Ok(scan.finish())
}

/// Whether `document` has the `metadata.call_id` text [`OpenCallScan::add`]
/// reads, looked up in the raw bytes.
fn carries_call_id(document: &RawDocument) -> bool {
    document
        .get_document(keys::METADATA)
        .is_ok_and(|metadata| metadata.get_str(meta::CALL_ID).is_ok())
}

#[cfg(test)]
mod tests;
