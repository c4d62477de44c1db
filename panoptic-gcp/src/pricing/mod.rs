//! Google Cloud list prices as data, and a calculator over them.
//!
//! The table ships in the crate (`data/prices.toml`): per service, per SKU,
//! per region, from an effective date, with tiered rates, monthly free tiers,
//! and each figure's public source and the day it was checked. Load another
//! with [`PriceTable::from_path`], merge overrides with [`PriceTable::merge`]
//! (or name a file in `PANOPTIC_GCP_PRICES`, see [`PriceTable::from_env`]),
//! and refresh it from Google with [`crate::billing_catalog`].
//!
//! Billing events are priced at list price. Monthly free tiers belong to a
//! billing account and a billing month (Pacific time) and are applied when
//! aggregating: [`Calculator::free_tier_credits`].
//!
//! ```
//! use panoptic_gcp::pricing::{Calculator, FreeTier, QueryUsage};
//!
//! let calc = Calculator::default();
//! let q = QueryUsage { location: "US".into(), bytes_billed: Some(1 << 40), ..Default::default() };
//! assert_eq!(calc.bigquery_query(&q, FreeTier::ListPrice)?.amount.to_string(), "6.25");
//! # Ok::<(), panoptic_gcp::pricing::PricingError>(())
//! ```

mod calc;
mod data;
mod editions;
mod free_tier;
mod pacific;

pub use calc::{
    BIGQUERY_MIN_BYTES_BILLED, Calculator, Charge, CloudRunUsage, Estimate, FreeTier,
    FunctionsUsage, MIB, QueryUsage, StorageClass, TIB, bigquery_bytes_billed,
    bigquery_bytes_billed_with_tables, bigquery_most_bytes_billed, charges_a_failed_query,
    functions_cpu_ghz, seconds_rounded_up_100ms, tiered_cost,
};
pub use data::{PriceTable, RegionalPrice, ServicePrices, Sku, Tier};
pub use editions::{Edition, PricingModel, slot_cost};
pub use free_tier::{FreeTierCredit, MonthlyUsage};
pub use pacific::{BILLING_TIME_ZONE, BillingMonth, billing_day, billing_today};

use chrono::NaiveDate;

/// Why a price could not be found or a table not loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PricingError {
    /// The table has no such service.
    #[error("no prices for service `{service}`; known services: {}", valid.join(", "))]
    UnknownService {
        /// As asked.
        service: String,
        /// The services the table has.
        valid: Vec<String>,
    },
    /// The service has no such SKU.
    #[error("service `{service}` has no SKU `{sku}`; known SKUs: {}", valid.join(", "))]
    UnknownSku {
        /// Service key.
        service: String,
        /// As asked.
        sku: String,
        /// The SKUs the service has.
        valid: Vec<String>,
    },
    /// No price of the SKU names the region.
    #[error("no {service}/{sku} price for region `{region}`; priced regions: {}", valid.join(", "))]
    UnknownRegion {
        /// Service key.
        service: String,
        /// SKU key.
        sku: String,
        /// As asked.
        region: String,
        /// The regions with a price.
        valid: Vec<String>,
    },
    /// A storage class, memory size or similar that does not exist.
    #[error("unknown {what} `{given}`; valid: {}", valid.join(", "))]
    UnknownClass {
        /// What kind of name it is.
        what: &'static str,
        /// As given.
        given: String,
        /// The valid names.
        valid: Vec<String>,
    },
    /// The region is priced, but only from a later date.
    #[error("no {service}/{sku} price in `{region}` on {date}; the earliest starts {earliest}")]
    NotYetEffective {
        /// Service key.
        service: String,
        /// SKU key.
        sku: String,
        /// Region.
        region: String,
        /// The day asked for.
        date: NaiveDate,
        /// The first day priced.
        earliest: NaiveDate,
    },
    /// The table text is not valid TOML of the expected shape.
    #[error("price table: {0}")]
    Parse(String),
    /// The table parses but breaks a rule (no tiers, negative rate…).
    #[error("price table: {0}")]
    Invalid(String),
}
