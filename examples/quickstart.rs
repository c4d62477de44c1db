//! The first five minutes: instrument a few calls, run them, and see what
//! they cost — priced by the price book from what each call used, with the
//! calls it cannot price shown as such, never as 0. The report comes from
//! MongoDB when one answers (MONGODB_URI, else localhost), else from the
//! local spool, which keeps every event until a MongoDB is there to take
//! it. No network, no key, no feature needed.
//!
//! ```text
//! cargo run --example quickstart
//! ```

use std::time::Duration;

use chrono::Utc;
use panoptic::query::{CostQuery, GroupBy};
use panoptic::{BillingEvent, Metered, Panoptic, Usage, billable, billable_block};

/// What a chat model answered, as an LLM client would return it: the
/// tokens it used are what the price book prices.
struct Reply {
    model: &'static str,
    input_tokens: u32,
    output_tokens: u32,
    text: String,
}

impl Metered for Reply {
    fn usage(&self) -> Option<Usage> {
        let (input, output) = (self.input_tokens.into(), self.output_tokens.into());
        Some(
            Usage::new(self.model)
                .with("input", input)
                .with("output", output)
                .total(input + output, "tokens"),
        )
    }
}

/// A model call, priced from the book by the usage its reply reports. The
/// model here is a stand-in that answers at once with fixed token counts.
#[billable(provider = "openai", service = "ChatCompletions")]
async fn ask_model(model: &'static str, prompt: &str) -> Reply {
    tokio::time::sleep(Duration::from_millis(5)).await;
    Reply {
        model,
        input_tokens: 1200,
        output_tokens: 300,
        text: format!("a summary of {} characters", prompt.len()),
    }
}

/// A failing call: recorded with outcome `error`, its error returned as is.
#[billable(provider = "aws", service = "S3")]
fn fetch_invoice(id: &str) -> Result<String, std::io::Error> {
    Err(std::io::Error::new(
        std::io::ErrorKind::NotFound,
        format!("invoice {id} not found"),
    ))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let panoptic = Panoptic::builder()
        .username("quickstart")
        .project("panoptic-demo")
        .env("dev")
        .server_timeout(Duration::from_secs(1))
        .build()?;
    let guard = panoptic.clone().install();
    // This run's calls only: earlier runs' events stay in the ledger.
    let started = Utc::now();

    let priced = ask_model("gpt-4o-mini", "What did our code cost this week?").await;
    let unknown = ask_model("gpt-9-preview", "And next week?").await;
    let missing = fetch_invoice("INV-42");
    // A block billed at an amount its owner knows, in the owner's currency.
    let geocoded = billable_block!(provider = "user_defined", service = "Geocoding", resource = "geocode", amount = 0.004, currency = "EUR" => {
        (48.8566, 2.3522)
    });
    println!(
        "ran 4 calls: ask_model(gpt-4o-mini) -> {:?}, ask_model(gpt-9-preview) -> {:?}, \
         fetch_invoice -> {:?}, geocode block -> {geocoded:?}",
        priced.text,
        unknown.text,
        missing.map_err(|e| e.to_string())
    );

    // Every event reaches MongoDB or the spool before the report.
    panoptic.flush();
    let stats = panoptic.stats();
    let query = CostQuery::new()
        .env("dev")
        .username("quickstart")
        .since(started)
        .group_by([GroupBy::Resource]);
    let (events, rows) = if stats.written > 0 {
        println!(
            "\n{} event(s) written to MongoDB {} → database {}, collections openai_quickstart, aws_quickstart, …",
            stats.written,
            panoptic.mongodb_uri_redacted(),
            panoptic.database_name()
        );
        let uri = std::env::var("MONGODB_URI")
            .unwrap_or_else(|_| panoptic::config::DEFAULT_MONGODB_URI.to_owned());
        let client = mongodb::Client::with_uri_str(uri).await?;
        let events = query.events(&client, bson::Document::new(), None).await?;
        (events, query.run(&client).await?)
    } else {
        println!(
            "\nMongoDB did not answer at {}: {} event(s) are kept in the spool at {} \
             and will be delivered, once, when it does (or run `panoptic replay`).",
            panoptic.mongodb_uri_redacted(),
            stats.spooled,
            panoptic.spool().dir().display()
        );
        let events: Vec<BillingEvent> = panoptic
            .spool()
            .events()?
            .iter()
            .filter_map(|e| BillingEvent::try_from(e).ok())
            .filter(|e| query.matches(e))
            .collect();
        (events, query.run_on_spool(&panoptic.spool())?)
    };
    print_calls(&events);
    print_total(&rows);
    println!(
        "\nNext: `cargo run --example openai_chat --features openai` prices async-openai \
         responses; `cargo run --example gcp_bigquery --features gcp` bills BigQuery by the \
         bytes it scans; `cargo run --features cli --bin panoptic -- report --since 1d` \
         reports on everything recorded."
    );
    drop(guard);
    Ok(())
}

/// One line per call: what it cost and how that was decided.
fn print_calls(events: &[BillingEvent]) {
    println!(
        "\n{:<14} {:<24} {:<8} {:>14}  how",
        "resource", "provider/service", "outcome", "amount"
    );
    let mut events: Vec<&BillingEvent> = events.iter().collect();
    events.sort_by_key(|e| e.ts);
    for event in events {
        let amount = match event.amount {
            Some(amount) => format!("{} {}", amount.normalize(), event.currency),
            None => "unpriced".to_owned(),
        };
        println!(
            "{:<14} {:<24} {:<8} {:>14}  {}",
            event.resource,
            format!("{}/{}", event.provider, event.service),
            event.outcome.as_str(),
            amount,
            how_priced(event)
        );
    }
}

/// The price book's figures, the amount's giver, or why there is none.
fn how_priced(event: &BillingEvent) -> String {
    if let Some(reason) = event.metadata.unpriced() {
        return format!("not priced: {reason}");
    }
    let Some(price) = event.metadata.price() else {
        return "amount given by the call site".to_owned();
    };
    let components = price.get_document("components").ok();
    let figures: Vec<String> = components
        .into_iter()
        .flat_map(|c| c.iter())
        .filter_map(|(name, figure)| {
            let figure = figure.as_document()?;
            let number = |key: &str| match figure.get(key) {
                Some(bson::Bson::Decimal128(d)) => panoptic::money::from_decimal128(*d).ok(),
                _ => None,
            };
            Some(format!(
                "{name} {} {} × {} per {}",
                number("quantity")?.normalize(),
                figure.get_str("unit").unwrap_or_default(),
                number("unit_price")?.normalize(),
                number("per")?.normalize(),
            ))
        })
        .collect();
    format!(
        "price book: {} in {}, {}",
        price.get_str("entry").unwrap_or_default(),
        price.get_str("currency").unwrap_or_default(),
        figures.join(" + ")
    )
}

/// The total per currency, never one sum of two, and what it leaves out.
fn print_total(rows: &[panoptic::query::CostRow]) {
    let totals = panoptic::query::totals(rows);
    let priced: Vec<String> = totals
        .iter()
        .filter(|total| !total.all_unpriced())
        .map(|total| format!("{} {}", total.amount, total.currency))
        .collect();
    let calls: u64 = totals.iter().map(|total| total.count).sum();
    let unpriced: u64 = totals.iter().map(|total| total.unpriced).sum();
    let priced = if priced.is_empty() {
        "nothing priced".to_owned()
    } else {
        priced.join(" + ")
    };
    println!("\ntotal: {priced} ({unpriced} of {calls} calls unpriced, not counted)");
}
