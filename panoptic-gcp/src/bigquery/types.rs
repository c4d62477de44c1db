//! The JSON shapes of BigQuery's REST API (v2) that the client sends and
//! reads, field names as Google spells them, and the [`QueryResult`] the
//! client makes of them.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};

use crate::rest::ErrorProto;

/// `jobs.query` request body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct QueryRequestBody<'a> {
    #[serde(flatten)]
    pub sql: GoogleSql<'a>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    /// int64 travels as a JSON string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum_bytes_billed: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_query_cache: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_results: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// TIMESTAMP cells as int64 microseconds, which are exact (the
    /// default float seconds are not).
    pub format_options: FormatOptions,
    /// Makes a retried `jobs.query` idempotent: a UUID, as the reference
    /// asks (at most 36 characters).
    pub request_id: &'a str,
}

/// The SQL and its parameters, as both `jobs.query` and a query job's
/// configuration spell them.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GoogleSql<'a> {
    pub query: &'a str,
    /// Always false: GoogleSQL. The API's default is legacy SQL.
    pub use_legacy_sql: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter_mode: Option<&'static str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub query_parameters: &'a [QueryParameter],
}

impl<'a> GoogleSql<'a> {
    pub fn new(query: &'a str, parameters: &'a [QueryParameter]) -> GoogleSql<'a> {
        GoogleSql {
            query,
            use_legacy_sql: false,
            parameter_mode: (!parameters.is_empty()).then_some("NAMED"),
            query_parameters: parameters,
        }
    }
}

/// `jobs.insert` body of a dry-run query job: unlike a `jobs.query` dry
/// run, its answer (a `Job`) lists `statistics.query.referencedTables`,
/// which the 10 MiB per-table minimum needs.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DryRunJobBody<'a> {
    pub configuration: DryRunConfiguration<'a>,
    pub job_reference: DryRunJobReference<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DryRunConfiguration<'a> {
    pub dry_run: bool,
    pub query: DryRunQuery<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DryRunQuery<'a> {
    #[serde(flatten)]
    pub sql: GoogleSql<'a>,
    /// False: the estimate is for a run that misses the cache.
    pub use_query_cache: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DryRunJobReference<'a> {
    pub project_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<&'a str>,
}

/// `DataFormatOptions`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FormatOptions {
    pub use_int64_timestamp: bool,
}

/// A named query parameter (`@name` in the SQL).
///
/// ```
/// use panoptic_gcp::bigquery::QueryParameter;
/// let p = QueryParameter::int64("min_views", 100);
/// let json = serde_json::to_value(&p).unwrap();
/// assert_eq!(json["parameterType"]["type"], "INT64");
/// assert_eq!(json["parameterValue"]["value"], "100");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryParameter {
    /// The name, without `@`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its type.
    pub parameter_type: ParameterType,
    /// Its value.
    pub parameter_value: ParameterValue,
}

/// A parameter's type (`STRING`, `INT64`, `ARRAY` of …, `STRUCT`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterType {
    /// The type name.
    #[serde(rename = "type")]
    pub kind: String,
    /// The element type of an `ARRAY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub array_type: Option<Box<ParameterType>>,
}

/// A parameter's value: a scalar as text, or the elements of an array.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterValue {
    /// A scalar, as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The elements of an array.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub array_values: Vec<ParameterValue>,
}

impl QueryParameter {
    /// A scalar parameter of `kind` whose value is `value` as text.
    pub fn scalar(name: impl Into<String>, kind: &str, value: impl Into<String>) -> QueryParameter {
        QueryParameter {
            name: Some(name.into()),
            parameter_type: ParameterType {
                kind: kind.to_owned(),
                array_type: None,
            },
            parameter_value: ParameterValue {
                value: Some(value.into()),
                array_values: Vec::new(),
            },
        }
    }

    /// `STRING`.
    pub fn string(name: impl Into<String>, value: impl Into<String>) -> QueryParameter {
        QueryParameter::scalar(name, "STRING", value)
    }

    /// `INT64`.
    pub fn int64(name: impl Into<String>, value: i64) -> QueryParameter {
        QueryParameter::scalar(name, "INT64", value.to_string())
    }

    /// `FLOAT64`.
    pub fn float64(name: impl Into<String>, value: f64) -> QueryParameter {
        QueryParameter::scalar(name, "FLOAT64", value.to_string())
    }

    /// `BOOL`.
    pub fn bool(name: impl Into<String>, value: bool) -> QueryParameter {
        QueryParameter::scalar(name, "BOOL", value.to_string())
    }

    /// `NUMERIC`.
    pub fn numeric(name: impl Into<String>, value: Decimal) -> QueryParameter {
        QueryParameter::scalar(name, "NUMERIC", value.to_string())
    }

    /// `DATE`.
    pub fn date(name: impl Into<String>, value: NaiveDate) -> QueryParameter {
        QueryParameter::scalar(name, "DATE", value.format("%Y-%m-%d").to_string())
    }

    /// `TIMESTAMP`.
    pub fn timestamp(name: impl Into<String>, value: DateTime<Utc>) -> QueryParameter {
        QueryParameter::scalar(
            name,
            "TIMESTAMP",
            value.to_rfc3339_opts(SecondsFormat::Micros, true),
        )
    }

    /// `ARRAY<element_kind>` of scalars given as text.
    pub fn array<I, S>(name: impl Into<String>, element_kind: &str, values: I) -> QueryParameter
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        QueryParameter {
            name: Some(name.into()),
            parameter_type: ParameterType {
                kind: "ARRAY".to_owned(),
                array_type: Some(Box::new(ParameterType {
                    kind: element_kind.to_owned(),
                    array_type: None,
                })),
            },
            parameter_value: ParameterValue {
                value: None,
                array_values: values
                    .into_iter()
                    .map(|v| ParameterValue {
                        value: Some(v.into()),
                        array_values: Vec::new(),
                    })
                    .collect(),
            },
        }
    }
}

/// Where a job lives.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobReference {
    /// Project that ran the job.
    #[serde(default)]
    pub project_id: String,
    /// Job id.
    #[serde(default)]
    pub job_id: String,
    /// Location (`US`, `EU`, `us-central1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// The columns of a result.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TableSchema {
    /// Top-level columns.
    #[serde(default)]
    pub fields: Vec<FieldSchema>,
}

/// One column (or a field of a record).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FieldSchema {
    /// Column name.
    pub name: String,
    /// `STRING`, `INTEGER`, `FLOAT`, `NUMERIC`, `BOOLEAN`, `TIMESTAMP`,
    /// `DATE`, `RECORD`, … (legacy and GoogleSQL names both occur).
    #[serde(rename = "type")]
    pub kind: String,
    /// `NULLABLE`, `REQUIRED` or `REPEATED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// The fields of a `RECORD`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldSchema>,
}

impl FieldSchema {
    /// Mode `REPEATED`.
    pub fn is_repeated(&self) -> bool {
        self.mode
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("REPEATED"))
    }
}

/// One row as the API sends it: `{"f":[{"v":…},…]}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TableRow {
    /// The cells, in schema order.
    #[serde(default)]
    pub f: Vec<TableCell>,
}

/// One cell: `{"v": …}` — text, null, `{"f":[…]}` or `[{"v":…}]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TableCell {
    /// The value as sent.
    #[serde(default)]
    pub v: serde_json::Value,
}

/// `jobs.query` and `jobs.getQueryResults` response.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueryResponse {
    /// Result columns (once the job is complete).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<TableSchema>,
    /// The job.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_reference: Option<JobReference>,
    /// Rows in the whole result.
    #[serde(deserialize_with = "opt_u64", skip_serializing_if = "Option::is_none")]
    pub total_rows: Option<u64>,
    /// The next page, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
    /// This page's rows.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<TableRow>,
    /// Bytes the query read (or would read, on a dry run).
    #[serde(deserialize_with = "opt_u64", skip_serializing_if = "Option::is_none")]
    pub total_bytes_processed: Option<u64>,
    /// Bytes billed; only in `jobs.query` replies.
    #[serde(deserialize_with = "opt_u64", skip_serializing_if = "Option::is_none")]
    pub total_bytes_billed: Option<u64>,
    /// Slot-milliseconds; only in `jobs.query` replies, and not always.
    #[serde(deserialize_with = "opt_u64", skip_serializing_if = "Option::is_none")]
    pub total_slot_ms: Option<u64>,
    /// False while the job runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_complete: Option<bool>,
    /// Answered from the cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_hit: Option<bool>,
    /// Rows a DML statement changed.
    #[serde(deserialize_with = "opt_u64", skip_serializing_if = "Option::is_none")]
    pub num_dml_affected_rows: Option<u64>,
    /// Non-fatal errors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorProto>,
}

/// A finished query: BigQuery's rows as sent (every page), and its
/// statistics. [`QueryResult::decode`] and [`QueryResult::deserialize`]
/// read the rows (they live in `rows.rs`, with the decoder).
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    /// The job; `None` for a dry run.
    pub job: Option<JobReference>,
    /// Result columns.
    pub schema: TableSchema,
    /// Every row of every page, in the API's f/v format.
    pub rows: Vec<TableRow>,
    /// `totalRows`.
    pub total_rows: Option<u64>,
    /// Bytes read (or that would be read, on a dry run).
    pub bytes_processed: u64,
    /// Bytes billed (0 for cached results and dry runs).
    pub bytes_billed: u64,
    /// Answered from the cache.
    pub cache_hit: bool,
    /// It was a dry run.
    pub dry_run: bool,
    /// Rows changed by a DML statement.
    pub num_dml_affected_rows: Option<u64>,
    /// Pages read.
    pub pages: usize,
    /// What it cost by the price table; `None` when the location has no price.
    pub cost: Option<Decimal>,
    /// Slot-milliseconds the job used (`statistics.totalSlotMs`), when read.
    pub slot_ms: Option<u64>,
    /// Tables the query read (`statistics.query.referencedTables`), when read.
    pub referenced_tables: Option<usize>,
    /// The reservation and edition the job's statistics name, when they
    /// were read (`jobs.get`) and name one.
    pub capacity: Option<Capacity>,
    /// `bytes_billed` is BigQuery's minimums applied to the bytes read,
    /// because neither the reply nor `jobs.get` gave `totalBytesBilled`.
    pub billed_estimated: bool,
    /// Runs of the job before this one that failed and were retried with a
    /// new request id; each was billed by its own event.
    pub retried_attempts: u32,
}

/// The capacity a job ran on, as its statistics say (`reservation_id`,
/// `edition`): such a job is billed by slot time, not by bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Capacity {
    /// The reservation's resource name.
    pub reservation: Option<String>,
    /// Its edition, as BigQuery spells it (`ENTERPRISE`).
    pub edition: Option<String>,
}

/// `jobs.get` response (and the `job` of `jobs.cancel`), the parts read here.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Job {
    /// Where the job ran (for a dry run: where it would run).
    #[serde(default)]
    pub job_reference: Option<JobReference>,
    #[serde(default)]
    pub status: Option<JobStatus>,
    #[serde(default)]
    pub statistics: Option<JobStatistics>,
    /// Present in `jobs.list` with `projection=full`, and in `jobs.get`.
    #[serde(default)]
    pub configuration: Option<JobConfiguration>,
}

/// The part of a job's configuration panoptic reads: its labels.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub(crate) struct JobConfiguration {
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// `jobs.list` response.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JobList {
    #[serde(default)]
    pub jobs: Vec<Job>,
    #[serde(default)]
    pub next_page_token: Option<String>,
}

/// `jobs.cancel` response.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub(crate) struct JobCancelResponse {
    #[serde(default)]
    pub job: Option<Job>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JobStatus {
    /// `PENDING`, `RUNNING` or `DONE`.
    #[serde(default)]
    pub state: String,
    /// Set when the job failed.
    #[serde(default)]
    pub error_result: Option<ErrorProto>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JobStatistics {
    #[serde(default, deserialize_with = "opt_u64")]
    pub total_bytes_processed: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub total_slot_ms: Option<u64>,
    #[serde(default)]
    pub query: Option<QueryStatistics>,
    /// The reservation the job ran in (the REST field is snake case).
    #[serde(default, rename = "reservation_id", alias = "reservationId")]
    pub reservation_id: Option<String>,
    /// The reservation's edition (`STANDARD`, `ENTERPRISE`, `ENTERPRISE_PLUS`).
    #[serde(default)]
    pub edition: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct QueryStatistics {
    #[serde(default, deserialize_with = "opt_u64")]
    pub total_bytes_processed: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub total_bytes_billed: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub total_slot_ms: Option<u64>,
    #[serde(default)]
    pub cache_hit: Option<bool>,
    #[serde(default)]
    pub referenced_tables: Vec<serde_json::Value>,
}

impl Job {
    /// Whether the job has finished (failed or not).
    pub(crate) fn is_done(&self) -> bool {
        self.status.as_ref().is_some_and(|s| s.state == "DONE")
    }

    /// `statistics.query.totalBytesBilled`.
    pub(crate) fn bytes_billed(&self) -> Option<u64> {
        self.statistics
            .as_ref()
            .and_then(|s| s.query.as_ref())
            .and_then(|q| q.total_bytes_billed)
    }

    /// Bytes processed, from the query statistics or the job's.
    pub(crate) fn bytes_processed(&self) -> Option<u64> {
        let stats = self.statistics.as_ref()?;
        stats
            .query
            .as_ref()
            .and_then(|q| q.total_bytes_processed)
            .or(stats.total_bytes_processed)
    }

    /// `statistics.totalSlotMs` (or the query statistics' copy).
    pub(crate) fn slot_ms(&self) -> Option<u64> {
        let stats = self.statistics.as_ref()?;
        stats
            .total_slot_ms
            .or_else(|| stats.query.as_ref().and_then(|q| q.total_slot_ms))
    }

    /// The reservation and edition the job ran under, when its statistics
    /// name either (`unreserved` and the unspecified edition are none).
    pub(crate) fn capacity(&self) -> Option<Capacity> {
        let stats = self.statistics.as_ref()?;
        let named = |v: &Option<String>, none: &str| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty() && *s != none)
                .map(str::to_owned)
        };
        let reservation = named(&stats.reservation_id, "unreserved");
        let edition = named(&stats.edition, "RESERVATION_EDITION_UNSPECIFIED");
        (reservation.is_some() || edition.is_some()).then_some(Capacity {
            reservation,
            edition,
        })
    }

    /// How many tables the query referenced, when the statistics say.
    pub(crate) fn referenced_tables(&self) -> Option<usize> {
        self.statistics
            .as_ref()
            .and_then(|s| s.query.as_ref())
            .map(|q| q.referenced_tables.len())
    }
}

/// int64 fields arrive as JSON strings; accept numbers too.
pub(crate) fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Int {
        Text(String),
        Number(u64),
    }
    match Option::<Int>::deserialize(d)? {
        None => Ok(None),
        Some(Int::Number(n)) => Ok(Some(n)),
        Some(Int::Text(s)) => s.trim().parse().map(Some).map_err(serde::de::Error::custom),
    }
}
