//! The BigQuery REST client: `jobs.query`, polling `getQueryResults` until
//! the job is complete, following `pageToken`, and one billing event per
//! query.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{Datelike, Utc};
use rust_decimal::Decimal;

use super::event::{self, QueryOutcome};
use super::types::{
    Job, JobReference, QueryParameter, QueryRequestBody, QueryResponse, QueryResult,
};
use crate::pricing::{Calculator, FreeTier};
use crate::rest::{ClientBuilder, Endpoint, Error};

/// Google's endpoint; tests point [`BigQueryBuilder::base_url`] at a fake.
pub const DEFAULT_BASE_URL: &str = "https://bigquery.googleapis.com/bigquery/v2/";

/// How the monthly free TiB is reflected in the amounts of billing events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FreeTierPolicy {
    /// Every query at list price (the free tier belongs to the billing
    /// account, which this process cannot see).
    #[default]
    ListPrice,
    /// Count bytes billed by this client since the start of the UTC month
    /// and charge only what lies beyond the free tier.
    InProcess,
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
    sql: String,
    params: Vec<QueryParameter>,
    dry_run: bool,
    maximum_bytes_billed: Option<u64>,
    labels: BTreeMap<String, String>,
    location: Option<String>,
    use_query_cache: Option<bool>,
    resource: Option<String>,
    logger: Option<slog::Logger>,
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

/// Configures a [`BigQuery`] client: the settings every client takes
/// (`base_url`, `tokens`, `timeouts`, `retry`), and the BigQuery options
/// below.
pub type BigQueryBuilder = ClientBuilder<BigQueryOptions>;

/// The options only a [`BigQuery`] client has. Set them through
/// [`BigQueryBuilder`].
#[derive(Debug, Clone)]
pub struct BigQueryOptions {
    project: String,
    query_deadline: Duration,
    poll_wait: Duration,
    page_size: Option<u32>,
    location: Option<String>,
    logger: Option<slog::Logger>,
    calculator: Option<Calculator>,
    free_tier: FreeTierPolicy,
}

impl BigQueryBuilder {
    /// How long a query may run before [`Error::Timeout`] (default 10 min).
    pub fn query_deadline(mut self, deadline: Duration) -> Self {
        self.options.query_deadline = deadline;
        self
    }

    /// How long BigQuery may hold each request waiting for the job
    /// (`timeoutMs`, default 10 s).
    pub fn poll_wait(mut self, wait: Duration) -> Self {
        self.options.poll_wait = wait;
        self
    }

    /// Rows per page (`maxResults`); BigQuery's default otherwise.
    pub fn page_size(mut self, rows: u32) -> Self {
        self.options.page_size = Some(rows);
        self
    }

    /// Default job location.
    pub fn location(mut self, location: impl Into<String>) -> Self {
        self.options.location = Some(location.into());
        self
    }

    /// The child logger billing events go through; by default the global
    /// panoptic instance's `gcp`/`BigQuery` logger, if one is installed.
    pub fn logger(mut self, logger: slog::Logger) -> Self {
        self.options.logger = Some(logger);
        self
    }

    /// Prices (default: the shipped table).
    pub fn calculator(mut self, calculator: Calculator) -> Self {
        self.options.calculator = Some(calculator);
        self
    }

    /// How the free tier shows in event amounts.
    pub fn free_tier(mut self, policy: FreeTierPolicy) -> Self {
        self.options.free_tier = policy;
        self
    }

    /// Builds the client; fails (never panics) when https is asked for on
    /// a machine without CA certificates.
    pub fn build(mut self) -> Result<BigQuery, Error> {
        let base = self.settings.base()?;
        if self.options.project.trim().is_empty() {
            return Err(Error::Invalid("empty project id".to_owned()));
        }
        let endpoint = self.settings.connect(base)?;
        // The shipped table is cloned only when no calculator was given.
        let calculator = self.options.calculator.take().unwrap_or_default();
        Ok(BigQuery {
            inner: Arc::new(Inner {
                endpoint,
                options: self.options,
                calculator,
                month_usage: Mutex::new((0, 0)),
            }),
        })
    }
}

/// A BigQuery client for one project. Cheap to clone.
///
/// ```no_run
/// use panoptic_gcp::auth::{AuthOptions, TokenSource};
/// use panoptic_gcp::bigquery::BigQuery;
///
/// # async fn run() -> Result<(), panoptic_gcp::bigquery::Error> {
/// let tokens = TokenSource::application_default(AuthOptions::default()).await?;
/// let bq = BigQuery::builder("my-project").tokens(tokens).build()?;
/// let result = bq.query("SELECT 17 AS n").await?;
/// println!("{:?} ({} bytes billed)", result.decode()?, result.bytes_billed);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct BigQuery {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: Endpoint,
    /// As built; its `calculator` was taken into the field below.
    options: BigQueryOptions,
    calculator: Calculator,
    /// (year × 12 + month, bytes billed) for [`FreeTierPolicy::InProcess`].
    month_usage: Mutex<(i32, u64)>,
}

impl std::fmt::Debug for BigQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BigQuery")
            .field("project", &self.inner.options.project)
            .field("base_url", &self.inner.endpoint.base.as_str())
            .field("tokens", &self.inner.endpoint.tokens)
            .finish_non_exhaustive()
    }
}

/// What is known of a query as it runs, for its billing event.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    pub job: Option<JobReference>,
}

impl BigQuery {
    /// Starts configuring a client for `project`.
    pub fn builder(project: impl Into<String>) -> BigQueryBuilder {
        ClientBuilder::new(
            DEFAULT_BASE_URL,
            BigQueryOptions {
                project: project.into(),
                query_deadline: Duration::from_secs(600),
                poll_wait: Duration::from_secs(10),
                page_size: None,
                location: None,
                logger: None,
                calculator: None,
                free_tier: FreeTierPolicy::default(),
            },
        )
    }

    /// The project jobs run in.
    pub fn project(&self) -> &str {
        &self.inner.options.project
    }

    /// Runs a query to the end and reads every page. Emits one billing
    /// event (kind `invoice`) for it, failed or not; the result or error is
    /// returned as BigQuery gave it.
    pub async fn query(&self, query: impl Into<Query>) -> Result<QueryResult, Error> {
        let query = query.into();
        // Read now: the innermost #[billable] is active while this future is polled.
        let resource = query
            .resource
            .clone()
            .or_else(panoptic_core::active_resource)
            .unwrap_or_else(|| "bigquery_query".to_owned());
        let mut progress = Progress::default();
        let mut result = self.run(&query, &mut progress).await;
        let location = progress
            .job
            .as_ref()
            .and_then(|j| j.location.clone())
            .or_else(|| query.location.clone())
            .or_else(|| self.inner.options.location.clone())
            .unwrap_or_else(|| "US".to_owned());
        let priced = match &mut result {
            Ok(r) => {
                let (cost, pricing_error) = self.price(r, &location);
                r.cost = cost;
                QueryOutcome::Done {
                    result: r,
                    pricing_error,
                }
            }
            Err(e) => QueryOutcome::Failed {
                error: e,
                job: progress.job.as_ref(),
            },
        };
        if let Some(logger) = self.logger_for(&query) {
            event::emit(&logger, &resource, &location, &priced);
        }
        result
    }

    fn logger_for(&self, query: &Query) -> Option<slog::Logger> {
        query
            .logger
            .clone()
            .or_else(|| self.inner.options.logger.clone())
            .or_else(|| {
                panoptic_core::global().map(|p| p.logger(panoptic_core::Provider::Gcp, "BigQuery"))
            })
    }

    fn price(&self, result: &QueryResult, location: &str) -> (Option<Decimal>, Option<String>) {
        if result.cache_hit || result.dry_run || result.bytes_billed == 0 {
            return (Some(Decimal::ZERO), None);
        }
        let free = match self.inner.options.free_tier {
            FreeTierPolicy::ListPrice => FreeTier::ListPrice,
            FreeTierPolicy::InProcess => {
                let now = Utc::now();
                let month = now.year() * 12 + now.month0() as i32;
                let mut usage = self
                    .inner
                    .month_usage
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                if usage.0 != month {
                    *usage = (month, 0);
                }
                let before = usage.1;
                usage.1 = usage.1.saturating_add(result.bytes_billed);
                FreeTier::After(Decimal::from(before) / Decimal::from(crate::pricing::TIB))
            }
        };
        match self
            .inner
            .calculator
            .bigquery_bytes(location, result.bytes_billed, free)
        {
            Ok(charge) => (Some(charge.amount), None),
            Err(e) => (None, Some(e.to_string())),
        }
    }

    async fn run(&self, query: &Query, progress: &mut Progress) -> Result<QueryResult, Error> {
        let started = Instant::now();
        let location = query
            .location
            .as_deref()
            .or(self.inner.options.location.as_deref());
        let request_id = format!(
            "panoptic-{:016x}{:016x}",
            fastrand::u64(..),
            fastrand::u64(..)
        );
        let body = QueryRequestBody {
            query: &query.sql,
            use_legacy_sql: false,
            parameter_mode: (!query.params.is_empty()).then_some("NAMED"),
            query_parameters: &query.params,
            dry_run: query.dry_run,
            maximum_bytes_billed: query.maximum_bytes_billed.map(|b| b.to_string()),
            labels: &query.labels,
            location,
            use_query_cache: query.use_query_cache,
            max_results: self.inner.options.page_size,
            timeout_ms: Some(millis(self.inner.options.poll_wait)),
            request_id: &request_id,
        };
        let url = self
            .inner
            .endpoint
            .url(&["projects", &self.inner.options.project, "queries"]);
        let first: QueryResponse = self
            .inner
            .endpoint
            .send(&url, |http| http.post(url.clone()).json(&body))
            .await?;
        progress.job = first.job_reference.clone();

        if query.dry_run {
            return Ok(QueryResult {
                job: None,
                schema: first.schema.unwrap_or_default(),
                rows: Vec::new(),
                total_rows: None,
                bytes_processed: first.total_bytes_processed.unwrap_or(0),
                bytes_billed: 0,
                cache_hit: first.cache_hit.unwrap_or(false),
                dry_run: true,
                num_dml_affected_rows: None,
                pages: 0,
                cost: None,
            });
        }

        let billed_in_reply = first.total_bytes_billed;
        let mut page = first;
        while page.job_complete == Some(false) {
            let job = progress.job.clone().ok_or_else(|| Error::Decode {
                url: url.to_string(),
                message: "job not complete and no jobReference to poll".to_owned(),
            })?;
            if started.elapsed() >= self.inner.options.query_deadline {
                return Err(Error::Timeout {
                    job_id: job.job_id,
                    waited: started.elapsed(),
                });
            }
            page = self.get_query_results(&job, None).await?;
            if page.job_reference.is_some() {
                progress.job = page.job_reference.clone();
            }
        }

        let job = progress.job.clone();
        let schema = page.schema.clone().unwrap_or_default();
        let mut complete = page;
        let mut rows = std::mem::take(&mut complete.rows);
        let mut pages = 1;
        let mut token = complete.page_token.take();
        while let Some(current) = token {
            let job = job.as_ref().ok_or_else(|| Error::Decode {
                url: url.to_string(),
                message: "a pageToken without a jobReference".to_owned(),
            })?;
            let mut next = self.get_query_results(job, Some(&current)).await?;
            rows.append(&mut next.rows);
            pages += 1;
            token = next.page_token.take();
            if token.as_deref() == Some(current.as_str()) {
                return Err(Error::Decode {
                    url: url.to_string(),
                    message: "the same pageToken came back twice".to_owned(),
                });
            }
        }

        let cache_hit = complete.cache_hit.unwrap_or(false);
        let bytes_processed = complete.total_bytes_processed.unwrap_or(0);
        let bytes_billed = match billed_in_reply {
            Some(b) => b,
            None if cache_hit => 0,
            None => match &job {
                Some(job) => self.bytes_billed_of(job, bytes_processed).await,
                None => crate::pricing::bigquery_bytes_billed(bytes_processed),
            },
        };
        Ok(QueryResult {
            job,
            schema,
            rows,
            total_rows: complete.total_rows,
            bytes_processed,
            bytes_billed,
            cache_hit,
            dry_run: false,
            num_dml_affected_rows: complete.num_dml_affected_rows,
            pages,
            cost: None,
        })
    }

    /// `totalBytesBilled` from `jobs.get` (getQueryResults never has it);
    /// if that call fails, BigQuery's rule applied to the bytes processed,
    /// so that billing never fails a query that succeeded.
    async fn bytes_billed_of(&self, job: &JobReference, bytes_processed: u64) -> u64 {
        let url = self
            .inner
            .endpoint
            .url(&["projects", &job.project_id, "jobs", &job.job_id]);
        let location = job.location.clone();
        let reply: Result<Job, Error> = self
            .inner
            .endpoint
            .send(&url, |http| {
                let req = http.get(url.clone());
                match &location {
                    Some(l) => req.query(&[("location", l)]),
                    None => req,
                }
            })
            .await;
        reply
            .ok()
            .and_then(|job| job.statistics)
            .and_then(|s| s.query)
            .and_then(|q| q.total_bytes_billed)
            .unwrap_or_else(|| crate::pricing::bigquery_bytes_billed(bytes_processed))
    }

    async fn get_query_results(
        &self,
        job: &JobReference,
        page_token: Option<&str>,
    ) -> Result<QueryResponse, Error> {
        let project = if job.project_id.is_empty() {
            &self.inner.options.project
        } else {
            &job.project_id
        };
        let url = self
            .inner
            .endpoint
            .url(&["projects", project, "queries", &job.job_id]);
        let mut params: Vec<(&str, String)> = vec![(
            "timeoutMs",
            millis(self.inner.options.poll_wait).to_string(),
        )];
        if let Some(location) = &job.location {
            params.push(("location", location.clone()));
        }
        if let Some(size) = self.inner.options.page_size {
            params.push(("maxResults", size.to_string()));
        }
        if let Some(token) = page_token {
            params.push(("pageToken", token.to_owned()));
        }
        self.inner.endpoint.get(&url, &params).await
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
