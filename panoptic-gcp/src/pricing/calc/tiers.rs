//! Tiered rates and the monthly free tier: what a usage costs from where
//! it starts in the month.

use rust_decimal::Decimal;

use crate::pricing::RegionalPrice;

/// How a monthly free tier is applied to one usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FreeTier {
    /// Ignore the free tier: list price from the first unit (the free tier
    /// belongs to the billing account, which one process cannot see).
    #[default]
    ListPrice,
    /// Apply it: this many units (in the SKU's unit) were already used this
    /// month before this usage. `After(0)` is the usage of a whole month.
    After(Decimal),
}

impl FreeTier {
    /// The usage is the whole month, from its first day.
    pub const WHOLE_MONTH: FreeTier = FreeTier::After(Decimal::ZERO);
}

/// The cost of usage running from `before` to `before + quantity` units of
/// the month: each unit at the rate of the tier it falls in, units under the
/// free tier at nothing. With [`FreeTier::ListPrice`] the usage starts at 0
/// and the free tier is ignored.
pub fn tiered_cost(price: &RegionalPrice, quantity: Decimal, free: FreeTier) -> Decimal {
    let (start, free_until) = match free {
        FreeTier::ListPrice => (Decimal::ZERO, Decimal::ZERO),
        FreeTier::After(used) => (used.max(Decimal::ZERO), price.free_per_month),
    };
    let end = start + quantity;
    let mut total = Decimal::ZERO;
    for (i, tier) in price.tiers.iter().enumerate() {
        // The first tier also covers any usage below its start.
        let tier_start = if i == 0 { Decimal::ZERO } else { tier.from };
        let tier_end = price
            .tiers
            .get(i + 1)
            .map_or(end, |next| next.from.min(end));
        let lo = start.max(tier_start).max(free_until);
        let hi = end.min(tier_end);
        if hi > lo {
            total += (hi - lo) * tier.rate / tier.per;
        }
    }
    total
}
