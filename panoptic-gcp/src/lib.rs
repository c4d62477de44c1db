//! Google Cloud for panoptic: what it charges and what was spent.
//!
//! - [`pricing`]: list prices as data (shipped TOML, overridable) and a
//!   calculator for BigQuery, Cloud Run, Cloud Storage and Cloud Functions.
pub mod pricing;
