//! A fixed cost (a MongoDB Atlas cluster over a period) spread over the
//! calls that used it, in proportion to their measured share.
//!
//! A cluster costs the same whether it serves one call or a million, so no
//! call's own event can carry its price. [`FixedCost`] is that cost over a
//! period, cut into days (in the reconciliation's zone, pro rata to the
//! time of the period in each day); [`Reconciliation::spread`] turns each
//! day's part into `kind: "adjustment"` events over the day's callers, by
//! their number of calls ([`Share::Calls`], the default for a fixed cost)
//! or the quantity they used ([`Share::Quantity`]). The adjustments of a
//! day sum to that day's part exactly (the rounding remainder goes to the
//! largest share), so they sum to the cost; their ids are deterministic
//! and [`Reconciliation::apply`] writes them like any other adjustment.

use chrono::{DateTime, Days, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use super::{BillLine, Fallback, Reconciliation};
use crate::query::CostRow;
use panoptic_core::BillingEvent;
use panoptic_prices::Unpriced;

/// What a caller's share of a difference or a fixed cost is measured by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Share {
    /// The caller's estimated amount (its calls when none was priced):
    /// for a bill that corrects estimates.
    #[default]
    Estimate,
    /// The caller's number of calls (adjustments not counted): for a
    /// fixed cost such as a cluster, that every call uses alike.
    Calls,
    /// The sum of the caller's `quantity` (its calls when no quantity was
    /// recorded): for a fixed cost used in measured units (documents read,
    /// bytes).
    Quantity,
}

impl Share {
    /// `estimate`, `calls` or `quantity`.
    pub fn as_str(self) -> &'static str {
        match self {
            Share::Estimate => "estimate",
            Share::Calls => "calls",
            Share::Quantity => "quantity",
        }
    }

    /// The weight of each caller; all zero when none has any.
    pub(super) fn weights(self, callers: &[&CostRow]) -> Vec<Decimal> {
        let calls = || callers.iter().map(|c| Decimal::from(c.count)).collect();
        let weights: Vec<Decimal> = match self {
            Share::Calls => return calls(),
            Share::Estimate => callers.iter().map(|c| c.amount).collect(),
            // Quantities are floats in the events; a share needs no more
            // than their 15 significant digits.
            Share::Quantity => callers
                .iter()
                .map(|c| {
                    Decimal::try_from(c.quantity)
                        .unwrap_or_default()
                        .max(Decimal::ZERO)
                })
                .collect(),
        };
        if weights.iter().all(Decimal::is_zero) {
            calls()
        } else {
            weights
        }
    }
}

/// A cost that does not depend on the calls: an amount for the period
/// `from`..`to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedCost {
    /// Provider (`mongodb_atlas`). The cost is shared by every caller of
    /// the provider in the reconciliation's scope, whatever the service.
    pub provider: String,
    /// What it is (`M10 cluster`): shown as the bill's detail.
    pub detail: String,
    /// The cost of the whole period.
    pub amount: Decimal,
    /// Start of the period.
    pub from: DateTime<Utc>,
    /// End of the period (exclusive).
    pub to: DateTime<Utc>,
}

impl FixedCost {
    /// `amount` for `from`..`to`.
    pub fn new(
        provider: impl Into<String>,
        detail: impl Into<String>,
        amount: Decimal,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> FixedCost {
        FixedCost {
            provider: provider.into(),
            detail: detail.into(),
            amount,
            from,
            to,
        }
    }

    /// An Atlas cluster of `tier` (`M10`, `M30`, `Flex`) from `from` to
    /// `to` at its list price ([`panoptic_prices::atlas::cluster_cost`],
    /// with the price book's overrides), for provider `mongodb_atlas`.
    ///
    /// # Errors
    /// A tier the price book does not know.
    pub fn atlas_cluster(
        tier: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<FixedCost, Unpriced> {
        let priced =
            panoptic_prices::atlas::cluster_cost(panoptic_core::price_book(), tier, from, to)?;
        Ok(FixedCost::new(
            panoptic_prices::atlas::PROVIDER,
            format!("{tier} cluster"),
            priced.amount,
            from,
            to,
        ))
    }

    /// The cost as one bill line per day of `zone` the period touches,
    /// each the part of the amount for the time of the period in that day;
    /// the last day takes the rounding remainder, so the lines sum to the
    /// amount exactly.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use panoptic_ledger::reconcile::FixedCost;
    /// let from = Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap();
    /// let to = Utc.with_ymd_and_hms(2026, 11, 3, 0, 0, 0).unwrap();
    /// let cost = FixedCost::new("mongodb_atlas", "M10 cluster", "2.88".parse().unwrap(), from, to);
    /// let lines = cost.bill_lines(chrono_tz::UTC);
    /// // 12 h of 36 h on the 1st, 24 h on the 2nd.
    /// assert_eq!(lines.iter().map(|l| l.list.to_string()).collect::<Vec<_>>(), ["0.96", "1.92"]);
    /// ```
    pub fn bill_lines(&self, zone: Tz) -> Vec<BillLine> {
        let span = (self.to - self.from).num_milliseconds();
        if span <= 0 {
            return Vec::new();
        }
        let mut parts = Vec::new();
        let mut day = self.from.with_timezone(&zone).date_naive();
        loop {
            let start = day_start(zone, day).max(self.from);
            let Some(next) = day.checked_add_days(Days::new(1)) else {
                break;
            };
            let end = day_start(zone, next).min(self.to);
            if end > start {
                parts.push((day, (end - start).num_milliseconds()));
            }
            if end >= self.to {
                break;
            }
            day = next;
        }
        let mut lines: Vec<BillLine> = parts
            .iter()
            .map(|(day, ms)| {
                let part = (self.amount * Decimal::from(*ms) / Decimal::from(span)).round_dp(12);
                self.line(*day, part)
            })
            .collect();
        let spread: Decimal = lines.iter().map(|l| l.list).sum();
        if let Some(last) = lines.last_mut() {
            let part = last.list + self.amount - spread;
            *last = self.line(last.day, part.normalize());
        }
        lines
    }

    fn line(&self, day: chrono::NaiveDate, amount: Decimal) -> BillLine {
        // No service: every caller of the provider shares the cost.
        BillLine::new(self.provider.clone(), day, amount, amount).detail(self.detail.clone())
    }
}

/// `day`'s midnight in `zone`, in UTC.
fn day_start(zone: Tz, day: chrono::NaiveDate) -> DateTime<Utc> {
    use chrono::TimeZone;
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    zone.from_local_datetime(&midnight)
        .earliest()
        .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc))
}

impl Reconciliation {
    /// Adjustments that spread `cost` over its callers: each day's part
    /// over the callers of that day (rows of [`shares`](Self::shares) for
    /// this reconciliation's provider and scope) in proportion to `share`.
    /// A day with no caller goes to `fallback`. The whole cost is spread,
    /// whatever the callers' own events say; to spread only what the
    /// estimates miss, reconcile against [`FixedCost::bill_lines`] and use
    /// [`adjustments`](Self::adjustments) with
    /// [`share_by`](Self::share_by) instead.
    ///
    /// The reconciliation's provider should be the cost's, and its days
    /// cover the period: parts outside them are left out.
    pub fn spread(
        &self,
        cost: &FixedCost,
        shares: &[CostRow],
        share: Share,
        fallback: &Fallback,
    ) -> Vec<BillingEvent> {
        let recon = self
            .clone()
            .share_by(share)
            .by([])
            .expect("by day alone is always valid");
        let report = recon.compare(&[], &[], &cost.bill_lines(self.zone));
        recon.adjustments(&report, shares, fallback)
    }
}
