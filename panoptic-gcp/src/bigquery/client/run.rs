//! One run of a query job: `jobs.query`, polling `getQueryResults` until
//! the job is complete, following `pageToken`, and reading the billed
//! figures the replies lack from `jobs.get`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::Utc;

use super::{BigQuery, Progress, Query, recover};
use crate::bigquery::labels::RUN_LABEL;
use crate::bigquery::types::{
    FormatOptions, GoogleSql, Job, JobReference, QueryRequestBody, QueryResponse, QueryResult,
};
use crate::pricing::PricingModel;
use crate::rest::Error;

impl BigQuery {
    pub(super) async fn run(
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
        // failed one. It also labels the job, to find it again when the
        // reply is lost.
        let request_id = request_id();
        let mut labels = labels.clone();
        if !query.dry_run {
            labels.insert(RUN_LABEL.to_owned(), request_id.clone());
        }
        let labels = &labels;
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
        let posted = Utc::now();
        let first: QueryResponse = match self
            .inner
            .endpoint
            .send(&url, |http| http.post(url.clone()).json(&body))
            .await
        {
            Ok(first) => first,
            // The job may run without us having heard: found, it is read
            // (and billed) as if the reply had come; else no job ran.
            Err(error) if !query.dry_run && recover::may_have_run(&error) => {
                let Some(job) = self.find_run(&request_id, posted).await else {
                    return Err(error);
                };
                progress.job = Some(job.clone());
                self.get_query_results(&job, None).await?
            }
            Err(error) => return Err(error),
        };
        if first.job_reference.is_some() {
            progress.job = first.job_reference.clone();
        }

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
                capacity: None,
                billed_estimated: false,
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
        // Under editions they are always read: the job's own reservation
        // and edition say whether the configured rate is the one it ran on.
        let needs_stats = !cache_hit && (billed_in_reply.is_none() || editions);
        let stats = match (&job, needs_stats) {
            (Some(job), true) => self.job(job).await.ok(),
            _ => None,
        };
        let referenced_tables = stats.as_ref().and_then(Job::referenced_tables);
        let capacity = stats.as_ref().and_then(Job::capacity);
        // Neither the reply nor the job said what was billed: the floor
        // below is a guess, and the event says so.
        let billed_estimated = billed_in_reply.is_none()
            && !cache_hit
            && stats.as_ref().and_then(Job::bytes_billed).is_none();
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
            capacity,
            billed_estimated,
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
pub(super) fn request_id() -> String {
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
