//! The ledger in FOCUS, the FinOps Open Cost and Usage Specification, so
//! that panoptic's rows sit beside the providers' own FOCUS bills in the
//! tools finance uses.
//!
//! Version 1.2: the newest version the providers' exports speak (AWS Data
//! Exports offers "FOCUS 1.2 with AWS columns", Azure Cost Management a
//! 1.2-preview dataset), so panoptic's file and theirs share one schema. Every
//! column 1.2 marks Mandatory is written, plus the Conditional ones
//! panoptic can fill and its own as `x_…` ([`COLUMNS`]).
//!
//! How an estimate maps (panoptic's amounts are list-price estimates, not
//! invoices; README "FOCUS export" has the table):
//! - `ListCost` = the amount; `ListUnitPrice`, `PricingQuantity` and
//!   `PricingUnit` from the price book's figure, one row per priced
//!   component (input and output tokens are two SKU prices).
//! - `ContractedCost`, `EffectiveCost` and `BilledCost` = the same amount:
//!   panoptic knows no negotiated rate, commitment or invoice, so the
//!   estimate stands for each until `panoptic reconcile --apply` books the
//!   difference with the bill as `Adjustment` rows, after which every cost
//!   column sums to the bill.
//! - An unpriced call keeps its cost columns empty (never a silent 0), the
//!   reason in `x_Unpriced`.

mod columns;
#[cfg(feature = "parquet")]
pub mod parquet;
mod provider;
mod rows;

pub use columns::{COLUMNS, Col, Column, ColumnType, Level, names};
pub use provider::{SERVICE_CATEGORIES, billing_zone, provider_name, service_category};
pub use rows::{Row, Value, rows};

/// The FOCUS version the export follows, also written in a Parquet file's
/// metadata (key [`VERSION_KEY`]).
pub const FOCUS_VERSION: &str = "1.2";

/// The metadata key of the FOCUS version in a Parquet file.
pub const VERSION_KEY: &str = "FOCUS_Version";

/// FOCUS 1.2's allowed values of `ChargeCategory`.
pub const CHARGE_CATEGORIES: [&str; 5] = ["Usage", "Purchase", "Tax", "Credit", "Adjustment"];

/// FOCUS 1.2's allowed values of `ChargeClass` (null otherwise).
pub const CHARGE_CLASSES: [&str; 1] = ["Correction"];

/// FOCUS 1.2's allowed values of `ChargeFrequency`.
pub const CHARGE_FREQUENCIES: [&str; 3] = ["One-Time", "Recurring", "Usage-Based"];

/// FOCUS 1.2's allowed values of `PricingCategory` (null otherwise).
pub const PRICING_CATEGORIES: [&str; 4] = ["Standard", "Dynamic", "Committed", "Other"];
