//! Cloud Run and Cloud Functions: their usage, the CPU clock a function's
//! memory size comes with, and the 100 ms rounding both bill by.

use std::time::Duration;

use rust_decimal::Decimal;

use crate::pricing::PricingError;

/// Cloud Run usage over a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudRunUsage {
    /// Region of the service.
    pub region: String,
    /// Requests served.
    pub requests: u64,
    /// Billable instance time (rounded up to 100 ms when priced).
    pub billable_time: Duration,
    /// vCPUs allocated per instance.
    pub vcpus: Decimal,
    /// Memory allocated per instance, GiB.
    pub memory_gib: Decimal,
}

/// Cloud Functions (1st gen) usage over a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionsUsage {
    /// Region of the function.
    pub region: String,
    /// Invocations.
    pub invocations: u64,
    /// Time of one invocation (rounded up to 100 ms when priced).
    pub duration_per_invocation: Duration,
    /// Memory size in MB (128, 256, 512, 1024, 2048, 4096, 8192).
    pub memory_mib: u32,
    /// CPU clock in GHz; `None` takes the one that comes with the memory size.
    pub cpu_ghz: Option<Decimal>,
}

impl FunctionsUsage {
    /// Usage with the CPU clock that comes with `memory_mib`.
    pub fn new(
        region: impl Into<String>,
        invocations: u64,
        duration_per_invocation: Duration,
        memory_mib: u32,
    ) -> FunctionsUsage {
        FunctionsUsage {
            region: region.into(),
            invocations,
            duration_per_invocation,
            memory_mib,
            cpu_ghz: None,
        }
    }
}

/// The CPU clock of a 1st gen function of `memory_mib` MB
/// (<https://cloud.google.com/functions/pricing-1stgen#compute_time>).
pub fn functions_cpu_ghz(memory_mib: u32) -> Result<Decimal, PricingError> {
    // (memory MB, clock in tenths of a GHz)
    const SIZES: [(u32, i64); 7] = [
        (128, 2),
        (256, 4),
        (512, 8),
        (1024, 14),
        (2048, 24),
        (4096, 48),
        (8192, 48),
    ];
    SIZES
        .iter()
        .find(|(mib, _)| *mib == memory_mib)
        .map(|(_, tenths)| Decimal::new(*tenths, 1))
        .ok_or_else(|| PricingError::UnknownClass {
            what: "Cloud Functions memory size (MB)",
            given: memory_mib.to_string(),
            valid: SIZES.iter().map(|(m, _)| m.to_string()).collect(),
        })
}

/// Seconds, rounded up to the next 100 ms.
pub fn seconds_rounded_up_100ms(duration: Duration) -> Decimal {
    let tenths = duration.as_nanos().div_ceil(100_000_000);
    Decimal::from_i128_with_scale(i128::try_from(tenths).unwrap_or(i128::MAX), 1)
}
