//! Open calls under the report: started, never ended (their process died
//! mid-call), listed beside the spend and never in it.

use panoptic::query::CostQuery;
use panoptic::{BillingEvent, Decimal, Spool};

use super::Store;

/// Lists the open calls of `query` on stderr, if there are any.
pub(super) async fn list(store: &Store<'_>, query: &CostQuery) -> Result<(), String> {
    let open = match &store.client {
        Some(client) => panoptic::open_calls::open_calls(client, query)
            .await
            .map_err(|e| e.to_string())?,
        None => {
            let events: Vec<BillingEvent> = Spool::open(store.spool_dir)
                .events()
                .map_err(|e| format!("cannot read the spool: {e}"))?
                .iter()
                .filter_map(|e| BillingEvent::try_from(e).ok())
                .collect();
            panoptic::open_calls::open_calls_in(query, &events)
        }
    };
    if open.is_empty() {
        return Ok(());
    }
    // These calls may still be billed.
    let estimated: Decimal = open.iter().filter_map(|c| c.estimate).sum();
    eprintln!(
        "panoptic: {} open call(s) (started, never ended), estimated {}:",
        open.len(),
        estimated.normalize()
    );
    for call in &open {
        eprintln!(
            "panoptic:   {} {}/{} started {} call_id {} estimate {}",
            call.resource,
            call.provider,
            call.service,
            call.started
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            call.call_id,
            call.estimate
                .map_or_else(|| "-".to_owned(), |e| e.normalize().to_string())
        );
    }
    Ok(())
}
