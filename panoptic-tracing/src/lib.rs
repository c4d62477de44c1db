//! panoptic and `tracing`, both ways.
//!
//! - [`PanopticLayer`], a `tracing_subscriber::Layer`: a span that carries
//!   a cost (a `provider` field, or GenAI attributes) becomes one billing
//!   event when it closes, priced from panoptic's price book when it
//!   records usage and no amount.
//! - [`TracingEvents`], a core call hook: each `#[billable]` call also
//!   becomes a `tracing` event (target `panoptic`) as it ends. The layer
//!   never bills that target, so nothing is billed twice and nothing loops.
//!
//! ```no_run
//! use tracing::field::Empty;
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! #[tracing::instrument(fields(
//!     provider = "openai",
//!     service = "ChatCompletions",
//!     gen_ai.request.model = "gpt-4o-mini",
//!     gen_ai.usage.input_tokens = Empty,
//!     gen_ai.usage.output_tokens = Empty,
//! ))]
//! fn summarize(text: &str) -> String {
//!     // … the call to the model …
//!     let span = tracing::Span::current();
//!     span.record("gen_ai.usage.input_tokens", 1_000);
//!     span.record("gen_ai.usage.output_tokens", 500);
//!     String::new()
//! }
//!
//! let _guard = panoptic_core::Panoptic::builder().username("ann").install()?;
//! let subscriber = tracing_subscriber::registry().with(panoptic_tracing::PanopticLayer::new());
//! tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
//! summarize("…"); // one token_usage event, priced from the book
//! # Ok::<(), panoptic_core::Error>(())
//! ```
//!
//! The fields the layer reads are named in [`names`]. With the feature
//! `otel`, [`otel::OtelExport`] exports every billing event over
//! OpenTelemetry (OTLP): spans, a cost counter and GenAI token usage.

mod bill;
mod call_events;
mod layer;
pub mod names;
#[cfg(feature = "otel")]
pub mod otel;
mod span_cost;

pub use call_events::TracingEvents;
pub use layer::PanopticLayer;
