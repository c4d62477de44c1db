//! Building [`Usage`] values for AWS services, in the units and item names
//! of `data/aws.toml`.
//!
//! The builders leave `region` unset (the book then uses us-east-1); add
//! `.in_region(region_from_env())` inside a Lambda to price where it runs.

use std::time::Duration;

use rust_decimal::Decimal;

use crate::usage::Usage;

/// The CPU architecture a Lambda function runs on: a separate item in the
/// book (`lambda-x86_64`, `lambda-arm64`), as Arm has its own usage types
/// and rates in the AWS Price List.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Architecture {
    /// x86_64 (the Lambda default).
    X86_64,
    /// arm64 (Graviton).
    Arm64,
}

impl Architecture {
    /// The architecture this binary was built for: inside Lambda, the one
    /// the function runs on.
    pub fn of_build_target() -> Architecture {
        if cfg!(target_arch = "aarch64") {
            Architecture::Arm64
        } else {
            Architecture::X86_64
        }
    }

    /// The book item (`lambda-x86_64`, `lambda-arm64`).
    pub fn lambda_item(self) -> &'static str {
        match self {
            Architecture::X86_64 => "lambda-x86_64",
            Architecture::Arm64 => "lambda-arm64",
        }
    }
}

/// One Lambda invocation's billed use: `billed` rounded up to the next
/// millisecond (as Lambda bills), GB-seconds = `memory_mb / 1024 × seconds`,
/// and the per-request fee only when `first_in_invocation` (a function
/// priced in several parts must pay the request once).
///
/// ```
/// use std::time::Duration;
/// use panoptic_prices::aws::{lambda_invocation, Architecture};
/// use rust_decimal::Decimal;
///
/// let u = lambda_invocation(1024, Duration::from_millis(500), Architecture::X86_64, true);
/// assert_eq!(u.item, "lambda-x86_64");
/// assert_eq!(u.quantities[1].amount, Decimal::new(5, 1)); // 1 GB × 0.5 s
/// ```
pub fn lambda_invocation(
    memory_mb: u32,
    billed: Duration,
    arch: Architecture,
    first_in_invocation: bool,
) -> Usage {
    let nanos = billed.as_nanos();
    let millis = nanos.div_ceil(1_000_000);
    let millis = Decimal::from(u64::try_from(millis).unwrap_or(u64::MAX));
    // memory/1024 and ms/1000 both terminate in decimal: the product is exact.
    let gb_seconds = Decimal::from(memory_mb) * millis / Decimal::from(1_024_000);
    let requests = if first_in_invocation {
        Decimal::ONE
    } else {
        Decimal::ZERO
    };
    Usage::new(arch.lambda_item())
        .with("requests", requests)
        .with("gb_seconds", gb_seconds)
        .detail("memory_mb", Decimal::from(memory_mb))
        .detail("billed_ms", millis)
        .detail("requests", requests)
        .total(gb_seconds, "GB-seconds")
}

/// A call inside an invocation that another call pays for: no request
/// fee and no GB-seconds (Lambda bills the invocation's duration once);
/// its own time is kept as a detail.
pub fn lambda_inside_invocation(memory_mb: u32, ran: Duration, arch: Architecture) -> Usage {
    let millis = ran.as_nanos().div_ceil(1_000_000);
    Usage::new(arch.lambda_item())
        .with("requests", Decimal::ZERO)
        .with("gb_seconds", Decimal::ZERO)
        .detail("memory_mb", Decimal::from(memory_mb))
        .detail(
            "ran_ms",
            Decimal::from(u64::try_from(millis).unwrap_or(u64::MAX)),
        )
        .detail("requests", Decimal::ZERO)
        .total(Decimal::ZERO, "GB-seconds")
}

/// The function's configured memory, from `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`
/// (set by the Lambda runtime), if present and a number.
pub fn lambda_memory_from_env() -> Option<u32> {
    std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The region, from `AWS_REGION` (set by Lambda and most AWS tooling),
/// else `us-east-1`.
pub fn region_from_env() -> String {
    std::env::var("AWS_REGION")
        .ok()
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "us-east-1".to_owned())
}

/// The two S3 request price classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum S3RequestClass {
    /// PUT, COPY, POST, LIST (Price List `Requests-Tier1`).
    PutCopyPostList,
    /// GET, SELECT and all other requests (`Requests-Tier2`).
    GetAndOther,
}

impl S3RequestClass {
    /// The book component (`tier1_requests`, `tier2_requests`).
    pub fn component(self) -> &'static str {
        match self {
            S3RequestClass::PutCopyPostList => "tier1_requests",
            S3RequestClass::GetAndOther => "tier2_requests",
        }
    }
}

/// `count` S3 Standard requests of one class (item `s3-standard`).
pub fn s3_requests(class: S3RequestClass, count: u64) -> Usage {
    let n = Decimal::from(count);
    Usage::new("s3-standard")
        .with(class.component(), n)
        .total(n, "requests")
}

/// `gb_months` of S3 storage in `storage_class` (`STANDARD` or `standard`
/// → item `s3-standard`; the book prices the first 50 TB tier).
pub fn s3_storage(storage_class: &str, gb_months: Decimal) -> Usage {
    let class = storage_class.trim().to_ascii_lowercase().replace('_', "-");
    Usage::new(format!("s3-{class}"))
        .with("gb_months", gb_months)
        .total(gb_months, "GB-months")
}

/// DynamoDB on-demand request units (item `dynamodb-on-demand`). Units, not
/// requests: a strongly consistent read of 4 KB is one read unit, an
/// eventually consistent one half; a write of 1 KB is one write unit.
pub fn dynamodb(read_units: Decimal, write_units: Decimal) -> Usage {
    Usage::new("dynamodb-on-demand")
        .with("read_request_units", read_units)
        .with("write_request_units", write_units)
        .detail("read_request_units", read_units)
        .detail("write_request_units", write_units)
        .total(read_units + write_units, "request units")
}
