//! `tracing` both ways: a chat call instrumented only with
//! `#[tracing::instrument]` is billed by `PanopticLayer`, priced from the
//! price book by the GenAI token counts it records; a `#[billable]` call
//! shows up as a `tracing` event (target `panoptic`) in the log. Events go
//! to MongoDB when one answers (MONGODB_URI, else localhost), else to the
//! local spool. No network, no key.
//!
//! ```text
//! cargo run --example tracing_spans --features tracing
//! ```

use std::time::Duration;

use panoptic::tracing::PanopticLayer;
use panoptic::{Panoptic, billable};
use tracing::field::Empty;
use tracing_subscriber::layer::SubscriberExt;

/// A model call whose usage is known only once it answered: the GenAI
/// fields are declared `Empty` up front, or `record` would drop them.
#[tracing::instrument(fields(
    provider = "openai",
    service = "ChatCompletions",
    gen_ai.request.model = "gpt-4o-mini",
    gen_ai.usage.input_tokens = Empty,
    gen_ai.usage.output_tokens = Empty,
))]
fn summarize(text: &str) -> String {
    // A stand-in for the model: answers at once with fixed token counts.
    let span = tracing::Span::current();
    span.record("gen_ai.usage.input_tokens", 1_000_u64);
    span.record("gen_ai.usage.output_tokens", 500_u64);
    lookup_glossary(text.len());
    format!("a summary of {} characters", text.len())
}

/// Billed by panoptic itself; with `.tracing_events(true)` it is also a
/// `tracing` event, which the layer does not bill again.
#[billable(provider = "user_defined", service = "Glossary")]
fn lookup_glossary(terms: usize) -> usize {
    terms / 2
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = Panoptic::builder()
        .username("tracing_example")
        .server_timeout(Duration::from_millis(500))
        .tracing_events(true)
        .install()?;
    let subscriber = tracing_subscriber::registry()
        .with(PanopticLayer::new())
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stdout));
    tracing::subscriber::set_global_default(subscriber)?;

    println!("{}", summarize("The quarterly report, in full."));
    guard.flush();
    let stats = guard.stats();
    println!(
        "billed: {} events ({} in MongoDB, {} in the spool)",
        stats.emitted, stats.written, stats.spooled
    );
    Ok(())
}
