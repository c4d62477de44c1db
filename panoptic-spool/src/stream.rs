//! Every event of a spool, one at a time, segment by segment: a report over
//! the spool needs one record's worth of memory, whatever the spool holds.

use std::io;
use std::path::PathBuf;

use super::{SegmentItem, SegmentReader, SpooledEvent, open_if_segment};

/// The replayable events of a spool's segments, oldest segment first, in
/// append order, read one record at a time ([`Spool::reader`](super::Spool::reader)).
///
/// What [`Spool::events`](super::Spool::events) collects: corrupt regions
/// (a torn tail, flipped bits), invalid records and files that are not
/// segments are skipped, and a segment that vanished since the folder was
/// listed (replayed meanwhile) is passed over. An I/O error is yielded
/// once and ends the iteration.
#[derive(Debug)]
pub struct SpoolReader {
    /// Segments not opened yet, oldest first.
    waiting: std::vec::IntoIter<PathBuf>,
    current: Option<SegmentReader>,
    failed: bool,
}

impl SpoolReader {
    /// The events of these segments only, with the same skipping rules
    /// (for a reader that takes some segments from their summaries).
    pub fn of_segments(segments: Vec<PathBuf>) -> SpoolReader {
        SpoolReader::new(segments)
    }

    pub(crate) fn new(segments: Vec<PathBuf>) -> SpoolReader {
        SpoolReader {
            waiting: segments.into_iter(),
            current: None,
            failed: false,
        }
    }

    fn fail(&mut self, error: io::Error) -> Option<io::Result<SpooledEvent>> {
        self.failed = true;
        self.current = None;
        Some(Err(error))
    }
}

impl Iterator for SpoolReader {
    type Item = io::Result<SpooledEvent>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.failed {
            if let Some(segment) = &mut self.current {
                match segment.next() {
                    Some(Ok(SegmentItem::Record(event))) => return Some(Ok(event)),
                    Some(Ok(SegmentItem::Corrupt { .. } | SegmentItem::Invalid { .. })) => {}
                    Some(Err(error)) => return self.fail(error),
                    None => self.current = None,
                }
                continue;
            }
            match open_if_segment(&self.waiting.next()?) {
                Ok(segment) => self.current = segment,
                Err(error) => return self.fail(error),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests;
