//! Several providers from one application: each provider and service gets
//! its own cached child logger, and each provider its own collection
//! (`gcp_acme_corp`, `aws_acme_corp`, `openai_acme_corp`, …).
//!
//! ```text
//! cargo run --example multi_provider
//! ```

use panoptic::{Panoptic, Provider, billable};

#[billable(provider = "gcp", service = "CloudRun", unit = "requests")]
fn render_page(path: &str) -> usize {
    path.len()
}

#[billable(provider = "aws", service = "Lambda", amount = 0.0000002)]
fn resize_image(width: u32, height: u32) -> u32 {
    width * height
}

#[billable(provider = "openai", service = "Embeddings", unit = "tokens", quantity = text.split_whitespace().count(), amount = 0.00002)]
fn embed(text: &str) -> Vec<f32> {
    text.bytes().map(|b| f32::from(b) / 255.0).collect()
}

#[billable(provider = "mongodb_atlas", service = "Cluster", tags("nightly"))]
fn compact() {}

fn main() -> Result<(), panoptic::Error> {
    let guard = Panoptic::builder()
        .username("Acme Corp")
        .env("staging")
        .server_timeout(std::time::Duration::from_secs(1))
        .install()?;

    render_page("/pricing");
    resize_image(640, 480);
    embed("what does this cost");
    compact();

    // AI tokens logged by hand, with the kind `token_usage`.
    let chat = guard.logger(Provider::OpenAi, "ChatCompletions");
    panoptic::token_usage!(chat, "support_bot"; "quantity" => 1830, "unit" => "tokens", "amount" => "0.0027");

    guard.flush();
    for provider in Provider::ALL {
        println!(
            "{:<14} -> {}.{}",
            provider.as_str(),
            guard.database_name(),
            panoptic::naming::collection_name(provider.as_str(), guard.username())
        );
    }
    let stats = guard.stats();
    println!(
        "{} events: {} in MongoDB, {} spooled",
        stats.emitted, stats.written, stats.spooled
    );
    Ok(())
}
