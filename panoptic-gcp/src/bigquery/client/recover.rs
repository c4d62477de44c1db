//! A `jobs.query` whose reply was lost (a 5xx after the job was created,
//! a dropped connection): BigQuery may have run the job, and bills it. A
//! read-only query's `requestId` does not make a second POST find it
//! (BigQuery ignores the id for queries that change nothing), so each run
//! labels its job with the request id (`panoptic_run`) and the project's
//! recent jobs (`jobs.list`, `projection=full`) are searched for it.

use chrono::{DateTime, Utc};

use super::BigQuery;
use crate::bigquery::labels::RUN_LABEL;
use crate::bigquery::types::{JobList, JobReference};
use crate::rest::Error;

/// Pages of `jobs.list` read at most: the job was created moments ago,
/// and the list is newest first.
const MAX_PAGES: usize = 5;

/// Whether a failed POST may have created the job: the request reached
/// BigQuery and no answer said it was refused (a 4xx other than a rate
/// limit is a refusal, and so is a failure before sending).
pub(super) fn may_have_run(error: &Error) -> bool {
    match error {
        Error::Http { .. } => true,
        Error::Api(api) => api.status >= 500 || api.status == 429,
        _ => false,
    }
}

impl BigQuery {
    /// The job of run `request_id`, created at or after `since`, if
    /// BigQuery lists it. A failed list is "not found": the caller keeps
    /// the POST's own error.
    pub(super) async fn find_run(
        &self,
        request_id: &str,
        since: DateTime<Utc>,
    ) -> Option<JobReference> {
        let project = &self.inner.options.project;
        let url = self.inner.endpoint.url(&["projects", project, "jobs"]);
        // Clocks differ: a minute of slack before the POST.
        let since_ms = (since.timestamp_millis() - 60_000).max(0);
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut params = vec![
                ("projection", "full".to_owned()),
                ("minCreationTime", since_ms.to_string()),
            ];
            if let Some(t) = &token {
                params.push(("pageToken", t.clone()));
            }
            let page: JobList = self.inner.endpoint.get(&url, &params).await.ok()?;
            let found = page.jobs.into_iter().find(|job| {
                job.configuration
                    .as_ref()
                    .and_then(|c| c.labels.get(RUN_LABEL))
                    .is_some_and(|id| id == request_id)
            });
            if let Some(job) = found {
                return job.job_reference;
            }
            token = page.next_page_token.filter(|t| !t.is_empty());
            token.as_ref()?;
        }
        None
    }
}
