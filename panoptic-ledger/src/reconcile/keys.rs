//! Keys that set a bill line beside the estimates: its value of each
//! dimension, normalized as both sides write it.

use super::{ANY, BillLine, NONE, ReconRow};
use std::collections::BTreeMap;

use crate::query::GroupBy;
pub use panoptic_core::naming::label_form;

/// A bill line's value of a dimension, if it names one.
pub(super) fn bill_value(line: &BillLine, dimension: GroupBy) -> Option<&str> {
    match dimension {
        GroupBy::Day => None,
        GroupBy::Service => line.service.as_deref(),
        GroupBy::Resource => line.resource.as_deref(),
        GroupBy::User => line.user.as_deref(),
        _ => None,
    }
}

/// The row of `key`, matched on the normalized key so that a label
/// (`john_doe`) meets the name it was made from (`John Doe`).
/// Rows in two currencies are two rows.
pub(super) fn entry<'a>(
    rows: &'a mut BTreeMap<(Vec<String>, String), ReconRow>,
    by: &[GroupBy],
    key: Vec<String>,
    currency: &str,
) -> &'a mut ReconRow {
    rows.entry((normalize(by, &key), currency.to_owned()))
        .or_insert_with(|| ReconRow::empty(key, currency))
}

pub(super) fn normalize(by: &[GroupBy], key: &[String]) -> Vec<String> {
    by.iter()
        .zip(key)
        .map(|(d, v)| normalize_value(*d, v))
        .collect()
}

/// Services compare on letters and digits (`Cloud Run` is `CloudRun`);
/// resources and users as a label value (lowercase, `[a-z0-9_-]`, 63
/// characters), the form labels and tags can hold.
pub(crate) fn normalize_value(dimension: GroupBy, value: &str) -> String {
    if value == ANY || value == NONE {
        return value.to_owned();
    }
    match dimension {
        GroupBy::Service => value
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .flat_map(char::to_lowercase)
            .collect(),
        GroupBy::Resource | GroupBy::User => label_form(value),
        _ => value.to_owned(),
    }
}
