//! Basic usage: a username-bound instance, function
//! names captured automatically, an explicit resource, and a dedicated
//! child logger.
//!
//! ```text
//! cargo run --example basic_usage
//! ```

use panoptic::{Panoptic, Provider, billable};

// Example 1: the resource is the function's name, `calculate_price`.
#[billable(provider = "user_defined", service = "PricingService")]
fn calculate_price(items: u32, price_per_item: u32) -> u32 {
    items * price_per_item
}

// Example 2: an explicit resource overrides the name.
#[billable(
    provider = "user_defined",
    service = "PricingService",
    resource = "custom-pricing-calculation"
)]
fn calculate_price_custom(items: u32, price_per_item: u32) -> u32 {
    items * price_per_item
}

// Example 3: a dedicated logger, passed to the attribute.
fn gcp_logger() -> panoptic::slog::Logger {
    panoptic::global()
        .expect("installed in main")
        .logger(Provider::Gcp, "BigQuery")
}

#[billable(provider = "gcp", service = "BigQuery", logger = gcp_logger())]
fn run_query(sql: &str) -> usize {
    sql.len()
}

fn main() -> Result<(), panoptic::Error> {
    let guard = Panoptic::builder()
        .username("john_doe")
        .project("my-project")
        .env("development")
        .server_timeout(std::time::Duration::from_secs(1))
        .install()?;

    println!("total = {}", calculate_price(5, 10));
    println!("custom = {}", calculate_price_custom(5, 10));
    println!("query length = {}", run_query("SELECT 1"));

    // A record logged by hand through a child logger.
    let bq = guard.logger(Provider::Gcp, "BigQuery");
    panoptic::invoice!(bq, "manual charge"; "resource" => "nightly_export", "amount" => 0.42);

    guard.flush();
    let stats = guard.stats();
    println!(
        "events: {} emitted, {} in MongoDB ({}), {} in the spool ({})",
        stats.emitted,
        stats.written,
        guard.database_name(),
        stats.spooled,
        guard.spool().dir().display()
    );
    Ok(())
}
