//! Calls that were cancelled or timed out: the provider may bill work
//! panoptic did not see finish.

use crate::query::{CostQuery, CostRow, QueryError};
use panoptic_core::{BillingEvent, Outcome};

/// `metadata.error_reason` values that say a provider's job was stopped
/// before it finished: BigQuery's `stopped` (a cancelled job), and the
/// `timeout` / `cancelled` other clients use.
const STOPPED_REASONS: [&str; 3] = ["stopped", "timeout", "cancelled"];

/// Whether `event` tells of a call cancelled or timed out: the provider
/// may bill work panoptic did not see finish. That is an `outcome:
/// "cancelled"` (a call dropped before it ended: the caller's own timeout
/// or cancel), or an error whose `metadata.error_reason` is a stop
/// reason (panoptic-gcp records a query job that outlived its deadline
/// with `error_reason: "timeout"` and what the job's statistics said so
/// far).
///
/// ```
/// use panoptic_core::{BillingEvent, Category, Kind, Metadata, Outcome};
/// use panoptic_ledger::reconcile::is_cancelled;
/// let mut event = BillingEvent {
///     id: bson::oid::ObjectId::new(), ts: chrono::Utc::now(), project_id: None,
///     env: "prod".into(), username: "ann".into(), category: Category::Infra,
///     provider: "gcp".into(), service: "BigQuery".into(), resource: "r".into(),
///     kind: Kind::Invoice, outcome: Outcome::Error, quantity: 0.0, unit: "bytes".into(),
///     amount: None, currency: "USD".into(), metadata: Metadata::default(),
/// };
/// assert!(!is_cancelled(&event));
/// event.metadata.error = Some("query job j1 not complete after 600s".into());
/// assert!(!is_cancelled(&event));
/// event.metadata.extra.insert("error_reason", "timeout");
/// assert!(is_cancelled(&event));
/// event.metadata.extra.clear();
/// event.outcome = Outcome::Cancelled;
/// assert!(is_cancelled(&event));
/// ```
pub fn is_cancelled(event: &BillingEvent) -> bool {
    if event.kind == panoptic_core::Kind::Adjustment {
        return false;
    }
    match event.outcome {
        Outcome::Cancelled => true,
        Outcome::Error => {
            let reason = event.metadata.extra.get_str("error_reason").unwrap_or("");
            STOPPED_REASONS.contains(&reason)
        }
        _ => false,
    }
}

/// Cancelled calls per group of `query`. A timed-out job is often
/// recorded twice with the same error text (the client's event for the
/// job, and the `#[billable]` function's own event for the error it
/// returned): those count once.
pub(super) fn cancelled_rows<'a>(
    query: &CostQuery,
    events: impl IntoIterator<Item = &'a BillingEvent>,
) -> Vec<CostRow> {
    let mut seen = std::collections::BTreeSet::new();
    let unique: Vec<&BillingEvent> = events
        .into_iter()
        .filter(|e| query.matches(e) && is_cancelled(e))
        .filter(|e| {
            let group = query.run_on_events([*e]).pop().map(|r| r.key);
            let what = e.metadata.error.clone().unwrap_or_else(|| e.id.to_hex());
            seen.insert((group, e.env.clone(), what))
        })
        .collect();
    query.run_on_events(unique)
}

/// The events of `query` that may be cancelled calls (outcome `cancelled`
/// or `error`: few), read whole so that [`is_cancelled`] decides the same
/// on MongoDB as in memory.
pub(super) async fn stopped_events(
    client: &mongodb::Client,
    query: &CostQuery,
) -> Result<Vec<BillingEvent>, QueryError> {
    let outcomes = bson::doc! {
        "outcome": { "$in": [Outcome::Cancelled.as_str(), Outcome::Error.as_str()] },
    };
    query.events(client, outcomes, None).await
}
