//! Open calls under the report: started, never ended (their process died
//! mid-call), listed beside the spend and never in it.

use panoptic::Spool;
use panoptic::open_calls::OpenCall;
use panoptic::prices::rates::Amounts;
use panoptic::query::CostQuery;

use super::Store;

/// The open calls of `query`.
pub(super) async fn find(store: &Store<'_>, query: &CostQuery) -> Result<Vec<OpenCall>, String> {
    Ok(match &store.client {
        Some(client) if store.scan => panoptic::open_calls::open_calls_scan(client, query)
            .await
            .map_err(|e| e.to_string())?,
        Some(client) => panoptic::open_calls::open_calls(client, query)
            .await
            .map_err(|e| e.to_string())?,
        None => {
            panoptic::open_calls_scan::open_calls_on_spool(query, &Spool::open(store.spool_dir))
                .map_err(|e| format!("cannot read the spool: {e}"))?
        }
    })
}

/// Lists `open` calls on stderr, if there are any.
pub(super) fn list(open: &[OpenCall]) {
    if open.is_empty() {
        return;
    }
    // These calls may still be billed; each currency on its own.
    let mut estimated = Amounts::default();
    for call in open {
        if let Some(estimate) = call.estimate {
            estimated.add(&call.currency, estimate.normalize());
        }
    }
    eprintln!(
        "panoptic: {} open call(s) (started, never ended), estimated {estimated}:",
        open.len(),
    );
    for call in open {
        eprintln!(
            "panoptic:   {} {}/{} started {} call_id {} estimate {}",
            call.resource,
            call.provider,
            call.service,
            call.started
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            call.call_id,
            call.estimate.map_or_else(
                || "-".to_owned(),
                |e| format!("{} {}", e.normalize(), call.currency)
            )
        );
    }
}
