//! Catalog SKUs in the price table's format.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate};
use rust_decimal::Decimal;

use super::{CatalogService, CatalogSku, DEFAULT_BASE_URL};
use crate::pricing::{RegionalPrice, ServicePrices, Sku, Tier};
use crate::rest::Error;

impl CatalogSku {
    /// This SKU in the price table's format: its newest pricing, regions
    /// lowercased (`global` when none are named), tiers from
    /// `tieredRates`, and a leading zero-price tier read as the monthly free
    /// tier. `checked` is recorded as the day the price was read. A price
    /// whose tiers count usage per day or per project (`aggregationInfo`)
    /// is refused: the table's tiers count a billing account's month.
    ///
    /// ```
    /// # use panoptic_gcp::billing_catalog::CatalogSku;
    /// let sku: CatalogSku = serde_json::from_str(r#"{
    ///   "skuId": "F17B-412E-CB64", "description": "Analysis (US)", "serviceRegions": ["us"],
    ///   "pricingInfo": [{"effectiveTime": "2026-11-01T00:00:00Z", "pricingExpression": {
    ///     "usageUnit": "TiBy", "displayQuantity": 1,
    ///     "tieredRates": [
    ///       {"startUsageAmount": 0, "unitPrice": {"currencyCode": "USD", "nanos": 0}},
    ///       {"startUsageAmount": 1, "unitPrice": {"currencyCode": "USD", "units": "6", "nanos": 250000000}}]}}]
    /// }"#).unwrap();
    /// let entry = sku.to_sku("https://example.invalid", "2026-11-26".parse().unwrap()).unwrap();
    /// assert_eq!(entry.prices[0].free_per_month.to_string(), "1");
    /// assert_eq!(entry.prices[0].tiers[0].rate.to_string(), "6.25");
    /// ```
    pub fn to_sku(&self, source: &str, checked: NaiveDate) -> Result<Sku, Error> {
        let info = self
            .pricing_info
            .iter()
            .max_by_key(|p| p.effective_time.clone().unwrap_or_default())
            .ok_or_else(|| Error::Invalid(format!("SKU {} has no pricingInfo", self.sku_id)))?;
        if let Some(other) = info
            .aggregation_info
            .as_ref()
            .and_then(super::AggregationInfo::differs_from_monthly_per_account)
            .filter(|_| info.pricing_expression.tiered_rates.len() > 1)
        {
            return Err(Error::Invalid(format!(
                "SKU {}'s tiers count usage by {other} (aggregationInfo); the table's count a \
                 billing account's month",
                self.sku_id
            )));
        }
        let expr = &info.pricing_expression;
        let mut tiers = expr
            .tiered_rates
            .iter()
            .map(|t| {
                let text = t
                    .start_usage_amount
                    .as_ref()
                    .map_or_else(|| "0".to_owned(), ToString::to_string);
                let from = text
                    .parse::<Decimal>()
                    .or_else(|_| Decimal::from_scientific(&text))
                    .map_err(|_| {
                        Error::Invalid(format!("SKU {}: startUsageAmount", self.sku_id))
                    })?;
                Ok(Tier {
                    from,
                    rate: t.unit_price.to_decimal()?,
                    per: Decimal::ONE,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        tiers.sort_by_key(|t| t.from);
        let mut free_per_month = Decimal::ZERO;
        if tiers.len() > 1 && tiers[0].rate.is_zero() {
            free_per_month = tiers[1].from;
            tiers.remove(0);
        } else if let Some(first) = tiers.first()
            && first.from > Decimal::ZERO
        {
            // Nothing is priced below the first tier's start: that usage
            // is free each month.
            free_per_month = first.from;
        }
        if tiers.is_empty() {
            return Err(Error::Invalid(format!(
                "SKU {} has no tieredRates",
                self.sku_id
            )));
        }
        let effective = info
            .effective_time
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map_or(checked, |t| t.date_naive());
        let mut regions: Vec<String> = self
            .service_regions
            .iter()
            .map(|r| r.trim().to_ascii_lowercase())
            .collect();
        if regions.is_empty() {
            regions.push("global".to_owned());
        }
        Ok(Sku {
            description: self.description.clone(),
            unit: expr.usage_unit.clone(),
            catalog_sku_id: Some(self.sku_id.clone()),
            prices: vec![RegionalPrice {
                regions,
                effective,
                free_per_month,
                tiers,
                source: source.to_owned(),
                checked,
                catalog_sku_id: None,
            }],
        })
    }
}

/// The Catalog's SKUs of `service` as a price-table service, keyed by SKU
/// id. Fails on a SKU [`CatalogSku::to_sku`] refuses (tiers counted per
/// day or per project), rather than writing its tiers as monthly.
pub fn service_prices(
    service: &CatalogService,
    skus: &[CatalogSku],
    checked: NaiveDate,
) -> Result<ServicePrices, Error> {
    let source = format!("{DEFAULT_BASE_URL}services/{}/skus", service.service_id);
    let skus = skus
        .iter()
        .map(|s| Ok((s.sku_id.clone(), s.to_sku(&source, checked)?)))
        .collect::<Result<BTreeMap<_, _>, Error>>()?;
    Ok(ServicePrices {
        name: service.display_name.clone(),
        catalog_id: Some(service.service_id.clone()),
        skus,
    })
}
