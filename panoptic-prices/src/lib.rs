//! panoptic's price book: dated list prices for OpenAI, AWS and MongoDB
//! Atlas (Google Cloud's live in `panoptic-gcp`), and the [`Usage`] a
//! call reports, priced into an amount that names every figure it used.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod atlas;
pub mod aws;
#[cfg(feature = "aws-dynamodb")]
pub mod aws_dynamodb;
pub mod aws_offer;
mod book;
#[cfg(feature = "openai")]
pub mod openai;
mod priced;
pub mod rates;
#[cfg(feature = "refresh")]
pub mod refresh;
mod usage;

pub use book::{BookError, Figure, OVERRIDES_ENV, PriceBook, TableSummary};
pub use priced::{Priced, PricedComponent, Unpriced};
pub use usage::{Metered, Quantity, Usage};
