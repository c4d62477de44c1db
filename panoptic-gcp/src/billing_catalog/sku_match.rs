//! Shipped prices matched to a Catalog SKU id: which prices the id
//! covers, in which regions, which is in force on a day, and whether the
//! Catalog's price is the same.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::pricing::{RegionalPrice, Sku};

/// Whether a price of `sku` is the one of Catalog SKU `id`.
fn covers(sku: &Sku, price: &RegionalPrice, id: &str) -> bool {
    match price.catalog_sku_id.as_deref() {
        Some(own) => own == id,
        None => sku.catalog_sku_id.as_deref() == Some(id),
    }
}

/// The regions the prices of Catalog SKU `id` name, sorted.
pub(super) fn covered_regions(sku: &Sku, id: &str) -> Vec<String> {
    let mut regions: Vec<String> = sku
        .prices
        .iter()
        .filter(|p| covers(sku, p, id))
        .flat_map(|p| p.regions.iter().cloned())
        .collect();
    regions.sort();
    regions.dedup();
    regions
}

/// The price of Catalog SKU `id` in force in `region` on `day`.
pub(super) fn latest_price<'a>(
    sku: &'a Sku,
    id: &str,
    region: &str,
    day: NaiveDate,
) -> Option<&'a RegionalPrice> {
    sku.prices
        .iter()
        .filter(|p| {
            covers(sku, p, id) && p.effective <= day && p.regions.iter().any(|r| r == region)
        })
        .max_by_key(|p| p.effective)
}

/// Same free usage and the same rate per unit from the same starts.
pub(super) fn same_price(a: &RegionalPrice, b: &RegionalPrice) -> bool {
    // The first tier covers usage from 0 whatever its stated start.
    let starts = |p: &RegionalPrice| {
        p.tiers
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let from = if i == 0 { Decimal::ZERO } else { t.from };
                (from.normalize(), t.unit_rate().normalize())
            })
            .collect::<Vec<_>>()
    };
    a.free_per_month.normalize() == b.free_per_month.normalize() && starts(a) == starts(b)
}
