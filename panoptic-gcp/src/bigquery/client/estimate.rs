//! A query's cost before it runs, from a dry run (a budget's estimate).

use super::{BigQuery, Query};
use crate::bigquery::event::Usage;
use crate::bigquery::types::{
    DryRunConfiguration, DryRunJobBody, DryRunJobReference, DryRunQuery, GoogleSql, Job,
};
use crate::pricing::PricingModel;
use crate::rest::Error;

impl BigQuery {
    /// What `query` would cost at list price, from a dry run: BigQuery's
    /// exact `totalBytesProcessed` and referenced tables, billed at the
    /// most BigQuery can bill for them (rounded up to the MiB, at least
    /// 10 MiB per query and per referenced table, the split between tables
    /// unknown: [`bigquery_most_bytes_billed`](crate::pricing::bigquery_most_bytes_billed)),
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
        let bytes_billed = crate::pricing::bigquery_most_bytes_billed(
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
        let priced = self.price(&location, usage, None, false, true);
        priced.amount.ok_or_else(|| {
            Error::Invalid(format!(
                "cannot price the dry run: {}",
                priced.reason.unwrap_or_default()
            ))
        })
    }
}
