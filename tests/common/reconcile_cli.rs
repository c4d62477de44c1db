//! `panoptic reconcile` run as a child process against the test database,
//! and what the reconciliation tests check of its runs.

use std::process::{Command, Output};

use chrono::{Days, Utc};
use panoptic::{BillingEvent, Decimal};
use serde_json::Value as Json;

/// `panoptic reconcile` of `env` against an M10 Atlas cluster's first hour
/// of today (its list price is the bill: no bill source needed), by day.
pub fn atlas_first_hour_today(env: &str) -> Command {
    let today = Utc::now().date_naive();
    let midnight = today.and_hms_opt(0, 0, 0).unwrap().and_utc();
    let mut command = self::command(env);
    command
        .args(["--provider", "mongodb_atlas", "--atlas-tier", "M10"])
        .args(["--atlas-from", &midnight.to_rfc3339()])
        .args([
            "--atlas-to",
            &(midnight + chrono::Duration::hours(1)).to_rfc3339(),
        ])
        .args(["--since", &today.to_string()])
        .args([
            "--until",
            &(today + Days::new(1)).to_string(),
            "--by",
            "day",
        ]);
    command
}

/// `panoptic reconcile` of `env` printing JSON rows, against the test
/// database; the caller adds the provider, its bill source and the days.
pub fn command(env: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_panoptic"));
    command
        .args(["reconcile", "--env", env, "--format", "json"])
        .env("MONGODB_URI", super::mongodb_uri())
        .env_remove("PANOPTIC_ENV");
    command
}

/// The JSON rows a run printed; panics with its output when there are none.
pub fn rows(output: &Output) -> Vec<Json> {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// A second `--apply` (`again`) wrote nothing: `env` holds as many
/// adjustments as the first wrote (`first`), summing to the same amount.
pub async fn assert_applied_once(again: &Output, env: &str, first: &[BillingEvent]) {
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("0 written"), "{stderr}");
    let twice = super::adjustment_events(env).await;
    assert_eq!(twice.len(), first.len());
    let sum = |events: &[BillingEvent]| events.iter().filter_map(|e| e.amount).sum::<Decimal>();
    assert_eq!(sum(&twice), sum(first));
}

/// The reason codes of a row (`late_data`, `credits`, …).
pub fn codes(row: &Json) -> Vec<String> {
    row["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_owned())
        .collect()
}
