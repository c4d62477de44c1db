//! AWS and MongoDB Atlas priced from the price book: a Lambda handler from
//! its measured duration and memory, S3 requests and DynamoDB request
//! units from a `usage` key, and an Atlas cluster's cost over a day.
//!
//! ```text
//! cargo run --example aws_pricing
//! AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1024 cargo run --example aws_pricing   # as inside Lambda
//! ```

use std::time::Duration;

use panoptic::prices::aws::{self, S3RequestClass};
use panoptic::prices::{PriceBook, atlas};
use panoptic::{Decimal, Panoptic, billable};

/// Inside Lambda (which sets `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`), billed per
/// request plus GB-seconds of its duration; elsewhere stored unpriced,
/// saying why.
#[billable(provider = "aws", service = "Lambda")]
fn handle_upload(files: u32) -> u32 {
    std::thread::sleep(Duration::from_millis(20));
    store_thumbnails(files);
    files
}

/// 2 PUT requests per file: $0.005 per 1,000 in us-east-1.
#[billable(provider = "aws", service = "S3",
           usage = aws::s3_requests(S3RequestClass::PutCopyPostList, 2 * u64::from(files)))]
fn store_thumbnails(files: u32) {}

struct Written {
    write_units: u32,
}

/// DynamoDB on demand, from what the write consumed.
#[billable(provider = "aws", service = "DynamoDB",
           usage_from = |w: &Written| aws::dynamodb(Decimal::ZERO, Decimal::from(w.write_units)))]
fn record_upload(files: u32) -> Written {
    Written { write_units: files }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = Panoptic::builder().username("aws example").install()?;
    handle_upload(500);
    record_upload(500);

    // A fixed cost to spread over a cluster's callers (see `panoptic reconcile`).
    let day_start = "2026-11-26T00:00:00Z".parse()?;
    let day_end = "2026-11-27T00:00:00Z".parse()?;
    let m10 = atlas::cluster_cost(PriceBook::shipped(), "M10", day_start, day_end)?;
    println!(
        "An Atlas M10 for a day: {} {} ({})",
        m10.amount, m10.currency, m10.entry
    );
    guard.flush();
    println!("stats: {:?}", guard.stats());
    println!("see them: panoptic report --provider aws --by resource");
    Ok(())
}
