//! What usage costs: tiered rates with monthly free tiers, and the billing
//! rules of BigQuery, Cloud Run, Cloud Storage and Cloud Functions.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{PriceTable, PricingError, RegionalPrice};

/// One mebibyte: BigQuery's "MB" for rounding and the minimum.
pub const MIB: u64 = 1 << 20;
/// One tebibyte: BigQuery's "TiB" on-demand unit.
pub const TIB: u64 = 1 << 40;
/// The least a BigQuery query that reads data bills: 10 MB per query,
/// and 10 MB for each table it references.
pub const BIGQUERY_MIN_BYTES_BILLED: u64 = 10 * MIB;

/// How a monthly free tier is applied to one usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FreeTier {
    /// Ignore the free tier: list price from the first unit (the free tier
    /// belongs to the billing account, which one process cannot see).
    #[default]
    ListPrice,
    /// Apply it: this many units (in the SKU's unit) were already used this
    /// month before this usage. `After(0)` is the usage of a whole month.
    After(Decimal),
}

impl FreeTier {
    /// The usage is the whole month, from its first day.
    pub const WHOLE_MONTH: FreeTier = FreeTier::After(Decimal::ZERO);
}

/// The cost of one SKU's usage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    /// Service key (`bigquery`).
    pub service: String,
    /// SKU key (`analysis`).
    pub sku: String,
    /// Region as priced (lowercase).
    pub region: String,
    /// Usage, in `unit`.
    pub quantity: Decimal,
    /// The SKU's unit (`TiBy`).
    pub unit: String,
    /// What it costs, in the table's currency.
    pub amount: Decimal,
}

/// The cost of a usage spanning several SKUs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Estimate {
    /// ISO 4217 currency of every amount.
    pub currency: String,
    /// One line per SKU.
    pub lines: Vec<Charge>,
}

impl Estimate {
    /// The sum of the lines.
    pub fn total(&self) -> Decimal {
        self.lines.iter().map(|l| l.amount).sum()
    }

    /// The line of `sku`, if any.
    pub fn line(&self, sku: &str) -> Option<&Charge> {
        self.lines.iter().find(|l| l.sku == sku)
    }
}

/// Prices usage with a [`PriceTable`], on a given day (today by default).
///
/// ```
/// use panoptic_gcp::pricing::{Calculator, FreeTier, TIB};
/// use rust_decimal::Decimal;
///
/// let calc = Calculator::default();
/// // 1 TiB billed once the month's free TiB is used up.
/// let used = Decimal::ONE;
/// let c = calc.bigquery_bytes("US", TIB, FreeTier::After(used)).unwrap();
/// assert_eq!(c.amount, Decimal::new(625, 2));
/// ```
#[derive(Debug, Clone)]
pub struct Calculator {
    table: Arc<PriceTable>,
    date: Option<NaiveDate>,
}

impl Default for Calculator {
    /// The shipped table.
    fn default() -> Self {
        Calculator::new(PriceTable::embedded().clone())
    }
}

impl Calculator {
    /// A calculator over `table`.
    pub fn new(table: PriceTable) -> Calculator {
        Calculator {
            table: Arc::new(table),
            date: None,
        }
    }

    /// A calculator sharing `table`.
    pub fn shared(table: Arc<PriceTable>) -> Calculator {
        Calculator { table, date: None }
    }

    /// Prices as of `date` instead of today's billing day (Pacific time).
    pub fn on(mut self, date: NaiveDate) -> Calculator {
        self.date = Some(date);
        self
    }

    /// The table in use.
    pub fn table(&self) -> &PriceTable {
        &self.table
    }

    pub(crate) fn date_given(&self) -> Option<NaiveDate> {
        self.date
    }

    fn date(&self) -> NaiveDate {
        self.date.unwrap_or_else(super::billing_today)
    }

    /// The day prices are read for: the one given to [`Calculator::on`],
    /// else today's billing day.
    pub fn price_date(&self) -> NaiveDate {
        self.date()
    }

    /// The cost of `quantity` units (in the SKU's unit) of any SKU.
    ///
    /// ```
    /// use panoptic_gcp::pricing::{Calculator, FreeTier};
    /// use rust_decimal::Decimal;
    ///
    /// let c = Calculator::default()
    ///     .charge("cloud_run", "requests", "us-central1", Decimal::from(3_000_000), FreeTier::WHOLE_MONTH)
    ///     .unwrap();
    /// assert_eq!(c.amount, Decimal::new(40, 2)); // 1M above the 2M free, $0.40/M
    /// ```
    pub fn charge(
        &self,
        service: &str,
        sku: &str,
        region: &str,
        quantity: Decimal,
        free: FreeTier,
    ) -> Result<Charge, PricingError> {
        if quantity.is_sign_negative() {
            return Err(PricingError::Invalid(format!(
                "{service}/{sku}: negative quantity {quantity}"
            )));
        }
        let (entry, price) = self.table.price(service, sku, region, self.date())?;
        Ok(Charge {
            service: service.to_owned(),
            sku: sku.to_owned(),
            region: region.trim().to_ascii_lowercase(),
            quantity: quantity.normalize(),
            unit: entry.unit.clone(),
            amount: tiered_cost(price, quantity, free).normalize(),
        })
    }

    /// The on-demand cost of `bytes_billed` BigQuery bytes in `location`.
    pub fn bigquery_bytes(
        &self,
        location: &str,
        bytes_billed: u64,
        free: FreeTier,
    ) -> Result<Charge, PricingError> {
        let tib = Decimal::from(bytes_billed) / Decimal::from(TIB);
        self.charge("bigquery", "analysis", location, tib, free)
    }

    /// The cost of one BigQuery query: nothing when it was answered from
    /// the cache, failed or was a dry run; otherwise its bytes billed (as
    /// BigQuery reported them, else by [`bigquery_bytes_billed`]) at the
    /// on-demand rate.
    ///
    /// ```
    /// use panoptic_gcp::pricing::{Calculator, FreeTier, QueryUsage};
    ///
    /// let q = QueryUsage { location: "US".into(), bytes_processed: 1024, ..Default::default() };
    /// let c = Calculator::default().bigquery_query(&q, FreeTier::ListPrice).unwrap();
    /// assert_eq!(c.quantity.to_string(), "0.0000095367431640625"); // 10 MiB in TiB
    /// ```
    pub fn bigquery_query(
        &self,
        query: &QueryUsage,
        free: FreeTier,
    ) -> Result<Charge, PricingError> {
        let bytes = if query.is_free() { 0 } else { query.billed() };
        let mut charge = self.bigquery_bytes(&query.location, bytes, free)?;
        if query.is_free() {
            charge.amount = Decimal::ZERO;
        }
        Ok(charge)
    }

    /// Cloud Run (request-based billing): CPU and memory for the billable
    /// instance time rounded up to 100 ms, plus requests.
    ///
    /// ```
    /// use panoptic_gcp::pricing::{Calculator, CloudRunUsage};
    /// use rust_decimal::Decimal;
    /// use std::time::Duration;
    ///
    /// let usage = CloudRunUsage {
    ///     region: "us-central1".into(),
    ///     requests: 1_000_000,
    ///     billable_time: Duration::from_secs(1000),
    ///     vcpus: Decimal::ONE,
    ///     memory_gib: Decimal::new(5, 1),
    /// };
    /// let e = Calculator::default().cloud_run(&usage, false).unwrap();
    /// // 1000 vCPU-s × 0.000024 + 500 GiB-s × 0.0000025 + 1M × $0.40/M
    /// assert_eq!(e.total().to_string(), "0.42525");
    /// ```
    pub fn cloud_run(
        &self,
        usage: &CloudRunUsage,
        apply_free_tier: bool,
    ) -> Result<Estimate, PricingError> {
        let free = free_mode(apply_free_tier);
        let seconds = seconds_rounded_up_100ms(usage.billable_time);
        Ok(Estimate {
            currency: self.table.currency.clone(),
            lines: vec![
                self.charge(
                    "cloud_run",
                    "cpu",
                    &usage.region,
                    usage.vcpus * seconds,
                    free,
                )?,
                self.charge(
                    "cloud_run",
                    "memory",
                    &usage.region,
                    usage.memory_gib * seconds,
                    free,
                )?,
                self.charge(
                    "cloud_run",
                    "requests",
                    &usage.region,
                    Decimal::from(usage.requests),
                    free,
                )?,
            ],
        })
    }

    /// Cloud Storage data at rest: `gib_months` of `class` in `location`.
    ///
    /// ```
    /// use panoptic_gcp::pricing::{Calculator, StorageClass};
    /// use rust_decimal::Decimal;
    ///
    /// let c = Calculator::default()
    ///     .cloud_storage(StorageClass::Nearline, "us-central1", Decimal::from(100), false)
    ///     .unwrap();
    /// assert_eq!(c.amount, Decimal::ONE); // 100 GiB-months × $0.010
    /// ```
    pub fn cloud_storage(
        &self,
        class: StorageClass,
        location: &str,
        gib_months: Decimal,
        apply_free_tier: bool,
    ) -> Result<Charge, PricingError> {
        self.charge(
            "cloud_storage",
            class.sku(),
            location,
            gib_months,
            free_mode(apply_free_tier),
        )
    }

    /// Cloud Functions (1st gen): invocations, GB-seconds and GHz-seconds,
    /// each invocation's time rounded up to 100 ms; the CPU clock follows
    /// the memory size unless given.
    ///
    /// ```
    /// use panoptic_gcp::pricing::{Calculator, FunctionsUsage};
    /// use std::time::Duration;
    ///
    /// let usage = FunctionsUsage::new("us-central1", 3_000_000, Duration::ZERO, 128);
    /// let e = Calculator::default().cloud_functions(&usage, true).unwrap();
    /// assert_eq!(e.line("invocations").unwrap().amount.to_string(), "0.4");
    /// ```
    pub fn cloud_functions(
        &self,
        usage: &FunctionsUsage,
        apply_free_tier: bool,
    ) -> Result<Estimate, PricingError> {
        let free = free_mode(apply_free_tier);
        let ghz = match usage.cpu_ghz {
            Some(ghz) => ghz,
            None => functions_cpu_ghz(usage.memory_mib)?,
        };
        let seconds = seconds_rounded_up_100ms(usage.duration_per_invocation)
            * Decimal::from(usage.invocations);
        let gib = Decimal::from(usage.memory_mib) / Decimal::from(1024);
        Ok(Estimate {
            currency: self.table.currency.clone(),
            lines: vec![
                self.charge(
                    "cloud_functions",
                    "invocations",
                    &usage.region,
                    Decimal::from(usage.invocations),
                    free,
                )?,
                self.charge(
                    "cloud_functions",
                    "memory",
                    &usage.region,
                    gib * seconds,
                    free,
                )?,
                self.charge("cloud_functions", "cpu", &usage.region, ghz * seconds, free)?,
            ],
        })
    }
}

fn free_mode(apply: bool) -> FreeTier {
    if apply {
        FreeTier::WHOLE_MONTH
    } else {
        FreeTier::ListPrice
    }
}

/// The cost of usage running from `before` to `before + quantity` units of
/// the month: each unit at the rate of the tier it falls in, units under the
/// free tier at nothing. With [`FreeTier::ListPrice`] the usage starts at 0
/// and the free tier is ignored.
pub fn tiered_cost(price: &RegionalPrice, quantity: Decimal, free: FreeTier) -> Decimal {
    let (start, free_until) = match free {
        FreeTier::ListPrice => (Decimal::ZERO, Decimal::ZERO),
        FreeTier::After(used) => (used.max(Decimal::ZERO), price.free_per_month),
    };
    let end = start + quantity;
    let mut total = Decimal::ZERO;
    for (i, tier) in price.tiers.iter().enumerate() {
        // The first tier also covers any usage below its start.
        let tier_start = if i == 0 { Decimal::ZERO } else { tier.from };
        let tier_end = price
            .tiers
            .get(i + 1)
            .map_or(end, |next| next.from.min(end));
        let lo = start.max(tier_start).max(free_until);
        let hi = end.min(tier_end);
        if hi > lo {
            total += (hi - lo) * tier.rate / tier.per;
        }
    }
    total
}

/// Bytes BigQuery bills for a query that processed `bytes_processed`:
/// rounded up to the MB, at least 10 MB; a query that read nothing bills
/// nothing. (MB here is 2^20 bytes: BigQuery reports 10485760 for the
/// minimum.) With the tables it referenced known, see
/// [`bigquery_bytes_billed_with_tables`].
///
/// ```
/// use panoptic_gcp::pricing::bigquery_bytes_billed;
/// assert_eq!(bigquery_bytes_billed(1024), 10 * 1024 * 1024);
/// assert_eq!(bigquery_bytes_billed(11 * 1024 * 1024 + 1), 12 * 1024 * 1024);
/// ```
pub fn bigquery_bytes_billed(bytes_processed: u64) -> u64 {
    if bytes_processed == 0 {
        return 0;
    }
    bytes_processed
        .div_ceil(MIB)
        .saturating_mul(MIB)
        .max(BIGQUERY_MIN_BYTES_BILLED)
}

/// Bytes billed under both on-demand minimums: 10 MB per query and 10 MB
/// per referenced table. Per-table bytes are not in the job statistics, so
/// this is a floor: what BigQuery reports (`totalBytesBilled`) wins.
///
/// ```
/// use panoptic_gcp::pricing::bigquery_bytes_billed_with_tables;
/// // 1 KB read across a join of 3 tables bills 3 × 10 MB.
/// assert_eq!(bigquery_bytes_billed_with_tables(1024, 3), 30 * 1024 * 1024);
/// assert_eq!(bigquery_bytes_billed_with_tables(1024, 0), 10 * 1024 * 1024);
/// ```
pub fn bigquery_bytes_billed_with_tables(bytes_processed: u64, referenced_tables: usize) -> u64 {
    let per_query = bigquery_bytes_billed(bytes_processed);
    if per_query == 0 {
        return 0;
    }
    let tables = u64::try_from(referenced_tables).unwrap_or(u64::MAX);
    per_query.max(BIGQUERY_MIN_BYTES_BILLED.saturating_mul(tables))
}

/// One BigQuery query, for pricing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryUsage {
    /// The job's location (`US`, `EU`, `us-central1`).
    pub location: String,
    /// `totalBytesProcessed`.
    pub bytes_processed: u64,
    /// `totalBytesBilled` when BigQuery reported it.
    pub bytes_billed: Option<u64>,
    /// Answered from the cache (free).
    pub cache_hit: bool,
    /// Ended in error (free).
    pub failed: bool,
    /// A dry run (free: nothing ran).
    pub dry_run: bool,
    /// Tables referenced (`statistics.query.referencedTables`), each
    /// billed at least 10 MB; 0 when unknown.
    pub referenced_tables: usize,
}

impl QueryUsage {
    /// True when the query costs nothing whatever it read.
    pub fn is_free(&self) -> bool {
        self.cache_hit || self.failed || self.dry_run
    }

    /// Bytes billed: as reported, else by the round-up rule and the
    /// 10 MB minimums per query and per referenced table.
    pub fn billed(&self) -> u64 {
        self.bytes_billed.unwrap_or_else(|| {
            bigquery_bytes_billed_with_tables(self.bytes_processed, self.referenced_tables)
        })
    }
}

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

/// Cloud Storage classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StorageClass {
    /// Standard.
    Standard,
    /// Nearline (30-day minimum).
    Nearline,
    /// Coldline (90-day minimum).
    Coldline,
    /// Archive (365-day minimum).
    Archive,
}

impl StorageClass {
    /// All classes.
    pub const ALL: [StorageClass; 4] = [
        StorageClass::Standard,
        StorageClass::Nearline,
        StorageClass::Coldline,
        StorageClass::Archive,
    ];

    /// The SKU key in the price table.
    pub fn sku(self) -> &'static str {
        match self {
            StorageClass::Standard => "standard",
            StorageClass::Nearline => "nearline",
            StorageClass::Coldline => "coldline",
            StorageClass::Archive => "archive",
        }
    }
}

impl fmt::Display for StorageClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sku().to_ascii_uppercase())
    }
}

impl FromStr for StorageClass {
    type Err = PricingError;

    /// `STANDARD`, `nearline`, … (as the Storage API spells them, any case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lc = s.trim().to_ascii_lowercase();
        StorageClass::ALL
            .into_iter()
            .find(|c| c.sku() == lc)
            .ok_or_else(|| PricingError::UnknownClass {
                what: "Cloud Storage class",
                given: s.to_owned(),
                valid: StorageClass::ALL.iter().map(ToString::to_string).collect(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn calc() -> Calculator {
        Calculator::default().on("2026-11-26".parse().unwrap())
    }

    #[test]
    fn one_tib_above_the_free_tier_costs_6_25() {
        let c = calc()
            .bigquery_bytes("US", TIB, FreeTier::After(d("1")))
            .unwrap();
        assert_eq!(c.amount, d("6.25"));
        assert_eq!(c.quantity, Decimal::ONE);
        assert_eq!(c.unit, "TiBy");
        // Two TiB from the month's start: the first is free.
        let c = calc()
            .bigquery_bytes("us", 2 * TIB, FreeTier::WHOLE_MONTH)
            .unwrap();
        assert_eq!(c.amount, d("6.25"));
        // Half a TiB straddling the free limit: only the quarter above it bills.
        let c = calc()
            .bigquery_bytes("eu", TIB / 2, FreeTier::After(d("0.75")))
            .unwrap();
        assert_eq!(c.amount, d("1.5625"));
        // Within the free tier: nothing.
        let c = calc()
            .bigquery_bytes("us", TIB / 4, FreeTier::WHOLE_MONTH)
            .unwrap();
        assert_eq!(c.amount, Decimal::ZERO);
    }

    #[test]
    fn a_1_kb_query_bills_10_mb() {
        assert_eq!(bigquery_bytes_billed(1000), 10_485_760);
        assert_eq!(bigquery_bytes_billed(0), 0);
        assert_eq!(bigquery_bytes_billed(10 * MIB), 10 * MIB);
        assert_eq!(bigquery_bytes_billed(10 * MIB + 1), 11 * MIB);
        let q = QueryUsage {
            location: "US".into(),
            bytes_processed: 1000,
            ..QueryUsage::default()
        };
        let c = calc().bigquery_query(&q, FreeTier::ListPrice).unwrap();
        // 10 MiB = 10/2^20 TiB; × 6.25 = 0.000059604644775390625 exactly.
        assert_eq!(c.amount, d("0.000059604644775390625"));
        // The same read across two tables: 10 MB for each.
        let two = QueryUsage {
            referenced_tables: 2,
            ..q
        };
        assert_eq!(two.billed(), 20 * MIB);
        let c = calc().bigquery_query(&two, FreeTier::ListPrice).unwrap();
        assert_eq!(c.amount, d("0.00011920928955078125"));
        assert_eq!(bigquery_bytes_billed_with_tables(50 * MIB, 2), 50 * MIB);
        assert_eq!(bigquery_bytes_billed_with_tables(0, 2), 0);
    }

    #[test]
    fn reported_bytes_billed_win_and_free_queries_cost_nothing() {
        let mut q = QueryUsage {
            location: "US".into(),
            bytes_processed: 5 * TIB,
            bytes_billed: Some(TIB),
            ..QueryUsage::default()
        };
        assert_eq!(
            calc()
                .bigquery_query(&q, FreeTier::ListPrice)
                .unwrap()
                .amount,
            d("6.25")
        );
        for flag in 0..3 {
            let mut free = q.clone();
            match flag {
                0 => free.cache_hit = true,
                1 => free.failed = true,
                _ => free.dry_run = true,
            }
            let c = calc().bigquery_query(&free, FreeTier::ListPrice).unwrap();
            assert_eq!(c.amount, Decimal::ZERO, "{free:?}");
        }
        q.location = "antarctica-south1".into();
        assert!(calc().bigquery_query(&q, FreeTier::ListPrice).is_err());
    }

    #[test]
    fn three_million_function_invocations_cost_0_40() {
        let usage = FunctionsUsage::new("us-central1", 3_000_000, Duration::ZERO, 128);
        let e = calc().cloud_functions(&usage, true).unwrap();
        assert_eq!(e.line("invocations").unwrap().amount, d("0.40"));
        assert_eq!(e.total(), d("0.40"));
        // Without the free tier all 3M are billed.
        let e = calc().cloud_functions(&usage, false).unwrap();
        assert_eq!(e.line("invocations").unwrap().amount, d("1.20"));
    }

    #[test]
    fn function_compute_time_rounds_to_100ms_and_follows_memory() {
        // 1M invocations × 130 ms → 200 ms each = 200,000 s.
        // 256 MB: 0.25 GiB × 200,000 = 50,000 GB-s × 0.0000025 = 0.125
        // 0.4 GHz × 200,000 = 80,000 GHz-s × 0.00001 = 0.80
        let usage = FunctionsUsage::new("europe-west1", 1_000_000, Duration::from_millis(130), 256);
        let e = calc().cloud_functions(&usage, false).unwrap();
        assert_eq!(e.line("memory").unwrap().quantity, d("50000"));
        assert_eq!(e.line("memory").unwrap().amount, d("0.125"));
        assert_eq!(e.line("cpu").unwrap().quantity, d("80000"));
        assert_eq!(e.line("cpu").unwrap().amount, d("0.8"));
        assert_eq!(e.line("invocations").unwrap().amount, d("0.4"));
        // With the free tier: invocations 1M < 2M, GB-s 50k < 400k, GHz-s 80k < 200k.
        assert_eq!(
            calc().cloud_functions(&usage, true).unwrap().total(),
            Decimal::ZERO
        );
        let bad = FunctionsUsage::new("us-central1", 1, Duration::ZERO, 300);
        let err = calc().cloud_functions(&bad, false).unwrap_err().to_string();
        assert!(err.contains("300") && err.contains("2048"), "{err}");
    }

    #[test]
    fn cloud_run_rounds_up_and_applies_each_free_tier() {
        // 200,000.05 s rounds to 200,000.1 s. 2 vCPU → 400,000.2 vCPU-s;
        // free 180,000 → 220,000.2 × 0.000024 = 5.2800048.
        // 1 GiB → 200,000.1 GiB-s, under the 360,000 free.
        // 3M requests, 2M free → $0.40.
        let usage = CloudRunUsage {
            region: "us-central1".into(),
            requests: 3_000_000,
            billable_time: Duration::from_millis(200_000_050),
            vcpus: d("2"),
            memory_gib: d("1"),
        };
        let e = calc().cloud_run(&usage, true).unwrap();
        assert_eq!(e.line("cpu").unwrap().quantity, d("400000.2"));
        assert_eq!(e.line("cpu").unwrap().amount, d("5.2800048"));
        assert_eq!(e.line("memory").unwrap().amount, Decimal::ZERO);
        assert_eq!(e.line("requests").unwrap().amount, d("0.4"));
        assert_eq!(e.total(), d("5.6800048"));
        assert_eq!(e.currency, "USD");
    }

    #[test]
    fn cloud_storage_by_class_and_location() {
        let gib = Decimal::from(1000);
        let expected = [
            (StorageClass::Standard, "20"),
            (StorageClass::Nearline, "10"),
            (StorageClass::Coldline, "4"),
            (StorageClass::Archive, "1.2"),
        ];
        for (class, amount) in expected {
            let c = calc()
                .cloud_storage(class, "us-central1", gib, false)
                .unwrap();
            assert_eq!(c.amount, d(amount), "{class}");
        }
        let c = calc()
            .cloud_storage(StorageClass::Standard, "us-east4", gib, false)
            .unwrap();
        assert_eq!(c.amount, d("23"));
        // The 5 GiB-month free tier exists in us-central1, not in europe-west1.
        let ten = Decimal::from(10);
        let c = calc()
            .cloud_storage(StorageClass::Standard, "us-central1", ten, true)
            .unwrap();
        assert_eq!(c.amount, d("0.1"));
        let c = calc()
            .cloud_storage(StorageClass::Standard, "europe-west1", ten, true)
            .unwrap();
        assert_eq!(c.amount, d("0.2"));
    }

    #[test]
    fn unknown_class_or_location_names_the_valid_ones() {
        let err = "glacier".parse::<StorageClass>().unwrap_err().to_string();
        assert!(
            err.contains("glacier") && err.contains("NEARLINE") && err.contains("ARCHIVE"),
            "{err}"
        );
        assert_eq!(
            "COLDLINE".parse::<StorageClass>().unwrap(),
            StorageClass::Coldline
        );
        let err = calc()
            .cloud_storage(StorageClass::Archive, "moon-base1", Decimal::ONE, false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("moon-base1") && err.contains("us-central1"),
            "{err}"
        );
    }

    #[test]
    fn tiers_are_integrated_across_their_bounds() {
        let price = RegionalPrice {
            regions: vec!["x".into()],
            effective: "2020-01-01".parse().unwrap(),
            free_per_month: d("10"),
            tiers: vec![
                crate::pricing::Tier {
                    from: d("0"),
                    rate: d("1"),
                    per: Decimal::ONE,
                },
                crate::pricing::Tier {
                    from: d("100"),
                    rate: d("0.5"),
                    per: Decimal::ONE,
                },
                crate::pricing::Tier {
                    from: d("1000"),
                    rate: d("1"),
                    per: d("10"),
                },
            ],
            source: String::new(),
            checked: "2020-01-01".parse().unwrap(),
            catalog_sku_id: None,
        };
        // 0..1100 from month start: free 0..10, 90 × 1, 900 × 0.5, 100 × 0.1.
        assert_eq!(
            tiered_cost(&price, d("1100"), FreeTier::WHOLE_MONTH),
            d("550")
        );
        // List price: 100 × 1 + 900 × 0.5 + 100 × 0.1.
        assert_eq!(
            tiered_cost(&price, d("1100"), FreeTier::ListPrice),
            d("560")
        );
        // 50 more after 980 used: 20 × 0.5 + 30 × 0.1.
        assert_eq!(
            tiered_cost(&price, d("50"), FreeTier::After(d("980"))),
            d("13")
        );
        assert_eq!(seconds_rounded_up_100ms(Duration::from_millis(1)), d("0.1"));
        assert_eq!(seconds_rounded_up_100ms(Duration::ZERO), Decimal::ZERO);
    }
}
