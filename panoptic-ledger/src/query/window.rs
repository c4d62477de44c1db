//! Which precomputed windows (a rollup's, a spool summary's hour) a query
//! may read instead of events: one rule for every store, so that the
//! summed windows and the events read around them never overlap or leave
//! a gap.

use chrono::{DateTime, Utc};

use super::CostQuery;

impl CostQuery {
    /// Whether the window `[start, start + span)` (milliseconds) lies
    /// inside the query's range: every event of it passes `since` and
    /// `until`.
    pub(crate) fn window_inside(&self, start: i64, span: i64) -> bool {
        self.since.is_none_or(|s| start >= s.timestamp_millis())
            && self
                .until
                .is_none_or(|u| start + span <= u.timestamp_millis())
    }

    /// Whether no event of the window can pass `since` and `until`.
    pub(crate) fn window_outside(&self, start: i64, span: i64) -> bool {
        self.since
            .is_some_and(|s| start + span <= s.timestamp_millis())
            || self.until.is_some_and(|u| start >= u.timestamp_millis())
    }

    /// Whether the window lies within one value of each time dimension (in
    /// the query's zone), so its groups take the value of its start.
    pub(crate) fn window_one_value(&self, start: i64, span: i64) -> bool {
        self.group_by.iter().all(|g| {
            let value = |ms: i64| g.time_value(at(ms), self.time_zone);
            value(start) == value(start + span - 1)
        })
    }
}

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
