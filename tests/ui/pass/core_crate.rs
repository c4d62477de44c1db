//! A crate that depends on panoptic-core directly points the macro at it:
//! core's `__private` is complete, the facade only re-exports it.
#![deny(warnings)]

#[panoptic::billable(provider = "gcp", service = "BigQuery", crate = "::panoptic_core")]
fn via_core() -> Result<u32, std::io::Error> {
    Ok(1)
}

#[panoptic::billable(provider = "openai", service = "ChatCompletions", crate = "panoptic_core")]
async fn via_core_async(tokens: u32) -> u32 {
    tokens
}

fn main() {
    let _ = via_core();
    let _ = panoptic_core::__private::call_once(|| {
        panoptic::billable_block!(provider = "user_defined", service = "PricingService", crate = "::panoptic_core" => { 2 })
    });
    drop(via_core_async(3));
}
