//! panoptic's runtime: the billing event model, the provider catalog, the
//! [`Panoptic`] handle with its slog child loggers, and the MongoDB drain.
//!
//! Most users depend on the `panoptic` facade crate instead, which adds the
//! `#[billable]` attribute and `billable_block!`.
//!
//! ```no_run
//! use panoptic_core::{Panoptic, Provider};
//!
//! let _guard = Panoptic::builder().username("john_doe").env("dev").install()?;
//! let bq = panoptic_core::global().unwrap().logger(Provider::Gcp, "BigQuery");
//! panoptic_core::invoice!(bq, "manual charge"; "resource" => "nightly_export", "amount" => 0.42);
//! # Ok::<(), panoptic_core::Error>(())
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

// The path of one call: record (the caller's side) -> logging (slog) ->
// deliver (queue, writer, MongoDB) -> spool (when MongoDB cannot take it).
mod deliver;
mod logging;
mod record;

// What an event is, and what every layer shares.
mod call_event;
mod clock;
mod context;
mod error;
mod event;
mod site;
mod stats;

// The handle users hold.
mod builder;
mod handle;
mod observed;

pub mod budget_hook;
pub mod call_hook;
pub mod config;
pub mod connect;
pub mod export_hook;
#[cfg(feature = "fault-injection")]
#[doc(hidden)]
pub mod fault;
pub mod keys;
pub mod money;
pub mod report;
pub mod rollup_marks;

/// OpenAI streams billed when they end (feature `openai`).
#[cfg(feature = "openai")]
pub mod openai {
    pub use crate::openai_stream::{MeteredChatStream, ask_for_usage};
    pub use panoptic_prices::openai::*;
}
#[cfg(feature = "openai")]
mod openai_stream;

pub use budget_hook::BudgetExceeded;
pub use builder::PanopticBuilder;
pub use connect::Durability;
pub use context::Context;
pub use deliver::mongo::{index_keys, index_models};
pub use deliver::pipeline::Overflow;
pub use deliver::pricing::{price_book, price_document};
pub use error::Error;
pub use event::{BillingEvent, Category, DocumentError, Kind, Metadata, Outcome};
pub use handle::{InstallGuard, Panoptic, UsageEvent, global};
#[doc(hidden)]
pub use keys as context_keys;
pub use logging::drain::MongoDrain;
pub use observed::ObservedCall;
pub use panoptic_catalog::{self as catalog, Provider, Service, naming};
/// The price book and the usage a call reports (`panoptic-prices`).
pub use panoptic_prices as prices;
pub use panoptic_prices::{Metered, Usage};
pub use panoptic_spool::{
    DEFAULT_SPOOL_DIR, DeadLetter, SegmentFormat, SegmentItem, SegmentReader, Spool, SpoolReader,
    SpoolSummary, SpooledEvent,
};
pub use record::active::active_resource;
pub use record::amount::{IntoAmount, IntoQuantity};
pub use stats::Stats;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

/// Logs a record of one billing kind: `kind_record!(tag, logger, msg; kv…)`.
///
/// It enters slog's `log!` past its first arm, the one that compares the
/// level with slog's compile-time maximum (`max_level_*` and
/// `release_max_level_*` features): a billing record is data, and a feature
/// any crate of the build turns on must not compile it out.
#[doc(hidden)]
#[macro_export]
macro_rules! __kind_record {
    ($tag:expr, $logger:expr, $($rest:tt)+) => {
        $crate::__slog::log!(1 @ { }, { }, $logger, $crate::__slog::Level::Info, $tag, $($rest)+)
    };
}

#[doc(hidden)]
pub use slog as __slog;

/// Logs an `invoice` record: a billed call or an itemised charge. Keys such
/// as `resource`, `quantity`, `unit`, `amount`, `currency`, `user`,
/// `requestId` fill the event; other keys go to `metadata`.
///
/// ```no_run
/// # let p = panoptic_core::Panoptic::builder().username("ann").build().unwrap();
/// let bq = p.logger(panoptic_core::Provider::Gcp, "BigQuery");
/// panoptic_core::invoice!(bq, "manual charge"; "resource" => "nightly_export", "amount" => 0.42);
/// ```
#[macro_export]
macro_rules! invoice {
    ($logger:expr, $($rest:tt)+) => { $crate::__kind_record!("invoice", $logger, $($rest)+) };
}

/// Logs a `charge` record: a cost decided by the application.
///
/// ```no_run
/// # let p = panoptic_core::Panoptic::builder().username("ann").build().unwrap();
/// let l = p.logger(panoptic_core::Provider::UserDefined, "Support");
/// panoptic_core::charge!(l, "priority_ticket"; "amount" => 15, "user" => "acme");
/// ```
#[macro_export]
macro_rules! charge {
    ($logger:expr, $($rest:tt)+) => { $crate::__kind_record!("charge", $logger, $($rest)+) };
}

/// Logs a `billing` record: a notice about billing (no cost by itself
/// unless an amount is given).
///
/// ```no_run
/// # let p = panoptic_core::Panoptic::builder().username("ann").build().unwrap();
/// let l = p.logger(panoptic_core::Provider::Gcp, "CloudBilling");
/// panoptic_core::billing!(l, "budget_alert"; "threshold" => 0.9);
/// ```
#[macro_export]
macro_rules! billing {
    ($logger:expr, $($rest:tt)+) => { $crate::__kind_record!("billing", $logger, $($rest)+) };
}

/// Logs a `quota` record: quota consumed.
///
/// ```no_run
/// # let p = panoptic_core::Panoptic::builder().username("ann").build().unwrap();
/// let l = p.logger(panoptic_core::Provider::Gcp, "BigQuery");
/// panoptic_core::quota!(l, "daily_scan"; "quantity" => 512, "unit" => "GiB");
/// ```
#[macro_export]
macro_rules! quota {
    ($logger:expr, $($rest:tt)+) => { $crate::__kind_record!("quota", $logger, $($rest)+) };
}

/// Logs a `token_usage` record: tokens consumed by a model.
///
/// ```no_run
/// # let p = panoptic_core::Panoptic::builder().username("ann").build().unwrap();
/// let l = p.logger(panoptic_core::Provider::OpenAi, "ChatCompletions");
/// panoptic_core::token_usage!(l, "summarize"; "quantity" => 1830, "unit" => "tokens", "amount" => "0.0027");
/// ```
#[macro_export]
macro_rules! token_usage {
    ($logger:expr, $($rest:tt)+) => { $crate::__kind_record!("token_usage", $logger, $($rest)+) };
}
