//! Google's billing clock: Cloud Billing counts days and invoice months in
//! Pacific time (America/Los_Angeles), so a query at 01:00 UTC on the 1st
//! belongs to the last day of the previous month.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::America::Los_Angeles;

/// The time zone of Google's billing days and months.
pub const BILLING_TIME_ZONE: &str = "America/Los_Angeles";

/// The billing day of `at`: its date in Pacific time.
///
/// ```
/// use panoptic_gcp::pricing::billing_day;
/// let at = "2026-12-01T01:00:00Z".parse().unwrap();
/// assert_eq!(billing_day(at).to_string(), "2026-11-30");
/// ```
pub fn billing_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Los_Angeles).date_naive()
}

/// Today's billing day.
pub fn billing_today() -> NaiveDate {
    billing_day(Utc::now())
}

/// A billing (invoice) month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BillingMonth {
    /// Year.
    pub year: i32,
    /// Month, 1 to 12.
    pub month: u32,
}

impl BillingMonth {
    /// The billing month `at` falls in (Pacific time).
    ///
    /// ```
    /// use panoptic_gcp::pricing::BillingMonth;
    /// let m = BillingMonth::of("2026-12-01T07:59:59Z".parse().unwrap());
    /// assert_eq!(m.to_string(), "202611");
    /// ```
    pub fn of(at: DateTime<Utc>) -> BillingMonth {
        BillingMonth::of_day(billing_day(at))
    }

    /// The month of a billing day.
    pub fn of_day(day: NaiveDate) -> BillingMonth {
        BillingMonth {
            year: day.year(),
            month: day.month(),
        }
    }

    /// Its first day.
    pub fn first_day(self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.year, self.month, 1)
    }
}

/// `YYYYMM`, as the billing export's `invoice.month` spells it.
impl std::fmt::Display for BillingMonth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}{:02}", self.year, self.month)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacific_days_follow_daylight_saving() {
        // PDT (UTC-7) in July, PST (UTC-8) in January.
        let day = |s: &str| billing_day(s.parse().unwrap()).to_string();
        assert_eq!(day("2026-07-02T06:59:59Z"), "2026-07-01");
        assert_eq!(day("2026-07-02T07:00:00Z"), "2026-07-02");
        assert_eq!(day("2026-01-02T07:59:59Z"), "2026-01-01");
        assert_eq!(day("2026-01-02T08:00:00Z"), "2026-01-02");
        let m = BillingMonth::of("2027-01-01T05:00:00Z".parse().unwrap());
        assert_eq!((m.year, m.month), (2026, 12));
    }
}
