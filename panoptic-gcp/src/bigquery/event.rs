//! The billing event of one run of a query job: an `invoice` record
//! through the caller's child logger. Its amount is the only one in play:
//! a `#[billable]` function around the query records no amount of its
//! own, so nothing is billed twice. A job that ran and was retried is one
//! event per run: each run is billed by Google.

use rust_decimal::Decimal;

use super::types::{Capacity, JobReference, QueryResult};
use crate::pricing::PricingModel;
use crate::rest::Error;

/// What priced a run, and how sure it is.
pub(crate) struct Priced {
    pub model: PricingModel,
    /// `None`: could not be priced (`reason` says why).
    pub amount: Option<Decimal>,
    pub reason: Option<String>,
    /// The job had not finished when its statistics were read, or the
    /// edition priced is the caller's word, not the job's.
    pub estimated: bool,
    /// The reservation and edition the job's statistics named.
    pub capacity: Option<Capacity>,
}

/// What the job's statistics say it used.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Usage {
    pub bytes_processed: u64,
    pub bytes_billed: u64,
    pub slot_ms: Option<u64>,
}

impl Usage {
    /// What a finished run's statistics said.
    pub fn of(result: &QueryResult) -> Usage {
        Usage {
            bytes_processed: result.bytes_processed,
            bytes_billed: result.bytes_billed,
            slot_ms: result.slot_ms,
        }
    }
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

/// The reservation key, only when the job's statistics named one.
struct ReservationKey<'a>(Option<&'a str>);

impl slog::KV for ReservationKey<'_> {
    fn serialize(&self, _: &slog::Record<'_>, out: &mut dyn slog::Serializer) -> slog::Result {
        match self.0 {
            Some(reservation) => out.emit_str("reservation", reservation),
            None => Ok(()),
        }
    }
}

/// The billing account key, only when the client knows it.
struct AccountKey<'a>(Option<&'a str>);

impl slog::KV for AccountKey<'_> {
    fn serialize(&self, _: &slog::Record<'_>, out: &mut dyn slog::Serializer) -> slog::Result {
        match self.0 {
            Some(account) => out.emit_str(super::keys::BILLING_ACCOUNT, account),
            None => Ok(()),
        }
    }
}

/// Where a run is billed: the job's location and, when known, the
/// billing account.
pub(crate) struct Billed<'a> {
    pub location: &'a str,
    pub account: Option<&'a str>,
}

/// The event of run `attempt` (1-based).
pub(crate) fn emit(
    logger: &slog::Logger,
    resource: &str,
    billed: &Billed<'_>,
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
    // The job's own edition when it named one, else the configured one.
    let job_edition = priced.capacity.as_ref().and_then(|c| c.edition.as_deref());
    let edition = match (job_edition, priced.model) {
        (Some(edition), _) => edition,
        (None, PricingModel::Editions { edition, .. }) => edition.as_str(),
        (None, PricingModel::OnDemand) => "",
    };
    let reservation = ReservationKey(
        priced
            .capacity
            .as_ref()
            .and_then(|c| c.reservation.as_deref()),
    );
    let usage = outcome.usage();
    let job_id = outcome.job().map_or("", |j| j.job_id.as_str());
    let (quantity, unit) = quantity(priced, usage.bytes_billed, usage.slot_ms);
    let failure = FailureKeys(outcome);
    let dry_run = DryRunKey(outcome);
    let account = AccountKey(billed.account);
    panoptic_core::invoice!(logger, "bigquery query";
        "resource" => resource,
        "quantity" => quantity,
        "unit" => unit,
        "outcome" => outcome.name(),
        price,
        tag,
        "pricing_model" => model,
        "edition" => edition,
        reservation,
        "estimated" => priced.estimated,
        failure,
        "bytes_processed" => usage.bytes_processed,
        "bytes_billed" => usage.bytes_billed,
        "slot_ms" => usage.slot_ms.unwrap_or(0),
        "rows_returned" => outcome.rows_returned(),
        "cache_hit" => outcome.cache_hit(),
        dry_run,
        account,
        "attempt" => attempt,
        "job_id" => job_id,
        "location" => billed.location)
}

impl QueryOutcome<'_> {
    /// The event's `outcome`.
    fn name(&self) -> &'static str {
        match self {
            QueryOutcome::Done { .. } => "ok",
            QueryOutcome::Failed { .. } => "error",
        }
    }

    fn usage(&self) -> Usage {
        match self {
            QueryOutcome::Done { result } => Usage::of(result),
            QueryOutcome::Failed { usage, .. } => *usage,
        }
    }

    fn job(&self) -> Option<&JobReference> {
        match self {
            QueryOutcome::Done { result } => result.job.as_ref(),
            QueryOutcome::Failed { job, .. } => *job,
        }
    }

    /// A failed run returned none.
    fn rows_returned(&self) -> u64 {
        match self {
            QueryOutcome::Done { result } => result.rows.len() as u64,
            QueryOutcome::Failed { .. } => 0,
        }
    }

    fn cache_hit(&self) -> bool {
        match self {
            QueryOutcome::Done { result } => result.cache_hit,
            QueryOutcome::Failed { .. } => false,
        }
    }
}

/// The keys only a failed run's event has: the error, its reason and
/// whether the job runs again. slog emits a record's keys last first;
/// these are emitted the same way, so they are stored as `error`,
/// `error_reason`, `retried`.
struct FailureKeys<'o, 'r>(&'o QueryOutcome<'r>);

impl slog::KV for FailureKeys<'_, '_> {
    fn serialize(&self, _: &slog::Record<'_>, out: &mut dyn slog::Serializer) -> slog::Result {
        if let QueryOutcome::Failed { error, retried, .. } = self.0 {
            out.emit_bool("retried", *retried)?;
            out.emit_str("error_reason", error_reason(error))?;
            out.emit_str("error", &error.to_string())?;
        }
        Ok(())
    }
}

/// The key only a finished run's event has: whether it was a dry run.
struct DryRunKey<'o, 'r>(&'o QueryOutcome<'r>);

impl slog::KV for DryRunKey<'_, '_> {
    fn serialize(&self, _: &slog::Record<'_>, out: &mut dyn slog::Serializer) -> slog::Result {
        if let QueryOutcome::Done { result } = self.0 {
            out.emit_bool("dry_run", result.dry_run)?;
        }
        Ok(())
    }
}

/// The API's reason for a failure, as reconciliation reads it.
fn error_reason(error: &Error) -> &str {
    match error {
        Error::JobFailed { error, .. } => error.reason.as_str(),
        // Reconciliation counts it as a cancelled call.
        Error::Timeout { .. } => "timeout",
        other => other.api().map_or("", |a| a.reason.as_str()),
    }
}

/// The billed quantity in the pricing model's unit.
fn quantity(priced: &Priced, bytes_billed: u64, slot_ms: Option<u64>) -> (u64, &'static str) {
    match priced.model {
        PricingModel::OnDemand => (bytes_billed, "bytes"),
        PricingModel::Editions { .. } => (slot_ms.unwrap_or(0), "slot_ms"),
    }
}
