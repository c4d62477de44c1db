//! Sealed segments' summaries kept in memory, merged per UTC hour, for a
//! reader that answers many reports over the same spool (`panoptic serve
//! --spool`): a sealed segment never changes, so each request reads only
//! what changed since the last one — new segments' summaries, the hours of
//! segments gone — and the segments without a usable summary (the open
//! one), instead of every summary again.
//!
//! A segment is held while its [`SegmentIdentity`] is the one its summary
//! was read under; one that disappears (replayed, deleted) or changes is
//! let go, and every hour it added to is rebuilt from the summaries of the
//! segments still there (sums are not subtracted: a rebuilt hour is the
//! same sum a fresh read makes). Memory is the groups of each hour of the
//! spool (with their duration histograms) and one identity per segment,
//! never the events.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use panoptic_core::Spool;
use panoptic_core::rollup_marks::HOUR_MS;
use panoptic_spool::{SegmentIdentity, read_summary};

use super::{content, segment};
use crate::groups::{self, Groups};
use crate::query::grouper::Grouper;
use crate::query::{CostQuery, CostRow};

/// Parsed summaries of a spool's sealed segments, merged per hour and
/// kept between reports. One per spool folder; share it between threads.
#[derive(Default)]
pub struct SummaryCache {
    merged: Mutex<Merged>,
}

#[derive(Default)]
struct Merged {
    /// Each segment whose summary is in `hours`, by path.
    held: BTreeMap<PathBuf, Held>,
    /// Per hour (its start, ms), the groups of every held segment.
    hours: BTreeMap<i64, Groups>,
}

struct Held {
    identity: SegmentIdentity,
    hours: Vec<i64>,
}

impl SummaryCache {
    /// Nothing held yet: the first report reads every summary.
    pub fn new() -> SummaryCache {
        SummaryCache::default()
    }

    /// Takes in the summaries of `spool` not held yet, and lets go of
    /// segments gone: what the next report would do first, done ahead (a
    /// server, before it answers). Returns [`SummaryCache::held`].
    pub fn refresh(&self, spool: &Spool) -> io::Result<(usize, usize)> {
        let listed = panoptic_spool::segments(spool.dir())?;
        let mut merged = self.lock();
        merged.refresh(&listed);
        Ok((merged.held.len(), merged.hours.len()))
    }

    /// Segments held (their summaries merged) and hours kept: what the
    /// memory holds.
    pub fn held(&self) -> (usize, usize) {
        let merged = self.lock();
        (merged.held.len(), merged.hours.len())
    }

    /// The held summaries; none after a report that panicked holding them
    /// (it may have left a segment half merged).
    fn lock(&self) -> MutexGuard<'_, Merged> {
        self.merged.lock().unwrap_or_else(|poisoned| {
            let mut merged = poisoned.into_inner();
            *merged = Merged::default();
            self.merged.clear_poison();
            merged
        })
    }
}

impl CostQuery {
    /// [`CostQuery::run_on_spool`] with the sealed segments' summaries
    /// held in `summaries` between calls: the same rows, reading only the
    /// summaries that changed since the last call and the segments no
    /// summary answers for.
    pub fn run_on_spool_cached(
        &self,
        spool: &Spool,
        summaries: &SummaryCache,
    ) -> io::Result<Vec<CostRow>> {
        let listed = panoptic_spool::segments(spool.dir())?;
        let mut grouper = Grouper::new(self);
        let (unheld, edges) = {
            let mut merged = summaries.lock();
            let unheld = merged.refresh(&listed);
            let edges = merged.add_to(self, &mut grouper);
            (unheld, edges)
        };
        for (path, hours) in edges {
            segment::events(&path, &mut grouper, Some(&hours))?;
        }
        for path in unheld {
            segment::add(self, &path, &mut grouper)?;
        }
        Ok(grouper.finish())
    }
}

impl Merged {
    /// Lets go of segments gone or changed (rebuilding the hours they
    /// added to) and takes in the summaries of the others; returns the
    /// segments still not held, in `listed`'s order.
    fn refresh(&mut self, listed: &[PathBuf]) -> Vec<PathBuf> {
        let now: BTreeMap<&Path, Option<SegmentIdentity>> = listed
            .iter()
            .map(|path| (path.as_path(), SegmentIdentity::at(path).ok()))
            .collect();
        let mut dirty = BTreeSet::new();
        self.held.retain(|path, held| {
            let same = now
                .get(path.as_path())
                .is_some_and(|identity| identity.as_ref() == Some(&held.identity));
            if !same {
                dirty.extend(&held.hours);
            }
            same
        });
        // An hour is rebuilt whole: every other segment in it is read again
        // (and so are its other hours, until none is left half counted).
        loop {
            let before = self.held.len();
            self.held.retain(|_, held| {
                let keep = !held.hours.iter().any(|h| dirty.contains(h));
                if !keep {
                    dirty.extend(&held.hours);
                }
                keep
            });
            if self.held.len() == before {
                break;
            }
        }
        for hour in &dirty {
            self.hours.remove(hour);
        }
        let mut unheld = Vec::new();
        for path in listed {
            if self.held.contains_key(path) {
                continue;
            }
            let read = now[path.as_path()].clone().and_then(|identity| {
                let summary = read_summary(path, &identity)?;
                Some((identity, content::groups(&summary)?))
            });
            let Some((identity, hours)) = read else {
                unheld.push(path.clone());
                continue;
            };
            let starts = hours.iter().map(|(start, _)| *start).collect();
            for (start, hour) in hours {
                let into = self.hours.entry(start).or_default();
                for (dims, sums) in hour {
                    groups::add(into, dims, sums);
                }
            }
            self.held.insert(
                path.clone(),
                Held {
                    identity,
                    hours: starts,
                },
            );
        }
        unheld
    }

    /// Adds the held hours `query` may read whole to `grouper`; returns
    /// the held segments whose other hours in range are read from events.
    fn add_to(
        &self,
        query: &CostQuery,
        grouper: &mut Grouper<'_>,
    ) -> Vec<(PathBuf, BTreeSet<i64>)> {
        let mut from_events = BTreeSet::new();
        for (&start, groups) in &self.hours {
            if query.window_outside(start, HOUR_MS) {
                continue;
            }
            if !(query.window_inside(start, HOUR_MS) && query.window_one_value(start, HOUR_MS)) {
                from_events.insert(start);
                continue;
            }
            let at = DateTime::<Utc>::from_timestamp_millis(start).unwrap_or_default();
            for (dims, sums) in groups {
                groups::add_held(query, grouper.groups_mut(), dims, sums, at);
            }
        }
        self.held
            .iter()
            .filter_map(|(path, held)| {
                let hours: BTreeSet<i64> = held
                    .hours
                    .iter()
                    .filter(|h| from_events.contains(h))
                    .copied()
                    .collect();
                (!hours.is_empty()).then(|| (path.clone(), hours))
            })
            .collect()
    }
}
