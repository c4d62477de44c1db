//! The BigQuery REST client: `jobs.query`, polling `getQueryResults` until
//! the job is complete, following `pageToken`, running failed jobs again
//! as new jobs, and one billing event per run.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::event::{self, Priced, QueryOutcome, Usage};
use super::labels::job_labels;
use super::types::{
    DryRunConfiguration, DryRunJobBody, DryRunJobReference, DryRunQuery, FormatOptions, GoogleSql,
    Job, JobReference, QueryParameter, QueryRequestBody, QueryResponse, QueryResult,
};
use crate::pricing::{Calculator, FreeTier, PricingModel, slot_cost};
use crate::rest::{ClientBuilder, Endpoint, Error};

/// Google's endpoint; tests point [`BigQueryBuilder::base_url`] at a fake.
pub const DEFAULT_BASE_URL: &str = "https://bigquery.googleapis.com/bigquery/v2/";

/// How the monthly free TiB is reflected in the amounts of billing events.
///
/// Events are always at list price now: the free tier belongs to a billing
/// account and a month, and is applied when aggregating
/// ([`Calculator::free_tier_credits`]). Kept so that old code builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FreeTierPolicy {
    /// Every query at list price.
    #[default]
    ListPrice,
    /// Formerly: a per-process count of the month's bytes. Now priced at
    /// list price like [`FreeTierPolicy::ListPrice`].
    #[deprecated(
        since = "0.2.0",
        note = "events are list price; apply the free tier with Calculator::free_tier_credits"
    )]
    InProcess,
}

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
    sql: String,
    params: Vec<QueryParameter>,
    dry_run: bool,
    maximum_bytes_billed: Option<u64>,
    labels: BTreeMap<String, String>,
    location: Option<String>,
    use_query_cache: Option<bool>,
    resource: Option<String>,
    logger: Option<slog::Logger>,
    on_timeout: Option<TimeoutAction>,
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
    /// default the client's choice, see [`BigQueryBuilder::on_timeout`]).
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
    pricing_model: PricingModel,
    on_timeout: TimeoutAction,
    env: Option<String>,
    user: Option<String>,
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

    /// Formerly: how the free tier shows in event amounts. Events are
    /// list price whatever the policy.
    #[deprecated(
        since = "0.2.0",
        note = "events are list price; apply the free tier with Calculator::free_tier_credits"
    )]
    pub fn free_tier(self, _policy: FreeTierPolicy) -> Self {
        self
    }

    /// How the project's queries are billed: on demand (default) or by
    /// slot time under an edition.
    pub fn pricing_model(mut self, model: PricingModel) -> Self {
        self.options.pricing_model = model;
        self
    }

    /// What to do with a job that outlives the query deadline (default:
    /// cancel it).
    pub fn on_timeout(mut self, action: TimeoutAction) -> Self {
        self.options.on_timeout = action;
        self
    }

    /// The `panoptic_env` job label; by default the global panoptic
    /// instance's environment, if one is installed.
    pub fn env(mut self, env: impl Into<String>) -> Self {
        self.options.env = Some(env.into());
        self
    }

    /// The `panoptic_user` job label; by default the global panoptic
    /// instance's username, if one is installed.
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.options.user = Some(user.into());
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
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) endpoint: Endpoint,
    /// As built; its `calculator` was taken into the field below.
    pub(super) options: BigQueryOptions,
    calculator: Calculator,
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
                pricing_model: PricingModel::default(),
                on_timeout: TimeoutAction::default(),
                env: None,
                user: None,
            },
        )
    }

    /// The project jobs run in.
    pub fn project(&self) -> &str {
        &self.inner.options.project
    }

    /// Runs a query to the end and reads every page. Emits one billing
    /// event (kind `invoice`) per run of the job, failed or not; the
    /// result or error is returned as BigQuery gave it.
    ///
    /// A job that failed in a way a new job may fix
    /// ([`Error::is_job_retryable`]) runs again with a new request id, as
    /// often as the retry policy allows; each run that billed has its own
    /// event. A job that outlives the deadline, or whose pages cannot be
    /// read, is billed what its final statistics (`jobs.get`) say.
    pub async fn query(&self, query: impl Into<Query>) -> Result<QueryResult, Error> {
        let query = query.into();
        // Read now: the innermost #[billable] is active while this future is polled.
        let resource = query
            .resource
            .clone()
            .or_else(panoptic_core::active_resource)
            .unwrap_or_else(|| "bigquery_query".to_owned());
        let labels = self.labels_for(&query, &resource);
        let logger = self.logger_for(&query);
        let policy = self.inner.endpoint.retry;
        let mut retries = 0;
        loop {
            let mut progress = Progress::default();
            let result = self.run(&query, &labels, &mut progress).await;
            let location = progress
                .job
                .as_ref()
                .and_then(|j| j.location.clone())
                .or_else(|| query.location.clone())
                .or_else(|| self.inner.options.location.clone())
                .unwrap_or_else(|| "US".to_owned());
            match result {
                Ok(mut r) => {
                    r.retried_attempts = retries;
                    let priced = self.price(
                        &location,
                        Usage {
                            bytes_processed: r.bytes_processed,
                            bytes_billed: r.bytes_billed,
                            slot_ms: r.slot_ms,
                        },
                        r.cache_hit || r.dry_run,
                        false,
                    );
                    r.cost = priced.amount;
                    if let Some(logger) = &logger {
                        let outcome = QueryOutcome::Done { result: &r };
                        event::emit(logger, &resource, &location, retries + 1, &outcome, &priced);
                    }
                    return Ok(r);
                }
                Err(error) => {
                    let settled = match &progress.job {
                        Some(job) if !query.dry_run => Some(self.settle(job, &error, &query).await),
                        _ => None,
                    };
                    // A job that failed with `backendError` in its status
                    // is retried as a new job, like the `job…` reasons.
                    let error = match settled.as_ref().and_then(|s| s.failure.clone()) {
                        Some(failure)
                            if failure.is_job_retryable() && !error.is_job_retryable() =>
                        {
                            failure
                        }
                        _ => error,
                    };
                    let retried = error.is_job_retryable() && retries < policy.max_retries;
                    let (usage, priced) = match &settled {
                        Some(s) => (s.usage, self.price(&location, s.usage, false, s.estimated)),
                        None => {
                            // No job ran (refused before it started): nothing billed.
                            let usage = Usage::default();
                            (usage, self.price(&location, usage, true, false))
                        }
                    };
                    if let Some(logger) = &logger {
                        let outcome = QueryOutcome::Failed {
                            error: &error,
                            job: progress.job.as_ref(),
                            usage,
                            retried,
                        };
                        event::emit(logger, &resource, &location, retries + 1, &outcome, &priced);
                    }
                    if !retried {
                        return Err(error);
                    }
                    tokio::time::sleep(policy.delay(retries)).await;
                    retries += 1;
                }
            }
        }
    }

    /// What `query` would cost at list price, from a dry run: BigQuery's
    /// exact `totalBytesProcessed`, billed as a finished job is when
    /// BigQuery does not report `totalBytesBilled` (rounded up to the MiB,
    /// at least 10 MiB per query and per referenced table:
    /// [`bigquery_bytes_billed_with_tables`](crate::pricing::bigquery_bytes_billed_with_tables)),
    /// priced at the client's on-demand rate in the job's location. A
    /// budget's estimate:
    ///
    /// ```ignore
    /// // With the `panoptic` facade (feature `gcp`): reserve the dry run's
    /// // price before the query runs; refused when it does not fit.
    /// #[billable(provider = "gcp", service = "BigQuery", budget = "bq-daily",
    ///            estimate = bq.estimate(sql).await.ok())]
    /// async fn report(bq: &BigQuery, sql: &str) -> Result<QueryResult, AppError> {
    ///     Ok(bq.query(sql).await?)
    /// }
    /// ```
    ///
    /// The dry run is free, is not a job, and emits no billing event, so
    /// it is never counted as spend. The estimate ignores the query cache
    /// (a cached answer would be free) and the monthly free tier: it is
    /// the most the run can bill. Under an edition (slot-time pricing) a
    /// dry run cannot tell the cost: [`Error::Invalid`].
    ///
    /// Failure policy: an error (the dry run refused the SQL, no answer)
    /// is returned, never guessed at. With `estimate = bq.estimate(sql).await.ok()`
    /// a failed dry run reserves nothing (an estimate of `None` reserves
    /// 0, and the call is refused only when the budget is already spent);
    /// write `.unwrap_or(dec!(…))` to reserve a fixed amount instead.
    pub async fn estimate(&self, query: impl Into<Query>) -> Result<rust_decimal::Decimal, Error> {
        let query = query.into();
        if let PricingModel::Editions { .. } = self.inner.options.pricing_model {
            return Err(Error::Invalid(
                "a dry run cannot estimate slot time: estimates need on-demand pricing".to_owned(),
            ));
        }
        let asked = query
            .location
            .as_deref()
            .or(self.inner.options.location.as_deref());
        let body = DryRunJobBody {
            configuration: DryRunConfiguration {
                dry_run: true,
                query: DryRunQuery {
                    sql: GoogleSql::new(&query.sql, &query.params),
                    use_query_cache: false,
                },
            },
            job_reference: DryRunJobReference {
                project_id: &self.inner.options.project,
                location: asked,
            },
        };
        let url = self
            .inner
            .endpoint
            .url(&["projects", &self.inner.options.project, "jobs"]);
        let job: Job = self
            .inner
            .endpoint
            .send(&url, |http| http.post(url.clone()).json(&body))
            .await?;
        if let Some(failure) = job.status.as_ref().and_then(|s| s.error_result.clone()) {
            return Err(Error::JobFailed {
                job_id: String::new(),
                error: failure,
            });
        }
        let bytes_processed = job.bytes_processed().ok_or_else(|| Error::Decode {
            url: url.to_string(),
            message: "a dry run without statistics.totalBytesProcessed".to_owned(),
        })?;
        let bytes_billed = crate::pricing::bigquery_bytes_billed_with_tables(
            bytes_processed,
            job.referenced_tables().unwrap_or(0),
        );
        let location = job
            .job_reference
            .as_ref()
            .and_then(|j| j.location.clone())
            .or_else(|| asked.map(str::to_owned))
            .unwrap_or_else(|| "US".to_owned());
        let usage = Usage {
            bytes_processed,
            bytes_billed,
            slot_ms: None,
        };
        let priced = self.price(&location, usage, false, true);
        priced.amount.ok_or_else(|| {
            Error::Invalid(format!(
                "cannot price the dry run: {}",
                priced.reason.unwrap_or_default()
            ))
        })
    }

    /// The caller's labels and panoptic's (`panoptic_resource`,
    /// `panoptic_env`, `panoptic_user`), sanitized to BigQuery's rules.
    fn labels_for(&self, query: &Query, resource: &str) -> BTreeMap<String, String> {
        let global = panoptic_core::global();
        let options = &self.inner.options;
        let env = options
            .env
            .clone()
            .or_else(|| global.as_ref().map(|p| p.env().to_owned()));
        let user = options
            .user
            .clone()
            .or_else(|| global.as_ref().map(|p| p.username().to_owned()));
        job_labels(&query.labels, resource, env.as_deref(), user.as_deref())
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

    /// The list price of one run under the client's pricing model.
    fn price(&self, location: &str, usage: Usage, free: bool, estimated: bool) -> Priced {
        let model = self.inner.options.pricing_model;
        let priced = |amount, reason| Priced {
            model,
            amount,
            reason,
            estimated,
        };
        match model {
            _ if free => priced(Some(rust_decimal::Decimal::ZERO), None),
            PricingModel::Editions {
                rate_per_slot_hour, ..
            } => match usage.slot_ms {
                Some(ms) => priced(Some(slot_cost(ms, rate_per_slot_hour)), None),
                None => priced(
                    None,
                    Some("no totalSlotMs in the job statistics".to_owned()),
                ),
            },
            PricingModel::OnDemand if usage.bytes_billed == 0 => {
                priced(Some(rust_decimal::Decimal::ZERO), None)
            }
            PricingModel::OnDemand => match self.inner.calculator.bigquery_bytes(
                location,
                usage.bytes_billed,
                FreeTier::ListPrice,
            ) {
                Ok(charge) => priced(Some(charge.amount), None),
                Err(e) => priced(None, Some(e.to_string())),
            },
        }
    }

    pub(super) fn timeout_action(&self, query: &Query) -> TimeoutAction {
        query.on_timeout.unwrap_or(self.inner.options.on_timeout)
    }

    async fn run(
        &self,
        query: &Query,
        labels: &BTreeMap<String, String>,
        progress: &mut Progress,
    ) -> Result<QueryResult, Error> {
        let started = Instant::now();
        let location = query
            .location
            .as_deref()
            .or(self.inner.options.location.as_deref());
        // A new id per run: a retried job must not be taken for the
        // failed one.
        let request_id = request_id();
        let body = QueryRequestBody {
            sql: GoogleSql::new(&query.sql, &query.params),
            dry_run: query.dry_run,
            maximum_bytes_billed: query.maximum_bytes_billed.map(|b| b.to_string()),
            labels,
            location,
            use_query_cache: query.use_query_cache,
            max_results: self.inner.options.page_size,
            timeout_ms: Some(millis(self.inner.options.poll_wait)),
            format_options: FormatOptions {
                use_int64_timestamp: true,
            },
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
                slot_ms: None,
                referenced_tables: None,
                retried_attempts: 0,
            });
        }

        let billed_in_reply = first.total_bytes_billed;
        let slot_ms_in_reply = first.total_slot_ms;
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
        let editions = matches!(
            self.inner.options.pricing_model,
            PricingModel::Editions { .. }
        );
        // getQueryResults never has the billed figures: jobs.get does,
        // when the first reply did not carry what the pricing model needs.
        let needs_stats =
            !cache_hit && (billed_in_reply.is_none() || (editions && slot_ms_in_reply.is_none()));
        let stats = match (&job, needs_stats) {
            (Some(job), true) => self.job(job).await.ok(),
            _ => None,
        };
        let referenced_tables = stats.as_ref().and_then(Job::referenced_tables);
        let bytes_billed = match billed_in_reply {
            Some(b) => b,
            None if cache_hit => 0,
            // Billing never fails a query that succeeded: without the
            // statistics, BigQuery's minimums applied to the bytes read.
            None => stats
                .as_ref()
                .and_then(Job::bytes_billed)
                .unwrap_or_else(|| {
                    crate::pricing::bigquery_bytes_billed_with_tables(
                        bytes_processed,
                        referenced_tables.unwrap_or(0),
                    )
                }),
        };
        let slot_ms = match slot_ms_in_reply {
            Some(ms) => Some(ms),
            None if cache_hit => Some(0),
            None => stats.as_ref().and_then(Job::slot_ms),
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
            slot_ms,
            referenced_tables,
            retried_attempts: 0,
        })
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
        // The same exact TIMESTAMP form as asked of jobs.query.
        params.push(("formatOptions.useInt64Timestamp", "true".to_owned()));
        self.inner.endpoint.get(&url, &params).await
    }
}

/// A random (version 4) UUID: `jobs.query` takes a `requestId` of at
/// most 36 characters and recommends a UUID.
fn request_id() -> String {
    let mut bits = fastrand::u128(..);
    bits = (bits & !(0xF << 76)) | (0x4 << 76); // version 4
    bits = (bits & !(0x3 << 62)) | (0x2 << 62); // RFC 4122 variant
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        bits >> 96,
        (bits >> 80) & 0xFFFF,
        (bits >> 64) & 0xFFFF,
        (bits >> 48) & 0xFFFF,
        bits & 0xFFFF_FFFF_FFFF
    )
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_uuids() {
        let id = request_id();
        assert_eq!(id.len(), 36, "{id}");
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
        assert_ne!(request_id(), id);
    }
}
