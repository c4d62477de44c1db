//! The BigQuery REST client: `jobs.query`, polling `getQueryResults` until
//! the job is complete, following `pageToken`, running failed jobs again
//! as new jobs, and one billing event per run.
//!
//! One job per file: this one runs a query to the end (again, as a new
//! job, when it failed in a way a new job may fix) and bills each run;
//! `query` is what the caller asks, `builder` configures a client, `run`
//! is one run of a job (polling and paging), `estimate` prices a dry run.

mod builder;
mod estimate;
mod price;
mod query;
mod recover;
mod run;
#[cfg(test)]
mod tests;

pub use builder::{BigQueryBuilder, BigQueryOptions, DEFAULT_BASE_URL, FreeTierPolicy};
pub use query::{Query, TimeoutAction};

use std::collections::BTreeMap;
use std::sync::Arc;

use super::event::{self, Billed, Priced, QueryOutcome, Usage};
use super::labels::job_labels;
use super::types::{JobReference, QueryResult};
use crate::pricing::Calculator;
use crate::rest::{Endpoint, Error};

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
            let billed = Billed {
                location: &location,
                account: self.inner.options.billing_account.as_deref(),
            };
            match result {
                Ok(mut r) => {
                    r.retried_attempts = retries;
                    let free = r.cache_hit || r.dry_run;
                    let capacity = r.capacity.as_ref();
                    let guessed = r.billed_estimated;
                    let priced = self.price(&location, Usage::of(&r), capacity, free, guessed);
                    r.cost = priced.amount;
                    if let Some(logger) = &logger {
                        let outcome = QueryOutcome::Done { result: &r };
                        event::emit(logger, &resource, &billed, retries + 1, &outcome, &priced);
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
                        Some(s) => match &s.unknown {
                            Some(reason) => (
                                s.usage,
                                Priced {
                                    model: self.inner.options.pricing_model,
                                    amount: None,
                                    reason: Some(reason.clone()),
                                    estimated: true,
                                    capacity: None,
                                },
                            ),
                            None => {
                                let capacity = s.capacity.as_ref();
                                let priced =
                                    self.price(&location, s.usage, capacity, false, s.estimated);
                                (s.usage, priced)
                            }
                        },
                        None => {
                            // No job ran (refused before it started): nothing billed.
                            let usage = Usage::default();
                            (usage, self.price(&location, usage, None, true, false))
                        }
                    };
                    if let Some(logger) = &logger {
                        let outcome = QueryOutcome::Failed {
                            error: &error,
                            job: progress.job.as_ref(),
                            usage,
                            retried,
                        };
                        event::emit(logger, &resource, &billed, retries + 1, &outcome, &priced);
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

    pub(super) fn timeout_action(&self, query: &Query) -> TimeoutAction {
        query.on_timeout.unwrap_or(self.inner.options.on_timeout)
    }
}
