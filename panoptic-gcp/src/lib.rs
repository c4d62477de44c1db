//! Google Cloud for panoptic: what it charges and what was spent.
//!
//! - [`pricing`]: list prices as data (shipped TOML, overridable) and a
//!   calculator for BigQuery, Cloud Run, Cloud Storage and Cloud Functions.
//! - [`auth`]: OAuth tokens (service account, authorized user, metadata
//!   server) through yup-oauth2.
//! - [`bigquery`]: a BigQuery REST client whose every query emits a billing
//!   event with its bytes billed and cost.
//! - [`billing`]: daily cost per service from the billing export table.
//! - [`billing_catalog`]: Google's Cloud Billing Catalog, converted into
//!   price tables. (It is not the `panoptic-catalog` crate, which lists
//!   providers and services.)
//! - [`rest`]: what the BigQuery and Catalog clients share: errors,
//!   retries, builder settings, sending a request.
//! - [`http`]: the TLS setup they share (no panic without CA certificates).
//! - `refresh` (feature `refresh`): the table refreshed from the Catalog
//!   into an override file.
#![cfg_attr(docsrs, feature(doc_cfg))]
pub mod auth;
pub mod bigquery;
pub mod billing;
pub mod billing_catalog;
pub mod http;
pub mod pricing;
#[cfg(feature = "refresh")]
pub mod refresh;
pub mod rest;

/// The old name of [`billing_catalog`], kept for one release.
#[deprecated(since = "0.2.0", note = "renamed to billing_catalog")]
pub mod catalog {
    pub use crate::billing_catalog::*;
}
