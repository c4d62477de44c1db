//! One query and its options, as the caller builds it.

use std::collections::BTreeMap;

use crate::bigquery::types::QueryParameter;

/// What to do with a job still running when the query deadline passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeoutAction {
    /// Cancel it (`jobs.cancel`), then bill what it used until it stopped.
    #[default]
    Cancel,
    /// Leave it running; bill what its statistics say so far, marked
    /// as an estimate.
    Detach,
}

/// One query and its options.
///
/// ```
/// use panoptic_gcp::bigquery::{Query, QueryParameter};
///
/// let q = Query::new("SELECT word FROM `bigquery-public-data.samples.shakespeare` WHERE corpus = @corpus")
///     .param(QueryParameter::string("corpus", "hamlet"))
///     .maximum_bytes_billed(100 << 20)
///     .label("team", "growth")
///     .location("US")
///     .resource("hamlet_words");
/// assert_eq!(q.sql(), "SELECT word FROM `bigquery-public-data.samples.shakespeare` WHERE corpus = @corpus");
/// ```
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub(super) sql: String,
    pub(super) params: Vec<QueryParameter>,
    pub(super) dry_run: bool,
    pub(super) maximum_bytes_billed: Option<u64>,
    pub(super) labels: BTreeMap<String, String>,
    pub(super) location: Option<String>,
    pub(super) use_query_cache: Option<bool>,
    pub(super) resource: Option<String>,
    pub(super) logger: Option<slog::Logger>,
    pub(super) on_timeout: Option<TimeoutAction>,
}

impl Query {
    /// A GoogleSQL query.
    pub fn new(sql: impl Into<String>) -> Query {
        Query {
            sql: sql.into(),
            ..Query::default()
        }
    }

    /// The SQL text.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// Adds a named parameter (`@name` in the SQL).
    pub fn param(mut self, param: QueryParameter) -> Query {
        self.params.push(param);
        self
    }

    /// Validates and prices the query without running it.
    pub fn dry_run(mut self, dry_run: bool) -> Query {
        self.dry_run = dry_run;
        self
    }

    /// Fails the query instead of billing more than `bytes`.
    pub fn maximum_bytes_billed(mut self, bytes: u64) -> Query {
        self.maximum_bytes_billed = Some(bytes);
        self
    }

    /// Adds a job label (shows in the billing export's `labels`).
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Query {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// Where the job runs (`US`, `EU`, `us-central1`).
    pub fn location(mut self, location: impl Into<String>) -> Query {
        self.location = Some(location.into());
        self
    }

    /// Whether cached results may be used (BigQuery's default: yes).
    pub fn use_query_cache(mut self, use_cache: bool) -> Query {
        self.use_query_cache = Some(use_cache);
        self
    }

    /// The `resource` of the billing event; by default the innermost
    /// `#[billable]` function running, else `bigquery_query`.
    pub fn resource(mut self, resource: impl Into<String>) -> Query {
        self.resource = Some(resource.into());
        self
    }

    /// Bills through `logger` instead of the client's.
    pub fn logger(mut self, logger: slog::Logger) -> Query {
        self.logger = Some(logger);
        self
    }

    /// What to do with the job if it outlives the query deadline (by
    /// default the client's choice, see
    /// [`BigQueryBuilder::on_timeout`](crate::bigquery::BigQueryBuilder::on_timeout)).
    pub fn on_timeout(mut self, action: TimeoutAction) -> Query {
        self.on_timeout = Some(action);
        self
    }
}

impl From<&str> for Query {
    fn from(sql: &str) -> Query {
        Query::new(sql)
    }
}

impl From<String> for Query {
    fn from(sql: String) -> Query {
        Query::new(sql)
    }
}
