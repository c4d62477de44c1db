//! Google Cloud for panoptic: what it charges and what was spent.
//!
//! - [`pricing`]: list prices as data (shipped TOML, overridable) and a
//!   calculator for BigQuery, Cloud Run, Cloud Storage and Cloud Functions.
//! - [`auth`]: OAuth tokens (service account, authorized user, metadata
//!   server) through yup-oauth2.
//! - [`bigquery`]: a BigQuery REST client whose every query emits a billing
//!   event with its bytes billed and cost.
//! - [`billing`]: daily cost per service from the billing export table.
//! - [`catalog`]: the Cloud Billing Catalog, converted into price tables.
//! - [`http`]: the TLS setup they share (no panic without CA certificates).
pub mod auth;
pub mod bigquery;
pub mod billing;
pub mod catalog;
pub mod http;
pub mod pricing;
