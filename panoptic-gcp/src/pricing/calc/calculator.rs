//! The [`Calculator`]: a price table and a day, and a method per service
//! that applies that service's billing rules.

use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{
    Charge, CloudRunUsage, Estimate, FreeTier, FunctionsUsage, QueryUsage, StorageClass, TIB,
    functions_cpu_ghz, seconds_rounded_up_100ms, tiered_cost,
};
use crate::pricing::{PriceTable, PricingError, billing_today};

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
        self.date.unwrap_or_else(billing_today)
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
    /// BigQuery reported them, else by
    /// [`bigquery_bytes_billed`](super::bigquery_bytes_billed)) at the
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
