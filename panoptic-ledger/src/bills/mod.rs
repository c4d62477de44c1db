//! What providers billed, as [`BillLine`]s for panoptic's reconciliation
//! (`crate::reconcile`).
//!
//! - [`openai::OpenAiCosts`]: OpenAI's organization Costs API (admin key).
//! - `gcp::GcpBillingExport` (feature `gcp`): the Cloud Billing export to
//!   BigQuery, in Pacific-time days, with credits by type.
//! - `aws::CostExplorer` (feature `aws-bill`): AWS Cost Explorer's
//!   `GetCostAndUsage`, by service and a cost-allocation tag, SigV4-signed
//!   by the official `aws-sigv4` signer.
//! - [`atlas::AtlasInvoices`]: MongoDB Atlas invoices (Administration API
//!   v2, HTTP Digest with an API key pair), pending ones as estimated.
//!
//! Every endpoint can be pointed elsewhere (a proxy, a local fake).
//!
//! ```no_run
//! use panoptic_ledger::bills::{BillSource, openai::OpenAiCosts};
//! # async fn run() -> Result<(), panoptic_ledger::bills::BillError> {
//! let source = OpenAiCosts::new("sk-admin-…")?;
//! let start = "2026-11-01".parse().unwrap();
//! let end = "2026-11-26".parse().unwrap();
//! for line in source.lines(start, end).await? {
//!     println!("{} {:?} {}", line.day, line.detail, line.net);
//! }
//! # Ok(()) }
//! ```

pub mod atlas;
#[cfg(feature = "aws-bill")]
pub mod aws;
#[cfg(feature = "gcp")]
pub mod gcp;
mod http;
pub mod openai;

use std::future::Future;

pub use crate::reconcile::BillLine;
use chrono::NaiveDate;
use chrono_tz::Tz;

/// A provider's bill, read one range of days at a time.
pub trait BillSource {
    /// The provider (`gcp`, `aws`, `openai`).
    fn provider(&self) -> &str;

    /// The zone the bill's days are cut in (Google: America/Los_Angeles).
    fn time_zone(&self) -> Tz;

    /// The bill lines of the days from `start` up to, not including, `end`.
    fn lines(
        &self,
        start: NaiveDate,
        end: NaiveDate,
    ) -> impl Future<Output = Result<Vec<BillLine>, BillError>> + Send;
}

/// Why a bill could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BillError {
    /// The request did not get an answer.
    #[error("{source_name}: request failed: {message}")]
    Http {
        /// Which source.
        source_name: &'static str,
        /// What happened.
        message: String,
    },
    /// The API answered with an error.
    #[error("{source_name}: HTTP {status}: {body}")]
    Api {
        /// Which source.
        source_name: &'static str,
        /// HTTP status.
        status: u16,
        /// The reply, cut short.
        body: String,
    },
    /// The reply was not what the API documents.
    #[error("{source_name}: unexpected reply: {message}")]
    Decode {
        /// Which source.
        source_name: &'static str,
        /// What did not fit.
        message: String,
    },
    /// The source is misconfigured (a URL, a key, a range).
    #[error("{0}")]
    Config(String),
}

impl BillError {
    pub(crate) fn http(source_name: &'static str, error: impl std::fmt::Display) -> BillError {
        BillError::Http {
            source_name,
            message: error.to_string(),
        }
    }

    pub(crate) fn decode(source_name: &'static str, error: impl std::fmt::Display) -> BillError {
        BillError::Decode {
            source_name,
            message: error.to_string(),
        }
    }

    /// An error reply: its status and up to 500 characters of its body.
    pub(crate) async fn from_reply(
        source_name: &'static str,
        reply: reqwest::Response,
    ) -> BillError {
        let status = reply.status().as_u16();
        let body: String = reply
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .take(500)
            .collect();
        BillError::Api {
            source_name,
            status,
            body,
        }
    }
}

/// A decimal from a JSON number as written (`0.06`, `1e-7`), never through
/// a float's arithmetic.
pub(crate) fn decimal_of(number: &serde_json::Number) -> Option<rust_decimal::Decimal> {
    let text = number.to_string();
    text.parse()
        .ok()
        .or_else(|| rust_decimal::Decimal::from_scientific(&text).ok())
}
