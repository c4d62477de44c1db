//! What a report adds up, one event at a time: the events in memory and
//! the spool read as a stream share this one definition, and memory is the
//! groups (and their duration histograms), never the events.

use std::collections::BTreeMap;

use panoptic_core::{BillingEvent, Kind, Outcome};

use super::CostQuery;
use super::CostRow;
use super::histogram::{GroupKey, Partial, duration_bucket, finish};

/// The groups of `query`, filled one event at a time.
pub(crate) struct Grouper<'q> {
    query: &'q CostQuery,
    groups: BTreeMap<GroupKey, Partial>,
}

impl<'q> Grouper<'q> {
    pub(crate) fn new(query: &'q CostQuery) -> Grouper<'q> {
        Grouper {
            query,
            groups: BTreeMap::new(),
        }
    }

    /// Adds `event` to its group, if it passes the query's filters.
    pub(crate) fn add(&mut self, event: &BillingEvent) {
        let query = self.query;
        if !query.matches(event) {
            return;
        }
        let key = query
            .group_by
            .iter()
            .map(|g| g.value_of(event, query.time_zone))
            .collect();
        let group = self
            .groups
            .entry((key, event.currency.clone()))
            .or_default();
        sum_event(group, event);
    }

    /// The groups so far, for sums read elsewhere (a spool summary's).
    pub(crate) fn groups_mut(&mut self) -> &mut BTreeMap<GroupKey, Partial> {
        &mut self.groups
    }

    /// The rows, sorted as reports are.
    pub(crate) fn finish(self) -> Vec<CostRow> {
        finish(self.groups)
    }
}

/// Adds `event` to the sums of its group: the one definition of what an
/// event adds, for reports and for the spool's summaries.
pub(crate) fn sum_event(group: &mut Partial, event: &BillingEvent) {
    if event.kind == Kind::Adjustment {
        group.adjusted += event.amount.unwrap_or_default();
        group.quantity += event.quantity;
        return;
    }
    match event.amount {
        Some(amount) => group.amount += amount,
        None => group.unpriced += 1,
    }
    group.quantity += event.quantity;
    group.count += 1;
    group.errors += u64::from(event.outcome != Outcome::Ok);
    if let Some(duration) = event.metadata.duration_ms {
        *group
            .durations
            .entry(duration_bucket(duration))
            .or_default() += 1;
    }
}
