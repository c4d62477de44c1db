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
