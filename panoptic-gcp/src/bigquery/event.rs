//! The billing event of one run of a query job: an `invoice` record
//! through the caller's child logger. Its amount is the only one in play:
//! a `#[billable]` function around the query records no amount of its
//! own, so nothing is billed twice. A job that ran and was retried is one
//! event per run: each run is billed by Google.

use rust_decimal::Decimal;

use super::types::{JobReference, QueryResult};
use crate::pricing::PricingModel;
use crate::rest::Error;

/// What priced a run, and how sure it is.
pub(crate) struct Priced {
    pub model: PricingModel,
    /// `None`: could not be priced (`reason` says why).
    pub amount: Option<Decimal>,
    pub reason: Option<String>,
    /// The job had not finished when its statistics were read.
    pub estimated: bool,
}

/// What the job's statistics say it used.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Usage {
    pub bytes_processed: u64,
    pub bytes_billed: u64,
    pub slot_ms: Option<u64>,
}

/// How a run ended, for its event.
pub(crate) enum QueryOutcome<'a> {
    Done {
        result: &'a QueryResult,
    },
    Failed {
        error: &'a Error,
        job: Option<&'a JobReference>,
        usage: Usage,
        /// The job runs again as a new job after this event.
        retried: bool,
    },
}

/// The budgeted `#[billable]` call a priced run happens in: its invoice
/// names the call's `budget` and `call_id`, so it settles that call's
/// reservation at the run's real amount (the call's own event has none).
/// (budget, call id).
struct BudgetTag(Option<(String, String)>);

impl slog::KV for BudgetTag {
    fn serialize(&self, _: &slog::Record<'_>, out: &mut dyn slog::Serializer) -> slog::Result {
        if let Some((budget, call_id)) = &self.0 {
            out.emit_str("budget", budget)?;
            out.emit_str("call_id", call_id)?;
        }
        Ok(())
    }
}

/// The event of run `attempt` (1-based).
pub(crate) fn emit(
    logger: &slog::Logger,
    resource: &str,
    location: &str,
    attempt: u32,
    outcome: &QueryOutcome<'_>,
    priced: &Priced,
) {
    // A priced run has an `amount` (a Decimal as text keeps it exact
    // through slog). An unpriced one has no amount at all, and says why.
    let price = match (priced.amount, &priced.reason) {
        (Some(amount), _) => slog::SingleKV::from(("amount", amount.to_string())),
        (None, reason) => slog::SingleKV::from((
            "pricing_error",
            reason.as_deref().unwrap_or("no price").to_owned(),
        )),
    };
    let link = priced
        .amount
        .and_then(|_| panoptic_core::__private::Call::active_budget_call());
    let tag = BudgetTag(link.map(|link| {
        link.settled_by_record();
        (link.budget.clone(), link.call_id.clone())
    }));
    let model = priced.model.name();
    let edition = match priced.model {
        PricingModel::Editions { edition, .. } => edition.as_str(),
        PricingModel::OnDemand => "",
    };
    match outcome {
        QueryOutcome::Done { result } => {
            let job_id = result.job.as_ref().map_or("", |j| j.job_id.as_str());
            let (quantity, unit) = quantity(priced, result.bytes_billed, result.slot_ms);
            panoptic_core::invoice!(logger, "bigquery query";
                "resource" => resource,
                "quantity" => quantity,
                "unit" => unit,
                "outcome" => "ok",
                price,
                tag,
                "pricing_model" => model,
                "edition" => edition,
                "estimated" => priced.estimated,
                "bytes_processed" => result.bytes_processed,
                "bytes_billed" => result.bytes_billed,
                "slot_ms" => result.slot_ms.unwrap_or(0),
                "rows_returned" => result.rows.len() as u64,
                "cache_hit" => result.cache_hit,
                "dry_run" => result.dry_run,
                "attempt" => attempt,
                "job_id" => job_id,
                "location" => location)
        }
        QueryOutcome::Failed {
            error,
            job,
            usage,
            retried,
        } => {
            let job_id = job.map_or("", |j| j.job_id.as_str());
            let reason = match error {
                Error::JobFailed { error, .. } => error.reason.as_str(),
                // Reconciliation counts it as a cancelled call.
                Error::Timeout { .. } => "timeout",
                other => other.api().map_or("", |a| a.reason.as_str()),
            };
            let (quantity, unit) = quantity(priced, usage.bytes_billed, usage.slot_ms);
            panoptic_core::invoice!(logger, "bigquery query";
                "resource" => resource,
                "quantity" => quantity,
                "unit" => unit,
                "outcome" => "error",
                price,
                tag,
                "pricing_model" => model,
                "edition" => edition,
                "estimated" => priced.estimated,
                "error" => error.to_string(),
                "error_reason" => reason,
                "retried" => *retried,
                "bytes_processed" => usage.bytes_processed,
                "bytes_billed" => usage.bytes_billed,
                "slot_ms" => usage.slot_ms.unwrap_or(0),
                "rows_returned" => 0u64,
                "cache_hit" => false,
                "attempt" => attempt,
                "job_id" => job_id,
                "location" => location)
        }
    }
}

/// The billed quantity in the pricing model's unit.
fn quantity(priced: &Priced, bytes_billed: u64, slot_ms: Option<u64>) -> (u64, &'static str) {
    match priced.model {
        PricingModel::OnDemand => (bytes_billed, "bytes"),
        PricingModel::Editions { .. } => (slot_ms.unwrap_or(0), "slot_ms"),
    }
}
