//! Events made up for the query's unit tests.

use chrono::{TimeZone, Utc};
use panoptic_core::{BillingEvent, Category, Kind, Metadata, Outcome};

use super::{CostQuery, CostRow, GroupBy};

/// A call to `service` on 2026-12-06 costing `amount` (none: unpriced)
/// in `currency`.
pub(super) fn event(
    service: &str,
    amount: Option<&str>,
    currency: &str,
    duration_ms: f64,
) -> BillingEvent {
    BillingEvent {
        id: bson::oid::ObjectId::new(),
        ts: Utc.with_ymd_and_hms(2026, 12, 6, 12, 0, 0).unwrap(),
        project_id: None,
        env: "dev".into(),
        username: "u".into(),
        category: Category::Infra,
        provider: "user_defined".into(),
        service: service.into(),
        resource: "r".into(),
        kind: Kind::Invoice,
        outcome: Outcome::Ok,
        quantity: 1.0,
        unit: "call".into(),
        amount: amount.map(|a| a.parse().unwrap()),
        currency: currency.into(),
        metadata: Metadata {
            duration_ms: Some(duration_ms),
            ..Metadata::default()
        },
    }
}

/// `events` grouped by service.
pub(super) fn by_service(events: &[BillingEvent]) -> Vec<CostRow> {
    CostQuery::new()
        .group_by([GroupBy::Service])
        .run_on_events(events)
}
