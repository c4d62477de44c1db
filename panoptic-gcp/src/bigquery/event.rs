//! The billing event of one query: an `invoice` record through the
//! caller's child logger. Its amount is the only one in play: a
//! `#[billable]` function around the query records no amount of its own,
//! so nothing is billed twice.

use super::types::{JobReference, QueryResult};
use crate::rest::Error;

/// How a query ended, for its event.
pub(crate) enum QueryOutcome<'a> {
    Done {
        result: &'a QueryResult,
        /// Why no amount could be computed (unknown location).
        pricing_error: Option<String>,
    },
    Failed {
        error: &'a Error,
        job: Option<&'a JobReference>,
    },
}

pub(crate) fn emit(
    logger: &slog::Logger,
    resource: &str,
    location: &str,
    outcome: &QueryOutcome<'_>,
) {
    match outcome {
        QueryOutcome::Done {
            result,
            pricing_error,
        } => {
            let job_id = result.job.as_ref().map_or("", |j| j.job_id.as_str());
            let rows = result.rows.len() as u64;
            // A priced query has an `amount` (a Decimal as text keeps it
            // exact through slog). An unpriced one has no amount at all,
            // and says why instead.
            let price = match (result.cost, pricing_error) {
                (Some(amount), _) => slog::SingleKV::from(("amount", amount.to_string())),
                (None, error) => slog::SingleKV::from((
                    "pricing_error",
                    error.as_deref().unwrap_or("no price").to_owned(),
                )),
            };
            panoptic_core::invoice!(logger, "bigquery query";
                "resource" => resource,
                "quantity" => result.bytes_billed,
                "unit" => "bytes",
                "outcome" => "ok",
                price,
                "bytes_processed" => result.bytes_processed,
                "bytes_billed" => result.bytes_billed,
                "rows_returned" => rows,
                "cache_hit" => result.cache_hit,
                "dry_run" => result.dry_run,
                "job_id" => job_id,
                "location" => location)
        }
        QueryOutcome::Failed { error, job } => {
            let job_id = job.map_or("", |j| j.job_id.as_str());
            let reason = error.api().map_or("", |a| a.reason.as_str());
            // Failed queries are not billed by BigQuery.
            panoptic_core::invoice!(logger, "bigquery query";
                "resource" => resource,
                "quantity" => 0u64,
                "unit" => "bytes",
                "amount" => "0",
                "outcome" => "error",
                "error" => error.to_string(),
                "error_reason" => reason,
                "bytes_processed" => 0u64,
                "bytes_billed" => 0u64,
                "rows_returned" => 0u64,
                "cache_hit" => false,
                "job_id" => job_id,
                "location" => location)
        }
    }
}
