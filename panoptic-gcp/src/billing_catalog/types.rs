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
    /// Over what usage the tiers count: absent means the Catalog's
    /// default (per account, per month).
    #[serde(default)]
    pub aggregation_info: Option<AggregationInfo>,
}

/// The usage a SKU's tiers are counted over (`aggregationInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AggregationInfo {
    /// `ACCOUNT`, `PROJECT` or `AGGREGATION_LEVEL_UNSPECIFIED`.
    #[serde(default)]
    pub aggregation_level: String,
    /// `DAILY`, `MONTHLY` or `AGGREGATION_INTERVAL_UNSPECIFIED`.
    #[serde(default)]
    pub aggregation_interval: String,
    /// How many intervals are aggregated (1 when absent).
    #[serde(default)]
    pub aggregation_count: Option<u32>,
}

impl AggregationInfo {
    /// What differs from the price table's tiers, which count usage per
    /// billing account over one month; `None` when nothing does.
    pub fn differs_from_monthly_per_account(&self) -> Option<String> {
        let mut what = Vec::new();
        match self.aggregation_interval.as_str() {
            "" | "MONTHLY" | "AGGREGATION_INTERVAL_UNSPECIFIED" => {}
            other => what.push(format!("interval {other}")),
        }
        if self.aggregation_count.is_some_and(|c| c > 1) {
            what.push(format!("{} intervals", self.aggregation_count.unwrap_or(1)));
        }
        match self.aggregation_level.as_str() {
            "" | "ACCOUNT" | "AGGREGATION_LEVEL_UNSPECIFIED" => {}
            other => what.push(format!("level {other}")),
        }
        (!what.is_empty()).then(|| what.join(", "))
    }
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
