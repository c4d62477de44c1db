//! What usage costs: tiered rates with monthly free tiers, and the billing
//! rules of BigQuery, Cloud Run, Cloud Storage and Cloud Functions.
//!
//! One job per file: `calculator` prices usage with a table, `tiers`
//! applies tiered rates and the monthly free tier, and `bigquery`,
//! `serverless` (Cloud Run, Cloud Functions) and `storage` hold each
//! service's usage and billing rules.

mod bigquery;
mod calculator;
mod serverless;
mod storage;
#[cfg(test)]
mod tests;
mod tiers;

pub use bigquery::{
    BIGQUERY_MIN_BYTES_BILLED, MIB, QueryUsage, TIB, bigquery_bytes_billed,
    bigquery_bytes_billed_with_tables, bigquery_most_bytes_billed, charges_a_failed_query,
};
pub use calculator::Calculator;
pub use serverless::{CloudRunUsage, FunctionsUsage, functions_cpu_ghz, seconds_rounded_up_100ms};
pub use storage::StorageClass;
pub use tiers::{FreeTier, tiered_cost};

use rust_decimal::Decimal;

/// The cost of one SKU's usage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    /// Service key (`bigquery`).
    pub service: String,
    /// SKU key (`analysis`).
    pub sku: String,
    /// Region as priced (lowercase).
    pub region: String,
    /// Usage, in `unit`.
    pub quantity: Decimal,
    /// The SKU's unit (`TiBy`).
    pub unit: String,
    /// What it costs, in the table's currency.
    pub amount: Decimal,
}

/// The cost of a usage spanning several SKUs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Estimate {
    /// ISO 4217 currency of every amount.
    pub currency: String,
    /// One line per SKU.
    pub lines: Vec<Charge>,
}

impl Estimate {
    /// The sum of the lines.
    pub fn total(&self) -> Decimal {
        self.lines.iter().map(|l| l.amount).sum()
    }

    /// The line of `sku`, if any.
    pub fn line(&self, sku: &str) -> Option<&Charge> {
        self.lines.iter().find(|l| l.sku == sku)
    }
}
