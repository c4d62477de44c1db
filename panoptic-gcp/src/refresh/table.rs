//! The table beside the Catalog: which services to read, what changed,
//! and the override file that holds the changed SKUs.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;

use super::RefreshError;
use crate::billing_catalog::{self, Catalog, PriceChange, RefreshPlan};
use crate::pricing::{PriceTable, ServicePrices, Sku};

/// A service of the table to compare: its key and Catalog service id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The table's key (`bigquery`).
    pub service: String,
    /// The Catalog's service id (`24E6-581D-38E5`).
    pub catalog_id: String,
}

/// One refresh of the Google Cloud table: the table as it is, and what
/// the Catalog said of each service read so far.
#[derive(Debug, Clone)]
pub struct CatalogRefresh {
    table: PriceTable,
    today: NaiveDate,
    targets: Vec<Target>,
    services_without_id: Vec<String>,
    skus_without_id: usize,
    plans: Vec<(Target, RefreshPlan)>,
}

/// Whether some price of `sku` names a Catalog SKU id.
fn has_id(sku: &Sku) -> bool {
    sku.catalog_sku_id.is_some() || sku.prices.iter().any(|p| p.catalog_sku_id.is_some())
}

impl CatalogRefresh {
    /// Compares `table` (with its overrides, as in force) on `today`,
    /// which is also the day written as `checked`.
    pub fn new(table: PriceTable, today: NaiveDate) -> CatalogRefresh {
        let mut targets = Vec::new();
        let mut services_without_id = Vec::new();
        let mut skus_without_id = 0;
        for (key, service) in &table.services {
            skus_without_id += service.skus.values().filter(|s| !has_id(s)).count();
            if service.skus.values().any(has_id) {
                match &service.catalog_id {
                    Some(id) => targets.push(Target {
                        service: key.clone(),
                        catalog_id: id.clone(),
                    }),
                    None => services_without_id.push(key.clone()),
                }
            }
        }
        CatalogRefresh {
            table,
            today,
            targets,
            services_without_id,
            skus_without_id,
            plans: Vec::new(),
        }
    }

    /// The services to read: those with a Catalog service id and a price
    /// that names a Catalog SKU. An error when there are none.
    pub fn targets(&self) -> Result<&[Target], RefreshError> {
        if self.targets.is_empty() {
            return Err(RefreshError::NoCatalogSkuIds);
        }
        Ok(&self.targets)
    }

    /// Services with Catalog SKU ids but no Catalog service id
    /// (`catalog_id`): not compared.
    pub fn services_without_id(&self) -> &[String] {
        &self.services_without_id
    }

    /// SKUs of the table that name no Catalog SKU id: not compared.
    pub fn skus_without_id(&self) -> usize {
        self.skus_without_id
    }

    /// Reads every SKU of `target`'s service from `catalog` and compares
    /// them with the table. Returns how many SKUs the Catalog listed.
    pub async fn read(
        &mut self,
        catalog: &Catalog,
        target: &Target,
    ) -> Result<usize, RefreshError> {
        let failed = |error| RefreshError::Service {
            service_id: target.catalog_id.clone(),
            error: Box::new(error),
        };
        let skus = catalog.skus(&target.catalog_id).await.map_err(failed)?;
        let plan = billing_catalog::plan_refresh(&self.table, &target.service, &skus, self.today)
            .map_err(failed)?;
        self.plans.push((target.clone(), plan));
        Ok(skus.len())
    }

    /// `(service/sku, note)`: what the Catalog says differently without
    /// changing a price (a renamed service). Shown, never written.
    pub fn notes(&self) -> impl Iterator<Item = &(String, String)> {
        self.plans.iter().flat_map(|(_, plan)| &plan.notes)
    }

    /// Prices the Catalog changes, service by service.
    pub fn changes(&self) -> impl Iterator<Item = &PriceChange> {
        self.plans.iter().flat_map(|(_, plan)| &plan.changes)
    }

    /// `(service/sku, reason)` of prices left alone: another unit or
    /// currency, an id the Catalog did not list. Shown, never written.
    pub fn skipped(&self) -> impl Iterator<Item = &(String, String)> {
        self.plans.iter().flat_map(|(_, plan)| &plan.skipped)
    }

    /// Writes every changed SKU, whole, into the override file at `path`
    /// (which keeps what it held; created when missing), each new price
    /// sourced from `base_url`'s SKU list and checked today. The file is
    /// written only when it reads back as a price table. Returns how many
    /// prices changed.
    pub fn write_override(&self, path: &Path, base_url: &str) -> Result<usize, RefreshError> {
        let mut updated = self.table.clone();
        let root = format!("{}/", base_url.trim_end_matches('/'));
        for (target, plan) in &self.plans {
            let source = format!("{root}services/{}/skus", target.catalog_id);
            plan.apply(&mut updated, &source, self.today);
        }
        // An override replaces a SKU whole, its history included.
        let mut out = if path.exists() {
            PriceTable::from_path(path)?
        } else {
            PriceTable {
                currency: self.table.currency.clone(),
                services: BTreeMap::new(),
            }
        };
        if out.currency != self.table.currency {
            return Err(RefreshError::Currency {
                path: path.to_owned(),
                file: out.currency,
                table: self.table.currency.clone(),
            });
        }
        let mut count = 0;
        for change in self.changes() {
            count += 1;
            let Some(service) = updated.services.get(&change.service) else {
                continue;
            };
            let Some(sku) = service.skus.get(&change.sku) else {
                continue;
            };
            out.services
                .entry(change.service.clone())
                .or_insert_with(|| ServicePrices {
                    name: service.name.clone(),
                    catalog_id: service.catalog_id.clone(),
                    skus: BTreeMap::new(),
                })
                .skus
                .insert(change.sku.clone(), sku.clone());
        }
        let text = format!(
            "# Google Cloud prices refreshed by `panoptic prices update --provider gcp` on {},\n\
             # from the Cloud Billing Catalog. An override file: name it in\n\
             # PANOPTIC_GCP_PRICES; its SKUs replace the shipped ones.\n\n{}",
            self.today,
            out.to_toml()?
        );
        panoptic_prices::refresh::write_checked(path, &text, |tmp| {
            PriceTable::from_path(tmp)
                .map(drop)
                .map_err(|e| e.to_string())
        })?;
        Ok(count)
    }
}
