//! The Catalog's resources as the API sends them: services, SKUs and
//! their prices, and Google's exact `Money`.

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::rest::Error;

/// A Catalog service.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogService {
    /// `services/24E6-581D-38E5`.
    #[serde(default)]
    pub name: String,
    /// `24E6-581D-38E5`.
    #[serde(default)]
    pub service_id: String,
    /// `BigQuery`.
    #[serde(default)]
    pub display_name: String,
    /// `businessEntities/GCP`.
    #[serde(default)]
    pub business_entity_name: String,
}

/// A Catalog SKU.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogSku {
    /// `services/…/skus/…`.
    #[serde(default)]
    pub name: String,
    /// `F17B-412E-CB64`.
    #[serde(default)]
    pub sku_id: String,
    /// `Analysis (US)`.
    #[serde(default)]
    pub description: String,
    /// Category.
    #[serde(default)]
    pub category: SkuCategory,
    /// Regions the price applies in (`us`, `us-central1`, `global`).
    #[serde(default)]
    pub service_regions: Vec<String>,
    /// Prices, newest first.
    #[serde(default)]
    pub pricing_info: Vec<PricingInfo>,
}

/// A SKU's category.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SkuCategory {
    /// `BigQuery`.
    #[serde(default)]
    pub service_display_name: String,
    /// `ApplicationServices`.
    #[serde(default)]
    pub resource_family: String,
    /// `Analysis`.
    #[serde(default)]
    pub resource_group: String,
    /// `OnDemand`.
    #[serde(default)]
    pub usage_type: String,
}

/// One pricing of a SKU.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PricingInfo {
    /// When it applies from (RFC 3339).
    #[serde(default)]
    pub effective_time: Option<String>,
    /// Free text.
    #[serde(default)]
    pub summary: String,
    /// Rates.
    #[serde(default)]
    pub pricing_expression: PricingExpression,
}

/// How usage turns into money.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PricingExpression {
    /// The unit rates are per (`TiBy`, `GiBy.mo`, `s`, `count`).
    #[serde(default)]
    pub usage_unit: String,
    /// `tebibyte`.
    #[serde(default)]
    pub usage_unit_description: String,
    /// Quantity prices are shown for (e.g. 1000000 requests).
    #[serde(default)]
    pub display_quantity: f64,
    /// Rates by monthly usage.
    #[serde(default)]
    pub tiered_rates: Vec<TierRate>,
}

/// One tier of a Catalog price.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TierRate {
    /// Usage (in `usageUnit`) where the tier starts.
    #[serde(default)]
    pub start_usage_amount: Option<serde_json::Number>,
    /// Price of one `usageUnit`.
    #[serde(default)]
    pub unit_price: Money,
}

/// Google's `Money`: `units` (int64 as text) plus `nanos` (10⁻⁹).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Money {
    /// ISO 4217 code.
    #[serde(default)]
    pub currency_code: String,
    /// Whole units, as text.
    #[serde(default)]
    pub units: Option<String>,
    /// Billionths, same sign as `units`.
    #[serde(default)]
    pub nanos: i32,
}

impl Money {
    /// The exact amount.
    ///
    /// ```
    /// let m = panoptic_gcp::billing_catalog::Money { currency_code: "USD".into(), units: Some("6".into()), nanos: 250_000_000 };
    /// assert_eq!(m.to_decimal().unwrap().to_string(), "6.25");
    /// ```
    pub fn to_decimal(&self) -> Result<Decimal, Error> {
        let units: i64 = match self.units.as_deref().map(str::trim) {
            None | Some("") => 0,
            Some(text) => text
                .parse()
                .map_err(|_| Error::Invalid(format!("Money.units `{text}` is not an int64")))?,
        };
        Ok((Decimal::from(units) + Decimal::new(i64::from(self.nanos), 9)).normalize())
    }
}
