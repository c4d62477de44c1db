//! The first five minutes: instrument a few functions, run them, and see
//! what they cost — from MongoDB when one answers (MONGODB_URI, else
//! localhost), else from the local spool, which keeps every event until a
//! MongoDB is there to take it.
//!
//! ```text
//! cargo run --example quickstart
//! ```

use std::time::Duration;

use panoptic::query::{CostQuery, GroupBy};
use panoptic::{Panoptic, billable, billable_block};

/// A synchronous call billed as one BigQuery invoice.
#[billable(provider = "gcp", service = "BigQuery", unit = "bytes", quantity_from = |rows: &Vec<u64>| rows.len() as u64 * 1024)]
fn daily_report(day: u32) -> Vec<u64> {
    (0..u64::from(day)).collect()
}

/// An async call: the timing covers every await.
#[billable(provider = "openai", service = "ChatCompletions", unit = "tokens", quantity = prompt.len(), amount = 0.0021)]
async fn summarize(prompt: &str) -> String {
    tokio::time::sleep(Duration::from_millis(15)).await;
    format!("summary of {} characters", prompt.len())
}

/// A failing call: recorded with outcome "error", the error returned unchanged.
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

    let rows = daily_report(30);
    let summary = summarize("What did our code cost this week?").await;
    let missing = fetch_invoice("INV-42");
    let (items, price) = (5u32, 12u32);
    let total = billable_block!(provider = "user_defined", service = "PricingService", resource = "cart_total" => {
        items * price
    });
    println!(
        "ran: daily_report -> {} rows, summarize -> {summary:?}, fetch_invoice -> {:?}, cart_total -> {total}",
        rows.len(),
        missing.map_err(|e| e.to_string())
    );

    // Make sure every event reached MongoDB or the spool before reporting.
    panoptic.flush();
    let stats = panoptic.stats();
    let query = CostQuery::new()
        .env("dev")
        .username("quickstart")
        .group_by([GroupBy::Provider, GroupBy::Service, GroupBy::Resource]);
    let client = mongodb::Client::with_uri_str(
        std::env::var("MONGODB_URI")
            .unwrap_or_else(|_| panoptic::config::DEFAULT_MONGODB_URI.to_owned()),
    )
    .await?;
    let rows = if stats.written > 0 {
        println!(
            "\n{} event(s) written to MongoDB {} → database {}, collections gcp_quickstart, openai_quickstart, …",
            stats.written,
            panoptic.mongodb_uri_redacted(),
            panoptic.database_name()
        );
        query.run(&client).await?
    } else {
        println!(
            "\nMongoDB did not answer at {}: {} event(s) are kept in the spool at {} \
             and will be delivered, once, when it does (or run `panoptic replay`).",
            panoptic.mongodb_uri_redacted(),
            stats.spooled,
            panoptic.spool().dir().display()
        );
        query.run_on_spool(&panoptic.spool())?
    };
    println!(
        "\n{:<14} {:<16} {:<14} {:>10} {:>6} {:>7}",
        "provider", "service", "resource", "amount", "calls", "errors"
    );
    for row in &rows {
        println!(
            "{:<14} {:<16} {:<14} {:>10} {:>6} {:>7}",
            row.key[0],
            row.key[1],
            row.key[2],
            row.amount.to_string(),
            row.count,
            row.errors
        );
    }
    drop(guard);
    Ok(())
}
