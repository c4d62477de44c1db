//! What the Google REST clients of this crate ([`BigQuery`] and
//! [`Catalog`]) share: their errors, their retry policy, the settings every
//! client builder takes, and the code that sends one JSON request.
//!
//! A call goes one way: a builder's settings make an `Endpoint`, the
//! client asks the endpoint for JSON, and the endpoint answers with the
//! value or an [`Error`].
//!
//! [`BigQuery`]: crate::bigquery::BigQuery
//! [`Catalog`]: crate::billing_catalog::Catalog

mod endpoint;
mod error;
mod retry;
mod settings;

pub(crate) use endpoint::Endpoint;
pub use error::{ApiError, Error, ErrorProto};
pub use retry::RetryPolicy;
pub use settings::ClientBuilder;
