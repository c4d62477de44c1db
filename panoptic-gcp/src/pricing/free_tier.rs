//! Monthly free tiers, applied where they belong: to a billing account's
//! usage over a billing month (Pacific time), when reports and
//! reconciliation aggregate. Billing events stay at list price.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::PricingError;
use super::calc::{Calculator, FreeTier, tiered_cost};
use super::pacific::BillingMonth;

/// A billing account's usage of one SKU in one region over one month, in
/// the SKU's unit (`TiBy` for BigQuery analysis).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthlyUsage {
    /// Billing account id (`01ABCD-234567-89EFGH`).
    pub billing_account: String,
    /// The billing month (see [`BillingMonth::of`]).
    pub month: BillingMonth,
    /// Service key in the price table (`bigquery`).
    pub service: String,
    /// SKU key (`analysis`).
    pub sku: String,
    /// Region or location (`us`).
    pub region: String,
    /// Usage, in the SKU's unit.
    pub quantity: Decimal,
}

/// The free-tier credit of one account, month and SKU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreeTierCredit {
    /// Billing account id.
    pub billing_account: String,
    /// Billing month.
    pub month: BillingMonth,
    /// Service key.
    pub service: String,
    /// SKU key.
    pub sku: String,
    /// Usage the free tier covered, in the SKU's unit.
    pub free_quantity: Decimal,
    /// What the covered usage costs at list price: the amount to take off
    /// the sum of the month's list-price events (zero or positive).
    pub credit: Decimal,
}

impl Calculator {
    /// The free-tier credits of `usage`: per billing account, month and
    /// SKU, the first `free_per_month` units of the month cost nothing.
    /// One allowance covers all regions of a SKU; it is used up region by
    /// region in name order (Google does not say in which order; when
    /// regional rates differ the split is an estimate). Prices are those
    /// in effect on the month's first day, unless [`Calculator::on`] gave
    /// a day.
    ///
    /// ```
    /// use panoptic_gcp::pricing::{BillingMonth, Calculator, MonthlyUsage};
    /// use rust_decimal::Decimal;
    ///
    /// let usage = MonthlyUsage {
    ///     billing_account: "01AB-CD".into(),
    ///     month: BillingMonth { year: 2026, month: 11 },
    ///     service: "bigquery".into(), sku: "analysis".into(), region: "US".into(),
    ///     quantity: Decimal::from(3), // TiB
    /// };
    /// let credits = Calculator::default().free_tier_credits([&usage]).unwrap();
    /// assert_eq!(credits[0].credit, Decimal::new(625, 2)); // the first TiB
    /// ```
    pub fn free_tier_credits<'a>(
        &self,
        usage: impl IntoIterator<Item = &'a MonthlyUsage>,
    ) -> Result<Vec<FreeTierCredit>, PricingError> {
        // (account, month, service, sku) -> region -> quantity
        type Key = (String, BillingMonth, String, String);
        let mut grouped: BTreeMap<Key, BTreeMap<String, Decimal>> = BTreeMap::new();
        for u in usage {
            let key = (
                u.billing_account.clone(),
                u.month,
                u.service.clone(),
                u.sku.clone(),
            );
            *grouped
                .entry(key)
                .or_default()
                .entry(u.region.trim().to_ascii_lowercase())
                .or_default() += u.quantity;
        }
        let mut out = Vec::new();
        for ((account, month, service, sku), regions) in grouped {
            let day = match (self.date_given(), month.first_day()) {
                (Some(d), _) | (None, Some(d)) => d,
                (None, None) => self.price_date(),
            };
            let mut used = Decimal::ZERO;
            let mut credit = Decimal::ZERO;
            let mut free_quantity = Decimal::ZERO;
            for (region, quantity) in regions {
                let (_, price) = self.table().price(&service, &sku, &region, day)?;
                let remaining = (price.free_per_month - used).max(Decimal::ZERO);
                let covered = quantity.min(remaining);
                let list = tiered_cost(price, quantity, FreeTier::ListPrice);
                let net = tiered_cost(price, quantity, FreeTier::After(used));
                credit += list - net;
                free_quantity += covered;
                used += quantity;
            }
            out.push(FreeTierCredit {
                billing_account: account,
                month,
                service,
                sku,
                free_quantity: free_quantity.normalize(),
                credit: credit.normalize(),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(account: &str, month: u32, region: &str, tib: i64) -> MonthlyUsage {
        MonthlyUsage {
            billing_account: account.into(),
            month: BillingMonth { year: 2026, month },
            service: "bigquery".into(),
            sku: "analysis".into(),
            region: region.into(),
            quantity: Decimal::from(tib),
        }
    }

    #[test]
    fn one_allowance_per_account_and_month() {
        let rows = [
            usage("A", 10, "us", 3),
            usage("A", 10, "eu", 2),
            usage("A", 11, "us", 0),
            usage("B", 10, "us", 1),
        ];
        let credits = Calculator::default().free_tier_credits(&rows).unwrap();
        let find = |a: &str, m: u32| {
            credits
                .iter()
                .find(|c| c.billing_account == a && c.month.month == m)
                .unwrap()
                .clone()
        };
        // 1 free TiB for account A in October, shared by US and EU.
        assert_eq!(find("A", 10).free_quantity, Decimal::ONE);
        assert_eq!(find("A", 10).credit, Decimal::new(625, 2));
        assert_eq!(find("A", 11).credit, Decimal::ZERO);
        assert_eq!(find("B", 10).credit, Decimal::new(625, 2));
    }
}
