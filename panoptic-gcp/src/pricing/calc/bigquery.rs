//! BigQuery on demand: bytes billed (rounded up to the MiB, 10 MiB
//! minimums per query and per referenced table) and one query's usage.

/// One mebibyte: BigQuery's "MB" for rounding and the minimum.
pub const MIB: u64 = 1 << 20;
/// One tebibyte: BigQuery's "TiB" on-demand unit.
pub const TIB: u64 = 1 << 40;
/// The least a BigQuery query that reads data bills: 10 MB per query,
/// and 10 MB for each table it references.
pub const BIGQUERY_MIN_BYTES_BILLED: u64 = 10 * MIB;

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
/// this is a floor (what BigQuery reports, `totalBytesBilled`, wins; the
/// most is [`bigquery_most_bytes_billed`]).
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

/// The most BigQuery can bill for a query that processes
/// `bytes_processed` over `referenced_tables` tables, when only the total
/// is known (a dry run): each table bills at least 10 MiB, so the most is
/// everything read from one table and the 10 MiB minimum for each other,
/// rounded up to the MiB. Two tables of 50 MiB and 1 KiB bill 60 MiB; the
/// same 50 MiB + 1 KiB read all from one of them, 61 MiB: the most, where
/// [`bigquery_bytes_billed_with_tables`] gives the least (51 MiB).
///
/// ```
/// use panoptic_gcp::pricing::{MIB, bigquery_bytes_billed_with_tables, bigquery_most_bytes_billed};
/// let read = 50 * MIB + 1024;
/// assert_eq!(bigquery_most_bytes_billed(read, 2), 61 * MIB);
/// assert_eq!(bigquery_bytes_billed_with_tables(read, 2), 51 * MIB);
/// // 1 KiB across 3 tables: 3 × 10 MiB either way.
/// assert_eq!(bigquery_most_bytes_billed(1024, 3), 30 * MIB);
/// assert_eq!(bigquery_most_bytes_billed(0, 3), 0);
/// ```
pub fn bigquery_most_bytes_billed(bytes_processed: u64, referenced_tables: usize) -> u64 {
    if bytes_processed == 0 || referenced_tables == 0 {
        return bigquery_bytes_billed(bytes_processed);
    }
    let others = u64::try_from(referenced_tables - 1).unwrap_or(u64::MAX);
    bigquery_bytes_billed(
        bytes_processed
            .max(BIGQUERY_MIN_BYTES_BILLED)
            .saturating_add(BIGQUERY_MIN_BYTES_BILLED.saturating_mul(others)),
    )
}

/// Whether BigQuery charges (on demand) for a query job that ended with
/// `status.errorResult.reason` = `reason`. Google charges nothing for a
/// query that returns an error, but a cancelled one (`stopped`: by
/// `jobs.cancel`, or past its job timeout; `timeout`) is charged for what
/// it processed before it stopped. The one rule: [`QueryUsage::failed`]
/// means an error of the first kind.
///
/// ```
/// use panoptic_gcp::pricing::charges_a_failed_query;
/// assert!(!charges_a_failed_query("invalidQuery"));
/// assert!(!charges_a_failed_query("jobBackendError"));
/// assert!(charges_a_failed_query("stopped"));
/// ```
pub fn charges_a_failed_query(reason: &str) -> bool {
    matches!(reason, "stopped" | "timeout")
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
    /// Ended in an error BigQuery does not charge for (free; a cancelled
    /// query is charged: see [`charges_a_failed_query`]).
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
