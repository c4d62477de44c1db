//! One segment's part of a report: from its summary, from its events while
//! its summary is written, or from its events alone.

use std::collections::BTreeSet;
use std::io;
use std::path::Path;

use panoptic_core::BillingEvent;
use panoptic_core::rollup_marks::hour_of;
use panoptic_spool::{SegmentIdentity, SpoolReader, lock_sealed, read_summary, write_summary};

use super::content::{self, Answer, Hours};
use crate::query::CostQuery;
use crate::query::grouper::Grouper;

/// Adds the segment at `path` to `grouper`'s groups.
pub(super) fn add(query: &CostQuery, path: &Path, grouper: &mut Grouper<'_>) -> io::Result<()> {
    let summary = SegmentIdentity::at(path)
        .ok()
        .and_then(|identity| read_summary(path, &identity));
    if let Some(summary) = summary {
        match content::answer(query, &summary, grouper.groups_mut()) {
            Answer::Added(from_events) => {
                if !from_events.is_empty() {
                    events(path, grouper, Some(&from_events))?;
                }
                return Ok(());
            }
            Answer::Events => return events(path, grouper, None),
            Answer::Unusable => {}
        }
    }
    match lock_sealed(path) {
        Ok(Some(lock)) => summarize(path, &lock, grouper),
        // Being written, replayed or gone: its events as they are now.
        Ok(None) | Err(_) => events(path, grouper, None),
    }
}

/// Adds the segment's events, only those of `hours` when given.
pub(super) fn events(
    path: &Path,
    grouper: &mut Grouper<'_>,
    hours: Option<&BTreeSet<i64>>,
) -> io::Result<()> {
    for spooled in SpoolReader::of_segments(vec![path.to_owned()]) {
        let Ok(event) = BillingEvent::try_from(&spooled?) else {
            continue;
        };
        if hours.is_none_or(|h| h.contains(&hour_of(event.ts.timestamp_millis()))) {
            grouper.add(&event);
        }
    }
    Ok(())
}

/// Adds the events of a sealed segment (held by `lock`) and writes its
/// summary from the same pass. The summary is written only if the segment
/// is still the one whose events were read.
fn summarize(path: &Path, lock: &std::fs::File, grouper: &mut Grouper<'_>) -> io::Result<()> {
    let Ok(identity) = SegmentIdentity::of(path, lock) else {
        return events(path, grouper, None);
    };
    let mut hours = Hours::default();
    for spooled in SpoolReader::of_segments(vec![path.to_owned()]) {
        let spooled = spooled?;
        hours.add_record(&spooled);
        let Ok(event) = BillingEvent::try_from(&spooled) else {
            continue;
        };
        grouper.add(&event);
        hours.add(&event);
    }
    if SegmentIdentity::at(path).is_ok_and(|now| now == identity) {
        // A cache: a folder that cannot take it leaves the report right.
        let _ = write_summary(path, &identity, &hours.encode(identity.length));
    }
    Ok(())
}

/// Hands `each` the segment's events that carry a call id, in order: from
/// its summary when it keeps them, else read from the segment (the summary
/// is left to the next report to write: the open calls decode only these
/// few events, a summary needs every one).
pub(super) fn call_records(path: &Path, each: &mut impl FnMut(&BillingEvent)) -> io::Result<()> {
    let kept = SegmentIdentity::at(path)
        .ok()
        .and_then(|identity| read_summary(path, &identity))
        .and_then(|summary| content::calls(&summary));
    if let Some(events) = kept {
        events.iter().for_each(each);
        return Ok(());
    }
    for spooled in SpoolReader::of_segments(vec![path.to_owned()]) {
        let spooled = spooled?;
        if !content::carries_call_id(&spooled.document) {
            continue;
        }
        if let Ok(event) = BillingEvent::try_from(&spooled) {
            each(&event);
        }
    }
    Ok(())
}
