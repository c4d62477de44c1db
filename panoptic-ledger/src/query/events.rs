//! The same query over events in memory or in the spool, for when
//! MongoDB does not answer.

use panoptic_core::BillingEvent;
use panoptic_core::Spool;

use super::grouper::Grouper;
use super::{CostQuery, CostRow, Facts};

impl CostQuery {
    /// Runs the same report over events in memory.
    pub fn run_on_events<'a>(
        &self,
        events: impl IntoIterator<Item = &'a BillingEvent>,
    ) -> Vec<CostRow> {
        let mut grouper = Grouper::new(self);
        for event in events {
            grouper.add(event);
        }
        grouper.finish()
    }

    /// Runs the same report over the events waiting in a spool, reading
    /// every event (never a summary), one at a time: memory grows with the
    /// groups, not with the events. A record that is not a billing event is
    /// passed over. [`CostQuery::run_on_spool`] gives the same rows, from
    /// segment summaries where they fit.
    pub fn run_on_spool_scan(&self, spool: &Spool) -> std::io::Result<Vec<CostRow>> {
        let mut grouper = Grouper::new(self);
        for spooled in spool.reader()? {
            if let Ok(event) = BillingEvent::try_from(&spooled?) {
                grouper.add(&event);
            }
        }
        Ok(grouper.finish())
    }

    /// Whether `e` passes the filters (as the `$match` stage would).
    pub fn matches(&self, e: &BillingEvent) -> bool {
        is_cost_record(e)
            && self.matches_facts(e)
            // BSON dates keep milliseconds; compare as MongoDB does.
            && self.since.is_none_or(|s| e.ts.timestamp_millis() >= s.timestamp_millis())
            && self.until.is_none_or(|u| e.ts.timestamp_millis() < u.timestamp_millis())
    }

    /// Whether facts (an event's, or a rollup group's) pass the filters
    /// other than time: one definition for events, rollups and the spool.
    pub(crate) fn matches_facts(&self, e: &impl Facts) -> bool {
        let same = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        same(&self.env, e.env())
            && same(&self.provider, e.provider())
            && same(&self.username, e.username())
            && same(&self.service, e.service())
            && same(&self.resource, e.resource())
            && self.kind.is_none_or(|k| k.as_str() == e.kind())
            && self.outcome.is_none_or(|o| o.as_str() == e.outcome())
            && same(&self.metadata_user, e.end_user())
            && self.tag.as_ref().is_none_or(|t| e.tags().contains(t))
    }
}

/// Whether a report counts `e` at all: start records and alerts are
/// never summed, whatever the filters.
pub(crate) fn is_cost_record(e: &BillingEvent) -> bool {
    !e.metadata
        .extra
        .get_bool(panoptic_core::keys::metadata::START)
        .unwrap_or(false)
        && !e
            .metadata
            .extra
            .get_bool(panoptic_core::keys::metadata::ALERT)
            .unwrap_or(false)
}

#[cfg(test)]
mod tests;
