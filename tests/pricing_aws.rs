//! AWS calls priced from the book: a Lambda invocation from its measured
//! duration and the memory Lambda sets in the environment (the request fee
//! once per invocation), S3 requests and DynamoDB request units from a key.
//! Expected amounts are worked out here from the us-east-1 list prices.

mod common;

use std::str::FromStr;
use std::time::Duration;

use panoptic::prices::aws::{self, S3RequestClass};
use panoptic::{BillingEvent, Decimal, billable};

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

/// The handler: named by the invocation's request id. Inside it, a nested
/// call and one on another thread, both `#[billable]` Lambda calls too.
#[billable(provider = "aws", service = "Lambda", request_id = request_id)]
fn handle_order(request_id: &str) {
    std::thread::sleep(Duration::from_millis(30));
    validate_order();
    std::thread::spawn(audit_order).join().unwrap();
}

#[billable(provider = "aws", service = "Lambda")]
fn validate_order() {
    std::thread::sleep(Duration::from_millis(5));
}

#[billable(provider = "aws", service = "Lambda")]
fn audit_order() {
    std::thread::sleep(Duration::from_millis(5));
}

#[billable(provider = "aws", service = "S3", usage = aws::s3_requests(S3RequestClass::PutCopyPostList, 2_000))]
fn upload_thumbnails() {}

#[billable(provider = "aws", service = "S3", usage = aws::s3_requests(S3RequestClass::GetAndOther, 10_000))]
fn read_thumbnails() {}

struct Written {
    units: u32,
}

#[billable(provider = "aws", service = "DynamoDB",
           usage_from = |w: &Written| aws::dynamodb(Decimal::from(3 * w.units), Decimal::from(w.units)))]
fn save_cart() -> Written {
    Written { units: 40_000 }
}

#[billable(provider = "aws", service = "S3", usage = aws::s3_storage("deep-freezer", Decimal::ONE))]
fn archive() {}

/// The Lambda part runs in a child process with the environment Lambda
/// sets (the tests may not change their own environment).
#[test]
fn lambda_child() {
    if std::env::var("PANOPTIC_LAMBDA_CHILD").is_err() {
        return;
    }
    let env = std::env::var("PANOPTIC_LAMBDA_ENV").unwrap();
    let guard = common::builder(&env).install().unwrap();
    // Two invocations served by one warm process.
    handle_order("c0ffee00-0000-4000-8000-000000000001");
    handle_order("c0ffee00-0000-4000-8000-000000000002");
    assert!(guard.flush());
    println!("LAMBDA-CHILD-OK");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lambda_invocation_is_priced_from_its_duration_and_memory() {
    let env = common::unique_env("lambda");
    let output = common::child_test("lambda_child")
        .env("PANOPTIC_LAMBDA_CHILD", "1")
        .env("PANOPTIC_LAMBDA_ENV", &env)
        .env("MONGODB_URI", common::mongodb_uri())
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1536")
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("LAMBDA-CHILD-OK"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let events = common::events(&env, "aws_john_doe").await;
    assert_eq!(events.len(), 6, "{events:#?}");
    // us-east-1: $0.20 per 1M requests; per GB-second $0.0000166667 on
    // x86_64, $0.0000133334 on arm64. 1,536 MB = 1.5 GB; the duration is
    // billed rounded up to the next millisecond.
    let rate = if cfg!(target_arch = "aarch64") {
        dec("0.0000133334")
    } else {
        dec("0.0000166667")
    };
    let billed = |event: &BillingEvent| {
        let ms = event.metadata.duration_ms.unwrap().ceil() as i64;
        dec("1.5") * Decimal::new(ms, 3) * rate
    };
    // Each invocation pays one request fee and its handler's GB-seconds.
    let handlers: Vec<&BillingEvent> = events
        .iter()
        .filter(|e| e.resource == "handle_order")
        .collect();
    assert_eq!(handlers.len(), 2);
    for handler in &handlers {
        assert!(handler.metadata.duration_ms.unwrap() >= 40.0);
        assert_eq!(handler.amount, Some(dec("0.0000002") + billed(handler)));
        assert_eq!(handler.unit, "GB-seconds");
    }
    // The nested call and the one on another thread are inside the
    // invocation: no request fee, no GB-seconds of their own.
    for inner in events.iter().filter(|e| e.resource != "handle_order") {
        assert_eq!(inner.amount, Some(Decimal::ZERO), "{inner:#?}");
        let usage = inner.metadata.usage().unwrap();
        assert_eq!(usage.get_i64("requests").unwrap(), 0, "{inner:#?}");
    }
    let total: Decimal = events.iter().filter_map(|e| e.amount).sum();
    assert_eq!(
        total,
        dec("0.0000004") + billed(handlers[0]) + billed(handlers[1])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_and_dynamodb_are_priced_from_their_keys() {
    let env = common::unique_env("aws-keys");
    let panoptic = common::builder(&env).build().unwrap();
    let events = {
        // A global instance of this test's own: the others run apart.
        let guard = panoptic.install();
        upload_thumbnails();
        read_thumbnails();
        save_cart();
        archive();
        // Outside Lambda, a Lambda function has no memory size to price.
        validate_order();
        assert!(guard.flush());
        common::events(&env, "aws_john_doe").await
    };
    assert_eq!(events.len(), 5, "{events:#?}");
    // PUT/COPY/POST/LIST: $0.005 per 1,000: 2,000 → $0.01.
    assert_eq!(
        common::by_resource(&events, "upload_thumbnails").amount,
        Some(dec("0.01"))
    );
    // GET: $0.0004 per 1,000: 10,000 → $0.004.
    assert_eq!(
        common::by_resource(&events, "read_thumbnails").amount,
        Some(dec("0.004"))
    );
    // On demand: $0.125 per 1M reads, $0.625 per 1M writes: 120,000 reads
    // and 40,000 writes → 0.015 + 0.025 = $0.04.
    let cart = common::by_resource(&events, "save_cart");
    assert_eq!(cart.amount, Some(dec("0.04")));
    assert_eq!(
        (cart.quantity, cart.unit.as_str()),
        (160_000.0, "request units")
    );
    let archive = common::by_resource(&events, "archive");
    assert_eq!(archive.amount, None);
    assert!(
        archive
            .metadata
            .unpriced()
            .unwrap()
            .contains("s3-deep-freezer")
    );
    let outside = common::by_resource(&events, "validate_order");
    assert_eq!(outside.amount, None);
    assert!(
        outside
            .metadata
            .unpriced()
            .unwrap()
            .contains("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
    );
}
