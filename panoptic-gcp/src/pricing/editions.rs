//! How BigQuery compute is priced: on demand (bytes billed) or by
//! capacity (BigQuery editions, slot-hours).

use rust_decimal::Decimal;

/// Milliseconds in an hour: slot-ms to slot-hours.
const MS_PER_HOUR: i64 = 3_600_000;

/// A BigQuery edition (capacity pricing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Edition {
    /// Standard edition.
    Standard,
    /// Enterprise edition.
    Enterprise,
    /// Enterprise Plus edition.
    EnterprisePlus,
}

impl Edition {
    /// The name BigQuery's reservation API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Edition::Standard => "STANDARD",
            Edition::Enterprise => "ENTERPRISE",
            Edition::EnterprisePlus => "ENTERPRISE_PLUS",
        }
    }
}

/// How the queries of a project are billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PricingModel {
    /// Per TiB billed, at the price table's on-demand rate.
    #[default]
    OnDemand,
    /// Capacity: slot time at `rate_per_slot_hour` (the edition's
    /// pay-as-you-go or committed rate for the location). Bytes billed
    /// are then informational only.
    Editions {
        /// The reservation's edition.
        edition: Edition,
        /// What one slot-hour costs.
        rate_per_slot_hour: Decimal,
    },
}

impl PricingModel {
    /// `on_demand` or `editions`, as billing events name it.
    pub fn name(&self) -> &'static str {
        match self {
            PricingModel::OnDemand => "on_demand",
            PricingModel::Editions { .. } => "editions",
        }
    }
}

/// The cost of `slot_ms` slot-milliseconds at `rate_per_slot_hour`.
///
/// This is the job's own slot time (`statistics.totalSlotMs`); a
/// reservation bills the slots it holds (autoscaling steps, one-minute
/// minimum), which a job-level figure cannot see.
///
/// ```
/// use panoptic_gcp::pricing::slot_cost;
/// use rust_decimal::Decimal;
/// // 90 slot-minutes at $0.04 per slot-hour.
/// assert_eq!(slot_cost(5_400_000, Decimal::new(4, 2)), Decimal::new(6, 2));
/// ```
pub fn slot_cost(slot_ms: u64, rate_per_slot_hour: Decimal) -> Decimal {
    (Decimal::from(slot_ms) * rate_per_slot_hour / Decimal::from(MS_PER_HOUR)).normalize()
}
