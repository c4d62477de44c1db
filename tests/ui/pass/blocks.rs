#![deny(warnings)]

use panoptic::billable_block;

fn totals(items: u32, price: u32) -> u32 {
    // Expression position.
    let total = billable_block!(provider = "user_defined", service = "PricingService" => {
        items * price
    });
    // Statement position.
    billable_block!(provider = "user_defined", service = "PricingService", resource = "audit" => {
        let _ = total;
    });
    total
}

async fn later() -> u32 {
    let a = billable_block!(provider = "gcp", service = "CloudRun" => async { 1 }).await;
    let owned = String::from("moved");
    let b = billable_block!(provider = "gcp", service = "CloudRun" => async move { owned.len() as u32 });
    a + b.await
}

fn main() {
    let _ = totals(1, 2);
    drop(later());
}
