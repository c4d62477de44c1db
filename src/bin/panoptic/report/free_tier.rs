//! Google's monthly free tiers taken off the report's amounts (feature
//! `gcp`): per billing account and Pacific month, from the runs that name
//! their account; each credit is said on stderr, so that JSON and CSV on
//! stdout stay whole. Without the feature nothing is taken off.

#[cfg(feature = "gcp")]
use panoptic::BillingEvent;
#[cfg(feature = "gcp")]
use panoptic::free_tier::FreeTier;
#[cfg(feature = "gcp")]
use panoptic::gcp::pricing::{Calculator, PriceTable};
use panoptic::query::{CostQuery, CostRow};

use super::Store;
use crate::options::Filters;

/// The credits of a report, applied to each set of rows it shows.
pub struct Net {
    #[cfg(feature = "gcp")]
    free: Option<FreeTier>,
}

impl Net {
    /// Reads the credits `query` sees (nothing when the report cannot
    /// hold BigQuery runs) and says each on stderr.
    #[cfg_attr(not(feature = "gcp"), allow(clippy::unused_async))]
    pub async fn load(
        store: &Store<'_>,
        filters: &Filters,
        query: &CostQuery,
    ) -> Result<Net, String> {
        #[cfg(feature = "gcp")]
        {
            let may_apply = filters.provider.as_deref().is_none_or(|p| p == "gcp")
                && filters.service.as_deref().is_none_or(|s| s == "BigQuery");
            if !may_apply {
                return Ok(Net { free: None });
            }
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
            Ok(Net { free: Some(free) })
        }
        #[cfg(not(feature = "gcp"))]
        {
            let _ = (store, filters, query);
            Ok(Net {})
        }
    }

    /// `rows` of `query` (filters as the report's, any grouping), net of
    /// the credits.
    pub fn apply(&self, query: &CostQuery, rows: Vec<CostRow>) -> Vec<CostRow> {
        #[cfg(feature = "gcp")]
        if let Some(free) = &self.free {
            return free.apply(query, rows);
        }
        let _ = query;
        rows
    }
}

/// The spool's BigQuery runs that name a billing account.
#[cfg(feature = "gcp")]
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
