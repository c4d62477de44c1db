//! Refreshing the price table from the Catalog: plan the changes (shown
//! before anything is written), then apply them.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::sku_match::{covered_regions, latest_price, same_price};
use super::{CatalogService, CatalogSku, DEFAULT_BASE_URL};
use crate::pricing::{PriceTable, RegionalPrice, Tier};
use crate::rest::Error;

/// One shipped price the Catalog changes.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceChange {
    /// Service key in the table (`bigquery`).
    pub service: String,
    /// SKU key in the table (`analysis`).
    pub sku: String,
    /// The Catalog SKU id matched.
    pub catalog_sku_id: String,
    /// The regions the new price is for.
    pub regions: Vec<String>,
    /// From when.
    pub effective: NaiveDate,
    /// The shipped tiers and monthly free usage.
    pub old: (Vec<Tier>, Decimal),
    /// The Catalog's.
    pub new: (Vec<Tier>, Decimal),
}

impl std::fmt::Display for PriceChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rates = |tiers: &[Tier]| {
            tiers
                .iter()
                .map(|t| format!("{}+: {}", t.from, t.unit_rate().normalize()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        write!(
            f,
            "{}/{} [{}] ({}) from {}: {} (free {}) -> {} (free {})",
            self.service,
            self.sku,
            self.regions.join(", "),
            self.catalog_sku_id,
            self.effective,
            rates(&self.old.0),
            self.old.1.normalize(),
            rates(&self.new.0),
            self.new.1.normalize()
        )
    }
}

/// What a refresh would do: the changes to show before writing, and the
/// shipped prices left alone with why.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RefreshPlan {
    /// Prices that differ from the Catalog's.
    pub changes: Vec<PriceChange>,
    /// `(service/sku, reason)` of prices not updated: id not in the
    /// Catalog's answer, other unit, other currency, tiers counted over
    /// other usage than an account's month.
    pub skipped: Vec<(String, String)>,
    /// `(service/sku, note)` of what the Catalog says differently without
    /// changing a price: a service or SKU renamed.
    pub notes: Vec<(String, String)>,
}

impl RefreshPlan {
    /// Writes the changes into `table`: each adds a price from its
    /// effective date (older dates keep pricing as before).
    pub fn apply(&self, table: &mut PriceTable, source: &str, checked: NaiveDate) {
        for change in &self.changes {
            let Ok(sku) = table.sku_mut(&change.service, &change.sku) else {
                continue;
            };
            sku.prices
                .retain(|p| !(p.effective == change.effective && p.regions == change.regions));
            sku.prices.push(RegionalPrice {
                regions: change.regions.clone(),
                effective: change.effective,
                free_per_month: change.new.1,
                tiers: change.new.0.clone(),
                source: source.to_owned(),
                checked,
                catalog_sku_id: Some(change.catalog_sku_id.clone()),
            });
        }
    }
}

/// Compares the shipped prices of `service_key` with the Catalog's `skus`,
/// by Catalog SKU id (a price's own id, else its SKU's). A Catalog price
/// is taken only when its `usageUnit` is the shipped unit and every rate
/// is in the table's currency; it applies to the shipped regions the
/// Catalog SKU names (all of them when it names none or `global`).
/// Nothing is written: see [`RefreshPlan::apply`].
pub fn plan_refresh(
    table: &PriceTable,
    service_key: &str,
    skus: &[CatalogSku],
    checked: NaiveDate,
) -> Result<RefreshPlan, Error> {
    let mut plan = RefreshPlan::default();
    let Some(service) = table.services.get(service_key) else {
        return Ok(plan);
    };
    let by_id: BTreeMap<&str, &CatalogSku> = skus.iter().map(|s| (s.sku_id.as_str(), s)).collect();
    for (sku_key, sku) in &service.skus {
        let name = format!("{service_key}/{sku_key}");
        let mut ids: Vec<&str> = sku
            .prices
            .iter()
            .filter_map(|p| p.catalog_sku_id.as_deref())
            .chain(sku.catalog_sku_id.as_deref())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            let Some(catalog) = by_id.get(id) else {
                plan.skipped.push((
                    name.clone(),
                    format!("SKU {id} not in the Catalog's answer"),
                ));
                continue;
            };
            let Some(info) = catalog
                .pricing_info
                .iter()
                .max_by_key(|p| p.effective_time.clone().unwrap_or_default())
            else {
                plan.skipped
                    .push((name.clone(), format!("SKU {id} has no pricingInfo")));
                continue;
            };
            let catalog_service = &catalog.category.service_display_name;
            if !catalog_service.is_empty() && *catalog_service != service.name {
                plan.notes.push((
                    name.clone(),
                    format!(
                        "SKU {id} is listed under \"{catalog_service}\" (\"{}\" in the table): \
                         matched by id",
                        service.name
                    ),
                ));
            }
            let unit = &info.pricing_expression.usage_unit;
            if *unit != sku.unit {
                plan.skipped
                    .push((name.clone(), unit_mismatch(id, unit, &sku.unit)));
                continue;
            }
            if let Some(other) = info
                .aggregation_info
                .as_ref()
                .and_then(|a| a.differs_from_monthly_per_account())
                .filter(|_| has_usage_tiers(info))
            {
                // The table's tiers and free usage count an account's
                // month: a daily or per-project count cannot be written
                // there without charging the wrong usage.
                plan.skipped.push((
                    name.clone(),
                    format!(
                        "SKU {id}'s tiers count usage by {other} (aggregationInfo), the table's \
                         per billing account and month: not written"
                    ),
                ));
                continue;
            }
            let currencies: Vec<&str> = info
                .pricing_expression
                .tiered_rates
                .iter()
                .map(|t| t.unit_price.currency_code.as_str())
                .filter(|c| *c != table.currency)
                .collect();
            if let Some(other) = currencies.first() {
                plan.skipped.push((
                    name.clone(),
                    format!(
                        "SKU {id} is priced in {other}, the table in {}",
                        table.currency
                    ),
                ));
                continue;
            }
            let fresh = catalog.to_sku("", checked)?;
            let Some(new) = fresh.prices.into_iter().next() else {
                continue;
            };
            let catalog_regions = &new.regions;
            let everywhere =
                catalog_regions.is_empty() || catalog_regions.iter().any(|r| r == "global");
            // Per region, the shipped price now in force; regions with the
            // same old price make one change.
            let mut changed: Vec<(&RegionalPrice, Vec<String>)> = Vec::new();
            for region in covered_regions(sku, id) {
                if !(everywhere || catalog_regions.contains(&region)) {
                    continue;
                }
                let Some(current) = latest_price(sku, id, &region, checked) else {
                    continue;
                };
                if same_price(current, &new) {
                    continue;
                }
                match changed.iter_mut().find(|(p, _)| std::ptr::eq(*p, current)) {
                    Some((_, regions)) => regions.push(region),
                    None => changed.push((current, vec![region])),
                }
            }
            for (current, regions) in changed {
                plan.changes.push(PriceChange {
                    service: service_key.to_owned(),
                    sku: sku_key.clone(),
                    catalog_sku_id: id.to_owned(),
                    regions,
                    effective: new.effective,
                    old: (current.tiers.clone(), current.free_per_month),
                    new: (new.tiers.clone(), new.free_per_month),
                });
            }
        }
    }
    Ok(plan)
}

/// Why a Catalog price in another unit is left alone. A CPU SKU in
/// `second` (vCPU-seconds) where the table says `GHz.s` is not converted:
/// a GHz-second's worth of a vCPU-second depends on the instance's clock,
/// which the SKU does not state.
fn unit_mismatch(id: &str, catalog: &str, table: &str) -> String {
    let seconds = |u: &str| matches!(u, "s" | "second" | "seconds");
    if seconds(catalog) && table == "GHz.s" {
        format!(
            "SKU {id} is priced per `{catalog}` (CPU time), the table per `GHz.s`: not converted \
             (no clock rate in the SKU), the shipped price kept"
        )
    } else {
        format!("SKU {id} is priced per `{catalog}`, the table per `{table}`")
    }
}

/// Whether the price changes with usage (tiers or a free first tier):
/// only then does the usage it is counted over matter.
fn has_usage_tiers(info: &super::PricingInfo) -> bool {
    info.pricing_expression.tiered_rates.len() > 1
}

/// Refreshes `table.services[service_key]` from the Catalog: plans the
/// changes ([`plan_refresh`]) and applies them. Returns how many prices
/// changed. To show the changes before writing, call the two steps.
pub fn refresh(
    table: &mut PriceTable,
    service_key: &str,
    service: &CatalogService,
    skus: &[CatalogSku],
    checked: NaiveDate,
) -> Result<usize, Error> {
    let plan = plan_refresh(table, service_key, skus, checked)?;
    let source = format!("{DEFAULT_BASE_URL}services/{}/skus", service.service_id);
    plan.apply(table, &source, checked);
    Ok(plan.changes.len())
}
