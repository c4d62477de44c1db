//! The labels panoptic puts on every BigQuery job it runs, so that the
//! billing export (and `INFORMATION_SCHEMA.JOBS`) can be joined back to
//! the code that ran them.
//!
//! BigQuery's label rules: keys and values at most 63 characters, only
//! lowercase letters, digits, `_` and `-`; keys start with a letter;
//! values may be empty.

use std::collections::BTreeMap;

/// Label key: the `#[billable]` resource (or the query's own).
pub const RESOURCE_LABEL: &str = "panoptic_resource";
/// Label key: the panoptic environment (`prod`, `dev`, …).
pub const ENV_LABEL: &str = "panoptic_env";
/// Label key: the panoptic username.
pub const USER_LABEL: &str = "panoptic_user";
/// Label key: the run's request id (a UUID, a valid label value), by
/// which a job whose `jobs.query` reply was lost is found again.
pub const RUN_LABEL: &str = "panoptic_run";

const MAX_LEN: usize = 63;

/// `text` as a valid label value: lowercased, every other character
/// becomes `_`, cut to 63 characters.
///
/// ```
/// use panoptic_gcp::bigquery::label_value;
/// assert_eq!(label_value("John.Doe@Example.com"), "john_doe_example_com");
/// assert_eq!(label_value(&"x".repeat(80)).len(), 63);
/// ```
///
/// It is [`panoptic_core::naming::label_form`]: the reconciliation
/// compares the billing export's labels with panoptic's resources and
/// users through the very same function.
pub fn label_value(text: &str) -> String {
    let value = panoptic_core::naming::label_form(text);
    debug_assert!(value.len() <= MAX_LEN);
    value
}

/// `text` as a valid label key: a label value that starts with a letter
/// (`k_` is put in front otherwise) and is not empty.
///
/// ```
/// use panoptic_gcp::bigquery::label_key;
/// assert_eq!(label_key("2fa Team"), "k_2fa_team");
/// ```
pub fn label_key(text: &str) -> String {
    let value = label_value(text);
    if value.starts_with(|c: char| c.is_ascii_lowercase()) {
        value
    } else {
        label_value(&format!("k_{value}"))
    }
}

/// The labels of a job: the caller's, sanitized, then panoptic's three
/// (which win over a caller's label of the same key).
pub(crate) fn job_labels(
    caller: &BTreeMap<String, String>,
    resource: &str,
    env: Option<&str>,
    user: Option<&str>,
) -> BTreeMap<String, String> {
    let mut labels: BTreeMap<String, String> = caller
        .iter()
        .map(|(k, v)| (label_key(k), label_value(v)))
        .collect();
    labels.insert(RESOURCE_LABEL.to_owned(), label_value(resource));
    if let Some(env) = env {
        labels.insert(ENV_LABEL.to_owned(), label_value(env));
    }
    if let Some(user) = user {
        labels.insert(USER_LABEL.to_owned(), label_value(user));
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_bigquery_rules() {
        let mut caller = BTreeMap::new();
        caller.insert("Team".to_owned(), "Growth & Ads".to_owned());
        caller.insert(RESOURCE_LABEL.to_owned(), "spoofed".to_owned());
        let labels = job_labels(&caller, "Daily Report", Some("prod"), None);
        assert_eq!(labels["team"], "growth___ads");
        assert_eq!(labels[RESOURCE_LABEL], "daily_report");
        assert_eq!(labels[ENV_LABEL], "prod");
        assert!(!labels.contains_key(USER_LABEL));
        for (k, v) in &labels {
            assert!(k.len() <= 63 && v.len() <= 63);
            assert!(k.starts_with(|c: char| c.is_ascii_lowercase()));
        }
        assert_eq!(label_key(""), "k_");
        assert_eq!(label_value("ÉTÉ"), "_t_");
    }
}
