//! BigQuery over REST: queries with parameters, dry runs, byte limits,
//! labels and locations; polling, paging, f/v row decoding; typed errors
//! and bounded retries (of requests, and of failed jobs as new jobs); one
//! billing event per run of a job; every job labelled with the panoptic
//! resource, environment and user.
//!
//! ```no_run
//! use panoptic_gcp::bigquery::{BigQuery, Query, QueryParameter};
//!
//! # async fn run(bq: BigQuery) -> Result<(), panoptic_gcp::bigquery::Error> {
//! #[derive(serde::Deserialize)]
//! struct WordCount { word: String, n: i64 }
//!
//! let result = bq
//!     .query(Query::new("SELECT word, COUNT(*) AS n FROM t WHERE corpus = @c GROUP BY word")
//!         .param(QueryParameter::string("c", "hamlet")))
//!     .await?;
//! let counts: Vec<WordCount> = result.deserialize()?;
//! # Ok(()) }
//! ```

mod client;
mod event;
mod jobs;
pub mod keys;
mod labels;
mod rows;
mod types;

pub use crate::rest::{ApiError, Error, ErrorProto, RetryPolicy};
pub use client::{
    BigQuery, BigQueryBuilder, BigQueryOptions, DEFAULT_BASE_URL, FreeTierPolicy, Query,
    TimeoutAction,
};
pub use labels::{ENV_LABEL, RESOURCE_LABEL, RUN_LABEL, USER_LABEL, label_key, label_value};
pub use rows::{Row, RowError, Value, decode_rows, deserialize_rows};
pub use types::{
    Capacity, FieldSchema, JobReference, ParameterType, ParameterValue, QueryParameter,
    QueryResponse, QueryResult, TableCell, TableRow, TableSchema,
};
