//! AWS usage builders priced by the shipped book; amounts worked by hand.

use std::str::FromStr;
use std::time::Duration;

use chrono::NaiveDate;
use panoptic_prices::aws::{self, Architecture, S3RequestClass};
use panoptic_prices::{PriceBook, Unpriced};
use rust_decimal::Decimal;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn day(y: i32, m: u32, dd: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, dd).unwrap()
}

#[test]
fn lambda_arm64_first_in_invocation() {
    // 1,234.5 ms rounds up to 1,235 ms; 1,536 MB = 1.5 GB;
    // 1.5 × 1.235 = 1.8525 GB-s × 0.0000133334 = 0.0000247001235
    // + 1 request × 0.20/1M = 0.0000002  →  0.0000249001235
    let billed = Duration::from_micros(1_234_500);
    let u = aws::lambda_invocation(1536, billed, Architecture::Arm64, true);
    assert_eq!(u.item, "lambda-arm64");
    assert_eq!(u.total, Some((d("1.8525"), "GB-seconds".to_owned())));
    let p = PriceBook::shipped()
        .price("aws", "Lambda", &u, day(2026, 1, 1))
        .unwrap();
    assert_eq!(p.entry, "aws/lambda-arm64");
    assert_eq!(p.amount, d("0.0000249001235"));

    // Not the first part of the invocation: no request fee.
    let u = aws::lambda_invocation(1536, billed, Architecture::Arm64, false);
    let p = PriceBook::shipped()
        .price("aws", "Lambda", &u, day(2026, 1, 1))
        .unwrap();
    assert_eq!(p.amount, d("0.0000247001235"));
    assert_eq!(p.components.len(), 1);
}

#[test]
fn lambda_x86_in_another_region() {
    // 1,024 MB × 100 ms = 0.1 GB-s × 0.0000166667 = 0.00000166667
    // + 0.0000002 = 0.00000186667
    let u = aws::lambda_invocation(1024, Duration::from_millis(100), Architecture::X86_64, true)
        .in_region("eu-west-1");
    let p = PriceBook::shipped()
        .price("aws", "Lambda", &u, day(2026, 1, 1))
        .unwrap();
    assert_eq!(p.amount, d("0.00000186667"));
    let u = u.in_region("mars-north-1");
    let e = PriceBook::shipped()
        .price("aws", "Lambda", &u, day(2026, 1, 1))
        .unwrap_err();
    assert!(matches!(e, Unpriced::UnknownRegion { .. }), "{e}");
}

#[test]
fn lambda_rounds_up_to_the_millisecond() {
    // 1 ns is billed as 1 ms: 128 MB × 1 ms = 0.125 × 0.001 = 0.000125 GB-s
    let u = aws::lambda_invocation(128, Duration::from_nanos(1), Architecture::X86_64, false);
    assert_eq!(u.quantities[1].amount, d("0.000125"));
    let expected = if cfg!(target_arch = "aarch64") {
        Architecture::Arm64
    } else {
        Architecture::X86_64
    };
    assert_eq!(Architecture::of_build_target(), expected);
}

#[test]
fn s3_requests_and_storage() {
    // 10,000 PUT × 0.005/1,000 = 0.05
    let u = aws::s3_requests(S3RequestClass::PutCopyPostList, 10_000);
    assert_eq!(
        PriceBook::shipped()
            .price("aws", "S3", &u, day(2026, 1, 1))
            .unwrap()
            .amount,
        d("0.05")
    );
    // 1,000,000 GET × 0.0004/1,000 = 0.4
    let u = aws::s3_requests(S3RequestClass::GetAndOther, 1_000_000);
    assert_eq!(
        PriceBook::shipped()
            .price("aws", "S3", &u, day(2026, 1, 1))
            .unwrap()
            .amount,
        d("0.4")
    );
    // 100 GB-months × 0.023 = 2.3
    let u = aws::s3_storage("STANDARD", d("100"));
    assert_eq!(u.item, "s3-standard");
    assert_eq!(
        PriceBook::shipped()
            .price("aws", "S3", &u, day(2026, 1, 1))
            .unwrap()
            .amount,
        d("2.3")
    );
}

#[test]
fn dynamodb_on_demand_before_and_after_the_2024_cut() {
    // From 2024-11-01: 1,000,000 × 0.125/1M + 200,000 × 0.625/1M = 0.125 + 0.125 = 0.25
    let u = aws::dynamodb(d("1000000"), d("200000"));
    let p = PriceBook::shipped()
        .price("aws", "DynamoDB", &u, day(2024, 11, 1))
        .unwrap();
    assert_eq!(p.amount, d("0.25"));
    // The day before: 1,000,000 × 0.25/1M + 200,000 × 1.25/1M = 0.25 + 0.25 = 0.5
    let p = PriceBook::shipped()
        .price("aws", "DynamoDB", &u, day(2024, 10, 31))
        .unwrap();
    assert_eq!(p.amount, d("0.5"));
}
