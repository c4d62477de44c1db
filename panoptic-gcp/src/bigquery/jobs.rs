//! A query job after it failed or outlived its deadline: cancel it when
//! the caller asks, then read its final statistics (`jobs.get`), since
//! BigQuery bills the job whatever happened to the client.

use super::client::{BigQuery, Query, TimeoutAction};
use super::event::Usage;
use super::types::{Job, JobCancelResponse, JobReference};
use crate::rest::Error;

/// What a failed run used, as its statistics say.
pub(crate) struct Settled {
    pub usage: Usage,
    /// The job was still running when last read.
    pub estimated: bool,
    /// The job's own failure (`status.errorResult`), when it has one.
    pub failure: Option<Error>,
    /// Why what it used is not known (its statistics could not be read):
    /// unpriced, never $0.
    pub unknown: Option<String>,
    /// The reservation and edition its statistics named.
    pub capacity: Option<super::types::Capacity>,
}

impl BigQuery {
    /// `jobs.get`.
    pub(super) async fn job(&self, job: &JobReference) -> Result<Job, Error> {
        let url = self.job_url(job, None);
        let location = job.location.clone();
        self.inner
            .endpoint
            .send(&url, |http| {
                let req = http.get(url.clone());
                match &location {
                    Some(l) => req.query(&[("location", l)]),
                    None => req,
                }
            })
            .await
    }

    /// `jobs.cancel`: asks BigQuery to stop the job (it may still finish).
    async fn cancel(&self, job: &JobReference) -> Result<JobCancelResponse, Error> {
        let url = self.job_url(job, Some("cancel"));
        let location = job.location.clone();
        self.inner
            .endpoint
            .send(&url, |http| {
                let req = http.post(url.clone());
                match &location {
                    Some(l) => req.query(&[("location", l)]),
                    None => req,
                }
            })
            .await
    }

    fn job_url(&self, job: &JobReference, verb: Option<&str>) -> reqwest::Url {
        let project = if job.project_id.is_empty() {
            self.project()
        } else {
            &job.project_id
        };
        let mut segments = vec!["projects", project, "jobs", job.job_id.as_str()];
        segments.extend(verb);
        self.inner.endpoint.url(&segments)
    }

    /// What the run that ended in `error` used. A timed-out job is
    /// cancelled first when the caller's [`TimeoutAction`] says so, then
    /// read until it is done (as often as the retry policy allows).
    pub(super) async fn settle(&self, job: &JobReference, error: &Error, query: &Query) -> Settled {
        let timed_out = matches!(error, Error::Timeout { .. });
        let mut read = None;
        if timed_out && self.timeout_action(query) == TimeoutAction::Cancel {
            // A failed cancel still leaves jobs.get to tell what ran.
            if let Ok(reply) = self.cancel(job).await {
                read = reply.job;
            }
        }
        let policy = self.inner.endpoint.retry;
        let polls = if timed_out && self.timeout_action(query) == TimeoutAction::Cancel {
            policy.max_retries + 1
        } else {
            1
        };
        for attempt in 0..polls {
            if read.as_ref().is_some_and(Job::is_done) {
                break;
            }
            if attempt > 0 {
                tokio::time::sleep(policy.delay(attempt - 1)).await;
            }
            match self.job(job).await {
                Ok(j) => read = Some(j),
                Err(_) => break,
            }
        }
        let Some(read) = read else {
            return Settled {
                usage: Usage::default(),
                estimated: true,
                failure: None,
                unknown: Some(format!(
                    "job {} ran, and its statistics could not be read (jobs.get failed): \
                     what it billed is unknown",
                    job.job_id
                )),
                capacity: None,
            };
        };
        let done = read.is_done();
        let processed = read.bytes_processed().unwrap_or(0);
        let bytes_billed = read.bytes_billed().unwrap_or_else(|| {
            // Not final yet: BigQuery's minimums applied to what it read so far.
            crate::pricing::bigquery_bytes_billed_with_tables(
                processed,
                read.referenced_tables().unwrap_or(0),
            )
        });
        let error_result = read.status.as_ref().and_then(|s| s.error_result.clone());
        // A query that returned an error is not charged on demand (its
        // slots still count under editions); a cancelled one is.
        let charged = !done
            || error_result
                .as_ref()
                .is_none_or(|e| crate::pricing::charges_a_failed_query(&e.reason));
        let failure = error_result.map(|error| Error::JobFailed {
            job_id: job.job_id.clone(),
            error,
        });
        Settled {
            usage: Usage {
                bytes_processed: processed,
                bytes_billed: if charged { bytes_billed } else { 0 },
                slot_ms: read.slot_ms(),
            },
            estimated: charged && (!done || read.bytes_billed().is_none()),
            failure,
            unknown: None,
            capacity: read.capacity(),
        }
    }
}
