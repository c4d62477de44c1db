//! End-of-period spend from the period's daily series.
//!
//! Method: the spend so far plus, for each day left, the mean daily spend
//! of the complete days elapsed (today is partial and left out of the
//! mean, unless it is the only day). The day it runs out is the first day
//! on which the cumulative forecast reaches the limit.
//!
//! It projects counted spend only: what the period leaves out (spend in a
//! currency with no rate, unpriced calls) is not guessed at here, and
//! `BudgetStatus::coverage` states it beside the forecast.

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;

/// A projection of a budget period.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    /// Projected spend at the end of the period.
    pub end_of_period: Decimal,
    /// The mean daily spend used.
    pub daily_rate: Decimal,
    /// The first day the limit is reached, if it is within the period.
    pub runs_out: Option<NaiveDate>,
}

/// Projects a period from `daily` (spend per local day from `first_day`,
/// through today; missing days count as zero), with `days` in the period.
///
/// ```
/// use panoptic_budgets::forecast;
/// use rust_decimal::Decimal;
/// let first = "2026-11-01".parse().unwrap();
/// // Four complete days of 2.50, today 1.00 so far, in a 30-day month.
/// let daily = [2.5, 2.5, 2.5, 2.5, 1.0].map(|d| Decimal::try_from(d).unwrap());
/// let f = forecast(first, &daily, 30, Decimal::from(50));
/// // 11.00 so far + 2.50 × 25 days left = 73.50; 11 + 2.50 × 16 = 51
/// // reaches 50 on the 21st.
/// assert_eq!(f.end_of_period, Decimal::new(7350, 2));
/// assert_eq!(f.runs_out, Some("2026-11-21".parse().unwrap()));
/// ```
pub fn forecast(first_day: NaiveDate, daily: &[Decimal], days: u32, limit: Decimal) -> Forecast {
    let elapsed = daily.len().max(1);
    let spent: Decimal = daily.iter().copied().sum();
    let complete = &daily[..daily.len().saturating_sub(1)];
    let daily_rate = if complete.is_empty() {
        spent
    } else {
        complete.iter().copied().sum::<Decimal>() / Decimal::from(complete.len())
    };
    let left = u64::from(days).saturating_sub(elapsed as u64);
    let end_of_period = spent + daily_rate * Decimal::from(left);
    let mut cumulative = Decimal::ZERO;
    let mut runs_out = None;
    for (i, amount) in daily.iter().enumerate() {
        cumulative += amount;
        if cumulative >= limit {
            runs_out = Some(first_day + Days::new(i as u64));
            break;
        }
    }
    if runs_out.is_none() && daily_rate > Decimal::ZERO {
        for i in elapsed as u64..u64::from(days) {
            cumulative += daily_rate;
            if cumulative >= limit {
                runs_out = Some(first_day + Days::new(i));
                break;
            }
        }
    }
    Forecast {
        end_of_period,
        daily_rate,
        runs_out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: i64) -> Decimal {
        Decimal::from(n)
    }

    #[test]
    fn a_fixed_series_projects_by_the_mean_of_complete_days() {
        let first = "2026-11-01".parse().unwrap();
        // Days 1–3 complete: 1, 2, 3 (mean 2); today 10 so far; 7-day week.
        let f = forecast(first, &[d(1), d(2), d(3), d(10)], 7, d(100));
        // 16 + 2 × 3 = 22; never reaches 100.
        assert_eq!(f.end_of_period, d(22));
        assert_eq!(f.daily_rate, d(2));
        assert_eq!(f.runs_out, None);
        // Already over on day 2.
        let over = forecast(first, &[d(5), d(6)], 7, d(10));
        assert_eq!(over.runs_out, Some("2026-11-02".parse().unwrap()));
        // The first day alone is its own rate.
        let first_day = forecast(first, &[d(4)], 30, d(100));
        assert_eq!(first_day.end_of_period, d(120));
        assert_eq!(first_day.runs_out, Some("2026-11-25".parse().unwrap()));
    }
}
