//! The columns of an event in the CSV and Excel exports, and each event's
//! cells as text.

use chrono::SecondsFormat;
use panoptic::BillingEvent;

use crate::render::number;

/// The columns, in order.
pub const EVENT_COLUMNS: [&str; 17] = [
    "_id",
    "ts",
    "env",
    "username",
    "projectId",
    "provider",
    "service",
    "resource",
    "kind",
    "outcome",
    "quantity",
    "unit",
    "amount",
    "currency",
    "unpriced",
    "duration_ms",
    "error",
];

/// The event's cells as text: the amount exactly as stored, the duration
/// to the nanosecond.
pub fn text_cells(event: &BillingEvent) -> Vec<String> {
    vec![
        event.id.to_hex(),
        event.ts.to_rfc3339_opts(SecondsFormat::Millis, true),
        event.env.clone(),
        event.username.clone(),
        event.project_id.clone().unwrap_or_default(),
        event.provider.clone(),
        event.service.clone(),
        event.resource.clone(),
        event.kind.to_string(),
        event.outcome.to_string(),
        event.quantity.to_string(),
        event.unit.clone(),
        event.amount.map(|a| a.to_string()).unwrap_or_default(),
        event.currency.clone(),
        event.metadata.unpriced().unwrap_or_default().to_owned(),
        number::optional_millis(event.metadata.duration_ms),
        event.metadata.error.clone().unwrap_or_default(),
    ]
}
