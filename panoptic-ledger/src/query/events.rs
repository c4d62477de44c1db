//! The same query over events in memory or in the spool, for when
//! MongoDB does not answer.

use std::collections::BTreeMap;

use panoptic_core::Spool;
use panoptic_core::{BillingEvent, Kind, Outcome};

use super::histogram::{GroupKey, Partial, duration_bucket, finish};
use super::{CostQuery, CostRow, Facts};

impl CostQuery {
    /// Runs the same report over events in memory.
    pub fn run_on_events<'a>(
        &self,
        events: impl IntoIterator<Item = &'a BillingEvent>,
    ) -> Vec<CostRow> {
        let mut groups: BTreeMap<GroupKey, Partial> = BTreeMap::new();
        for event in events.into_iter().filter(|e| self.matches(e)) {
            let key = self
                .group_by
                .iter()
                .map(|g| g.value_of(event, self.time_zone))
                .collect();
            let group = groups.entry((key, event.currency.clone())).or_default();
            if event.kind == Kind::Adjustment {
                group.adjusted += event.amount.unwrap_or_default();
                group.quantity += event.quantity;
                continue;
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
        finish(groups)
    }

    /// Runs the same report over the events waiting in a spool.
    pub fn run_on_spool(&self, spool: &Spool) -> std::io::Result<Vec<CostRow>> {
        let events: Vec<BillingEvent> = spool
            .events()?
            .iter()
            .filter_map(|e| BillingEvent::try_from(e).ok())
            .collect();
        Ok(self.run_on_events(&events))
    }

    /// Whether `e` passes the filters (as the `$match` stage would).
    pub fn matches(&self, e: &BillingEvent) -> bool {
        !e.metadata.extra.get_bool(panoptic_core::keys::metadata::START).unwrap_or(false)
            && !e.metadata.extra.get_bool(panoptic_core::keys::metadata::ALERT).unwrap_or(false)
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
