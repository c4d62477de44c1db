//! What a segment's summary holds: per UTC hour, the groups of every fact
//! with their sums, as BSON `{v, hours: [{t, g: [group]}]}` (groups as the
//! rollups store them), or `{v, events: true}` when the groups would be
//! too large to be worth reading instead of the events; and `calls`, the
//! segment's events that carry a call id (start records and the final
//! events of their calls), in segment order, for the open calls — absent
//! when they would be too large.

use std::collections::{BTreeMap, BTreeSet};

use bson::{Bson, Document, RawDocument, RawDocumentBuf, doc};
use chrono::{DateTime, Utc};

use panoptic_core::keys::{self, metadata as meta};
use panoptic_core::rollup_marks::{HOUR_MS, hour_of};
use panoptic_core::{BillingEvent, SpooledEvent};

use crate::groups::{self, Dims, Groups};
use crate::query::CostQuery;
use crate::query::events::is_cost_record;
use crate::query::grouper::sum_event;
use crate::query::histogram::{GroupKey, Partial};

/// The layout version: a summary of another is not read (and is replaced).
const VERSION: i32 = 1;

/// A summary being computed, one event at a time.
#[derive(Default)]
pub(super) struct Hours {
    hours: BTreeMap<i64, Groups>,
    /// Events carrying a call id, as stored.
    calls: Vec<RawDocumentBuf>,
    call_bytes: usize,
}

impl Hours {
    /// Keeps `spooled` for the open calls if it carries a call id.
    pub(super) fn add_record(&mut self, spooled: &SpooledEvent) {
        if carries_call_id(&spooled.document) {
            self.call_bytes += spooled.document.as_bytes().len();
            self.calls.push(spooled.document.clone());
        }
    }

    /// Adds an event the streaming reader yielded.
    pub(super) fn add(&mut self, event: &BillingEvent) {
        if !is_cost_record(event) {
            return;
        }
        let hour = hour_of(event.ts.timestamp_millis());
        let groups = self.hours.entry(hour).or_default();
        sum_event(groups.entry(Dims::of(event)).or_default(), event);
    }

    /// The summary's content; groups larger than half the segment
    /// (`segment_bytes`) are not kept, only that its events must be read.
    pub(super) fn encode(self, segment_bytes: u64) -> RawDocumentBuf {
        let hours: Vec<Document> = self
            .hours
            .into_iter()
            .map(|(start, groups)| {
                let g: Vec<Document> = groups
                    .iter()
                    .map(|(dims, sums)| groups::to_bson(dims, sums))
                    .collect();
                doc! { "t": bson::DateTime::from_millis(start), "g": g }
            })
            .collect();
        let mut content = doc! { "v": VERSION, "hours": hours };
        let groups_bytes = RawDocumentBuf::from_document(&content)
            .map_or(u64::MAX, |raw| raw.as_bytes().len() as u64);
        if groups_bytes > segment_bytes / 2 {
            content = doc! { "v": VERSION, "events": true };
        }
        if (self.call_bytes as u64) <= segment_bytes / 2 {
            let calls: Vec<Bson> = self
                .calls
                .iter()
                .filter_map(|raw| raw.to_document().ok().map(Bson::Document))
                .collect();
            content.insert("calls", calls);
        }
        RawDocumentBuf::from_document(&content).unwrap_or_else(|_| {
            RawDocumentBuf::from_document(&doc! { "v": VERSION, "events": true })
                .expect("a small document")
        })
    }
}

/// What a summary gives a query.
pub(super) enum Answer {
    /// Its usable hours were added; the hours to read from events (if any).
    Added(BTreeSet<i64>),
    /// Nothing: the segment's events are to be read (it kept no groups).
    Events,
    /// Not a summary this reader can use (nothing was added): rebuild it.
    Unusable,
}

/// Adds the part of `query` a summary's content answers to `groups`. The
/// content is checked whole first, so that a summary found unusable has
/// added nothing.
pub(super) fn answer(
    query: &CostQuery,
    content: &RawDocument,
    groups: &mut BTreeMap<GroupKey, Partial>,
) -> Answer {
    if content.get_i32("v").ok() != Some(VERSION) {
        return Answer::Unusable;
    }
    if content.get_bool("events").unwrap_or(false) {
        return Answer::Events;
    }
    let Some(hours) = hours(content) else {
        return Answer::Unusable;
    };
    let mut usable = Vec::new();
    let mut from_events = BTreeSet::new();
    for (start, hour) in hours {
        if query.window_outside(start, HOUR_MS) {
            continue;
        }
        if !(query.window_inside(start, HOUR_MS) && query.window_one_value(start, HOUR_MS)) {
            from_events.insert(start);
            continue;
        }
        if groups::for_each_raw(hour, "g", |g| groups::check_packed(g.histogram)).is_err() {
            return Answer::Unusable;
        }
        usable.push((start, hour));
    }
    for (start, hour) in usable {
        let at = DateTime::<Utc>::from_timestamp_millis(start).unwrap_or_default();
        // Checked above: nothing here can fail halfway.
        let _ = groups::for_each_raw(hour, "g", |g| groups::add_raw(query, groups, g, at));
    }
    Answer::Added(from_events)
}

/// The hours of a summary with their start, if every one is well formed.
fn hours(content: &RawDocument) -> Option<Vec<(i64, &RawDocument)>> {
    let mut hours = Vec::new();
    for hour in content.get_array("hours").ok()? {
        let hour = hour.ok()?.as_document()?;
        let start = hour.get_datetime("t").ok()?.timestamp_millis();
        hours.push((start, hour));
    }
    Some(hours)
}

/// The events of a summary's `calls`, in segment order; `None` when the
/// summary does not keep them (the segment's events are to be read).
pub(super) fn calls(content: &RawDocument) -> Option<Vec<BillingEvent>> {
    if content.get_i32("v").ok() != Some(VERSION) {
        return None;
    }
    let mut events = Vec::new();
    for call in content.get_array("calls").ok()? {
        let document = Document::try_from(call.ok()?.as_document()?).ok()?;
        // Not a billing event: the streaming scan passes it over too.
        if let Ok(event) = BillingEvent::from_document(&document) {
            events.push(event);
        }
    }
    Some(events)
}

/// Whether `document` has the `metadata.call_id` text the open calls read,
/// looked up in the raw bytes.
pub(crate) fn carries_call_id(document: &RawDocument) -> bool {
    document
        .get_document(keys::METADATA)
        .is_ok_and(|metadata| metadata.get_str(meta::CALL_ID).is_ok())
}

/// Every hour of a summary with its groups, owned (what a long-lived
/// reader keeps); `None` for a summary that keeps no groups or does not
/// read back whole.
pub(super) fn groups(content: &RawDocument) -> Option<Vec<(i64, Groups)>> {
    if content.get_i32("v").ok() != Some(VERSION) || content.get_bool("events").unwrap_or(false) {
        return None;
    }
    let mut read = Vec::new();
    for (start, hour) in hours(content)? {
        let mut groups = Groups::new();
        groups::for_each_raw(hour, "g", |g| {
            let (dims, sums) = g.owned()?;
            groups::add(&mut groups, dims, sums);
            Ok(())
        })
        .ok()?;
        read.push((start, groups));
    }
    Some(read)
}
