//! The Cloud Billing Catalog API: `services.list` and
//! `services.skus.list`, every page, with prices converted into the
//! [`pricing`](crate::pricing) table format so that the table can be
//! refreshed from Google.
//!
//! This is Google's catalog of prices. It is not the `panoptic-catalog`
//! crate, which lists the providers and services panoptic knows.
//!
//! One job per file: `types` holds the API's resources as they arrive,
//! `client` lists them page by page, `to_table` converts a SKU into the
//! price table's format, `refresh` plans and applies a table refresh,
//! matching shipped prices to Catalog SKUs by id (`sku_match`).

mod client;
mod refresh;
mod sku_match;
#[cfg(test)]
mod tests;
mod to_table;
mod types;

pub use client::{Catalog, CatalogBuilder, CatalogOptions};
pub use refresh::{PriceChange, RefreshPlan, plan_refresh, refresh};
pub use to_table::service_prices;
pub use types::{
    AggregationInfo, CatalogService, CatalogSku, Money, PricingExpression, PricingInfo,
    SkuCategory, TierRate,
};

/// Google's endpoint.
pub const DEFAULT_BASE_URL: &str = "https://cloudbilling.googleapis.com/v1/";
