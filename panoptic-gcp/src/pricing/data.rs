//! The price table as data: what the TOML file holds, how it loads, merges
//! and answers "which price applies here, on that day".

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::PricingError;

/// The table shipped with the crate (`data/prices.toml`).
const EMBEDDED: &str = include_str!("../../data/prices.toml");

/// Google Cloud prices: services, their SKUs, and per-region price lists.
///
/// ```
/// use panoptic_gcp::pricing::PriceTable;
///
/// let table = PriceTable::embedded();
/// assert_eq!(table.currency, "USD");
/// assert!(table.services.contains_key("bigquery"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceTable {
    /// ISO 4217 code every rate is in.
    pub currency: String,
    /// Services by key (`bigquery`, `cloud_run`, `cloud_storage`, …).
    #[serde(default)]
    pub services: BTreeMap<String, ServicePrices>,
}

/// The SKUs of one service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServicePrices {
    /// Display name (`BigQuery`).
    pub name: String,
    /// The Cloud Billing Catalog service id (`24E6-581D-38E5`), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_id: Option<String>,
    /// SKUs by key (`analysis`, `cpu`, `standard`, or a Catalog SKU id).
    #[serde(default)]
    pub skus: BTreeMap<String, Sku>,
}

/// One billable usage of a service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sku {
    /// What is billed.
    pub description: String,
    /// Google's usage unit code: `TiBy`, `s`, `GiBy.s`, `GiBy.mo`, `count`…
    pub unit: String,
    /// The Catalog SKU id this entry was read from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_sku_id: Option<String>,
    /// Price lists, each for some regions from some date.
    pub prices: Vec<RegionalPrice>,
}

/// The price of a SKU in some regions, from a date on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionalPrice {
    /// Region or location names, lowercase (`us`, `us-central1`).
    pub regions: Vec<String>,
    /// The first day this price applies.
    pub effective: NaiveDate,
    /// Usage free each month, in the SKU's unit.
    #[serde(default, skip_serializing_if = "Decimal::is_zero")]
    pub free_per_month: Decimal,
    /// Tiers by monthly usage, ascending `from`; at least one.
    pub tiers: Vec<Tier>,
    /// The public page the figures come from.
    pub source: String,
    /// The day the figures were compared with `source`.
    pub checked: NaiveDate,
    /// The Cloud Billing Catalog SKU id of these regions' price, when it
    /// differs from the SKU's `catalog_sku_id` (one Catalog SKU per
    /// region group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_sku_id: Option<String>,
}

/// One price tier: from `from` units of monthly usage on, `rate` per `per` units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// Monthly usage where this tier starts, in the SKU's unit.
    pub from: Decimal,
    /// Price of `per` units.
    pub rate: Decimal,
    /// How many units `rate` buys; 1 unless the page quotes per million.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub per: Decimal,
}

fn one() -> Decimal {
    Decimal::ONE
}

fn is_one(d: &Decimal) -> bool {
    *d == Decimal::ONE
}

impl Tier {
    /// The price of one unit.
    pub fn unit_rate(&self) -> Decimal {
        if self.per.is_zero() {
            self.rate
        } else {
            self.rate / self.per
        }
    }
}

impl PriceTable {
    /// The table shipped with the crate, parsed once.
    pub fn embedded() -> &'static PriceTable {
        static TABLE: OnceLock<PriceTable> = OnceLock::new();
        TABLE.get_or_init(|| {
            // The file is checked by a unit test; a broken edit fails there.
            PriceTable::from_toml(EMBEDDED).unwrap_or_else(|_| PriceTable {
                currency: "USD".to_owned(),
                services: BTreeMap::new(),
            })
        })
    }

    /// The TOML text of the shipped table, e.g. to start an override file.
    pub fn embedded_toml() -> &'static str {
        EMBEDDED
    }

    /// Parses and checks a table in the shipped format.
    ///
    /// ```
    /// let t = panoptic_gcp::pricing::PriceTable::from_toml(r#"
    ///     currency = "USD"
    ///     [services.bigquery]
    ///     name = "BigQuery"
    ///     [services.bigquery.skus.analysis]
    ///     description = "On-demand analysis"
    ///     unit = "TiBy"
    ///     [[services.bigquery.skus.analysis.prices]]
    ///     regions = ["us"]
    ///     effective = "2023-07-05"
    ///     tiers = [{ from = "0", rate = "6.25" }]
    ///     source = "https://cloud.google.com/bigquery/pricing"
    ///     checked = "2026-11-26"
    /// "#).unwrap();
    /// assert_eq!(t.services["bigquery"].skus["analysis"].prices[0].tiers[0].rate.to_string(), "6.25");
    /// ```
    pub fn from_toml(text: &str) -> Result<PriceTable, PricingError> {
        let mut table: PriceTable =
            toml::from_str(text).map_err(|e| PricingError::Parse(e.to_string()))?;
        table.normalize();
        table.validate()?;
        Ok(table)
    }

    /// Reads a table from a TOML file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<PriceTable, PricingError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| PricingError::Parse(format!("{}: {e}", path.display())))?;
        PriceTable::from_toml(&text)
    }

    /// The shipped table with the file named by `PANOPTIC_GCP_PRICES`, if
    /// set, merged over it.
    pub fn from_env() -> Result<PriceTable, PricingError> {
        let mut table = PriceTable::embedded().clone();
        if let Ok(path) = std::env::var("PANOPTIC_GCP_PRICES")
            && !path.trim().is_empty()
        {
            table.merge(PriceTable::from_path(path.trim())?);
        }
        Ok(table)
    }

    /// Renders the table as TOML.
    pub fn to_toml(&self) -> Result<String, PricingError> {
        toml::to_string(self).map_err(|e| PricingError::Parse(e.to_string()))
    }

    /// Overrides: every SKU in `other` replaces the same SKU here; new
    /// services and SKUs are added.
    pub fn merge(&mut self, other: PriceTable) {
        for (key, service) in other.services {
            match self.services.get_mut(&key) {
                Some(existing) => {
                    existing.name = service.name;
                    if service.catalog_id.is_some() {
                        existing.catalog_id = service.catalog_id;
                    }
                    existing.skus.extend(service.skus);
                }
                None => {
                    self.services.insert(key, service);
                }
            }
        }
    }

    /// The SKU `sku` of `service`, or an error naming the valid ones.
    pub fn sku(&self, service: &str, sku: &str) -> Result<&Sku, PricingError> {
        let prices = self
            .services
            .get(service)
            .ok_or_else(|| PricingError::UnknownService {
                service: service.to_owned(),
                valid: self.services.keys().cloned().collect(),
            })?;
        prices
            .skus
            .get(sku)
            .ok_or_else(|| PricingError::UnknownSku {
                service: service.to_owned(),
                sku: sku.to_owned(),
                valid: prices.skus.keys().cloned().collect(),
            })
    }

    /// The SKU `sku` of `service`, to change in place (a refresh, a
    /// negotiated price), or an error naming the valid ones.
    pub fn sku_mut(&mut self, service: &str, sku: &str) -> Result<&mut Sku, PricingError> {
        // The shared lookup builds the error; found, it is found again here.
        self.sku(service, sku)?;
        let found = self
            .services
            .get_mut(service)
            .and_then(|prices| prices.skus.get_mut(sku));
        Ok(found.expect("sku() found it"))
    }

    /// The price of `service`/`sku` in `region` on `date`: among the lists
    /// that name the region, the one with the latest effective date not
    /// after `date`. Region names are compared case-insensitively.
    pub fn price(
        &self,
        service: &str,
        sku: &str,
        region: &str,
        date: NaiveDate,
    ) -> Result<(&Sku, &RegionalPrice), PricingError> {
        let entry = self.sku(service, sku)?;
        let region_lc = region.trim().to_ascii_lowercase();
        let mut in_region = entry
            .prices
            .iter()
            .filter(|p| p.regions.contains(&region_lc))
            .peekable();
        if in_region.peek().is_none() {
            return Err(PricingError::UnknownRegion {
                service: service.to_owned(),
                sku: sku.to_owned(),
                region: region.to_owned(),
                valid: entry.regions(),
            });
        }
        let candidates: Vec<&RegionalPrice> = in_region.collect();
        candidates
            .iter()
            .filter(|p| p.effective <= date)
            .max_by_key(|p| p.effective)
            .map(|p| (entry, *p))
            .ok_or_else(|| PricingError::NotYetEffective {
                service: service.to_owned(),
                sku: sku.to_owned(),
                region: region_lc,
                date,
                earliest: candidates.iter().map(|p| p.effective).min().unwrap_or(date),
            })
    }

    fn normalize(&mut self) {
        for service in self.services.values_mut() {
            for sku in service.skus.values_mut() {
                for price in &mut sku.prices {
                    for region in &mut price.regions {
                        *region = region.trim().to_ascii_lowercase();
                    }
                    price.tiers.sort_by_key(|t| t.from);
                }
            }
        }
    }

    fn validate(&self) -> Result<(), PricingError> {
        for (service_key, service) in &self.services {
            for (sku_key, sku) in &service.skus {
                let at = || format!("services.{service_key}.skus.{sku_key}");
                if sku.prices.is_empty() {
                    return Err(PricingError::Invalid(format!("{}: no prices", at())));
                }
                for price in &sku.prices {
                    if price.tiers.is_empty() {
                        return Err(PricingError::Invalid(format!(
                            "{}: a price has no tiers",
                            at()
                        )));
                    }
                    if price.regions.is_empty() {
                        return Err(PricingError::Invalid(format!(
                            "{}: a price has no regions",
                            at()
                        )));
                    }
                    let negative = price.free_per_month.is_sign_negative()
                        || price.tiers.iter().any(|t| {
                            t.rate.is_sign_negative()
                                || t.from.is_sign_negative()
                                || t.per <= Decimal::ZERO
                        });
                    if negative {
                        return Err(PricingError::Invalid(format!(
                            "{}: negative rate, start or free tier, or `per` not above 0",
                            at()
                        )));
                    }
                }
            }
        }
        Ok(())
    }
}

impl Sku {
    /// Every region some price of this SKU names, sorted.
    pub fn regions(&self) -> Vec<String> {
        let mut regions: Vec<String> = self
            .prices
            .iter()
            .flat_map(|p| p.regions.iter().cloned())
            .collect();
        regions.sort();
        regions.dedup();
        regions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_shipped_table_parses_and_every_price_is_sourced() {
        let table = PriceTable::from_toml(EMBEDDED).unwrap();
        assert_eq!(table, *PriceTable::embedded());
        for service in ["bigquery", "cloud_run", "cloud_storage", "cloud_functions"] {
            let s = &table.services[service];
            assert!(!s.skus.is_empty(), "{service}");
            for sku in s.skus.values() {
                for p in &sku.prices {
                    assert!(
                        p.source.starts_with("https://cloud.google.com/"),
                        "{}",
                        p.source
                    );
                }
            }
        }
    }

    #[test]
    fn the_latest_effective_price_wins_and_earlier_dates_are_refused() {
        let mut table = PriceTable::embedded().clone();
        let sku = table.sku_mut("bigquery", "analysis").unwrap();
        let mut old = sku.prices[0].clone();
        old.effective = date("2017-01-01");
        old.tiers[0].rate = "5".parse().unwrap();
        sku.prices.push(old);

        let (_, p) = table
            .price("bigquery", "analysis", "US", date("2020-01-01"))
            .unwrap();
        assert_eq!(p.tiers[0].rate.to_string(), "5");
        let (_, p) = table
            .price("bigquery", "analysis", "us", date("2024-01-01"))
            .unwrap();
        assert_eq!(p.tiers[0].rate.to_string(), "6.25");
        let err = table
            .price("bigquery", "analysis", "us", date("2016-01-01"))
            .unwrap_err();
        assert!(matches!(err, PricingError::NotYetEffective { .. }), "{err}");
    }

    #[test]
    fn unknown_names_list_the_valid_ones() {
        let table = PriceTable::embedded();
        let err = table
            .price("bigquery", "analysis", "mars-north1", date("2026-01-01"))
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("mars-north1") && text.contains("us-central1"),
            "{text}"
        );

        let text = table.sku("bigquery", "slots").unwrap_err().to_string();
        assert!(
            text.contains("slots") && text.contains("analysis"),
            "{text}"
        );

        let text = table.sku("spanner", "x").unwrap_err().to_string();
        assert!(
            text.contains("cloud_run") && text.contains("bigquery"),
            "{text}"
        );

        let mut copy = table.clone();
        let text = copy.sku_mut("bigquery", "slots").unwrap_err().to_string();
        assert!(
            text.contains("slots") && text.contains("analysis"),
            "{text}"
        );
    }

    /// A table's TOML with one service, `key` named `name`, and its SKU
    /// `sku`, whose own keys (and price tables) are `sku_toml`.
    fn one_sku_table(key: &str, name: &str, sku: &str, sku_toml: &str) -> String {
        format!(
            "currency = \"USD\"\n[services.{key}]\nname = \"{name}\"\n[services.{key}.skus.{sku}]\n{sku_toml}"
        )
    }

    #[test]
    fn merge_replaces_skus_and_round_trips_through_toml() {
        let mut table = PriceTable::embedded().clone();
        let over = PriceTable::from_toml(&one_sku_table(
            "bigquery",
            "BigQuery",
            "analysis",
            r#"
            description = "negotiated"
            unit = "TiBy"
            [[services.bigquery.skus.analysis.prices]]
            regions = ["US"]
            effective = "2024-01-01"
            tiers = [{ from = "0", rate = "5.00" }]
            source = "https://example.invalid/contract"
            checked = "2026-01-01"
            "#,
        ))
        .unwrap();
        table.merge(over);
        let (_, p) = table
            .price("bigquery", "analysis", "us", date("2026-01-01"))
            .unwrap();
        assert_eq!(p.tiers[0].rate.to_string(), "5.00");
        assert!(table.sku("cloud_run", "cpu").is_ok());

        let again = PriceTable::from_toml(&table.to_toml().unwrap()).unwrap();
        assert_eq!(again, table);
    }

    #[test]
    fn bad_tables_are_refused_with_the_place() {
        let err = PriceTable::from_toml(&one_sku_table(
            "x",
            "X",
            "y",
            r#"
            description = "y"
            unit = "count"
            prices = []
            "#,
        ))
        .unwrap_err();
        assert!(err.to_string().contains("services.x.skus.y"), "{err}");
        assert!(PriceTable::from_toml("currency = 3").is_err());
    }
}
