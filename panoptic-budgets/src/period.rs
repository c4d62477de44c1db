//! Which period an instant falls in, in the budget's time zone: the day,
//! ISO week or month there, so a day budget in Los Angeles rolls over at
//! midnight Pacific, not UTC.

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::define::{Budget, Period};

/// A budget period: its name and its bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodKey {
    /// `2026-11-27`, `2026-W48` or `2026-11`.
    pub name: String,
    /// The first local day of the period.
    pub first_day: NaiveDate,
    /// The first local day after it.
    pub next_first_day: NaiveDate,
    /// The local day the instant falls on.
    pub today: NaiveDate,
    /// The period's start (UTC).
    pub start: DateTime<Utc>,
    /// The next period's start (UTC).
    pub end: DateTime<Utc>,
}

impl PeriodKey {
    /// The period of `period` in `zone` that holds `at`.
    ///
    /// ```
    /// use panoptic_budgets::{Period, PeriodKey};
    /// let at = "2026-11-28T07:30:00Z".parse().unwrap(); // 23:30 on the 27th in Los Angeles
    /// let key = PeriodKey::of(Period::Day, chrono_tz::America::Los_Angeles, at);
    /// assert_eq!(key.name, "2026-11-27");
    /// ```
    pub fn of(period: Period, zone: Tz, at: DateTime<Utc>) -> PeriodKey {
        let today = at.with_timezone(&zone).date_naive();
        let (name, first_day, next_first_day) = match period {
            Period::Day => (today.to_string(), today, today + Days::new(1)),
            Period::Week => {
                let week = today.iso_week();
                let monday = today - Days::new(u64::from(today.weekday().num_days_from_monday()));
                (
                    format!("{}-W{:02}", week.year(), week.week()),
                    monday,
                    monday + Days::new(7),
                )
            }
            Period::Month => {
                let first = today.with_day(1).unwrap_or(today);
                (
                    format!("{}-{:02}", today.year(), today.month()),
                    first,
                    first + Months::new(1),
                )
            }
        };
        PeriodKey {
            name,
            first_day,
            next_first_day,
            today,
            start: local_midnight(zone, first_day),
            end: local_midnight(zone, next_first_day),
        }
    }

    /// The period of a stored period document (by its `start`), with
    /// `today` the day `at` falls on, or its last day when `at` is after
    /// it: a call reserved in one period and settled in the next counts,
    /// and alerts, in the one it reserved in. `at`'s own period when the
    /// document has no `start`.
    pub(crate) fn holding(
        period: Period,
        zone: Tz,
        document: &bson::Document,
        at: DateTime<Utc>,
    ) -> PeriodKey {
        let Ok(start) = document.get_datetime("start") else {
            return PeriodKey::of(period, zone, at);
        };
        let start = start.to_chrono();
        let key = PeriodKey::of(period, zone, start);
        let last = key.end - chrono::Duration::milliseconds(1);
        PeriodKey::of(period, zone, at.clamp(start, last))
    }

    /// [`PeriodKey::of`] in UTC (reports group days in UTC).
    pub fn utc(period: Period, at: DateTime<Utc>) -> PeriodKey {
        PeriodKey::of(period, Tz::UTC, at)
    }

    /// Days in the period.
    pub fn days(&self) -> u32 {
        (self.next_first_day - self.first_day).num_days().max(1) as u32
    }

    /// Days of the period elapsed, today included.
    pub fn days_elapsed(&self) -> u32 {
        ((self.today - self.first_day).num_days() + 1).max(1) as u32
    }
}

/// Midnight of `day` in `zone`, in UTC; on a day that skips midnight
/// (a DST change at 00:00) the first instant that exists.
fn local_midnight(zone: Tz, day: NaiveDate) -> DateTime<Utc> {
    let naive = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    match zone.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
            t.with_timezone(&Utc)
        }
        chrono::LocalResult::None => zone
            .from_local_datetime(&(naive + chrono::Duration::hours(1)))
            .earliest()
            .map_or_else(|| Utc.from_utc_datetime(&naive), |t| t.with_timezone(&Utc)),
    }
}

/// The day `now` falls on in `budget`'s time zone: the day a rate is
/// taken for, as the period's days are.
pub(crate) fn local_day(budget: &Budget, now: DateTime<Utc>) -> NaiveDate {
    budget.zone().map_or_else(
        |_| now.date_naive(),
        |zone| now.with_timezone(&zone).date_naive(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn a_day_rolls_over_at_local_midnight() {
        let la = chrono_tz::America::Los_Angeles;
        let before = PeriodKey::of(Period::Day, la, at("2026-11-28T07:59:59Z"));
        let after = PeriodKey::of(Period::Day, la, at("2026-11-28T08:00:00Z"));
        assert_eq!(
            (before.name.as_str(), after.name.as_str()),
            ("2026-11-27", "2026-11-28")
        );
        assert_eq!(before.end, at("2026-11-28T08:00:00Z"));
        assert_eq!(after.start, before.end);
        let utc = PeriodKey::of(Period::Day, chrono_tz::UTC, at("2026-11-28T07:59:59Z"));
        assert_eq!(utc.name, "2026-11-28");
    }

    #[test]
    fn weeks_are_iso_and_months_calendar() {
        let week = PeriodKey::of(Period::Week, chrono_tz::UTC, at("2027-01-01T12:00:00Z"));
        assert_eq!(week.name, "2026-W53");
        assert_eq!(week.first_day.to_string(), "2026-12-28");
        assert_eq!(week.days(), 7);
        let month = PeriodKey::of(Period::Month, chrono_tz::UTC, at("2026-02-10T00:00:00Z"));
        assert_eq!(
            (month.name.as_str(), month.days(), month.days_elapsed()),
            ("2026-02", 28, 10)
        );
    }
}
