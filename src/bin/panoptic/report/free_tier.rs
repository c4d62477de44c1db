//! Google's monthly free tiers taken off the report's amounts (feature
//! `gcp`): per billing account and Pacific month, from the runs that name
//! their account; each credit is said on stderr, so that JSON and CSV on
//! stdout stay whole.

use panoptic::BillingEvent;
use panoptic::free_tier::FreeTier;
use panoptic::gcp::pricing::{Calculator, PriceTable};
use panoptic::query::{CostQuery, CostRow};

use super::Store;
use crate::options::Filters;

/// Whether the report can hold BigQuery runs at all (another provider or
/// service asked for: nothing to read).
pub fn may_apply(filters: &Filters) -> bool {
    filters.provider.as_deref().is_none_or(|p| p == "gcp")
        && filters.service.as_deref().is_none_or(|s| s == "BigQuery")
}

/// `rows` of `query`, net of the free tiers it sees.
pub async fn net(
    store: &Store<'_>,
    query: &CostQuery,
    rows: Vec<CostRow>,
) -> Result<Vec<CostRow>, String> {
    let table = PriceTable::from_env().map_err(|e| format!("PANOPTIC_GCP_PRICES: {e}"))?;
    let calculator = Calculator::new(table);
    let free = match &store.client {
        Some(client) => FreeTier::read(client, query, &calculator)
            .await
            .map_err(|e| e.to_string())?,
        None => FreeTier::of_events(&spool_runs(store)?, &calculator),
    };
    for credit in free.credits(query) {
        eprintln!(
            "panoptic: net of Google's free tier: {}/{} of billing account {}, month {}: {} free, -{} {}",
            credit.sku.0,
            credit.sku.1,
            credit.billing_account,
            credit.month,
            credit.free_quantity,
            credit.credit,
            credit.currency
        );
    }
    Ok(free.apply(query, rows))
}

/// The spool's BigQuery runs that name a billing account.
fn spool_runs(store: &Store<'_>) -> Result<Vec<BillingEvent>, String> {
    let unreadable = |e: std::io::Error| format!("cannot read the spool: {e}");
    let mut runs = Vec::new();
    for spooled in panoptic::Spool::open(store.spool_dir)
        .reader()
        .map_err(unreadable)?
    {
        let Ok(event) = BillingEvent::try_from(&spooled.map_err(unreadable)?) else {
            continue;
        };
        if event.provider == "gcp"
            && event
                .metadata
                .extra
                .contains_key(panoptic::gcp::bigquery::keys::BILLING_ACCOUNT)
        {
            runs.push(event);
        }
    }
    Ok(runs)
}
