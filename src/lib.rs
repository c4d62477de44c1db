//! # panoptic — know what your code costs
//!
//! Annotate a function with [`#[billable]`](macro@billable) and every call
//! emits a [`BillingEvent`] (which function, how long, how it ended, what it
//! cost) through slog child loggers into MongoDB: database `panoptic-{env}`,
//! collection `{provider}_{username}`.
//!
//! ```no_run
//! use panoptic::{billable, billable_block, Panoptic, Provider};
//!
//! #[billable(provider = "gcp", service = "BigQuery")]
//! fn daily_report(day: u32) -> Result<u64, std::io::Error> {
//!     Ok(u64::from(day) * 42)
//! }
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let _guard = Panoptic::builder().username("john_doe").project("my-project").install()?;
//!     daily_report(7)?; // resource: "daily_report"
//!
//!     let items = 5;
//!     let total = billable_block!(provider = "user_defined", service = "PricingService" => {
//!         items * 10
//!     });
//!     assert_eq!(total, 50);
//!
//!     let bq = panoptic::global().unwrap().logger(Provider::Gcp, "BigQuery");
//!     panoptic::invoice!(bq, "manual charge"; "resource" => "nightly_export", "amount" => 0.42);
//!     Ok(())
//! } // the guard flushes every pending event here
//! ```
//!
//! The block macro is `billable_block!` rather than `billable!`: an
//! attribute and a function-like macro cannot share one name in Rust.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod builder;
mod handle;

pub use builder::PanopticBuilder;
pub use handle::{InstallGuard, Panoptic, global};
pub use panoptic_core::BudgetExceeded;
/// Reading the ledger back (`panoptic-ledger`).
pub use panoptic_core::rollup_marks;
pub use panoptic_core::{
    BillingEvent, Category, Context, DEFAULT_SPOOL_DIR, DeadLetter, DocumentError, Durability,
    Error, IntoAmount, IntoQuantity, Kind, Metadata, MongoDrain, ObservedCall, Outcome, Overflow,
    Provider, SegmentFormat, SegmentItem, SegmentReader, Service, Spool, SpoolReader, SpoolSummary,
    SpooledEvent, Stats, active_resource, billing, catalog, charge, config, connect, index_keys,
    index_models, invoice, keys, money, naming, quota, token_usage,
};
pub use panoptic_ledger::{SummaryCache, open_calls, open_calls_scan, query, rollup};

/// Budgets that reserve money before a call (`budget = "…"`): definitions,
/// the store, alerts (`panoptic-budgets`), and what a refused call returns.
pub mod budget {
    pub use panoptic_budgets::*;
}
/// The price book and what a call used: priced without an `amount` key.
pub use panoptic_core::{Metered, Usage, UsageEvent, price_book, price_document, prices};

/// OpenAI: async-openai responses priced from their usage, and streams
/// billed when they end (feature `openai`).
#[cfg(feature = "openai")]
pub use panoptic_core::openai;
pub use panoptic_macros::{billable, billable_block};

/// Estimates beside the provider's bill, and adjustments from it.
pub use panoptic_ledger::reconcile;

/// The ledger as FOCUS 1.2 rows for FinOps tools; as Parquet with the
/// feature `parquet`.
pub use panoptic_ledger::focus;

/// Bill sources for [`reconcile`]: OpenAI, GCP (feature `gcp`), AWS
/// (feature `aws-bill`) (feature `bills`).
#[cfg(feature = "bills")]
pub use panoptic_ledger::bills;

/// Google's monthly free tiers taken off reports and reconciliation, per
/// billing account and Pacific month (feature `gcp`).
#[cfg(feature = "gcp")]
pub use panoptic_ledger::free_tier;
/// `tracing` both ways: the layer that bills spans carrying a cost, and
/// `#[billable]` calls as `tracing` events (feature `tracing`).
#[cfg(feature = "tracing")]
pub use panoptic_tracing as tracing;

/// Google Cloud: pricing, BigQuery and Cloud Billing (feature `gcp`).
#[cfg(feature = "gcp")]
pub use panoptic_gcp as gcp;

pub use rust_decimal::Decimal;
pub use slog;

/// What `#[billable]` and `billable_block!` expand to. Not a public API.
#[doc(hidden)]
pub use panoptic_core::__private;
