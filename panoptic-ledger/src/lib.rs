//! panoptic's ledger read back: what the events in MongoDB (or the spool)
//! add up to, what is still running, and how the estimates compare with
//! each provider's bill.
//!
//! - [`query`]: [`query::CostQuery`], totals grouped by any dimension, over
//!   every `panoptic-*` database or the spool.
//! - [`rollup`]: windows of sums reports read instead of every event.
//! - [`open_calls`]: calls that wrote a start record and never ended;
//!   [`open_calls_scan`]: the same found in one pass over the spool.
//! - `free_tier` (feature `gcp`): Google's monthly free tiers, taken off
//!   where reports and reconciliation sum money.
//! - [`reconcile`]: estimates beside the bill, and the adjustments that
//!   make the ledger match it.
//! - [`focus`]: the events as FOCUS 1.2 rows, for FinOps tools; as a
//!   Parquet file with the feature `parquet`.
//! - `bills` (feature `bills`): bill sources — OpenAI's Costs API, the GCP
//!   billing export (feature `gcp`), AWS Cost Explorer (feature `aws-bill`).
//!
//! It reads what `panoptic-core` writes through core's public API only.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "bills")]
pub mod bills;
mod fields;
pub mod focus;
#[cfg(feature = "gcp")]
pub mod free_tier;
mod groups;
pub mod open_calls;
pub mod open_calls_scan;
pub mod query;
pub mod reconcile;
pub mod rollup;
mod spool_summary;
mod start_records;

pub use spool_summary::SummaryCache;
