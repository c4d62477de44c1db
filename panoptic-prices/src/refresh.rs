//! Refreshing the AWS figures from the AWS Price List (feature `refresh`):
//! fetch the offer files the book's figures come from, compare them with
//! the book ([`aws_offer`](crate::aws_offer) does the comparing), and write
//! the changes to an override file once someone has seen them. The shipped
//! tables are compiled in and never change.
//!
//! ```no_run
//! # async fn run() -> Result<(), panoptic_prices::refresh::RefreshError> {
//! use panoptic_prices::PriceBook;
//! use panoptic_prices::refresh::{AWS_PRICING_URL, AwsRefresh};
//!
//! let today = chrono::Utc::now().date_naive();
//! let mut refresh = AwsRefresh::new(PriceBook::shipped().clone(), today);
//! for source in refresh.offer_plan(AWS_PRICING_URL).sources {
//!     refresh.read(&source).await?;
//! }
//! let changes = refresh.changes()?;
//! refresh.write_override("aws-prices.toml".as_ref(), &changes)?;
//! # Ok(()) }
//! ```

mod aws;
mod error;
mod fetch;
mod override_file;

pub use aws::{AwsRefresh, OfferPlan, Written};
pub use error::RefreshError;
pub use fetch::{AWS_PRICING_URL, OfferSource};
pub use override_file::write_checked;
